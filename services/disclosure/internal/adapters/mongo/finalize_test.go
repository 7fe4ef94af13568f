package mongo

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// scanningWrites collects the filters of the writes to the log that are not exactly
// {_id}: the embedded store scans the whole log for any other, under its store-wide
// write lock (docs/EMBEDDED_STORE.md).
type scanningWrites struct {
	mu      sync.Mutex
	filters []string
}

func (s *scanningWrites) started(_ context.Context, e *event.CommandStartedEvent) {
	var filters []bson.Raw
	switch e.CommandName {
	case "findAndModify":
		if q, ok := e.Command.Lookup("query").DocumentOK(); ok {
			filters = append(filters, q)
		}
	case "update":
		values, _ := e.Command.Lookup("updates").Array().Values()
		for _, v := range values {
			if q, ok := v.Document().Lookup("q").DocumentOK(); ok {
				filters = append(filters, q)
			}
		}
	}
	if coll, _ := e.Command.Lookup(e.CommandName).StringValueOK(); coll != DisclosuresCollection {
		return
	}
	for _, f := range filters {
		elems, _ := f.Elements()
		if len(elems) != 1 || elems[0].Key() != "_id" {
			s.mu.Lock()
			s.filters = append(s.filters, e.CommandName+" "+f.String())
			s.mu.Unlock()
		}
	}
}

// check fails the test if any write to the log was filtered on more than its _id.
func (s *scanningWrites) check(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.filters {
		t.Errorf("a write to the log scans it: %s", f)
	}
}

// finalizeStore is a repository on a fresh store whose writes to the log writes sees.
func finalizeStore(t *testing.T) (*Repository, *mongo.Database, *scanningWrites) {
	t.Helper()
	writes := &scanningWrites{}
	db := monitoredDB(t, "finalize", writes.started)
	return New(db), db, writes
}

// monitoredDB is database name on a fresh store, every command sent to which started
// sees.
func monitoredDB(t *testing.T, name string, started func(context.Context, *event.CommandStartedEvent)) *mongo.Database {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(embeddedtest.Start(t).URI()).
		SetMonitor(&event.CommandMonitor{Started: started}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c.Database(name)
}

// pendingRecord is a pending log entry about owner, with its package, on the basis and
// consent entry its first check found.
func pendingRecord(id, owner string) domain.Record {
	return domain.Record{
		ID: id, OwnerID: owner, RecipientID: "r1", Pending: true, Categories: []domain.Category{domain.CategoryVisitHistory},
		Basis: domain.BasisConsent, ConsentEntryID: "grant-1",
		CreatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), Payload: []byte(`{"visits":[]}`), PayloadSHA256: "hash",
	}
}

// claim stores a claim on entry id as a refusal's first write does, or as that of an
// earlier version did, which claimed "disclosed" too and applied it in a second write,
// as if the call that made it stopped before its second write.
func claim(t *testing.T, db *mongo.Database, id string, set bson.M) {
	t.Helper()
	if _, err := db.Collection(DisclosuresCollection).UpdateOne(t.Context(), bson.M{"_id": id},
		bson.M{"$push": bson.M{"claims": set}, "$unset": bson.M{"disclosable": ""}}); err != nil {
		t.Fatal(err)
	}
}

// disclosedNow is the outcome of a disclosure's last check that allows it: on another
// grant than the first check found.
var disclosedNow = domain.Outcome{Basis: domain.BasisConsent, ConsentEntryID: "grant-2"}

// decide is the outcome refusing with refusal, disclosedNow when nil.
func decide(refusal *domain.Refusal) domain.Outcome {
	if refusal == nil {
		return disclosedNow
	}
	return domain.Outcome{Refusal: refusal}
}

// storedBasis reads the basis and consent entry entry id holds in the store.
func storedBasis(t *testing.T, db *mongo.Database, id string) (basis, consent string) {
	t.Helper()
	var doc struct {
		Basis   string `bson:"basis"`
		Consent string `bson:"consent_entry_id"`
	}
	if err := db.Collection(DisclosuresCollection).FindOne(t.Context(), bson.M{"_id": id}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Basis, doc.Consent
}

// TestFinalizeRecord: of the calls making a pending entry final, the first decides and
// says so; every later one finds the entry as the first made it, also when the first
// refused it and stopped between its two writes; a "disclosed" claimed by an earlier
// version and left unapplied decides nothing; a call that finds the entry pending and
// becoming refused hands it to refused first, whoever claimed the refusal; and none of
// them filters the log on more than _id. A disclosed entry names the basis and consent
// entry of the disclosure's last check, which it names from its first check while
// pending; a refused one, stored and read, names neither, also when the disclosure's
// write comes after another call refused it.
func TestFinalizeRecord(t *testing.T) {
	restricted := &domain.Refusal{Reason: domain.RefusalOwnerRestricted}
	notCompleted := &domain.Refusal{Reason: domain.RefusalNotCompleted}
	for _, tc := range []struct {
		name    string
		before  func(t *testing.T, r *Repository, db *mongo.Database)
		refusal *domain.Refusal
		wantWon bool
		// want is the refusal the entry ends with, nil when disclosed.
		want *domain.Refusal
		// wantSeen: refused was called with the entry refused as want.
		wantSeen bool
	}{
		{name: "pending, disclosed", wantWon: true},
		{name: "pending, refused", refusal: restricted, wantWon: true, want: restricted, wantSeen: true},
		{name: "disclosed by another call", refusal: restricted, before: func(t *testing.T, r *Repository, _ *mongo.Database) {
			if _, _, err := r.FinalizeRecord(t.Context(), "d1", disclosedNow, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "refused by another call", want: notCompleted, before: func(t *testing.T, r *Repository, _ *mongo.Database) {
			if _, _, err := r.FinalizeRecord(t.Context(), "d1", decide(notCompleted), nil); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "claimed refused by a call that stopped", want: restricted, wantSeen: true, before: func(t *testing.T, _ *Repository, db *mongo.Database) {
			claim(t, db, "d1", refusalSet(*restricted))
		}},
		{name: "claimed disclosed by an earlier version's call that stopped", refusal: notCompleted, wantWon: true, want: notCompleted, wantSeen: true, before: func(t *testing.T, _ *Repository, db *mongo.Database) {
			claim(t, db, "d1", bson.M{"outcome": outcomeDisclosed})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, db, writes := finalizeStore(t)
			if _, err := repo.AppendRecord(t.Context(), pendingRecord("d1", "o1")); err != nil {
				t.Fatal(err)
			}
			if tc.before != nil {
				tc.before(t, repo, db)
			}
			var seen []domain.Record
			got, won, err := repo.FinalizeRecord(t.Context(), "d1", decide(tc.refusal), func(rec domain.Record) error {
				if stored, err := repo.Record(t.Context(), "d1"); err != nil || !stored.Pending {
					t.Errorf("refused was called after the entry was made final (%v)", err)
				}
				seen = append(seen, rec)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case !tc.wantSeen && len(seen) > 0:
				t.Errorf("refused was called with %+v", seen)
			case tc.wantSeen && (len(seen) != 1 || seen[0].ID != "d1" || seen[0].OwnerID != "o1" || seen[0].Pending ||
				seen[0].Refusal == nil || seen[0].Refusal.Reason != tc.want.Reason || seen[0].Payload != nil):
				t.Errorf("refused was called with %+v, want the entry refused %s once", seen, tc.want.Reason)
			}
			if won != tc.wantWon {
				t.Errorf("won %v, want %v", won, tc.wantWon)
			}
			stored, err := repo.Record(t.Context(), "d1")
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range []domain.Record{got, stored} {
				switch {
				case rec.Pending:
					t.Errorf("the entry is still pending")
				case tc.want == nil && (rec.Refusal != nil || string(rec.Payload) != `{"visits":[]}`):
					t.Errorf("want disclosed with its package, got refusal %v, package %q", rec.Refusal, rec.Payload)
				case tc.want != nil && (rec.Refusal == nil || rec.Refusal.Reason != tc.want.Reason || rec.Payload != nil || rec.PayloadSHA256 != ""):
					t.Errorf("want refused %s without package or hash, got refusal %v, package %q, hash %q",
						tc.want.Reason, rec.Refusal, rec.Payload, rec.PayloadSHA256)
				}
			}
			wantBasis, wantConsent := string(disclosedNow.Basis), disclosedNow.ConsentEntryID
			if tc.want != nil {
				wantBasis, wantConsent = "", ""
			}
			basis, consent := storedBasis(t, db, "d1")
			for _, rec := range []domain.Record{got, stored, {Basis: domain.Basis(basis), ConsentEntryID: consent}} {
				if string(rec.Basis) != wantBasis || rec.ConsentEntryID != wantConsent {
					t.Errorf("the entry names basis %q and consent entry %q, want %q and %q", rec.Basis, rec.ConsentEntryID, wantBasis, wantConsent)
				}
			}
			writes.check(t)
		})
	}
}

// refuseAsThePreviousVersion refuses entry id as the previous version's FinalizeRecord
// does, which knows nothing of disclosable and leaves it in place: it claims the
// refusal and, when apply, applies it (its caller stopping between the two otherwise).
func refuseAsThePreviousVersion(t *testing.T, db *mongo.Database, id string, refusal domain.Refusal, apply bool) {
	t.Helper()
	coll, set := db.Collection(DisclosuresCollection), refusalSet(refusal)
	if _, err := coll.UpdateOne(t.Context(), bson.M{"_id": id}, bson.M{"$push": bson.M{"claims": set}}); err != nil {
		t.Fatal(err)
	}
	if !apply {
		return
	}
	if _, err := coll.UpdateOne(t.Context(), bson.M{"_id": id},
		bson.M{"$set": set, "$unset": bson.M{"payload": "", "payload_sha256": ""}}); err != nil {
		t.Fatal(err)
	}
}

// TestFinalizeRenameOverwritesARefusalOfThePreviousVersion: during a rolling update a
// replica of the previous version (the retention sweep, the erasure job or a retry)
// refuses a pending entry this version logged without removing disclosable. The
// disclosing call that settles the entry next, or this version's sweep, job or retry,
// leaves it refused as the previous version decided, without its package, and is told
// it did not decide it (the disclosing call then answers the refusal and hands nothing
// out); the entry is not listed among the recipient's disclosures, and is read without
// the basis and consent entry the previous version's refusal left on it.
func TestFinalizeRenameOverwritesARefusalOfThePreviousVersion(t *testing.T) {
	restricted := domain.Refusal{Reason: domain.RefusalOwnerRestricted}
	for _, tc := range []struct {
		name    string
		applied bool
		refusal *domain.Refusal
	}{
		{name: "applied, then disclosed", applied: true},
		{name: "claimed and not yet applied, then disclosed"},
		{name: "applied, then refused", applied: true, refusal: &domain.Refusal{Reason: domain.RefusalNotCompleted}},
		{name: "claimed and not yet applied, then refused", refusal: &domain.Refusal{Reason: domain.RefusalNotCompleted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, db, writes := finalizeStore(t)
			if _, err := repo.AppendRecord(t.Context(), pendingRecord("d1", "o1")); err != nil {
				t.Fatal(err)
			}
			refuseAsThePreviousVersion(t, db, "d1", restricted, tc.applied)
			got, won, err := repo.FinalizeRecord(t.Context(), "d1", decide(tc.refusal), nil)
			if err != nil {
				t.Fatal(err)
			}
			if won {
				t.Error("the call decided an entry the previous version had refused")
			}
			stored, err := repo.Record(t.Context(), "d1")
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range []domain.Record{got, stored} {
				if rec.Pending || rec.Refusal == nil || rec.Refusal.Reason != restricted.Reason || rec.Payload != nil || rec.PayloadSHA256 != "" {
					t.Errorf("want refused %s without package or hash, got pending %v, refusal %v, package %q, hash %q",
						restricted.Reason, rec.Pending, rec.Refusal, rec.Payload, rec.PayloadSHA256)
				}
				if rec.Basis != "" || rec.ConsentEntryID != "" {
					t.Errorf("the refused entry names basis %q and consent entry %q, want neither", rec.Basis, rec.ConsentEntryID)
				}
			}
			listed, err := repo.RecipientRecords(t.Context(), "r1", 10, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(listed.Items) != 0 {
				t.Errorf("the recipient's disclosures list %d entries, want none", len(listed.Items))
			}
			writes.check(t)
		})
	}
}

// TestFinalizeRecordKeepsTheEntryPendingWhenRefusedFails: an entry whose refusal could
// not be recorded stays pending with its claim, and the next call makes it refused and
// hands it to its own refused again.
func TestFinalizeRecordKeepsTheEntryPendingWhenRefusedFails(t *testing.T) {
	repo, _, writes := finalizeStore(t)
	if _, err := repo.AppendRecord(t.Context(), pendingRecord("d1", "o1")); err != nil {
		t.Fatal(err)
	}
	restricted := &domain.Refusal{Reason: domain.RefusalOwnerRestricted}
	failed := errors.New("the audit log is unavailable")
	if _, _, err := repo.FinalizeRecord(t.Context(), "d1", decide(restricted), func(domain.Record) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("got %v, want the failure of refused", err)
	}
	if rec, err := repo.Record(t.Context(), "d1"); err != nil || !rec.Pending {
		t.Fatalf("after the failure the entry is pending %v (%v), want pending", rec.Pending, err)
	}
	seen := 0
	rec, won, err := repo.FinalizeRecord(t.Context(), "d1", decide(&domain.Refusal{Reason: domain.RefusalNotCompleted}),
		func(domain.Record) error { seen++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if won || seen != 1 || rec.Refusal == nil || rec.Refusal.Reason != restricted.Reason {
		t.Errorf("won %v, refused called %d times, entry refused %v; want lost, once, OWNER_RESTRICTED", won, seen, rec.Refusal)
	}
	writes.check(t)
}

// TestRefusePending: the owner's pending entries are refused and named, one an earlier
// version's stopped disclosure claimed "disclosed" among them; another owner's entries
// and final ones stay as they were; and no write filters the log on more than _id.
func TestRefusePending(t *testing.T) {
	repo, db, writes := finalizeStore(t)
	for _, rec := range []domain.Record{
		pendingRecord("p1", "o1"), pendingRecord("p2", "o1"), pendingRecord("claimed", "o1"), pendingRecord("final", "o1"),
		pendingRecord("other", "o2"),
	} {
		if _, err := repo.AppendRecord(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := repo.FinalizeRecord(t.Context(), "final", disclosedNow, nil); err != nil {
		t.Fatal(err)
	}
	claim(t, db, "claimed", bson.M{"outcome": outcomeDisclosed})

	refused, err := repo.RefusePending(t.Context(), "o1", domain.Refusal{Reason: domain.RefusalOwnerRestricted}, nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(refused)
	if !slices.Equal(refused, []string{"claimed", "p1", "p2"}) {
		t.Errorf("refused %v, want [claimed p1 p2]", refused)
	}
	for id, want := range map[string]string{"p1": "refused", "p2": "refused", "claimed": "refused", "final": "disclosed", "other": "pending"} {
		rec, err := repo.Record(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		got := "disclosed"
		if rec.Pending {
			got = "pending"
		} else if rec.Refusal != nil {
			got = "refused"
		}
		if got != want {
			t.Errorf("%s is %s, want %s", id, got, want)
		}
	}
	writes.check(t)
}
