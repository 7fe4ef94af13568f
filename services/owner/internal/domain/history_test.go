package domain

import (
	"reflect"
	"testing"

	"github.com/lillvet/register/services/platform/changereason"
)

func edit(reason string) Change {
	return Change{Fields: []string{"colour"}, Reason: reason}
}

func transfer(from, to, reason string) Change {
	return Change{Fields: []string{"owner_id"}, Reason: reason, Values: []ValueChange{{Field: "owner_id", From: from, To: to}}}
}

// legacyTransfer is a transfer recorded before transfers named their owners.
func legacyTransfer(reason string) Change {
	return Change{Fields: []string{"owner_id"}, Reason: reason}
}

func TestChangeOwners(t *testing.T) {
	registered := Change{Fields: []string{"created"}, Reason: changereason.Registered}
	tests := []struct {
		name    string
		changes []Change
		current string
		want    [][]string
	}{
		{"never transferred", []Change{registered, edit("a")}, "A", [][]string{{"A"}, {"A"}}},
		{
			"transferred once: the registration is the first owner's",
			[]Change{registered, edit("a"), transfer("A", "B", "sold"), edit("b")}, "B",
			[][]string{{"A"}, {"A"}, {"A", "B"}, {"B"}},
		},
		{
			"there and back again",
			[]Change{registered, transfer("A", "B", "sold"), edit("b"), transfer("B", "A", "taken back"), edit("a")}, "A",
			[][]string{{"A"}, {"A", "B"}, {"B"}, {"B", "A"}, {"A"}},
		},
		{
			"current read before the last transfer",
			[]Change{registered, transfer("A", "B", "sold"), edit("b")}, "A",
			[][]string{{"A"}, {"A", "B"}, {"B"}},
		},
		{
			"a transfer without values hides who had the patient before it",
			[]Change{registered, edit("?"), legacyTransfer("sold"), edit("b")}, "B",
			[][]string{nil, nil, {"B"}, {"B"}},
		},
		{
			"an older transfer without values, a newer one with",
			[]Change{registered, legacyTransfer("sold"), edit("b"), transfer("B", "C", "sold again"), edit("c")}, "C",
			[][]string{nil, {"B"}, {"B"}, {"B", "C"}, {"C"}},
		},
		{"no history", nil, "A", [][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChangeOwners(tt.changes, tt.current); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ChangeOwners = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInOwnersTime(t *testing.T) {
	tests := []struct {
		name   string
		owners []string
		owner  string
		want   bool
	}{
		{"the owner's", []string{"A"}, "A", true},
		{"another's", []string{"B"}, "A", false},
		{"a transfer from the owner", []string{"A", "B"}, "A", true},
		{"a transfer to the owner", []string{"B", "A"}, "A", true},
		{"a transfer between others", []string{"B", "C"}, "A", false},
		{"no one can tell whose", nil, "A", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InOwnersTime(tt.owners, tt.owner); got != tt.want {
				t.Errorf("InOwnersTime(%v, %s) = %v, want %v", tt.owners, tt.owner, got, tt.want)
			}
		})
	}
}

func TestOwnersCopy(t *testing.T) {
	registered := Change{Fields: []string{"created"}, Reason: changereason.Registered}
	history := []Change{
		registered, edit("Aino called from 040 765 4321"), transfer("A", "B", "Aino sold Rekku to Salo"),
		edit("Salo called"), transfer("B", "C", "Salo gave Rekku to Virtanen"), edit("Virtanen called"),
	}
	tests := []struct {
		name           string
		changes        []Change
		current, owner string
		want           []Change
	}{
		{
			"the first owner: up to the transfer away, the new owner left out",
			history, "C", "A",
			[]Change{registered, edit("Aino called from 040 765 4321"), transfer("A", "", changereason.Withheld)},
		},
		{
			"an owner in between: from the transfer in to the transfer away",
			history, "C", "B",
			[]Change{transfer("", "B", changereason.Withheld), edit("Salo called"), transfer("B", "", changereason.Withheld)},
		},
		{
			"the owner now: from the transfer in",
			history, "C", "C",
			[]Change{transfer("", "C", changereason.Withheld), edit("Virtanen called")},
		},
		{"someone who never had the patient", history, "C", "D", []Change{}},
		{
			"a reason the service wrote is not withheld",
			[]Change{registered, transfer("A", "B", changereason.Erased), edit("b")}, "B", "B",
			[]Change{transfer("", "B", changereason.Erased), edit("b")},
		},
		{
			"a transfer taken back says so, not why (the other owner's restriction)",
			[]Change{registered, transfer("A", "B", "sold"), transfer("B", "A", changereason.Untransfer), edit("a")}, "A", "A",
			[]Change{registered, transfer("A", "", changereason.Withheld), transfer("", "A", changereason.TakenBack), edit("a")},
		},
		{
			"the other owner's copy reads the same",
			[]Change{registered, transfer("A", "B", "sold"), transfer("B", "A", changereason.Untransfer), edit("a")}, "A", "B",
			[]Change{transfer("", "B", changereason.Withheld), transfer("B", "", changereason.TakenBack)},
		},
		{
			"a transfer without values is the owner's own, its reason withheld",
			[]Change{registered, edit("?"), legacyTransfer("sold"), edit("b")}, "B", "B",
			[]Change{legacyTransfer(changereason.Withheld), edit("b")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneChanges(tt.changes)
			if got := OwnersCopy(tt.changes, tt.current, tt.owner); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("OwnersCopy for %s =\n %v\nwant\n %v", tt.owner, got, tt.want)
			}
			if !reflect.DeepEqual(tt.changes, before) {
				t.Errorf("OwnersCopy changed the history it was given: %v", tt.changes)
			}
		})
	}
}

func cloneChanges(changes []Change) []Change {
	out := make([]Change, len(changes))
	for i, c := range changes {
		out[i] = c
		out[i].Values = append([]ValueChange(nil), c.Values...)
	}
	return out
}
