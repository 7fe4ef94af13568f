package mongo

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/lillvet/register/services/consent/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

func testDB(t *testing.T) *mongo.Database {
	t.Helper()
	s := embeddedtest.Start(t)
	c := embeddedtest.Client(t, s.URI())
	return c.Database("consent_repo")
}

var at = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func entry(owner, id string) domain.Entry {
	return domain.Entry{
		ID: id, OwnerID: owner, Purpose: domain.PurposeStatisticalResearch, Decision: domain.DecisionObjected,
		Method: domain.MethodInPerson, EffectiveAt: at, RecordedBy: "test", RecordedAt: at,
	}
}

// TestConcurrentAppendsAreTotallyOrdered is two replicas' worth of desks recording for
// one owner at the same instant, the first of them creating the ledger: every entry is
// kept, each with its own sequence number.
func TestConcurrentAppendsAreTotallyOrdered(t *testing.T) {
	r := New(testDB(t))
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if _, err := r.Append(t.Context(), entry("o1", fmt.Sprintf("e%02d", i))); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	l, err := r.Ledger(t.Context(), "o1")
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, e := range l.Entries {
		seqs = append(seqs, e.Seq)
	}
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i) + 1
	}
	if !slices.Equal(seqs, want) {
		t.Fatalf("sequences %v, want 1..%d", seqs, n)
	}
}

// TestRetriedAppendKeepsTheFirstEntry covers both ways a retry arrives: after the first
// append (found by the read) and racing it (both appended; readers keep the first).
func TestRetriedAppendKeepsTheFirstEntry(t *testing.T) {
	db := testDB(t)
	r := New(db)
	first, err := r.Append(t.Context(), entry("o1", "e1"))
	if err != nil {
		t.Fatal(err)
	}
	retry := entry("o1", "e1")
	retry.RecordedAt = at.Add(time.Second)
	again, err := r.Append(t.Context(), retry)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatalf("retry returned %+v, want the first entry %+v", again, first)
	}
	// The racing retry, as the store would hold it.
	if _, err := db.Collection(LedgersCollection).UpdateByID(t.Context(), "o1",
		bson.M{"$push": bson.M{"entries": toEntryDoc(retry)}}); err != nil {
		t.Fatal(err)
	}
	second, err := r.Append(t.Context(), entry("o1", "e2"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.Ledger(t.Context(), "o1")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 2 || l.Entries[0] != first || l.Entries[1] != second || second.Seq != 3 {
		t.Fatalf("ledger %+v, want the first e1 and e2 at sequence 3", l.Entries)
	}
}

func TestLedgersAndRestriction(t *testing.T) {
	r := New(testDB(t))
	if _, err := r.Append(t.Context(), entry("o1", "e1")); err != nil {
		t.Fatal(err)
	}
	// Restricting an owner without decisions creates an empty ledger that carries it.
	if err := r.SetRestriction(t.Context(), "o2", domain.RestrictionChange{Restricted: true, Reason: "erasure 1", Time: at}); err != nil {
		t.Fatal(err)
	}
	got, err := r.Ledgers(t.Context(), []string{"o1", "o2", "o3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["o1"].Restricted || len(got["o1"].Entries) != 1 ||
		!got["o2"].Restricted || len(got["o2"].Entries) != 0 {
		t.Fatalf("ledgers %+v %+v", got["o1"], got["o2"])
	}
	if err := r.SetRestriction(t.Context(), "o2", domain.RestrictionChange{Reason: "erasure 1 done", Time: at}); err != nil {
		t.Fatal(err)
	}
	if l, err := r.Ledger(t.Context(), "o2"); err != nil || l.Restricted {
		t.Fatalf("lifted restriction: %+v, %v", l, err)
	}
}

// TestLedgerStoredWithTheOwnerFlagReads: ledgers written before the verdicts asked the
// owner service hold owner_restricted; they read and take decisions as any other, and
// the flag restricts nothing.
func TestLedgerStoredWithTheOwnerFlagReads(t *testing.T) {
	db := testDB(t)
	r := New(db)
	if _, err := db.Collection(LedgersCollection).InsertOne(t.Context(), bson.D{
		{Key: "_id", Value: "o1"}, {Key: "entries", Value: bson.A{toEntryDoc(entry("o1", "e1"))}},
		{Key: "restricted", Value: false}, {Key: "owner_restricted", Value: true}, {Key: "created", Value: at},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Append(t.Context(), entry("o1", "e2")); err != nil {
		t.Fatal(err)
	}
	one, err := r.Ledger(t.Context(), "o1")
	if err != nil {
		t.Fatal(err)
	}
	many, err := r.Ledgers(t.Context(), []string{"o1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]*domain.Ledger{"Ledger": one, "Ledgers": many["o1"]} {
		if l == nil || l.Restricted || len(l.Entries) != 2 {
			t.Fatalf("%s read %+v, want two entries and no restriction", name, l)
		}
	}
}

func TestFullLedgerRefusesAnotherEntry(t *testing.T) {
	db := testDB(t)
	r := New(db)
	entries := make(bson.A, domain.MaxEntriesPerOwner)
	for i := range entries {
		entries[i] = toEntryDoc(entry("o1", fmt.Sprintf("e%d", i)))
	}
	if _, err := db.Collection(LedgersCollection).InsertOne(t.Context(), bson.D{
		{Key: "_id", Value: "o1"}, {Key: "entries", Value: entries},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := r.Append(t.Context(), entry("o1", "one-too-many"))
	var pe *apperr.PreconditionError
	if !errors.As(err, &pe) || pe.Reason != "LEDGER_FULL" {
		t.Fatalf("append to a full ledger: %v, want LEDGER_FULL", err)
	}
	// A retry of an entry already in the full ledger still answers.
	if e, err := r.Append(t.Context(), entry("o1", "e7")); err != nil || e.Seq != 8 {
		t.Fatalf("retry in a full ledger: %+v, %v", e, err)
	}
}

// TestEraseAppliesOnlyToTheLedgerItRead: a decision recorded between the erasure's read
// and its write (an objection it must not miss) makes the write a conflict, and an
// erased ledger takes no decision and no lift of its restriction.
func TestEraseAppliesOnlyToTheLedgerItRead(t *testing.T) {
	r := New(testDB(t))
	ctx := t.Context()
	if _, err := r.Append(ctx, entry("o1", "e1")); err != nil {
		t.Fatal(err)
	}
	read, err := r.Ledger(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Append(ctx, entry("o1", "e2")); err != nil {
		t.Fatal(err)
	}
	e := domain.Erasure{RequestID: "0199a0b0-0000-7000-8000-000000000011", At: at} // the erasure job's id
	if err := r.Erase(ctx, "o1", read.StoredEntries, true, e); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("erasing a ledger that grew = %v, want a conflict", err)
	}
	if err := r.Erase(ctx, "o1", read.StoredEntries+1, true, e); err != nil {
		t.Fatal(err)
	}
	// A ledger that did not exist when read but does now is a conflict too.
	if _, err := r.Append(ctx, entry("o2", "e1")); err != nil {
		t.Fatal(err)
	}
	if err := r.Erase(ctx, "o2", 0, false, e); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("erasing a ledger created meanwhile = %v, want a conflict", err)
	}

	var pe *apperr.PreconditionError
	if _, err := r.Append(ctx, entry("o1", "e3")); !errors.As(err, &pe) || pe.Reason != "OWNER_ERASED" {
		t.Fatalf("append to an erased ledger = %v", err)
	}
	lift := domain.RestrictionChange{Restricted: false, Reason: "r", ActorSubject: "test", Time: at}
	if err := r.SetRestriction(ctx, "o1", lift); !errors.As(err, &pe) || pe.Reason != "OWNER_ERASED" {
		t.Fatalf("lift on an erased ledger = %v", err)
	}
	restrict := domain.RestrictionChange{Restricted: true, Reason: "r", ActorSubject: "test", Time: at}
	if err := r.SetRestriction(ctx, "o1", restrict); err != nil {
		t.Fatalf("restricting an erased ledger again = %v, want nothing done", err)
	}
	l, err := r.Ledger(ctx, "o1")
	if err != nil || !l.Erased || !l.Restricted || len(l.Entries) != 0 {
		t.Fatalf("erased ledger = %+v (%v)", l, err)
	}
	var raw bson.M
	if err := r.ledgers.FindOne(ctx, bson.M{"_id": "o1"}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["restrictions"]; ok {
		t.Fatalf("the erased ledger took a restriction record: %v", raw)
	}
}
