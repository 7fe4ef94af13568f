package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// RetentionMarksCollection holds one document per swept class whose times the
// service's own clock sets (the disclosure log, the finished erasure requests): a
// lower bound of those times, read by _id, so that a sweep with nothing due reads
// one document instead of scanning the class on the embedded store; and one with the
// time the stale pending disclosures were last looked for.
const RetentionMarksCollection = "retention_marks"

var _ domain.RetentionStore = (*Repository)(nil)

// retentionMarkDoc is a class's mark: no record of it is, or will be stored, older
// than Oldest.
type retentionMarkDoc struct {
	Class  string    `bson:"_id"`
	Oldest time.Time `bson:"oldest"`
}

// sweptClass is where a class lives and which field holds its time.
type sweptClass struct {
	coll *mongo.Collection
	// timeKey is the record's time: the disclosure, the receipt, the finish.
	timeKey string
	// marked is whether the class keeps a mark: its times come from the service's
	// clock. An access request's receipt may be entered long after the day, so that
	// class (a few dozen requests a year) is always read.
	marked bool
}

func (r *Repository) sweptClass(class string) (sweptClass, error) {
	switch class {
	case domain.ClassDisclosureLog:
		return sweptClass{coll: r.disclosures, timeKey: "time", marked: true}, nil
	case domain.ClassAccessRequests:
		return sweptClass{coll: r.accessRequests, timeKey: "received"}, nil
	case domain.ClassErasureRequests:
		// Only a finished request has the field: a running or stuck one never matches.
		return sweptClass{coll: r.erasureJobs, timeKey: "finished", marked: true}, nil
	}
	return sweptClass{}, fmt.Errorf("%w %q", domain.ErrUnknownClass, class)
}

// ExpiredRecords implements domain.RetentionStore.
func (r *Repository) ExpiredRecords(ctx context.Context, class string, cutoff time.Time, limit int) ([]domain.Expired, bool, error) {
	c, err := r.sweptClass(class)
	if err != nil {
		return nil, false, err
	}
	if c.marked {
		var mark retentionMarkDoc
		err := r.retentionMarks.FindOne(ctx, bson.M{"_id": class}).Decode(&mark)
		switch {
		case err == nil && !mark.Oldest.Before(cutoff):
			return nil, true, nil
		case err != nil && !errors.Is(err, mongo.ErrNoDocuments):
			return nil, false, fmt.Errorf("read the retention mark of %s: %w", class, err)
		}
	}
	cur, err := c.coll.Find(ctx, bson.M{c.timeKey: bson.M{"$lt": cutoff.UTC()}},
		options.Find().SetProjection(bson.M{"_id": 1, "owner_id": 1}).SetLimit(int64(limit)))
	if err != nil {
		return nil, false, fmt.Errorf("find expired %s: %w", class, err)
	}
	var docs []struct {
		ID      string `bson:"_id"`
		OwnerID string `bson:"owner_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, fmt.Errorf("read expired %s: %w", class, err)
	}
	out := make([]domain.Expired, len(docs))
	for i, d := range docs {
		out[i] = domain.Expired{ID: d.ID, OwnerID: d.OwnerID}
	}
	return out, false, nil
}

// pendingMark is the retention mark of the pass over stale pending disclosures:
// when it last ran. On the embedded store its query scans the log, as a query by time
// does, so it runs once a day rather than with every sweep.
const pendingMark = "pending_disclosures"

// PendingPassDue implements domain.RetentionStore.
func (r *Repository) PendingPassDue(ctx context.Context, now time.Time, every time.Duration) (bool, error) {
	var mark struct {
		Checked time.Time `bson:"checked"`
	}
	err := r.retentionMarks.FindOne(ctx, bson.M{"_id": pendingMark}).Decode(&mark)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("read the mark of the pending disclosures' pass: %w", err)
	}
	return !mark.Checked.After(now.Add(-every)), nil
}

// MarkPendingPass implements domain.RetentionStore.
func (r *Repository) MarkPendingPass(ctx context.Context, now time.Time) error {
	_, err := r.retentionMarks.UpdateOne(ctx, bson.M{"_id": pendingMark},
		bson.M{"$set": bson.M{"checked": now.UTC()}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("store the mark of the pending disclosures' pass: %w", err)
	}
	return nil
}

// StalePending implements domain.RetentionStore.
func (r *Repository) StalePending(ctx context.Context, before time.Time, limit int) ([]domain.Expired, error) {
	cur, err := r.disclosures.Find(ctx, bson.D{{Key: "outcome", Value: outcomePending}, {Key: "time", Value: bson.M{"$lt": before.UTC()}}},
		options.Find().SetProjection(bson.M{"_id": 1, "owner_id": 1}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("find stale pending disclosures: %w", err)
	}
	var docs []struct {
		ID      string `bson:"_id"`
		OwnerID string `bson:"owner_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read stale pending disclosures: %w", err)
	}
	out := make([]domain.Expired, len(docs))
	for i, d := range docs {
		out[i] = domain.Expired{ID: d.ID, OwnerID: d.OwnerID}
	}
	return out, nil
}

// RemoveRecords implements domain.RetentionStore.
func (r *Repository) RemoveRecords(ctx context.Context, class string, records []domain.Expired) error {
	c, err := r.sweptClass(class)
	if err != nil || len(records) == 0 {
		return err
	}
	ids := make([]string, len(records))
	for i, e := range records {
		ids[i] = e.ID
	}
	if class == domain.ClassAccessRequests {
		if err := r.unlistAccessRequests(ctx, records); err != nil {
			return err
		}
	}
	if _, err := c.coll.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
		return fmt.Errorf("remove %d expired %s: %w", len(ids), class, err)
	}
	return nil
}

// unlistAccessRequests takes the requests off their owners' ledgers and deletes a
// ledger left empty: per owner a read and an update by _id. The entries are pulled by
// their stored value ($pullAll), which leaves alone a request a concurrent record
// appends.
func (r *Repository) unlistAccessRequests(ctx context.Context, records []domain.Expired) error {
	byOwner := map[string]map[string]bool{}
	for _, e := range records {
		if byOwner[e.OwnerID] == nil {
			byOwner[e.OwnerID] = map[string]bool{}
		}
		byOwner[e.OwnerID][e.ID] = true
	}
	for owner, ids := range byOwner {
		var d accessLedgerDoc
		err := r.accessLedgers.FindOne(ctx, bson.M{"_id": owner}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read the access requests of owner %s: %w", owner, err)
		}
		var gone []ledgerEntryDoc
		for _, e := range d.Requests {
			if ids[e.ID] {
				gone = append(gone, e)
			}
		}
		if len(gone) > 0 {
			if _, err := r.accessLedgers.UpdateOne(ctx, bson.M{"_id": owner}, bson.M{"$pullAll": bson.M{"requests": gone}}); err != nil {
				return fmt.Errorf("unlist expired access requests of owner %s: %w", owner, err)
			}
		}
		if _, err := r.accessLedgers.DeleteOne(ctx, bson.M{"_id": owner, "requests": bson.M{"$size": 0}}); err != nil {
			return fmt.Errorf("drop the empty access ledger of owner %s: %w", owner, err)
		}
	}
	return nil
}

// MarkSwept implements domain.RetentionStore: the mark is the earlier of the oldest
// time left and now minus slack (a record being stored now carries a time taken a
// moment ago, perhaps on another replica's clock).
func (r *Repository) MarkSwept(ctx context.Context, class string, now time.Time, slack time.Duration) error {
	c, err := r.sweptClass(class)
	if err != nil || !c.marked {
		return err
	}
	oldest := now.Add(-slack).UTC()
	var first bson.M
	err = c.coll.FindOne(ctx, bson.M{c.timeKey: bson.M{"$exists": true}},
		options.FindOne().SetSort(bson.D{{Key: c.timeKey, Value: 1}}).SetProjection(bson.M{"_id": 0, c.timeKey: 1})).Decode(&first)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
	case err != nil:
		return fmt.Errorf("find the oldest %s: %w", class, err)
	default:
		if t, ok := first[c.timeKey].(bson.DateTime); ok && t.Time().Before(oldest) {
			oldest = t.Time().UTC()
		}
	}
	_, err = r.retentionMarks.UpdateOne(ctx, bson.M{"_id": class}, bson.M{"$set": bson.M{"oldest": oldest}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("store the retention mark of %s: %w", class, err)
	}
	return nil
}
