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

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/retention"
)

// TestStoredVisitsReadsEachVisitByID: the lookup of the plan entries gone from the
// owner's visits answers the stored ones with one find per id filtered on that _id
// alone, which the embedded store answers from its index; an $in on _id scans the
// visits collection.
func TestStoredVisitsReadsEachVisitByID(t *testing.T) {
	var mu sync.Mutex
	var filters []bson.Raw
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName != "find" || e.Command.Lookup("find").StringValue() != visitsColl {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		filters = append(filters, e.Command.Lookup("filter").Document())
	}}
	c, err := mongo.Connect(options.Client().ApplyURI(embeddedtest.Start(t).URI()).SetMonitor(monitor))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	r := New(c.Database("history_repo"))
	for _, id := range []string{"v1", "v2", "v3"} {
		v := &domain.Visit{ID: id, PatientID: "p1", OwnerID: "o1", StartTime: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
		if _, err := r.CreateVisit(t.Context(), v, ""); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name string
		ids  []string
		want []string
	}{
		{"none", nil, nil},
		{"all stored", []string{"v1", "v3"}, []string{"v1", "v3"}},
		{"some gone", []string{"gone", "v2", "also-gone"}, []string{"v2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			filters = nil
			mu.Unlock()
			got, err := r.StoredVisits(t.Context(), tc.ids)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("StoredVisits(%q) = %q, %v; want %q", tc.ids, got, err, tc.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(filters) != len(tc.ids) {
				t.Fatalf("%d finds on the visits for %d ids: %v", len(filters), len(tc.ids), filters)
			}
			for i, f := range filters {
				want := bson.D{{Key: "_id", Value: tc.ids[i]}}
				if !sameFilter(t, f, want) {
					t.Errorf("find %d filtered on %v, want %v", i, f, want)
				}
			}
		})
	}
}

// sameFilter reports whether the filter sent is want.
func sameFilter(t *testing.T, sent bson.Raw, want bson.D) bool {
	t.Helper()
	w, err := bson.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Equal([]byte(sent), w)
}

// TestRaiseDigestsUntil: the owner's erasure record is kept to the latest day asked at a
// new version, an earlier or equal day changes nothing, and an owner never erased is not
// found.
func TestRaiseDigestsUntil(t *testing.T) {
	r := erasedOwnerStore(t)
	for _, tc := range []struct {
		name        string
		until       retention.Date
		wantDay     string
		wantVersion int64
	}{
		{"first day", retention.Date{Year: 2026, Month: 12, Day: 10}, "2026-12-10", 2},
		{"earlier day", retention.Date{Year: 2026, Month: 12, Day: 5}, "2026-12-10", 2},
		{"same day", retention.Date{Year: 2026, Month: 12, Day: 10}, "2026-12-10", 2},
		{"later day", retention.Date{Year: 2026, Month: 12, Day: 20}, "2026-12-20", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := r.RaiseDigestsUntil(t.Context(), "o1", tc.until)
			if err != nil {
				t.Fatal(err)
			}
			if e.DigestsUntil.String() != tc.wantDay || e.Version != tc.wantVersion || !e.Applied {
				t.Errorf("answered digests until %s at version %d (applied %v), want %s at %d, applied", e.DigestsUntil, e.Version, e.Applied, tc.wantDay, tc.wantVersion)
			}
			checkDigestsUntil(t, r, tc.wantDay, tc.wantVersion)
		})
	}
	if _, err := r.RaiseDigestsUntil(t.Context(), "never-erased", retention.Date{Year: 2026, Month: 12, Day: 10}); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("an owner without a record answered %v, want not found", err)
	}
}

// TestRaisedDigestsDayIsNotWrittenOver: a writer holding the erasure record as read
// before a raise (an erasure pass, a sweep) conflicts when it stores the whole record,
// instead of putting back the earlier day; concurrent raises keep the latest day.
func TestRaisedDigestsDayIsNotWrittenOver(t *testing.T) {
	r := erasedOwnerStore(t)
	held, err := r.GetErasure(t.Context(), "o1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RaiseDigestsUntil(t.Context(), "o1", retention.Date{Year: 2026, Month: 12, Day: 10}); err != nil {
		t.Fatal(err)
	}
	held.Version++
	if err := r.SaveErasure(t.Context(), held); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("saving the record as read before the raise answered %v, want a conflict", err)
	}
	checkDigestsUntil(t, r, "2026-12-10", 2)

	var wg sync.WaitGroup
	for d := 1; d <= 8; d++ {
		wg.Go(func() {
			if _, err := r.RaiseDigestsUntil(t.Context(), "o1", retention.Date{Year: 2027, Month: 1, Day: d}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	e, err := r.GetErasure(t.Context(), "o1")
	if err != nil || e.DigestsUntil.String() != "2027-01-08" {
		t.Errorf("after concurrent raises the record holds %+v (%v), want digests until 2027-01-08", e, err)
	}
}

// erasedOwnerStore returns a repository on a store of its own holding the applied
// erasure record of owner o1, at version 1, without a digests day.
func erasedOwnerStore(t *testing.T) *Repository {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(embeddedtest.Start(t).URI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	r := New(c.Database("history_repo"))
	if err := r.SaveErasure(t.Context(), &domain.Erasure{OwnerID: "o1", Version: 1, Applied: true}); err != nil {
		t.Fatal(err)
	}
	return r
}

// checkDigestsUntil checks the stored erasure record of o1.
func checkDigestsUntil(t *testing.T, r *Repository, wantDay string, wantVersion int64) {
	t.Helper()
	e, err := r.GetErasure(t.Context(), "o1")
	if err != nil || e.DigestsUntil.String() != wantDay || e.Version != wantVersion {
		t.Errorf("stored %+v (%v), want digests until %s at version %d", e, err, wantDay, wantVersion)
	}
}
