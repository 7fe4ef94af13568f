package mongo

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// Søren Bjørnsson's keys as rules that kept "ø" made them, and as today's make them.
var (
	staleNameKeys = bson.A{"søren", "bjørnsson"}
	freshNameKeys = []string{"soren", "bjornsson"}
)

// createSøren stores an owner named Søren Bjørnsson with the stale keys.
func createSøren(t *testing.T, r *Repository, db *mongo.Database, id string) {
	t.Helper()
	o := testOwner(id)
	o.GivenNames, o.FamilyName = "Søren", "Bjørnsson"
	if _, err := r.CreateOwner(t.Context(), o, nil, registered()); err != nil {
		t.Fatal(err)
	}
	makeStale(t, db, id)
}

// makeStale writes the stale keys, as a replica still on the older rules would.
func makeStale(t *testing.T, db *mongo.Database, id string) {
	t.Helper()
	_, err := db.Collection(ownersColl).UpdateOne(t.Context(), bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "sort_key", Value: "bjørnsson søren"}, {Key: "name_keys", Value: staleNameKeys}}}})
	if err != nil {
		t.Fatal(err)
	}
}

// fresh reports whether the owner's stored keys are today's.
func fresh(t *testing.T, db *mongo.Database, id string) bool {
	t.Helper()
	var d ownerDoc
	if err := db.Collection(ownersColl).FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return slices.Equal(d.NameKeys, freshNameKeys)
}

// TestRefreshNameKeys refreshes keys folded by an older rule ("ø" kept): search then
// finds the owner as it finds owners written since.
func TestRefreshNameKeys(t *testing.T) {
	r, db := testRepo(t)
	ctx := t.Context()
	createSøren(t, r, db, "søren")
	if n, err := r.RefreshNameKeys(ctx); err != nil || n != 1 {
		t.Fatalf("refreshed %d (%v), want 1", n, err)
	}
	found, _, err := r.ListOwners(ctx, domain.OwnerQuery{NamePrefix: domain.SearchKey("soren bjorn")})
	if err != nil || len(found) != 1 {
		t.Fatalf("search after the refresh: %d owners (%v)", len(found), err)
	}
}

// TestRefreshNameKeysRunsOncePerVersion starts the service again and again on one
// database: only a start under other rules than the last complete pass reads the
// owners. The owner's keys are made stale before each start; a start that skips the
// pass leaves them so.
func TestRefreshNameKeysRunsOncePerVersion(t *testing.T) {
	r, db := testRepo(t)
	createSøren(t, r, db, "søren")
	starts := []struct {
		name          string
		version       int
		wantRefreshed int
	}{
		{"first start", domain.NameKeysVersion, 1},
		{"same rules", domain.NameKeysVersion, 0},
		{"new rules", domain.NameKeysVersion + 1, 1},
		{"same new rules", domain.NameKeysVersion + 1, 0},
		{"rolled back", domain.NameKeysVersion, 1},
	}
	for _, s := range starts {
		makeStale(t, db, "søren")
		r.nameKeysVersion = s.version
		n, err := r.RefreshNameKeys(t.Context())
		if err != nil || n != s.wantRefreshed {
			t.Errorf("%s: refreshed %d (%v), want %d", s.name, n, err, s.wantRefreshed)
		}
		if got := fresh(t, db, "søren"); got != (s.wantRefreshed > 0) {
			t.Errorf("%s: keys fresh = %t after the start", s.name, got)
		}
	}
}

// TestRefreshNameKeysRedoesAnInterruptedPass stops the pass after its first update, as
// a shutdown would: the next start runs it again and stamps it.
func TestRefreshNameKeysRedoesAnInterruptedPass(t *testing.T) {
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var armed atomic.Bool
	monitor := &event.CommandMonitor{Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
		if e.CommandName == "update" && armed.Load() {
			stop()
		}
	}}
	s := embeddedtest.Start(t)
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()).SetMonitor(monitor))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	r, db := repoOn(t, c)
	ids := []string{"o1", "o2", "o3"}
	for _, id := range ids {
		createSøren(t, r, db, id)
	}

	armed.Store(true)
	if n, err := r.RefreshNameKeys(ctx); err == nil || n != 1 {
		t.Fatalf("interrupted pass: refreshed %d (%v), want 1 and an error", n, err)
	}
	armed.Store(false)
	if n, err := r.RefreshNameKeys(t.Context()); err != nil || n != 2 {
		t.Fatalf("the next start refreshed %d (%v), want the 2 left", n, err)
	}
	for _, id := range ids {
		if !fresh(t, db, id) {
			t.Errorf("owner %s keeps stale keys", id)
		}
	}
	makeStale(t, db, "o1")
	if n, err := r.RefreshNameKeys(t.Context()); err != nil || n != 0 {
		t.Errorf("a start after the complete pass refreshed %d (%v), want none", n, err)
	}
}
