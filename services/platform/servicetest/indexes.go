package servicetest

import (
	"log/slog"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/mongox"
)

// CheckIndexes is every repository's index test: each query shape it issues is a prefix
// of a declared index (so that production MongoDB never scans a collection), and the
// indexes with the audit log's can be ensured twice on the embedded store, as a second
// replica does at start.
func CheckIndexes(t *testing.T, indexes []mongox.Index, shapes []mongox.QueryShape) {
	t.Helper()
	for _, q := range mongox.Uncovered(indexes, shapes) {
		t.Errorf("query on %s by %v has no index", q.Collection, q.Keys)
	}
	s := embeddedtest.Start(t)
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(t.Context()) })
	db := c.Database("indexes")
	all := append(append([]mongox.Index{}, indexes...), audit.NewWriter(db, slog.New(slog.DiscardHandler)).Indexes()...)
	for round := range 2 {
		if err := mongox.EnsureIndexes(t.Context(), db, all); err != nil {
			t.Fatalf("ensure indexes, round %d: %v", round, err)
		}
	}
}
