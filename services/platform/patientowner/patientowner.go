// Package patientowner tells whose a patient was at a point of its history, from the
// transfers its change history records (the owner service's ListPatientChanges names,
// for each change of owner_id, the owner the patient left and the one it went to). The
// disclosure service asks for the owner at a change's version; the history service for
// the owner on the day of a visit or a call, which staff write up afterwards.
package patientowner

import "time"

// Field is the field a transfer changes, as the change history names it.
const Field = "owner_id"

// Transfer is a change of a patient's owner (a transfer taken back is one too).
type Transfer struct {
	// Version is the patient's version the transfer produced; Time when it was made.
	Version  int64
	Time     time.Time
	From, To string
}

// At returns the owner the patient had at a point of its history, which upTo tells
// (the transfers made at or before it), from its transfers in any order: the one the
// last transfer up to the point moved it to, else the one the first transfer after it
// moved it from; "" when it was never transferred (its owner never changed).
func At(transfers []Transfer, upTo func(Transfer) bool) string {
	var before, after *Transfer
	for i := range transfers {
		t := &transfers[i]
		switch {
		case upTo(*t):
			if before == nil || t.Version > before.Version {
				before = t
			}
		case after == nil || t.Version < after.Version:
			after = t
		}
	}
	switch {
	case before != nil:
		return before.To
	case after != nil:
		return after.From
	}
	return ""
}

// UpToVersion is At's point at a version: the transfers that produced it or an earlier one.
func UpToVersion(version int64) func(Transfer) bool {
	return func(t Transfer) bool { return t.Version <= version }
}

// UpToTime is At's point at an instant: the transfers made then or before.
func UpToTime(at time.Time) func(Transfer) bool {
	return func(t Transfer) bool { return !t.Time.After(at) }
}
