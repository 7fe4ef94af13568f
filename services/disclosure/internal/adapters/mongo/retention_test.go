package mongo

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// TestRetentionStore checks what the sweep relies on: the due records of a class and
// nothing else are found and removed, an access request leaves its owner's ledger
// (and an emptied ledger goes), and a class marked swept is not read again until
// something in it may be due.
func TestRetentionStore(t *testing.T) {
	db := storeDB(t, "retention")
	repo := New(db)
	ctx := t.Context()
	cutoff := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	old, recent := cutoff.Add(-time.Second), cutoff

	for _, rec := range []domain.Record{
		{ID: "d-old", OwnerID: "o1", RecipientID: "r1", CreatedAt: old},
		{ID: "d-new", OwnerID: "o1", RecipientID: "r1", CreatedAt: recent},
	} {
		if _, err := repo.AppendRecord(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []domain.AccessRequest{
		{ID: "a-old", OwnerID: "o1", ReceivedAt: old}, {ID: "a-new", OwnerID: "o1", ReceivedAt: recent},
		{ID: "a-only", OwnerID: "o2", ReceivedAt: old},
	} {
		if _, err := repo.CreateAccessRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := repo.AddToAccessLedger(ctx, r.OwnerID, domain.PriorRequest{ID: r.ID, ReceivedAt: r.ReceivedAt}); err != nil {
			t.Fatal(err)
		}
	}
	running := domain.NewErasureJob("e-running", domain.Receipt{OwnerID: "o3", ReceivedAt: old}, old)
	finished := domain.NewErasureJob("e-done", domain.Receipt{OwnerID: "o4", ReceivedAt: old}, old)
	finished.State, finished.FinishedAt = domain.JobDone, old
	for _, j := range []domain.ErasureJob{running, finished} {
		if _, err := repo.CreateErasureJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string][]string{
		domain.ClassDisclosureLog:   {"d-old"},
		domain.ClassAccessRequests:  {"a-old", "a-only"},
		domain.ClassErasureRequests: {"e-done"},
	}
	for _, class := range domain.SweptClasses() {
		got, skipped, err := repo.ExpiredRecords(ctx, class, cutoff, 10)
		if err != nil || skipped || !sameIDs(got, want[class]) {
			t.Fatalf("%s: expired %+v (skipped %v), %v; want %v", class, got, skipped, err, want[class])
		}
		if err := repo.RemoveRecords(ctx, class, got); err != nil {
			t.Fatal(err)
		}
		if err := repo.MarkSwept(ctx, class, cutoff.AddDate(5, 0, 0), 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if l, err := repo.AccessLedger(ctx, "o1"); err != nil || len(l.Requests) != 1 || l.Requests[0].ID != "a-new" {
		t.Errorf("o1's ledger = %+v, %v; want only a-new", l, err)
	}
	if n, err := db.Collection(AccessLedgersCollection).CountDocuments(ctx, bson.M{"_id": "o2"}); err != nil || n != 0 {
		t.Errorf("o2's emptied ledger: %d documents, %v", n, err)
	}
	if _, err := repo.ErasureJob(ctx, "e-running"); err != nil {
		t.Errorf("the running erasure request: %v", err)
	}

	// Marked: the disclosure log and the erasure requests are skipped until the cutoff
	// passes their oldest time left; the access requests are always read.
	for _, tt := range []struct {
		class   string
		cutoff  time.Time
		skipped bool
	}{
		{domain.ClassDisclosureLog, recent, true},
		{domain.ClassDisclosureLog, recent.Add(time.Millisecond), false},
		{domain.ClassErasureRequests, cutoff.AddDate(5, -1, 0), true},
		{domain.ClassAccessRequests, recent, false},
	} {
		if _, skipped, err := repo.ExpiredRecords(ctx, tt.class, tt.cutoff, 10); err != nil || skipped != tt.skipped {
			t.Errorf("%s at %v: skipped %v, %v; want %v", tt.class, tt.cutoff, skipped, err, tt.skipped)
		}
	}
}

// storeDB is a database of its own on a fresh embedded store.
func storeDB(tb testing.TB, name string) *mongo.Database {
	tb.Helper()
	s := embeddedtest.Start(tb)
	c := embeddedtest.Client(tb, s.URI())
	return c.Database(name)
}

func sameIDs(got []domain.Expired, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.ID] = true
	}
	for _, id := range want {
		if !seen[id] {
			return false
		}
	}
	return true
}
