package domain

import "slices"

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
