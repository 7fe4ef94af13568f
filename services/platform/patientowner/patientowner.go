// Package patientowner tells whose a patient was at a point of its history, from the
// transfers its change history records (the owner service's ListPatientChanges names,
// for each change of owner_id, the owner the patient left and the one it went to). The
// disclosure service asks for the owner at a change's version; the history service for
// the owner on the day of a visit or a call, which staff write up afterwards.
package patientowner

import (
	"slices"
	"time"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
)

// Field is the field a transfer changes, as the change history names it.
const Field = "owner_id"

// Transfer is a change of a patient's owner (a transfer taken back is one too).
type Transfer struct {
	// Version is the patient's version the transfer produced; Time when it was
	// recorded (by reception, which may be after the sale).
	Version int64
	Time    time.Time
	// From and To are empty for a transfer recorded before the change history named
	// its owners (see Unnamed).
	From, To string
}

// Unnamed reports whether t was recorded before the change history named the owners of
// a transfer: it is known the owner changed, not who had the patient nor who took it.
func (t Transfer) Unnamed() bool { return t.From == "" && t.To == "" }

// FromChanges returns the transfers among a patient's changes (ListPatientChanges):
// each change of owner_id, with the owners it names, or Unnamed when it names none.
func FromChanges(changes []*ownerv1.Change) []Transfer {
	var transfers []Transfer
	for _, ch := range changes {
		if !slices.Contains(ch.GetFields(), Field) {
			continue
		}
		t := Transfer{Version: ch.GetVersion(), Time: ch.GetTime().AsTime()}
		for _, v := range ch.GetValues() {
			if v.GetField() == Field {
				t.From, t.To = v.GetOldValue(), v.GetNewValue()
			}
		}
		transfers = append(transfers, t)
	}
	return transfers
}

// At returns the owner the patient had at a point of its history, which upTo tells
// (the transfers made at or before it), from its named transfers in any order: the one
// the last transfer up to the point moved it to, else the one the first transfer after
// it moved it from; "" when it was never transferred (its owner never changed).
// Unnamed transfers are passed over, as if never made.
func At(transfers []Transfer, upTo func(Transfer) bool) string {
	named := slices.DeleteFunc(slices.Clone(transfers), Transfer.Unnamed)
	before, after := around(named, upTo)
	switch {
	case before != nil:
		return before.To
	case after != nil:
		return after.From
	}
	return ""
}

// around returns the last transfer up to a point and the first after it.
func around(transfers []Transfer, upTo func(Transfer) bool) (before, after *Transfer) {
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
	return before, after
}

// UpToVersion is At's point at a version: the transfers that produced it or an earlier one.
func UpToVersion(version int64) func(Transfer) bool {
	return func(t Transfer) bool { return t.Version <= version }
}

// UpToTime is At's point at an instant: the transfers made then or before.
func UpToTime(at time.Time) func(Transfer) bool {
	return func(t Transfer) bool { return !t.Time.After(at) }
}

// OwnerAt returns whose the patient was at the instant at, given its owner now: now
// when no transfer was recorded after at; else the owner the last transfer up to at
// moved it to, or the one the first transfer after at moved it from. known is false
// when the transfer that would tell is Unnamed.
func OwnerAt(transfers []Transfer, at time.Time, now string) (owner string, known bool) {
	before, after := around(transfers, UpToTime(at))
	switch {
	case after == nil:
		return now, true
	case before != nil && !before.Unnamed():
		return before.To, true
	case !after.Unnamed():
		return after.From, true
	}
	return "", false
}

// Between reports whether a transfer was recorded between the instants a and b (after
// the earlier, at or before the later): whether the patient may have had another
// owner at one than at the other.
func Between(transfers []Transfer, a, b time.Time) bool {
	from, to := a, b
	if to.Before(from) {
		from, to = to, from
	}
	return slices.ContainsFunc(transfers, func(t Transfer) bool { return t.Time.After(from) && !t.Time.After(to) })
}
