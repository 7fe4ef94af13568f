package owner

import (
	"testing"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
)

func TestOwnerAt(t *testing.T) {
	transfer := func(version int64, from, to string) *ownerv1.Change {
		return &ownerv1.Change{Version: version, Fields: []string{"owner_id"}, Values: []*ownerv1.ValueChange{{Field: "owner_id", OldValue: from, NewValue: to}}}
	}
	rename := func(version int64) *ownerv1.Change {
		return &ownerv1.Change{Version: version, Fields: []string{"name"}}
	}
	// A registers the dog (1), renames it (2), sells it to B (3), B renames it (4), sells
	// it to C (5), and the sale is taken back (6): the dog is B's again.
	history := []*ownerv1.Change{rename(1), rename(2), transfer(3, "A", "B"), rename(4), transfer(5, "B", "C"), transfer(6, "C", "B")}
	for _, tc := range []struct {
		name    string
		changes []*ownerv1.Change
		version int64
		want    string
	}{
		{"before the first transfer", history, 2, "A"},
		{"the transfer itself", history, 3, "B"},
		{"between transfers", history, 4, "B"},
		{"moved on", history, 5, "C"},
		{"taken back", history, 6, "B"},
		{"in any order", []*ownerv1.Change{history[5], history[1], history[4], history[2]}, 4, "B"},
		{"never transferred", history[:2], 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownerAt(tc.changes, tc.version); got != tc.want {
				t.Errorf("owner at version %d = %q, want %q", tc.version, got, tc.want)
			}
		})
	}
}
