package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/history/internal/domain"
)

// codesColl holds one codeDoc per erased owner whose identity code was marked to be
// checked (a payment on a restricted visit): beside the erasure record, not in it, as
// namesColl is, since the erasure's passes and the sweep replace that record whole.
const codesColl = "code_notices"

// codeDoc is a domain.CodeNotice.
type codeDoc struct {
	ID     string `bson:"_id"`
	Checks int64  `bson:"checks"`
	// PendingUntil is stored at the store's millisecond precision; zero: no write
	// marked pending.
	PendingUntil time.Time `bson:"pending_until,omitempty"`
	AskAfter     time.Time `bson:"ask_after,omitempty"`
	Failures     int64     `bson:"failures,omitempty"`
}

// MarkCodeCheck implements domain.Repository: one upsert. A mark is a new reason to
// ask, so it ends a wait after failed checks (ask_after); their count stays, so that
// the next failure waits as long as it would have.
func (r *Repository) MarkCodeCheck(ctx context.Context, ownerID string) error {
	_, err := r.codes.UpdateOne(ctx, bson.M{"_id": ownerID}, bson.M{"$inc": bson.M{"checks": 1}, "$unset": bson.M{"ask_after": ""}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("mark the identity code of owner %s to be checked: %w", ownerID, err)
	}
	return nil
}

// MarkCodePending implements domain.Repository: one upsert, which raises
// pending_until and never lowers it, and ends a wait after failed checks as
// MarkCodeCheck does.
func (r *Repository) MarkCodePending(ctx context.Context, until time.Time, ownerID string) error {
	_, err := r.codes.UpdateOne(ctx, bson.M{"_id": ownerID},
		bson.M{"$inc": bson.M{"checks": 1}, "$max": bson.M{"pending_until": until}, "$unset": bson.M{"ask_after": ""}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("mark the identity code of owner %s to be checked: %w", ownerID, err)
	}
	return nil
}

// CodeChecksDue implements domain.Repository.
func (r *Repository) CodeChecksDue(ctx context.Context) ([]domain.CodeNotice, error) {
	cur, err := r.codes.Find(ctx, bson.M{"checks": bson.M{"$gt": 0}})
	if err != nil {
		return nil, fmt.Errorf("find the identity codes to check: %w", err)
	}
	var docs []codeDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find the identity codes to check: %w", err)
	}
	out := make([]domain.CodeNotice, len(docs))
	for i, d := range docs {
		out[i] = domain.CodeNotice{OwnerID: d.ID, Checks: d.Checks, PendingUntil: d.PendingUntil, AskAfter: d.AskAfter, Failures: d.Failures}
	}
	return out, nil
}

// CodeAskAfter implements domain.Repository.
func (r *Repository) CodeAskAfter(ctx context.Context, ownerID string, t time.Time, failures int64) error {
	if _, err := r.codes.UpdateOne(ctx, bson.M{"_id": ownerID}, bson.M{"$set": bson.M{"ask_after": t, "failures": failures}}); err != nil {
		return fmt.Errorf("store when to check the identity code of owner %s again: %w", ownerID, err)
	}
	return nil
}

// ClearCodeCheck implements domain.Repository.
func (r *Repository) ClearCodeCheck(ctx context.Context, ownerID string, checks int64) error {
	if _, err := r.codes.UpdateOne(ctx, bson.M{"_id": ownerID, "checks": checks}, bson.M{"$set": bson.M{"checks": 0, "failures": 0}}); err != nil {
		return fmt.Errorf("clear the identity code check of owner %s: %w", ownerID, err)
	}
	return nil
}
