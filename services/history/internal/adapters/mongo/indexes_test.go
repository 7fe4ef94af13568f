package mongo

import (
	"log/slog"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/mongox"
)

// TestIndexesCoverEveryQuery checks that each query shape the repository issues is a
// prefix of a declared index, so that production MongoDB never scans a collection.
func TestIndexesCoverEveryQuery(t *testing.T) {
	for _, q := range mongox.Uncovered(Indexes(), QueryShapes()) {
		t.Errorf("query on %s by %v has no index", q.Collection, q.Keys)
	}
}

// TestEnsureIndexesTwice is what a second replica does at start: the indexes exist.
func TestEnsureIndexesTwice(t *testing.T) {
	s := embeddedtest.Start(t)
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(t.Context()) })
	db := c.Database("history_indexes")
	all := append(Indexes(), audit.NewWriter(db, slog.New(slog.DiscardHandler)).Indexes()...)
	for round := range 2 {
		if err := mongox.EnsureIndexes(t.Context(), db, all); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}
