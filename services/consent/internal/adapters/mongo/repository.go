// Package mongo stores the consent ledger in the consent service's own MongoDB database:
// one document per owner, keyed by the owner id, holding that owner's entries in the
// order the store appended them.
//
// Why one document per owner: the embedded store answers only a filter that is exactly
// {_id: X} from an index, so a check is one such read; and MongoDB applies a $push to
// one document atomically, so the position of an entry in the array is a total order
// of the owner's decisions that the store assigns, even for two decisions recorded at
// the same instant by two replicas. The entry's sequence number is that position.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/consent/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/mongox"
)

// LedgersCollection holds one ledger document per owner.
const LedgersCollection = "ledgers"

// appendAttempts bounds the retries of an append whose upsert raced another replica's
// creation of the same ledger.
const appendAttempts = 3

// Repository implements domain.Repository on MongoDB.
type Repository struct {
	ledgers *mongo.Collection
}

var _ domain.Repository = (*Repository)(nil)

// New returns a repository on db.
func New(db *mongo.Database) *Repository {
	return &Repository{ledgers: db.Collection(LedgersCollection)}
}

// Indexes are the indexes the repository needs besides _id: none, since every query is
// by _id (one owner, or {_id: {$in: ids}} for a filter).
func Indexes() []mongox.Index { return nil }

// QueryShapes lists every non-_id query this repository issues: none.
func QueryShapes() []mongox.QueryShape { return nil }

// Append implements domain.Repository.
func (r *Repository) Append(ctx context.Context, e domain.Entry) (domain.Entry, error) {
	// A retried record finds its entry and adds nothing. Two retries racing past this
	// read both append; readers keep the first of a duplicated id (see toLedger), so the
	// ledger still shows one entry.
	l, err := r.Ledger(ctx, e.OwnerID)
	switch {
	case err == nil:
		if existing, ok := l.Entry(e.ID); ok {
			return existing, nil
		}
		if l.Erased {
			return domain.Entry{}, ownerErased()
		}
		if len(l.Entries) >= domain.MaxEntriesPerOwner {
			return domain.Entry{}, ledgerFull()
		}
	case !errors.Is(err, apperr.ErrNotFound):
		return domain.Entry{}, err
	}
	update := bson.M{
		"$push":        bson.M{"entries": toEntryDoc(e)},
		"$set":         bson.M{"updated": e.RecordedAt},
		"$setOnInsert": bson.M{"restricted": false, "created": e.RecordedAt},
	}
	opts := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	for range appendAttempts {
		var d ledgerDoc
		// An erasure between the read and this append leaves the filter unmatched: the
		// upsert's insert then collides with the erased ledger.
		err := r.ledgers.FindOneAndUpdate(ctx, bson.M{"_id": e.OwnerID, "erased": bson.M{"$ne": true}}, update, opts).Decode(&d)
		if mongox.IsDuplicateKey(err) {
			// Another replica created the ledger between our read and upsert (the next
			// attempt updates the document it created), or erased it.
			erased, err := r.erased(ctx, e.OwnerID)
			switch {
			case err != nil:
				return domain.Entry{}, err
			case erased:
				return domain.Entry{}, ownerErased()
			}
			continue
		}
		if err != nil {
			return domain.Entry{}, fmt.Errorf("append to the ledger of owner %s: %w", e.OwnerID, err)
		}
		stored, ok := toLedger(&d).Entry(e.ID)
		if !ok {
			return domain.Entry{}, fmt.Errorf("append to the ledger of owner %s: the entry is not in the stored ledger", e.OwnerID)
		}
		return stored, nil
	}
	return domain.Entry{}, fmt.Errorf("append to the ledger of owner %s: contended: %w", e.OwnerID, apperr.ErrUnavailable)
}

func ownerErased() error {
	return apperr.Precondition("OWNER_ERASED", "the owner's consent ledger has been erased; only the marketing prohibitions are kept")
}

// erased explains an upsert that collided with an existing ledger: true when the
// ledger is erased, false when the caller may try again.
func (r *Repository) erased(ctx context.Context, ownerID string) (bool, error) {
	var d struct {
		Erased bool `bson:"erased"`
	}
	err := r.ledgers.FindOne(ctx, bson.M{"_id": ownerID}, options.FindOne().SetProjection(bson.M{"erased": 1})).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read the ledger of owner %s: %w", ownerID, err)
	}
	return d.Erased, nil
}

// Erase implements domain.Repository with one update of the ledger document, guarded
// by the number of entries the caller read: entries are only ever appended until the
// erasure, so the count tells whether a decision arrived meanwhile (an objection the
// plan must not miss).
func (r *Repository) Erase(ctx context.Context, ownerID string, storedEntries int, exists bool, e domain.Erasure) error {
	sups, answer := toErasureDocs(e)
	if !exists {
		_, err := r.ledgers.InsertOne(ctx, ledgerDoc{
			ID: ownerID, Entries: []entryDoc{}, Restricted: true, Erased: true,
			Suppressions: sups, Erasures: []erasureDoc{answer},
		})
		if mongox.IsDuplicateKey(err) {
			return fmt.Errorf("the ledger of owner %s was created while it was erased: %w", ownerID, apperr.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("erase the ledger of owner %s: %w", ownerID, err)
		}
		return nil
	}
	update := bson.M{
		"$set": bson.M{
			"entries": bson.A{}, "restricted": true, "erased": true, "suppressions": sups,
		},
		"$push":  bson.M{"erasures": answer},
		"$unset": bson.M{"restrictions": "", "created": "", "updated": ""},
	}
	// The guard is the number of entries read. A ledger that SetRestriction created
	// has none and, on the embedded store, no entries field at all: FerretDB v1 drops
	// the $setOnInsert of an upsert that also has a $set, so "no entries" matches a
	// missing field too.
	guard := bson.M{"_id": ownerID, "entries": bson.M{"$size": storedEntries}}
	if storedEntries == 0 {
		guard = bson.M{"_id": ownerID, "$or": bson.A{bson.M{"entries": bson.M{"$size": 0}}, bson.M{"entries": bson.M{"$exists": false}}}}
	}
	res, err := r.ledgers.UpdateOne(ctx, guard, update)
	if err != nil {
		return fmt.Errorf("erase the ledger of owner %s: %w", ownerID, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("the ledger of owner %s changed while it was erased: %w", ownerID, apperr.ErrConflict)
	}
	return nil
}

func ledgerFull() error {
	return apperr.Precondition("LEDGER_FULL",
		fmt.Sprintf("the owner's ledger holds the maximum of %d decisions", domain.MaxEntriesPerOwner))
}

// Ledger implements domain.Repository.
func (r *Repository) Ledger(ctx context.Context, ownerID string) (*domain.Ledger, error) {
	var d ledgerDoc
	err := r.ledgers.FindOne(ctx, bson.M{"_id": ownerID}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("ledger of owner %s: %w", ownerID, apperr.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read the ledger of owner %s: %w", ownerID, err)
	}
	return toLedger(&d), nil
}

// Ledgers implements domain.Repository with one {_id: {$in: ids}} query.
func (r *Repository) Ledgers(ctx context.Context, ownerIDs []string) (map[string]*domain.Ledger, error) {
	out := make(map[string]*domain.Ledger, len(ownerIDs))
	if len(ownerIDs) == 0 {
		return out, nil
	}
	cur, err := r.ledgers.Find(ctx, bson.M{"_id": bson.M{"$in": ownerIDs}},
		options.Find().SetProjection(bson.M{"restrictions": 0}))
	if err != nil {
		return nil, fmt.Errorf("read %d ledgers: %w", len(ownerIDs), err)
	}
	defer func() { _ = cur.Close(context.WithoutCancel(ctx)) }()
	for cur.Next(ctx) {
		var d ledgerDoc
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("decode a ledger: %w", err)
		}
		out[d.ID] = toLedger(&d)
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read %d ledgers: %w", len(ownerIDs), err)
	}
	return out, nil
}

// SetRestriction implements domain.Repository.
func (r *Repository) SetRestriction(ctx context.Context, ownerID string, c domain.RestrictionChange) error {
	at := c.Time.UTC().Truncate(time.Millisecond)
	update := bson.M{
		"$set": bson.M{"restricted": c.Restricted, "updated": at},
		"$push": bson.M{"restrictions": restrictionDoc{
			Restricted: c.Restricted, Reason: c.Reason, ActorSubject: c.ActorSubject, ActorSystem: c.ActorSystem, Time: at,
		}},
		"$setOnInsert": bson.M{"entries": bson.A{}, "created": at},
	}
	// An erased ledger keeps nothing but its suppressions and stays restricted: it takes
	// no change, a lift is refused and a restriction is already in force.
	filter := bson.M{"_id": ownerID, "erased": bson.M{"$ne": true}}
	for range appendAttempts {
		_, err := r.ledgers.UpdateOne(ctx, filter, update, options.UpdateOne().SetUpsert(true))
		if mongox.IsDuplicateKey(err) {
			erased, err := r.erased(ctx, ownerID)
			switch {
			case err != nil:
				return err
			case erased && !c.Restricted:
				return ownerErased()
			case erased:
				return nil
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("set the restriction of owner %s: %w", ownerID, err)
		}
		return nil
	}
	return fmt.Errorf("set the restriction of owner %s: contended: %w", ownerID, apperr.ErrUnavailable)
}
