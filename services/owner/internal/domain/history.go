package domain

import (
	"slices"

	"github.com/lillvet/register/services/platform/changereason"
)

// ownerIDField is the field a transfer changes, as the change history names it.
const ownerIDField = "owner_id"

// ChangeOwners returns, for each change of a patient's history (oldest first), the
// owners in whose time with the patient it was made: the owner the patient was with
// then, and for a transfer both the owner it left and the one it went to. current is
// the patient's owner as read with the history or before it.
//
// The history is read back from its end: the patient was with the owner the last
// transfer went to (else with current), and before a transfer with the owner it left.
// A transfer recorded before transfers named their owners (no values) leaves the owner
// before it unknown: those changes get no owner (nil).
func ChangeOwners(changes []Change, current string) [][]string {
	holder := current
	// A transfer the history holds beyond what current was read from wins.
	for i := len(changes) - 1; i >= 0; i-- {
		if slices.Contains(changes[i].Fields, ownerIDField) {
			if _, to, ok := transferOf(changes[i]); ok {
				holder = to
			}
			break
		}
	}
	out := make([][]string, len(changes))
	for i := len(changes) - 1; i >= 0; i-- {
		if from, to, ok := transferOf(changes[i]); ok {
			out[i] = []string{from, to}
			holder = from
			continue
		}
		if holder != "" {
			out[i] = []string{holder}
		}
		if slices.Contains(changes[i].Fields, ownerIDField) {
			holder = ""
		}
	}
	return out
}

// transferOf returns the owners a transfer record names, if c is one.
func transferOf(c Change) (from, to string, ok bool) {
	for _, v := range c.Values {
		if v.Field == ownerIDField {
			return v.From, v.To, true
		}
	}
	return "", "", false
}

// InOwnersTime reports whether an erasure of owner covers a change whose owners
// (ChangeOwners) are owners: made in owner's time, or in a time no one can tell whose
// it was, which the erasure scrubs rather than leave a reason that may name the
// erased owner.
func InOwnersTime(owners []string, owner string) bool {
	return len(owners) == 0 || slices.Contains(owners, owner)
}

// OwnersCopy is a patient's history as owner's own copy shows it (the access report,
// DESIGN rule 6): only the changes made in owner's time with the patient, a transfer's
// other owner left out (an empty id) and its reason withheld (changereason.Withheld:
// staff typed it about a handover between two people and it may name either) unless the
// service wrote it itself. A transfer taken back shows only changereason.TakenBack, since
// changereason.Untransfer tells the other owner's restriction. Staff read the whole
// history; an owner's copy must not disclose the earlier or later owner's data (GDPR
// Art. 15(4)). current is as for ChangeOwners.
func OwnersCopy(changes []Change, current, owner string) []Change {
	owners := ChangeOwners(changes, current)
	out := []Change{}
	for i, c := range changes {
		if !slices.Contains(owners[i], owner) {
			continue
		}
		if slices.Contains(c.Fields, ownerIDField) {
			switch {
			case c.Reason == changereason.Untransfer:
				c.Reason = changereason.TakenBack
			case ScrubbedReason(c.Reason, nil) != c.Reason:
				c.Reason = changereason.Withheld
			}
			c.Values = slices.Clone(c.Values)
			for j, v := range c.Values {
				if v.Field == ownerIDField {
					c.Values[j].From, c.Values[j].To = ownOnly(v.From, owner), ownOnly(v.To, owner)
				}
			}
		}
		out = append(out, c)
	}
	return out
}

func ownOnly(id, owner string) string {
	if id == owner {
		return id
	}
	return ""
}
