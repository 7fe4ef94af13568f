// Package mongo stores the disclosure service's recipients, its disclosure log and the
// owners' access requests in the service's own MongoDB database.
//
// A log entry is one document, so the embedded store's lack of transactions costs
// nothing: it is inserted whole, with the package it describes, under an id derived
// from the client's request id, so a retry finds the first entry instead of writing a
// second. An access request is two writes, ordered so that a crash between them errs
// in the owner's favour (see app.RecordAccessRequest): the request document, then its
// line in the owner's ledger.
package mongo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/paging"
)

// Collection names.
const (
	RecipientsCollection  = "recipients"
	DisclosuresCollection = "disclosures"
)

// Page sizes of list operations.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Repository implements domain.Repository on MongoDB.
type Repository struct {
	recipients     *mongo.Collection
	disclosures    *mongo.Collection
	accessRequests *mongo.Collection
	accessLedgers  *mongo.Collection
	erasureJobs    *mongo.Collection
	retentionMarks *mongo.Collection
}

var _ domain.Repository = (*Repository)(nil)

// New returns a repository on db.
func New(db *mongo.Database) *Repository {
	return &Repository{
		recipients: db.Collection(RecipientsCollection), disclosures: db.Collection(DisclosuresCollection),
		accessRequests: db.Collection(AccessRequestsCollection), accessLedgers: db.Collection(AccessLedgersCollection),
		erasureJobs: db.Collection(ErasureJobsCollection), retentionMarks: db.Collection(RetentionMarksCollection),
	}
}

// Indexes are the indexes every query of this repository needs (see QueryShapes).
// The log is read per owner, per recipient, and per animal it names (patient_ids), for
// the recipients to tell of a correction of an animal that has since changed owners,
// by outcome and time for the pending entries the retention sweep refuses, and by
// recipient and outcome for those a recipient's deactivation refuses.
// Recipients are read by _id and listed in _id order, and the active one of a kind only
// one of which may be active is found by kind and active (a unique index on
// single_active_kind keeps it to one). Access requests and their per-owner ledgers are
// read by _id only, which needs none. Erasure jobs are found by the workers when due
// (state, wake) and listed per owner. The retention sweep finds each class by its time
// (time, received, finished).
func Indexes() []mongox.Index {
	desc := func(keys ...string) bson.D {
		d := bson.D{}
		for _, k := range keys {
			v := 1
			if k == "time" || k == "_id" {
				v = -1
			}
			d = append(d, bson.E{Key: k, Value: v})
		}
		return d
	}
	return []mongox.Index{
		{Collection: DisclosuresCollection, Model: mongo.IndexModel{Keys: desc("owner_id", "time", "_id")}},
		{Collection: DisclosuresCollection, Model: mongo.IndexModel{Keys: desc("recipient_id", "outcome", "time", "_id")}},
		{Collection: DisclosuresCollection, Model: mongo.IndexModel{Keys: desc("patient_ids", "time", "_id")}},
		{Collection: ErasureJobsCollection, Model: mongo.IndexModel{Keys: bson.D{{Key: "state", Value: 1}, {Key: "wake", Value: 1}}}},
		{Collection: ErasureJobsCollection, Model: mongo.IndexModel{Keys: bson.D{{Key: "owner_id", Value: 1}, {Key: "created", Value: -1}, {Key: "_id", Value: -1}}}},
		{Collection: DisclosuresCollection, Model: mongo.IndexModel{Keys: bson.D{{Key: "time", Value: 1}}}},
		{Collection: DisclosuresCollection, Model: mongo.IndexModel{Keys: bson.D{{Key: "outcome", Value: 1}, {Key: "time", Value: 1}}}},
		{Collection: AccessRequestsCollection, Model: mongo.IndexModel{Keys: bson.D{{Key: "received", Value: 1}}}},
		{Collection: ErasureJobsCollection, Model: mongo.IndexModel{Keys: bson.D{{Key: "finished", Value: 1}}}},
		{Collection: RecipientsCollection, Model: mongo.IndexModel{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "active", Value: 1}}}},
		{Collection: RecipientsCollection, Model: mongo.IndexModel{
			Keys:    bson.D{{Key: "single_active_kind", Value: 1}},
			Options: options.Index().SetUnique(true).SetSparse(true),
		}},
	}
}

// QueryShapes lists every non-_id query this repository issues.
func QueryShapes() []mongox.QueryShape {
	return []mongox.QueryShape{
		{Collection: DisclosuresCollection, Keys: []string{"owner_id", "time", "_id"}},
		{Collection: DisclosuresCollection, Keys: []string{"owner_id"}},
		{Collection: DisclosuresCollection, Keys: []string{"recipient_id", "outcome", "time", "_id"}},
		{Collection: DisclosuresCollection, Keys: []string{"recipient_id", "outcome"}},
		{Collection: DisclosuresCollection, Keys: []string{"patient_ids", "time", "_id"}},
		{Collection: ErasureJobsCollection, Keys: []string{"state", "wake"}},
		{Collection: ErasureJobsCollection, Keys: []string{"owner_id", "created", "_id"}},
		{Collection: DisclosuresCollection, Keys: []string{"time"}},
		{Collection: DisclosuresCollection, Keys: []string{"outcome", "time"}},
		{Collection: AccessRequestsCollection, Keys: []string{"received"}},
		{Collection: ErasureJobsCollection, Keys: []string{"finished"}},
		{Collection: RecipientsCollection, Keys: []string{"kind", "active"}},
	}
}

func pageSize(n int) int64 {
	return int64(paging.Size(n, DefaultPageSize, MaxPageSize))
}

// pageToken is the opaque position after the last item of a page.
type pageToken struct {
	// Time is the last log entry's time in Unix milliseconds; unused for recipients.
	Time int64  `json:"t,omitempty"`
	ID   string `json:"i"`
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.ID == "" {
		var v apperr.ValidationError
		v.Add("page_token", "is not a token from a previous page")
		return t, v.Err()
	}
	return t, nil
}

// notFound names the record by its id, in the words the app's own not-founds use: a
// partner is answered alike whether a disclosure is missing or is not theirs.
func notFound(what, id string) error {
	return apperr.New(apperr.ErrNotFound, "%s %s not found", what, id)
}

// findByID reads the document with _id id and returns its domain value; a missing one
// is NotFound naming what it is.
func findByID[T any, D any, PD interface {
	*D
	toDomain() T
}](ctx context.Context, c *mongo.Collection, what, id string) (T, error) {
	var d D
	err := c.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		var zero T
		return zero, notFound(what, id)
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("read %s %s: %w", what, id, err)
	}
	return PD(&d).toDomain(), nil
}

// insertOrFirst inserts doc, the document of v; when one with its id exists (a retried
// create whose id derives from the client's request id) it answers that one, read with
// first, and stores nothing.
func insertOrFirst[T any](ctx context.Context, c *mongo.Collection, doc any, v T, what, id string,
	first func(context.Context, string) (T, error),
) (T, error) {
	_, err := c.InsertOne(ctx, doc)
	if mongox.IsDuplicateKey(err) {
		return first(ctx, id)
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("store %s %s: %w", what, id, err)
	}
	return v, nil
}

// singleActiveAttempts bounds how often CreateRecipient looks again for the active
// recipient of a kind that it found none of and then collided with: each look needs
// another recipient of the kind created and deactivated meanwhile.
const singleActiveAttempts = 3

// CreateRecipient implements domain.Repository. An active recipient of a kind only one
// of which may be active carries the kind in single_active_kind, which a unique index
// lets one document hold: of two creates at once, the second insert collides. The
// active one is looked for first by kind, which also finds one stored before the field
// was (and names it in the refusal); a retry of a create stored before answers that
// one, as every create's retry does.
func (r *Repository) CreateRecipient(ctx context.Context, rec domain.Recipient) (domain.Recipient, error) {
	if !rec.Active || !rec.Kind.SingleActive() {
		return insertOrFirst(ctx, r.recipients, toRecipientDoc(rec), rec, "recipient", rec.ID, r.Recipient)
	}
	for range singleActiveAttempts {
		activeID, err := r.activeOfKind(ctx, rec.Kind, rec.ID)
		if err != nil {
			return domain.Recipient{}, err
		}
		if activeID == "" {
			stored, err := insertOrFirst(ctx, r.recipients, toRecipientDoc(rec), rec, "recipient", rec.ID, r.Recipient)
			if !errors.Is(err, apperr.ErrNotFound) {
				return stored, err
			}
			// The insert collided, but not with rec.ID: with an active recipient of the
			// kind stored since the look. Look again, to name it.
			continue
		}
		if first, err := r.Recipient(ctx, rec.ID); !errors.Is(err, apperr.ErrNotFound) {
			return first, err
		}
		return domain.Recipient{}, domain.KindTaken(rec.Kind, activeID)
	}
	return domain.Recipient{}, fmt.Errorf("store recipient %s: active recipients of kind %s kept being created and deactivated meanwhile", rec.ID, rec.Kind)
}

// activeOfKind is the id of an active recipient of kind other than exceptID, "" when
// there is none.
func (r *Repository) activeOfKind(ctx context.Context, kind domain.Kind, exceptID string) (string, error) {
	var d struct {
		ID string `bson:"_id"`
	}
	err := r.recipients.FindOne(ctx, bson.M{"kind": string(kind), "active": true, "_id": bson.M{"$ne": exceptID}},
		options.FindOne().SetProjection(bson.M{"_id": 1})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find the active recipient of kind %s: %w", kind, err)
	}
	return d.ID, nil
}

// Recipient implements domain.Repository.
func (r *Repository) Recipient(ctx context.Context, id string) (domain.Recipient, error) {
	return findByID[domain.Recipient, recipientDoc](ctx, r.recipients, "recipient", id)
}

// ListRecipients implements domain.Repository: ids are time-ordered UUIDs (or derived
// from request ids), so _id order is a stable order a page token can resume.
func (r *Repository) ListRecipients(ctx context.Context, size int, token string) (domain.Page[domain.Recipient], error) {
	filter := bson.M{}
	if token != "" {
		t, err := decodeToken(token)
		if err != nil {
			return domain.Page[domain.Recipient]{}, err
		}
		filter = bson.M{"_id": bson.M{"$gt": t.ID}}
	}
	page, err := findPage(ctx, r.recipients, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}), size,
		(*recipientDoc).toDomain, func(d *recipientDoc) pageToken { return pageToken{ID: d.ID} })
	if err != nil {
		return page, fmt.Errorf("list recipients: %w", err)
	}
	return page, nil
}

// findPage reads one page of documents: one more than the page size, so that the extra
// one says whether a next page exists, and the last one kept gives its token.
func findPage[D, T any](ctx context.Context, c *mongo.Collection, filter any, opts *options.FindOptionsBuilder, size int,
	toDomain func(*D) T, position func(*D) pageToken,
) (domain.Page[T], error) {
	n := pageSize(size)
	cur, err := c.Find(ctx, filter, opts.SetLimit(n+1))
	if err != nil {
		return domain.Page[T]{}, err
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return domain.Page[T]{}, err
	}
	var page domain.Page[T]
	if int64(len(docs)) > n {
		docs = docs[:n]
		page.Next = encodeToken(position(&docs[len(docs)-1]))
	}
	page.Items = make([]T, len(docs))
	for i := range docs {
		page.Items[i] = toDomain(&docs[i])
	}
	return page, nil
}

// DeactivateRecipient implements domain.Repository. The filter on active makes the
// first deactivation time the one that stays. Removing single_active_kind in the same
// write lets another recipient of the kind be registered from then on.
func (r *Repository) DeactivateRecipient(ctx context.Context, id string, now time.Time) (domain.Recipient, error) {
	at := now.UTC().Truncate(time.Millisecond)
	_, err := r.recipients.UpdateOne(ctx, bson.M{"_id": id, "active": true},
		bson.M{"$set": bson.M{"active": false, "deactivated": at}, "$unset": bson.M{"single_active_kind": ""}})
	if err != nil {
		return domain.Recipient{}, fmt.Errorf("deactivate recipient %s: %w", id, err)
	}
	return r.Recipient(ctx, id)
}

// AppendRecord implements domain.Repository.
func (r *Repository) AppendRecord(ctx context.Context, rec domain.Record) (domain.Record, error) {
	return insertOrFirst(ctx, r.disclosures, toRecordDoc(rec), rec, "disclosure", rec.ID, r.Record)
}

// Record implements domain.Repository.
func (r *Repository) Record(ctx context.Context, id string) (domain.Record, error) {
	return findByID[domain.Record, recordDoc](ctx, r.disclosures, "disclosure", id)
}

// ErasePackages implements domain.Repository.
func (r *Repository) ErasePackages(ctx context.Context, ownerID string) (int, error) {
	res, err := r.disclosures.UpdateMany(ctx,
		bson.D{{Key: "owner_id", Value: ownerID}, {Key: "payload", Value: bson.D{{Key: "$exists", Value: true}}}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "payload", Value: ""}}}})
	if err != nil {
		return 0, fmt.Errorf("erase the disclosure packages of owner %s: %w", ownerID, err)
	}
	return int(res.ModifiedCount), nil
}

// FinalizeRecord implements domain.Repository. The embedded store uses an index only
// for a filter that is exactly {_id}, and any other filter scans the whole log under
// its store-wide write lock, so no write says "while pending" in its filter; the entry
// as it stood before each findOneAndUpdate by _id says what the write did.
//
// A pending entry holds its outcome "disclosed" aside, in disclosable, until a refusal
// removes it. The disclosure makes its entry disclosed by renaming disclosable onto
// outcome, which does nothing once a refusal has removed it: the entry is disclosed by
// the very write that decides it, so a call stopping after that write leaves nothing
// for another to make disclosed later, when data in the package may have been corrected
// without its recipient being told (a pending entry is not in the rectification lists).
// The same write sets the basis and consent entry of the disclosure's last check, which
// replace the first check's; as it is filtered by _id alone, it sets them on an entry
// another call made final first too, whose own the disclosure then writes back
// (restoreFinal); until then a reader does not see them, as a refused entry is read
// without basis or consent entry. A refusal's apply removes them.
//
// A refusal pushes its claim onto the entry's claims and removes disclosable in one
// write, and the first refusal claimed while pending decides; whoever claims, winner or
// not, then applies that first refusal by _id, the same fields each time, so that an
// entry whose claimant stopped between the two writes is made final by the next call
// (a retry, the sweep, the owner's erasure). refused sees the entry as the refusal
// makes it between the two writes, so that what it records is stored before anything
// can stop the call after the apply.
//
// The previous version refuses as this one does but leaves disclosable in place, so
// while both run (a rolling update) the rename may overwrite its refusal: claimed and
// not yet applied, which the disclosure then applies and loses to, or applied, whose
// outcome the disclosure writes back with the rest. Either way the disclosure answers the refusal and
// hands nothing out; until the write after the rename, a reader may see the entry
// disclosed, which is why an upgrade from that version must not overlap it.
func (r *Repository) FinalizeRecord(ctx context.Context, id string, decided domain.Outcome, refused func(domain.Record) error) (domain.Record, bool, error) {
	refusal := decided.Refusal
	update := basisUpdate(bson.M{}, decided.Basis, decided.ConsentEntryID)
	update["$rename"] = bson.M{"disclosable": "outcome"}
	if refusal != nil {
		update = bson.M{"$push": bson.M{"claims": refusalSet(*refusal)}, "$unset": bson.M{"disclosable": ""}}
	}
	var before struct {
		Doc    recordDoc `bson:",inline"`
		Claims []bson.M  `bson:"claims"`
	}
	err := r.disclosures.FindOneAndUpdate(ctx, bson.M{"_id": id}, update,
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&before)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.Record{}, false, notFound("disclosure", id)
	}
	if err != nil {
		return domain.Record{}, false, fmt.Errorf("finalize disclosure %s: %w", id, err)
	}
	won := false
	switch {
	case before.Doc.Outcome == outcomePending:
		first := firstRefusal(before.Claims)
		switch {
		case refusal == nil:
			won = before.Doc.Disclosable != "" && first == nil
		case first == nil:
			won, first = true, refusalSet(*refusal)
		}
		if !won || refusal != nil {
			if err := r.applyRefusal(ctx, before.Doc, first, refused); err != nil {
				return domain.Record{}, false, err
			}
		}
	case refusal == nil:
		if err := r.restoreFinal(ctx, before.Doc); err != nil {
			return domain.Record{}, false, err
		}
	}
	rec, err := r.Record(ctx, id)
	return rec, won, err
}

// restoreFinal undoes a disclosure's write on d, the entry as it stood before, which
// was final already: the entry keeps the outcome, basis and consent entry it had. The
// write set the basis and consent entry of the disclosure's last check, and its rename
// overwrote the outcome when d still held disclosable: the previous version refuses a
// pending entry without removing disclosable, a field it does not know, while the two
// versions run side by side in a rolling update (docs/OPERATIONS.md). The refusal's
// reason and the package it removed are as that refusal left them.
func (r *Repository) restoreFinal(ctx context.Context, d recordDoc) error {
	update := basisUpdate(bson.M{"outcome": d.Outcome}, domain.Basis(d.Basis), d.ConsentEntryID)
	if _, err := r.disclosures.UpdateOne(ctx, bson.M{"_id": d.ID}, update); err != nil {
		return fmt.Errorf("finalize disclosure %s: restore it as %s: %w", d.ID, d.Outcome, err)
	}
	return nil
}

// basisUpdate is the update that sets the fields of set and an entry's basis and
// consent entry, removing either when empty.
func basisUpdate(set bson.M, basis domain.Basis, consentEntryID string) bson.M {
	unset := bson.M{}
	for field, v := range map[string]string{"basis": string(basis), "consent_entry_id": consentEntryID} {
		if v == "" {
			unset[field] = ""
		} else {
			set[field] = v
		}
	}
	update := bson.M{}
	if len(set) > 0 {
		update["$set"] = set
	}
	if len(unset) > 0 {
		update["$unset"] = unset
	}
	return update
}

// firstRefusal is the first refusal claimed on an entry, nil when none was. Claims of
// "disclosed", which earlier versions pushed and applied in a second write, are passed
// over: one still unapplied is that of a call that stopped, whose package no call may
// hand out any more.
func firstRefusal(claims []bson.M) bson.M {
	for _, c := range claims {
		if c["outcome"] == outcomeRefused {
			return c
		}
	}
	return nil
}

// applyRefusal makes the pending entry d refused as claim says, after handing it so to
// refused, unless nil; with no claim (an entry left pending by an earlier version
// without disclosable and refused by none) it leaves the entry as it is.
func (r *Repository) applyRefusal(ctx context.Context, d recordDoc, claim bson.M, refused func(domain.Record) error) error {
	if claim == nil {
		return nil
	}
	if refused != nil {
		claimed, err := asClaimed(d, claim)
		if err == nil {
			err = refused(claimed)
		}
		if err != nil {
			return fmt.Errorf("finalize disclosure %s: %w", d.ID, err)
		}
	}
	// A refusal removes the package and its hash, nothing having been handed out, and the
	// basis and consent entry the first check found, on which nothing was disclosed.
	update := bson.M{"$set": claim, "$unset": bson.M{"payload": "", "payload_sha256": "", "basis": "", "consent_entry_id": ""}}
	if _, err := r.disclosures.UpdateOne(ctx, bson.M{"_id": d.ID}, update); err != nil {
		return fmt.Errorf("finalize disclosure %s: %w", d.ID, err)
	}
	return nil
}

// asClaimed is the pending entry d as the refusal claim makes it.
func asClaimed(d recordDoc, claim bson.M) (domain.Record, error) {
	raw, err := bson.Marshal(claim)
	if err == nil {
		err = bson.Unmarshal(raw, &d)
	}
	if err != nil {
		return domain.Record{}, fmt.Errorf("read the claim: %w", err)
	}
	d.Payload, d.PayloadSHA256 = nil, ""
	return d.toDomain(), nil
}

// RefusePending implements domain.Repository (see refusePending).
func (r *Repository) RefusePending(ctx context.Context, ownerID string, refusal domain.Refusal, refused func(domain.Record) error) ([]string, error) {
	return r.refusePending(ctx, bson.M{"owner_id": ownerID}, "owner "+ownerID, refusal, refused)
}

// RefuseRecipientPending implements domain.Repository (see refusePending).
func (r *Repository) RefuseRecipientPending(ctx context.Context, recipientID string, refusal domain.Refusal, refused func(domain.Record) error) ([]string, error) {
	return r.refusePending(ctx, bson.M{"recipient_id": recipientID}, "recipient "+recipientID, refusal, refused)
}

// refusePending refuses the pending entries matching filter, those of what of names: they
// are found by a read, which takes no write lock on the embedded store, and each is made
// final by FinalizeRecord, so that a disclosure settling one at the same moment and this
// agree.
func (r *Repository) refusePending(ctx context.Context, filter bson.M, of string, refusal domain.Refusal, refused func(domain.Record) error) ([]string, error) {
	filter["outcome"] = outcomePending
	cur, err := r.disclosures.Find(ctx, filter, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("find the pending disclosures of %s: %w", of, err)
	}
	var pending []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &pending); err != nil {
		return nil, fmt.Errorf("read the pending disclosures of %s: %w", of, err)
	}
	var decided []string
	for _, p := range pending {
		_, won, err := r.FinalizeRecord(ctx, p.ID, domain.Outcome{Refusal: &refusal}, refused)
		if err != nil {
			return decided, fmt.Errorf("refuse the pending disclosures of %s: %w", of, err)
		}
		if won {
			decided = append(decided, p.ID)
		}
	}
	return decided, nil
}

// final matches the log entries no longer pending: a pending disclosure is not listed,
// counted or reported until it is final.
var final = bson.E{Key: "outcome", Value: bson.M{"$in": bson.A{outcomeDisclosed, outcomeRefused}}}

// OwnerRecords implements domain.Repository.
func (r *Repository) OwnerRecords(ctx context.Context, ownerID string, size int, token string) (domain.Page[domain.Record], error) {
	return r.listRecords(ctx, bson.D{{Key: "owner_id", Value: ownerID}, final}, size, token)
}

// PatientRecords implements domain.Repository: patient_ids is an array, so the index
// on it is a multikey one, an entry under each animal the log entry names.
func (r *Repository) PatientRecords(ctx context.Context, patientID string, size int, token string) (domain.Page[domain.Record], error) {
	return r.listRecords(ctx, bson.D{{Key: "patient_ids", Value: patientID}, final}, size, token)
}

// RecipientRecords implements domain.Repository.
func (r *Repository) RecipientRecords(ctx context.Context, recipientID string, size int, token string) (domain.Page[domain.Record], error) {
	return r.listRecords(ctx, bson.D{{Key: "recipient_id", Value: recipientID}, {Key: "outcome", Value: outcomeDisclosed}}, size, token)
}

// listRecords pages through the log entries matching filter, newest first, by (time,
// _id): ids derived from request ids are not time-ordered, so the time leads.
func (r *Repository) listRecords(ctx context.Context, filter bson.D, size int, token string) (domain.Page[domain.Record], error) {
	if token != "" {
		t, err := decodeToken(token)
		if err != nil {
			return domain.Page[domain.Record]{}, err
		}
		at := time.UnixMilli(t.Time).UTC()
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.M{"time": bson.M{"$lt": at}},
			bson.M{"time": at, "_id": bson.M{"$lt": t.ID}},
		}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "time", Value: -1}, {Key: "_id", Value: -1}}).SetProjection(bson.M{"payload": 0})
	page, err := findPage(ctx, r.disclosures, filter, opts, size, (*recordDoc).toDomain,
		func(d *recordDoc) pageToken { return pageToken{Time: d.Time.UnixMilli(), ID: d.ID} })
	if err != nil {
		return page, fmt.Errorf("list disclosures: %w", err)
	}
	return page, nil
}
