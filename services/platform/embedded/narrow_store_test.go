package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/platform/embedded"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// The proxy narrows a write whose filter pairs an _id with other conditions to the _id
// alone (narrow.go). Whatever it does, each write must answer and change what MongoDB's
// would: the answers below are MongoDB's, written out by hand.
func TestFilteredWritesKeepMongoDBAnswers(t *testing.T) {
	ctx := t.Context()
	db := connect(t, embeddedtest.Start(t)).Database("owner")
	oid := bson.NewObjectID()
	zeroOID := bson.ObjectID{}
	set := bson.D{
		{Key: "$set", Value: bson.D{{Key: "name", Value: "Aino"}}},
		{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}},
	}
	versioned := func(id any, version int) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "version", Value: version}}
	}
	type doc struct {
		ID      any    `bson:"_id"`
		Version int    `bson:"version"`
		Name    string `bson:"name,omitempty"`
	}
	seed := []any{
		doc{ID: "o-1", Version: 3},
		doc{ID: oid, Version: 3},
	}
	tests := []struct {
		name string
		// extra documents besides seed
		extra []any
		write func(context.Context, *mongo.Collection) (string, error)
		want  string
		// after lists every document of the collection by _id when the write is done.
		after string
	}{
		{
			name:  "current version updates",
			write: updateOne(versioned("o-1", 3), set),
			want:  "matched 1 modified 1",
			after: "o-1 v4 Aino; oid v3",
		},
		{
			name:  "stale version changes nothing",
			write: updateOne(versioned("o-1", 2), set),
			want:  "matched 0 modified 0",
			after: "o-1 v3; oid v3",
		},
		{
			name:  "absent document",
			write: updateOne(versioned("o-2", 1), set),
			want:  "matched 0 modified 0",
			after: "o-1 v3; oid v3",
		},
		{
			name:  "ObjectID, current version",
			write: updateOne(versioned(oid, 3), set),
			want:  "matched 1 modified 1",
			after: "o-1 v3; oid v4 Aino",
		},
		{
			name:  "ObjectID, stale version",
			write: updateOne(versioned(oid, 9), set),
			want:  "matched 0 modified 0",
			after: "o-1 v3; oid v3",
		},
		{
			name:  "stale version beside a document with the zero ObjectID",
			extra: []any{doc{ID: zeroOID, Version: 2}},
			write: updateOne(versioned("o-1", 2), set),
			want:  "matched 0 modified 0",
			after: "o-1 v3; zero v2; oid v3",
		},
		{
			name:  "stale ObjectID beside a document with the empty string _id",
			extra: []any{doc{ID: "", Version: 9}},
			write: updateOne(versioned(oid, 9), set),
			want:  "matched 0 modified 0",
			after: "empty v9; o-1 v3; oid v3",
		},
		{
			name: "operators beside _id",
			write: updateOne(bson.D{{Key: "_id", Value: "o-1"}, {Key: "$or", Value: bson.A{
				bson.D{{Key: "version", Value: 3}}, bson.D{{Key: "version", Value: bson.D{{Key: "$exists", Value: false}}}},
			}}}, set),
			want:  "matched 1 modified 1",
			after: "o-1 v4 Aino; oid v3",
		},
		{
			name:  "upsert inserts from the filter",
			write: upsertOne(versioned("o-2", 1), bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: "Aino"}}}}),
			want:  "matched 0 modified 0 upserted o-2",
			after: "o-1 v3; o-2 v1 Aino; oid v3",
		},
		{
			name:  "invalid filter is refused",
			write: updateOne(bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: bson.D{{Key: "$bogus", Value: 1}}}}, set),
			want:  "error",
			after: "o-1 v3; oid v3",
		},
		{
			name:  "findAndModify, current version",
			write: findOneAndUpdate(versioned("o-1", 3), set),
			want:  "o-1 v4 Aino",
			after: "o-1 v4 Aino; oid v3",
		},
		{
			name:  "findAndModify, stale version",
			write: findOneAndUpdate(versioned("o-1", 4), set),
			want:  "no documents",
			after: "o-1 v3; oid v3",
		},
		{
			name:  "delete, current version",
			write: deleteOne(versioned("o-1", 3)),
			want:  "deleted 1",
			after: "oid v3",
		},
		{
			name:  "delete, stale version",
			write: deleteOne(versioned("o-1", 1)),
			want:  "deleted 0",
			after: "o-1 v3; oid v3",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := db.Collection(fmt.Sprintf("c%d", i))
			if _, err := c.InsertMany(ctx, append(append([]any{}, seed...), tt.extra...)); err != nil {
				t.Fatalf("seed: %v", err)
			}
			got, err := tt.write(ctx, c)
			if err != nil {
				got = "error"
			}
			if got != tt.want {
				t.Errorf("write answered %q (%v), want %q", got, err, tt.want)
			}
			if after := listed(t, c, oid); after != tt.after {
				t.Errorf("after the write the collection holds %q, want %q", after, tt.after)
			}
		})
	}
}

// A write the proxy narrows (one statement) must answer and change what the same write
// sent as sent does. The proxy never narrows the first of two statements, which makes it
// the reference: each filter runs once each way, on collections seeded alike.
func TestNarrowedWritesAnswerAsSent(t *testing.T) {
	ctx := t.Context()
	db := connect(t, embeddedtest.Start(t)).Database("owner")
	set := bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: "Aino"}}}}
	seed := []any{
		bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: 3}, {Key: "entries", Value: bson.A{1, 2}}},
		bson.D{{Key: "_id", Value: "o-3"}, {Key: "version", Value: 2}},
	}
	op := func(name string, arg any) bson.D { return bson.D{{Key: name, Value: arg}} }
	filters := []struct {
		name   string
		filter bson.D
		upsert bool
	}{
		{name: "current version", filter: bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: 3}}},
		{name: "stale version", filter: bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: 2}}},
		{name: "absent _id", filter: bson.D{{Key: "_id", Value: "o-2"}, {Key: "version", Value: 3}}},
		{name: "$size", filter: bson.D{{Key: "_id", Value: "o-1"}, {Key: "entries", Value: op("$size", 2)}}},
		{name: "$or", filter: bson.D{{Key: "_id", Value: "o-3"}, {Key: "$or", Value: bson.A{
			bson.D{{Key: "entries", Value: op("$size", 0)}}, bson.D{{Key: "entries", Value: op("$exists", false)}},
		}}}},
		{name: "unknown operator before an absent _id", filter: bson.D{{Key: "version", Value: op("$bogus", 1)}, {Key: "_id", Value: "o-2"}}},
		{name: "negative $size before an absent _id", filter: bson.D{{Key: "version", Value: op("$size", -1)}, {Key: "_id", Value: "o-2"}}},
		{name: "unknown top-level operator", filter: bson.D{{Key: "$bogus", Value: 1}, {Key: "_id", Value: "o-2"}}},
		{name: "empty path part before an absent _id", filter: bson.D{{Key: "a..b", Value: 1}, {Key: "_id", Value: "o-2"}}},
		{name: "spaced path part behind a stale version", filter: bson.D{{Key: "version", Value: 3}, {Key: "a. b", Value: 1}, {Key: "_id", Value: "o-3"}}},
		{name: "upsert of an absent _id", filter: bson.D{{Key: "_id", Value: "o-2"}, {Key: "version", Value: 1}}, upsert: true},
		{name: "upsert, matching", filter: bson.D{{Key: "_id", Value: "o-1"}, {Key: "erased", Value: op("$ne", true)}}, upsert: true},
		{name: "upsert of an absent _id, filter adding nothing", filter: bson.D{{Key: "_id", Value: "o-2"}, {Key: "erased", Value: op("$ne", true)}}, upsert: true},
		{name: "upsert, a present document not matching", filter: bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: op("$gt", 5)}}, upsert: true},
		{name: "upsert of an absent _id, $eq", filter: bson.D{{Key: "_id", Value: "o-2"}, {Key: "version", Value: op("$eq", 4)}}, upsert: true},
		{name: "upsert of an absent _id, two operators", filter: bson.D{{Key: "_id", Value: "o-2"}, {Key: "version", Value: bson.D{{Key: "$gt", Value: 1}, {Key: "$lt", Value: 5}}}}, upsert: true},
		{name: "upsert of an absent _id, $and", filter: bson.D{{Key: "_id", Value: "o-2"}, {Key: "$and", Value: bson.A{bson.D{{Key: "version", Value: 4}}}}}, upsert: true},
	}
	for i, tt := range filters {
		t.Run(tt.name, func(t *testing.T) {
			run := func(prefix string, models ...mongo.WriteModel) string {
				c := db.Collection(fmt.Sprintf("%s%d", prefix, i))
				if _, err := c.InsertMany(ctx, seed); err != nil {
					t.Fatalf("seed: %v", err)
				}
				res, err := c.BulkWrite(ctx, models)
				answer := "error"
				if err == nil {
					answer = fmt.Sprintf("matched %d modified %d upserted %d deleted %d",
						res.MatchedCount, res.ModifiedCount, res.UpsertedCount, res.DeletedCount)
				}
				return answer + "; " + listed(t, c, bson.ObjectID{})
			}
			none := bson.D{{Key: "_id", Value: "none"}}
			for _, w := range []struct {
				kind      string
				stmt, nop mongo.WriteModel
			}{
				{"update", mongo.NewUpdateOneModel().SetFilter(tt.filter).SetUpdate(set).SetUpsert(tt.upsert),
					mongo.NewUpdateOneModel().SetFilter(none).SetUpdate(set)},
				{"delete", mongo.NewDeleteOneModel().SetFilter(tt.filter), mongo.NewDeleteOneModel().SetFilter(none)},
			} {
				narrowed := run("n"+w.kind, w.stmt)
				sent := run("s"+w.kind, w.stmt, w.nop)
				if narrowed != sent {
					t.Errorf("%s narrowed: %q; as sent: %q", w.kind, narrowed, sent)
				}
			}
		})
	}
}

// Each command through the proxy, which narrows what it can, must answer and leave the
// collection exactly as the same command sent to FerretDB's own socket, which nothing
// narrows: the whole reply and every document, field order included. This covers
// findAndModify, which has no form the proxy leaves alone.
func TestNarrowedCommandsAnswerAsFerretDB(t *testing.T) {
	ctx := t.Context()
	store := embeddedtest.Start(t)
	db := connect(t, store).Database("owner")
	dc, err := mongo.Connect(options.Client().ApplyURI(embedded.DirectURI(store)))
	if err != nil {
		t.Fatalf("connect to FerretDB: %v", err)
	}
	t.Cleanup(func() { _ = dc.Disconnect(context.Background()) })
	direct := dc.Database("owner")
	oid := bson.NewObjectID()
	absentOID := bson.NewObjectID()
	seed := []any{
		bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: 3}, {Key: "entries", Value: bson.A{1, 2}}},
		bson.D{{Key: "_id", Value: "o-3"}, {Key: "version", Value: 2}},
		bson.D{{Key: "_id", Value: oid}, {Key: "version", Value: 2}},
	}
	op := func(name string, arg any) bson.D { return bson.D{{Key: name, Value: arg}} }
	filters := []struct {
		name   string
		filter bson.D
	}{
		{"matching", bson.D{{Key: "_id", Value: "o-1"}, {Key: "erased", Value: op("$ne", true)}}},
		{"stale version", bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: 2}}},
		{"present, not matching", bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: op("$gt", 5)}}},
		{"ObjectID present, not matching", bson.D{{Key: "_id", Value: oid}, {Key: "version", Value: op("$gt", 5)}}},
		{"absent, $ne", bson.D{{Key: "_id", Value: "o-2"}, {Key: "erased", Value: op("$ne", true)}}},
		{"absent ObjectID, $ne", bson.D{{Key: "_id", Value: absentOID}, {Key: "erased", Value: op("$ne", true)}}},
		{"absent, _id second", bson.D{{Key: "erased", Value: op("$ne", true)}, {Key: "_id", Value: "o-2"}}},
		{"absent, dotted value", bson.D{{Key: "_id", Value: "o-2"}, {Key: "a.b", Value: 1}}},
		{"absent, document value", bson.D{{Key: "_id", Value: "o-2"}, {Key: "a", Value: bson.D{{Key: "b", Value: 1}}}}},
		{"absent, $eq", bson.D{{Key: "_id", Value: "o-2"}, {Key: "version", Value: op("$eq", 4)}}},
		{"absent, two operators", bson.D{{Key: "_id", Value: "o-2"}, {Key: "version", Value: bson.D{{Key: "$gt", Value: 1}, {Key: "$lt", Value: 5}}}}},
		{"absent, $and", bson.D{{Key: "_id", Value: "o-2"}, {Key: "$and", Value: bson.A{bson.D{{Key: "version", Value: 4}}}}}},
	}
	updates := []struct {
		name string
		u    bson.D
	}{
		{"$set and $setOnInsert", bson.D{
			{Key: "$set", Value: bson.D{{Key: "name", Value: "Aino"}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "created", Value: 1}}},
		}},
		{"replacement", bson.D{{Key: "name", Value: "Aino"}}},
		{"replacement with another _id", bson.D{{Key: "_id", Value: "o-9"}, {Key: "name", Value: "Aino"}}},
	}
	n := 0
	run := func(t *testing.T, db *mongo.Database, cmd func(coll string) bson.D) string {
		t.Helper()
		n++
		coll := fmt.Sprintf("c%d", n)
		c := db.Collection(coll)
		if _, err := c.InsertMany(ctx, seed); err != nil {
			t.Fatalf("seed: %v", err)
		}
		answer := "error"
		if raw, err := db.RunCommand(ctx, cmd(coll)).Raw(); err == nil {
			answer = strings.ReplaceAll(raw.String(), coll, "C")
		} else {
			answer += ": " + strings.ReplaceAll(err.Error(), coll, "C")
		}
		cur, err := c.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, d := range docs {
			s := d.String()
			if id, ok := d.Lookup("_id").ObjectIDOK(); ok && id != oid && id != absentOID {
				s = strings.ReplaceAll(s, id.Hex(), "generated")
			}
			answer += "\n" + s
		}
		return answer
	}
	for _, f := range filters {
		for _, u := range updates {
			t.Run(f.name+"/"+u.name, func(t *testing.T) {
				for _, upsert := range []any{false, true, int32(1)} {
					update := func(coll string) bson.D {
						return bson.D{{Key: "update", Value: coll}, {Key: "updates", Value: bson.A{
							bson.D{{Key: "q", Value: f.filter}, {Key: "u", Value: u.u}, {Key: "upsert", Value: upsert}},
						}}}
					}
					if got, want := run(t, db, update), run(t, direct, update); got != want {
						t.Errorf("update, upsert %v\nthrough the proxy: %s\nFerretDB alone:    %s", upsert, got, want)
					}
				}
				for _, extra := range []bson.D{
					{{Key: "new", Value: true}, {Key: "upsert", Value: true}},
					{{Key: "new", Value: false}, {Key: "upsert", Value: true}},
					{{Key: "new", Value: true}},
				} {
					fam := func(coll string) bson.D {
						return append(bson.D{{Key: "findAndModify", Value: coll}, {Key: "query", Value: f.filter}, {Key: "update", Value: u.u}}, extra...)
					}
					if got, want := run(t, db, fam), run(t, direct, fam); got != want {
						t.Errorf("findAndModify %v\nthrough the proxy: %s\nFerretDB alone:    %s", extra, got, want)
					}
				}
			})
		}
	}
}

type write = func(context.Context, *mongo.Collection) (string, error)

func updateOne(filter, update bson.D) write {
	return func(ctx context.Context, c *mongo.Collection) (string, error) {
		res, err := c.UpdateOne(ctx, filter, update)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("matched %d modified %d", res.MatchedCount, res.ModifiedCount), nil
	}
}

func upsertOne(filter, update bson.D) write {
	return func(ctx context.Context, c *mongo.Collection) (string, error) {
		res, err := c.UpdateOne(ctx, filter, update, options.UpdateOne().SetUpsert(true))
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("matched %d modified %d upserted %v", res.MatchedCount, res.ModifiedCount, res.UpsertedID), nil
	}
}

func findOneAndUpdate(filter, update bson.D) write {
	return func(ctx context.Context, c *mongo.Collection) (string, error) {
		var d bson.M
		err := c.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return "no documents", nil
		}
		if err != nil {
			return "", err
		}
		return describe(d, bson.ObjectID{}), nil
	}
}

func deleteOne(filter bson.D) write {
	return func(ctx context.Context, c *mongo.Collection) (string, error) {
		res, err := c.DeleteOne(ctx, filter)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("deleted %d", res.DeletedCount), nil
	}
}

// listed describes every document of c in _id order, naming the ObjectID oid "oid", the
// zero ObjectID "zero" and the empty string "empty".
func listed(t *testing.T, c *mongo.Collection, oid bson.ObjectID) string {
	t.Helper()
	cur, err := c.Find(t.Context(), bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var docs []bson.M
	if err := cur.All(t.Context(), &docs); err != nil {
		t.Fatalf("list: %v", err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = describe(d, oid)
	}
	return strings.Join(out, "; ")
}

func describe(d bson.M, oid bson.ObjectID) string {
	id := fmt.Sprint(d["_id"])
	switch d["_id"] {
	case oid:
		id = "oid"
	case bson.ObjectID{}:
		id = "zero"
	case "":
		id = "empty"
	}
	s := fmt.Sprintf("%s v%v", id, d["version"])
	if name, ok := d["name"]; ok {
		s += fmt.Sprintf(" %v", name)
	}
	return s
}
