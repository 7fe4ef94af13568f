package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/fieldcrypt"
	"github.com/lillvet/register/services/platform/requestdigest"
)

// createKeyID is the blind-index domain whose digest names the blind-index key in each
// create digest. It never changes: the digests stored under the key name it so.
const createKeyID = "create_request.key_id"

// newCreateDigests are the create digests, keyed by the blind-index key of keys and
// naming it: after a re-index under a new key, a digest made under the old one cannot
// tell (the create is compared by names) rather than telling of another request.
func newCreateDigests(keys *fieldcrypt.Keyring) *requestdigest.Key {
	return requestdigest.New(keys.BlindIndex, createKeyID)
}

// createDigest keys the canonical form of a create request (domain.OwnerCreateRequest,
// domain.PatientCreateRequest): names, addresses and microchips are short and
// guessable, and the digest must not let anyone holding the database test a guess.
func (r *Repository) createDigest(kind string, request []byte) string {
	return r.createDigests.Of("create_request."+kind, request)
}

// ownerCreateDigest is the digest of the create of o (normalised) whose identity code
// has the blind index identityIndex ("" without one).
func (r *Repository) ownerCreateDigest(o *domain.Owner, identityIndex string) string {
	return r.createDigest("owner", domain.OwnerCreateRequest(o, identityIndex))
}

// patientCreateDigest is the digest of the registration of p (normalised).
func (r *Repository) patientCreateDigest(p *domain.Patient) string {
	return r.createDigest("patient", domain.PatientCreateRequest(p))
}

// firstVersionWithoutDigest selects the owners or patients stored without a create
// digest and never changed since: their stored fields are their create request as it
// was normalised, so the digest it would have had can be made from them.
var firstVersionWithoutDigest = bson.D{{Key: "version", Value: 1}, {Key: "create_digest", Value: nil}}

// BackfillCreateDigests gives the owners and patients stored before create digests
// were kept, and still at their first version, the digest of their create, so that a
// create under their request id is compared as a record created since is
// (domain.SameOwnerCreate) rather than by names. It reports how many it gave one.
//
// The records to backfill are found by an index on version and digest on MongoDB (the
// embedded store reads every record, see OPERATIONS), so once a pass has ended later
// starts find none; a record a replica from before digests were kept
// stores during a rolling upgrade is found by the next start. Each write is conditioned
// on the record being at version 1 without a digest still: a record changed after it
// was read (its fields no longer its create's) is left to be compared by names, and a
// second process's pass writing the same digest first makes this one's write a no-op.
// Records changed before the pass are never given one: their create request is no
// longer known.
//
// A record that cannot be read is skipped and reported (by its id, in the error the
// start logs), and the pass goes on with the records after it, as the retention sweep
// does: one broken record must not keep every later one from its digest at every start.
// The customer number, which the digest does not hold, is not read.
func (r *Repository) BackfillCreateDigests(ctx context.Context) (int, error) {
	owners, ownersErr := backfillDigests(ctx, r.owners, "owner", func(d *ownerDoc) (string, string) {
		return d.ID, r.ownerCreateDigest(d.toDomain(), d.IdentityIndex)
	})
	patients, patientsErr := backfillDigests(ctx, r.patients, "patient", func(d *patientDoc) (string, string) {
		return d.ID, r.patientCreateDigest(d.withoutCustomerNumber())
	})
	return owners + patients, errors.Join(ownersErr, patientsErr)
}

// backfillDigests writes, to each document of c at version 1 without a create digest,
// the digest that digest makes of it (decoded as a D), and reports how many it wrote.
// It skips a document it cannot decode, and answers those it skipped with a store
// error.
func backfillDigests[D any](ctx context.Context, c *mongo.Collection, what string, digest func(*D) (id, sum string)) (int, error) {
	cur, err := c.Find(ctx, firstVersionWithoutDigest, options.Find().SetProjection(withoutHistory))
	if err != nil {
		return 0, fmt.Errorf("find %ss without a create digest: %w", what, err)
	}
	defer func() { _ = cur.Close(ctx) }()
	n := 0
	var unread []error
	for cur.Next(ctx) {
		var d D
		if err := cur.Decode(&d); err != nil {
			// The driver's decode errors name the field and the types, not the value.
			id, _ := cur.Current.Lookup("_id").StringValueOK()
			unread = append(unread, fmt.Errorf("%s %s cannot be read, skipped: %w", what, id, err))
			continue
		}
		id, sum := digest(&d)
		filter := append(bson.D{{Key: "_id", Value: id}}, firstVersionWithoutDigest...)
		res, err := c.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "create_digest", Value: sum}}}})
		if err != nil {
			return n, errors.Join(fmt.Errorf("backfill the create digest of %s %s: %w", what, id, err), errors.Join(unread...))
		}
		n += int(res.ModifiedCount)
	}
	if err := cur.Err(); err != nil {
		unread = append(unread, fmt.Errorf("backfill %ss' create digests: %w", what, err))
	}
	return n, errors.Join(unread...)
}
