package mongo

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
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
