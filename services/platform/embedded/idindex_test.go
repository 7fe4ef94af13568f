package embedded_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/platform/embedded"
)

// idLookupPlan asks SQLite how it would run FerretDB's lookup by _id in db.coll.
func idLookupPlan(t *testing.T, dir, db, coll string) string {
	t.Helper()
	h, err := sql.Open("sqlite", "file:"+filepath.Join(dir, db+".sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = h.Close() }()
	var table string
	if err := h.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = ?`, coll).Scan(&table); err != nil {
		t.Fatal(err)
	}
	// FerretDB's own lookup (backends/sqlite: WHERE <IDColumn> = ?), on the table FerretDB named.
	q := `EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "` + table + `" WHERE _ferretdb_sjson->'$._id' = ?` //nolint:gosec // the table name comes from FerretDB's metadata
	rows, err := h.Query(q, `"x"`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// TestReadsByIDUseAnIndex: every way a collection comes to exist gets the index FerretDB's
// lookups by _id can use, also after the collection was dropped and made again.
func TestReadsByIDUseAnIndex(t *testing.T) {
	dir := t.TempDir()
	s, err := embedded.Start(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	db := connect(t, s).Database("lookups")
	ctx := context.Background()
	creators := map[string]func(coll string) error{
		"insert": func(coll string) error {
			_, err := db.Collection(coll).InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}})
			return err
		},
		"upsert": func(coll string) error {
			_, err := db.Collection(coll).UpdateOne(ctx, bson.M{"_id": "a"}, bson.M{"$set": bson.M{"n": 1}}, options.UpdateOne().SetUpsert(true))
			return err
		},
		"findAndModify": func(coll string) error {
			return db.Collection(coll).FindOneAndUpdate(ctx, bson.M{"_id": "a"}, bson.M{"$inc": bson.M{"n": 1}},
				options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Err()
		},
	}
	for name, create := range creators {
		t.Run(name, func(t *testing.T) {
			if err := create(name); err != nil {
				t.Fatal(err)
			}
			if plan := idLookupPlan(t, dir, "lookups", name); !strings.Contains(plan, "USING INDEX") {
				t.Fatalf("lookup by _id plans %q", plan)
			}
			if err := db.Collection(name).Drop(ctx); err != nil {
				t.Fatal(err)
			}
			if name == "upsert" {
				// A dropped database is a deleted file; made again, it is a new one.
				if err := db.Drop(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := create(name); err != nil {
				t.Fatal(err)
			}
			if plan := idLookupPlan(t, dir, "lookups", name); !strings.Contains(plan, "USING INDEX") {
				t.Fatalf("after a drop, lookup by _id plans %q", plan)
			}
			var doc bson.M
			if err := db.Collection(name).FindOne(ctx, bson.M{"_id": "a"}).Decode(&doc); err != nil || doc["_id"] != "a" {
				t.Fatalf("read by _id: %v, %v", doc, err)
			}
		})
	}
}

// TestStartIndexesStoredCollections: a data folder written before the store added its
// index (here: the index dropped by hand) reads by _id through the index from the start,
// before any write.
func TestStartIndexesStoredCollections(t *testing.T) {
	dir := t.TempDir()
	first := startIn(t, dir)
	client := connect(t, first)
	if _, err := client.Database("lookups").Collection("old").InsertOne(t.Context(), bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := client.Disconnect(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	h, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "lookups.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	var index string
	if err := h.QueryRow(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%lillvet_id_lookup'`).Scan(&index); err != nil {
		t.Fatalf("the store's index: %v", err)
	}
	if _, err := h.Exec(`DROP INDEX "` + index + `"`); err != nil { //nolint:gosec // a name read from sqlite_master
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if plan := idLookupPlan(t, dir, "lookups", "old"); strings.Contains(plan, "USING INDEX") {
		t.Fatalf("the index is still there: %q", plan)
	}

	second := startIn(t, dir)
	t.Cleanup(func() { _ = second.Close() })
	if plan := idLookupPlan(t, dir, "lookups", "old"); !strings.Contains(plan, "USING INDEX") {
		t.Fatalf("after a restart, lookup by _id plans %q", plan)
	}
}
