package patientowner

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
)

func TestAt(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	// A registers the dog (version 1) and renames it (2); sells it to B on the 3rd (3);
	// B renames it (4) and sells it to C on the 5th (5); the sale is taken back on the
	// 6th (6): the dog is B's again.
	history := []Transfer{{3, day(3), "A", "B"}, {5, day(5), "B", "C"}, {6, day(6), "C", "B"}}
	for _, tc := range []struct {
		name      string
		transfers []Transfer
		upTo      func(Transfer) bool
		want      string
	}{
		{"before the first transfer", history, UpToVersion(2), "A"},
		{"the transfer itself", history, UpToVersion(3), "B"},
		{"between transfers", history, UpToVersion(4), "B"},
		{"moved on", history, UpToVersion(5), "C"},
		{"taken back", history, UpToVersion(6), "B"},
		{"in any order", []Transfer{history[2], history[0], history[1]}, UpToVersion(4), "B"},
		{"never transferred", nil, UpToVersion(2), ""},
		{"the morning before the sale", history, UpToTime(day(3).Add(-3 * time.Hour)), "A"},
		{"the instant of the sale", history, UpToTime(day(3)), "B"},
		{"the day before it was taken back", history, UpToTime(day(5).Add(time.Hour)), "C"},
		{"after the last transfer", history, UpToTime(day(7)), "B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := At(tc.transfers, tc.upTo); got != tc.want {
				t.Errorf("owner = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOwnerAt(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	// A sells to B on the 3rd, B to C on the 5th; C is the owner now.
	named := []Transfer{{3, day(3), "A", "B"}, {5, day(5), "B", "C"}}
	// The same, the first sale recorded before transfers named their owners.
	unnamedFirst := []Transfer{{3, day(3), "", ""}, {5, day(5), "B", "C"}}
	// The same, the second sale unnamed.
	unnamedLast := []Transfer{{3, day(3), "A", "B"}, {5, day(5), "", ""}}
	for _, tc := range []struct {
		name      string
		transfers []Transfer
		at        time.Time
		want      string
		known     bool
	}{
		{"never transferred", nil, day(1), "C", true},
		{"after the last transfer", named, day(6), "C", true},
		{"before the first sale", named, day(2), "A", true},
		{"the instant of the sale", named, day(3), "B", true},
		{"between the sales", named, day(4), "B", true},
		{"before an unnamed first sale", unnamedFirst, day(2), "", false},
		{"after an unnamed sale, before a named one", unnamedFirst, day(4), "B", true},
		{"before an unnamed sale, after a named one", unnamedLast, day(4), "B", true},
		{"after an unnamed last sale", unnamedLast, day(6), "C", true},
		{"before every sale, the next unnamed", []Transfer{{3, day(3), "", ""}}, day(2), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, known := OwnerAt(tc.transfers, tc.at, "C")
			if got != tc.want || known != tc.known {
				t.Errorf("OwnerAt = %q, %v; want %q, %v", got, known, tc.want, tc.known)
			}
		})
	}
}

func TestAtPassesOverUnnamedTransfers(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	transfers := []Transfer{{3, day(3), "", ""}, {5, day(5), "B", "C"}}
	if got := At(transfers, UpToVersion(4)); got != "B" {
		t.Errorf("At = %q, want B", got)
	}
	if got := At(transfers[:1], UpToVersion(4)); got != "" {
		t.Errorf("At with only an unnamed transfer = %q, want none", got)
	}
}

func TestBetween(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	sale := []Transfer{{3, day(3), "", ""}}
	for _, tc := range []struct {
		name string
		a, b time.Time
		want bool
	}{
		{"both before", day(1), day(2), false},
		{"across", day(2), day(4), true},
		{"across, backwards", day(4), day(2), true},
		{"to the instant of the sale", day(2), day(3), true},
		{"from the instant of the sale", day(3), day(4), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Between(sale, tc.a, tc.b); got != tc.want {
				t.Errorf("Between = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFromChanges(t *testing.T) {
	at := timestamppb.New(time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC))
	changes := []*ownerv1.Change{
		{Version: 2, Time: at, Fields: []string{"name"}},
		{Version: 3, Time: at, Fields: []string{Field}, Values: []*ownerv1.ValueChange{{Field: Field, OldValue: "A", NewValue: "B"}}},
		{Version: 4, Time: at, Fields: []string{Field}},
	}
	want := []Transfer{{3, at.AsTime(), "A", "B"}, {4, at.AsTime(), "", ""}}
	if got := FromChanges(changes); !slices.Equal(got, want) {
		t.Errorf("FromChanges = %v, want %v", got, want)
	}
}
