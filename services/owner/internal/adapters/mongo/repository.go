// Package mongo stores owners and patients in the owner service's own MongoDB database.
//
// The embedded store has no multi-document transactions, so every operation that
// touches several documents orders its writes so that a crash between them leaves
// nothing a reader can see as half-written, and a retry completes the work: a unique
// value is claimed before the document that holds it is written, and released after.
package mongo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/fieldcrypt"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/paging"
	"github.com/lillvet/register/services/platform/requestdigest"
)

// Page sizes of list operations.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Repository implements domain.Repository on MongoDB.
type Repository struct {
	owners   *mongo.Collection
	patients *mongo.Collection
	claims   *mongo.Collection
	counters *mongo.Collection
	// retention schedules the retention sweep (see retentionDoc).
	retention *mongo.Collection
	stamps    *mongo.Collection
	keys      *fieldcrypt.Keyring
	// createDigests make the owners' and patients' create digests (newCreateDigests).
	createDigests *requestdigest.Key
	// nameKeysVersion is domain.NameKeysVersion, which tests change.
	nameKeysVersion int
}

var _ domain.Repository = (*Repository)(nil)

// New returns a repository on db; keys seal the identity codes.
func New(db *mongo.Database, keys *fieldcrypt.Keyring) *Repository {
	return &Repository{
		owners:    db.Collection(ownersColl),
		patients:  db.Collection(patientsColl),
		claims:    db.Collection(claimsColl),
		counters:  db.Collection(countersColl),
		retention: db.Collection(retentionColl),
		stamps:    db.Collection(stampsColl),
		keys:      keys,

		createDigests:   newCreateDigests(keys),
		nameKeysVersion: domain.NameKeysVersion,
	}
}

// Indexes are the indexes every query of this repository needs (see QueryShapes).
func Indexes() []mongox.Index {
	idx := func(coll string, unique bool, keys ...string) mongox.Index {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		m := mongo.IndexModel{Keys: d}
		if unique {
			m.Options = options.Index().SetUnique(true)
		}
		return mongox.Index{Collection: coll, Model: m}
	}
	return []mongox.Index{
		idx(ownersColl, false, "sort_key", "_id"),
		idx(ownersColl, false, "name_keys", "sort_key", "_id"),
		idx(ownersColl, false, "phone", "sort_key", "_id"),
		idx(ownersColl, false, "identity.kid"),
		idx(ownersColl, false, "erased", "_id"),
		idx(ownersColl, false, "name_keys_version"),
		idx(ownersColl, false, "version", "create_digest"),
		idx(patientsColl, false, "owner_id", "_id"),
		idx(patientsColl, true, "customer_number"),
		idx(patientsColl, false, transferFrom, "_id"),
		idx(patientsColl, false, "version", "create_digest"),
		idx(retentionColl, false, "due"),
	}
}

// QueryShapes lists every non-_id query this repository issues.
func QueryShapes() []mongox.QueryShape {
	return []mongox.QueryShape{
		{Collection: ownersColl, Keys: []string{"sort_key", "_id"}},
		{Collection: ownersColl, Keys: []string{"name_keys", "sort_key", "_id"}},
		{Collection: ownersColl, Keys: []string{"phone", "sort_key", "_id"}},
		{Collection: ownersColl, Keys: []string{"identity.kid"}},
		{Collection: ownersColl, Keys: []string{"erased", "_id"}},
		{Collection: ownersColl, Keys: []string{"name_keys_version"}},
		{Collection: ownersColl, Keys: []string{"version", "create_digest"}},
		{Collection: patientsColl, Keys: []string{"owner_id", "_id"}},
		{Collection: patientsColl, Keys: []string{"customer_number"}},
		{Collection: patientsColl, Keys: []string{transferFrom, "_id"}},
		{Collection: patientsColl, Keys: []string{"version", "create_digest"}},
		{Collection: retentionColl, Keys: []string{"due"}},
	}
}

// withoutHistory leaves the change history and the sealed identity code out of reads
// that do not need them. A bson.D, like findOne's filter: the driver encodes a bson.M
// by reflecting over the map on every read.
var withoutHistory = bson.D{{Key: "changes", Value: 0}, {Key: "identity", Value: 0}, {Key: "erasures", Value: 0}}

// notFound names the record by its id: a request may name several (a transfer names
// the patient and the new owner), and the client must be told which is missing.
func notFound(what, id string) error {
	return apperr.New(apperr.ErrNotFound, "%s %s not found", what, id)
}

// stale refuses a rectification at the version expected, as the stored version moved
// on. From UpdateOwner, UpdatePatient, TransferPatient and MarkPatientDeceased that is
// the version the client sent, which it reads again (VERSION_MISMATCH); the service's
// own rectifications (taking a transfer back) read again themselves. The message says
// no more than the store knows: the version sent may never have been stored, or the
// change since may be the caller's own.
func stale(what, id string, expected int64) error {
	return apperr.New(apperr.ErrVersionMismatch, "version %d is not the current version of %s %s; read it again", expected, what, id)
}

// changedSince refuses a write of the service's own at the version expected, which it
// read, as the record changed meanwhile: the service reads it again, and the client's
// version had no part in it.
func changedSince(what, id string, expected int64) error {
	return fmt.Errorf("%s %s changed since version %d: %w", what, id, expected, apperr.ErrConflict)
}

// findOne decodes the document with _id id into dst, or reports apperr.ErrNotFound.
func findOne(ctx context.Context, c *mongo.Collection, what, id string, projection, dst any) error {
	err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(projection)).Decode(dst)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return notFound(what, id)
	}
	if err != nil {
		return fmt.Errorf("read %s %s: %w", what, id, err)
	}
	return nil
}

// claimLease is how long a claim is presumed live while its holder's document does not
// carry the value: a claimant writes its document right after claiming, and until it
// has, the document cannot tell a write in progress from one that was abandoned.
const claimLease = 5 * time.Minute

// holding is what a claim's holder, as its document now reads, does with the value.
type holding int

const (
	// notHeld: the holder does not carry the value (its write is in progress or was
	// abandoned, or it has given the value up).
	notHeld holding = iota
	// held: the holder carries the value and keeps it unique.
	held
	// yielded: the holder carries the value but gives way to a new claimant for good
	// (an erased owner's identity code kept for billing, the microchip of a patient its
	// owner's erasure kept).
	yielded
)

// claimed is a claim one call made, to be released if the write it guards fails.
type claimed struct {
	key string
	// nonce is the claim's nonce as this call wrote it; empty when the call renewed a
	// claim another call for the same ref had made, which is not this call's to
	// release: that call (a double-submitted update) may have written the value.
	nonce string
}

// claim reserves key for ref. A claim its holder has yielded is taken over at once; a
// claim left by a write that never completed (older than claimLease, and its holder
// does not carry the value) is taken over too; a live one fails with ErrAlreadyExists.
// Every change of a claim is conditioned on the state read, so two claimants never
// both win.
func (r *Repository) claim(ctx context.Context, key, ref string, holds func(ctx context.Context, ref string) (holding, error)) (claimed, error) {
	for range 3 {
		now := time.Now().UTC()
		nonce := rand.Text()
		_, err := r.claims.InsertOne(ctx, claimDoc{ID: key, Ref: ref, At: now, Nonce: nonce})
		if err == nil {
			return claimed{key: key, nonce: nonce}, nil
		}
		if !mongox.IsDuplicateKey(err) {
			return claimed{}, fmt.Errorf("claim: %w", err)
		}
		var existing claimDoc
		err = r.claims.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&existing)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue
		case err != nil:
			return claimed{}, fmt.Errorf("read claim: %w", err)
		case existing.Ref != ref:
			h, err := holds(ctx, existing.Ref)
			if err != nil {
				return claimed{}, err
			}
			if h == held || (h == notHeld && now.Sub(existing.At) < claimLease) {
				return claimed{}, apperr.ErrAlreadyExists
			}
		}
		// Renewing ref's own claim (a retry, or a value given back to its holder) keeps
		// it from being taken over while ref writes its document.
		var at any = existing.At
		if existing.At.IsZero() { // a claim written before claims had a time
			at = bson.D{{Key: "$exists", Value: false}}
		}
		res, err := r.claims.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: key}, {Key: "ref", Value: existing.Ref}, {Key: "at", Value: at}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "ref", Value: ref}, {Key: "at", Value: now}, {Key: "nonce", Value: nonce}}}})
		if err != nil {
			return claimed{}, fmt.Errorf("take over claim: %w", err)
		}
		if res.ModifiedCount == 1 {
			if existing.Ref == ref {
				return claimed{key: key}, nil
			}
			return claimed{key: key, nonce: nonce}, nil
		}
	}
	return claimed{}, fmt.Errorf("claim is contended: %w", apperr.ErrUnavailable)
}

// identityClaimFailed is the failure of a claim on an identity code: one another owner
// holds is ALREADY_EXISTS with the reason IDENTITY_CODE_REGISTERED, so that a client
// tells it from the service's other refusals without parsing the message.
func identityClaimFailed(err error) error {
	if errors.Is(err, apperr.ErrAlreadyExists) {
		return apperr.Exists("IDENTITY_CODE_REGISTERED", "the identity code is already on record for another owner")
	}
	return fmt.Errorf("claim the identity code: %w", err)
}

// microchipClaimFailed is the failure of a claim on a microchip number: one another
// patient holds is ALREADY_EXISTS with the reason MICROCHIP_REGISTERED.
func microchipClaimFailed(err error) error {
	if errors.Is(err, apperr.ErrAlreadyExists) {
		return apperr.Exists("MICROCHIP_REGISTERED", "the microchip is already on record for another patient")
	}
	return fmt.Errorf("claim the microchip: %w", err)
}

// release drops ref's claim on key; a claim someone else holds is left alone.
func (r *Repository) release(ctx context.Context, key, ref string) error {
	if _, err := r.claims.DeleteOne(ctx, bson.M{"_id": key, "ref": ref}); err != nil {
		return fmt.Errorf("release claim: %w", err)
	}
	return nil
}

// heldClaim reads ref's claim on key before the write that gives the value up, for
// releaseHeld after it; a zero claimDoc when ref holds none. It reads by _id alone and
// compares the holder here: the embedded store scans the claims for any other filter.
func (r *Repository) heldClaim(ctx context.Context, key, ref string) (claimDoc, error) {
	var c claimDoc
	err := r.claims.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&c)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return claimDoc{}, fmt.Errorf("read claim: %w", err)
	}
	if c.Ref != ref {
		return claimDoc{}, nil
	}
	return c, nil
}

// releaseHeld drops the claim c, read by heldClaim before the write that gave its
// value up, only if it is still as read: the value given straight back by the next
// update renews the claim, with a new nonce, between that write and this release, and
// the holder carries the value again. A claim it leaves that the holder does not need
// is taken over after claimLease.
func (r *Repository) releaseHeld(ctx context.Context, c claimDoc) error {
	if c.ID == "" {
		return nil
	}
	var nonce any = c.Nonce
	if c.Nonce == "" { // a claim written before claims had a nonce
		nonce = bson.D{{Key: "$exists", Value: false}}
	}
	if _, err := r.claims.DeleteOne(ctx, bson.D{{Key: "_id", Value: c.ID}, {Key: "ref", Value: c.Ref}, {Key: "nonce", Value: nonce}}); err != nil {
		return fmt.Errorf("release claim: %w", err)
	}
	return nil
}

// releaseAfterFailure releases the claim c after the write it guarded failed, if it is
// still as this call made it: a call that renewed it since (the twin of a
// double-submitted update) may have written the value. The release shares the failed
// call's fate only loosely: a claim it cannot drop is taken over by the next claimant,
// because its holder does not carry the value.
func (r *Repository) releaseAfterFailure(ctx context.Context, c claimed, cause error) error {
	if c.nonce == "" {
		return cause
	}
	if _, err := r.claims.DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: c.key}, {Key: "nonce", Value: c.nonce}}); err != nil {
		return errors.Join(cause, fmt.Errorf("release claim: %w", err))
	}
	return cause
}

func pageSize(n int) int64 {
	return int64(paging.Size(n, DefaultPageSize, MaxPageSize))
}
