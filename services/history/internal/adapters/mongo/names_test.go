package mongo

import (
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// TestMarkNamesPending: each mark counts a check, and the notice stays pending to the
// latest bound marked: a write marked earlier with a later bound is not cut short by a
// later mark with an earlier one (clocks of replicas apart), and a mark after a write
// (MarkNamesCheck) leaves the bound as it is.
func TestMarkNamesPending(t *testing.T) {
	r := New(embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("names"))
	base := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		mark       func() error
		wantChecks int64
		wantUntil  time.Time
	}{
		{"first mark", func() error { return r.MarkNamesPending(t.Context(), base.Add(time.Minute), "o1") }, 1, base.Add(time.Minute)},
		{"earlier bound", func() error { return r.MarkNamesPending(t.Context(), base, "o1") }, 2, base.Add(time.Minute)},
		{"mark after a write", func() error { return r.MarkNamesCheck(t.Context(), "o1") }, 3, base.Add(time.Minute)},
		{"later bound", func() error { return r.MarkNamesPending(t.Context(), base.Add(2*time.Minute), "o1") }, 4, base.Add(2 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.mark(); err != nil {
				t.Fatal(err)
			}
			due, err := r.NamesChecksDue(t.Context())
			if err != nil || len(due) != 1 {
				t.Fatalf("due %+v (%v), want o1", due, err)
			}
			if n := due[0]; n.Checks != tc.wantChecks || !n.PendingUntil.Equal(tc.wantUntil) {
				t.Errorf("the notice is %+v, want %d checks pending until %s", n, tc.wantChecks, tc.wantUntil)
			}
		})
	}
}
