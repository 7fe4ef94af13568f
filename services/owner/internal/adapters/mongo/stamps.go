package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// runStamped runs the start-up pass unless the stamp id says that a pass under version
// ran to the end, and stamps version once this one does: a pass cut short runs again in
// full at the next start, and so does one whose version changed either way.
func (r *Repository) runStamped(ctx context.Context, id string, version int, pass func(context.Context) (int, error)) (int, error) {
	var stamp stampDoc
	err := r.stamps.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&stamp)
	switch {
	case err == nil && stamp.Version == version:
		return 0, nil
	case err != nil && !errors.Is(err, mongo.ErrNoDocuments):
		return 0, fmt.Errorf("read the stamp %s: %w", id, err)
	}
	n, err := pass(ctx)
	if err != nil {
		return n, err
	}
	_, err = r.stamps.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: version}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return n, fmt.Errorf("stamp %s: %w", id, err)
	}
	return n, nil
}
