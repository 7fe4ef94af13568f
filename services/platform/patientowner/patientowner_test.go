package patientowner

import (
	"testing"
	"time"
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
