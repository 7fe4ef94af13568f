package domain

import (
	"slices"
	"time"

	"github.com/lillvet/register/services/platform/docid"
)

// ClinicZone is the time zone whose calendar days suppression records are dated in.
const ClinicZone = "Europe/Helsinki"

// The record classes and the legal basis of the consent service's part of an erasure
// (stable keys, shared with the other services and the access report).
const (
	// ClassConsentLedger is the owner's decisions: who recorded what, when and how.
	ClassConsentLedger = "consent_ledger"
	// ClassMarketingSuppression is the bare fact that the owner forbade direct
	// marketing on a channel.
	ClassMarketingSuppression = "marketing_suppression"
	// BasisMarketingObjection: an objection to direct marketing must keep being
	// honoured after the erasure (GDPR Art. 21(3)), which needs its fact kept.
	BasisMarketingObjection = "basis.marketing_objection"
)

// Suppression is what survives of an owner's prohibition of a purpose on a scope once
// the ledger is erased: the purpose, the scope and the day it took effect. It holds
// nothing about the person beyond the owner's id it is stored under, and has no end.
type Suppression struct {
	Purpose Purpose
	Scope   string
	// Day is the day (YYYY-MM-DD, clinic time) the prohibition took effect.
	Day string
}

// Disposition is what an erasure did with one class of an owner's records.
type Disposition struct {
	Class string
	// Kept is true when the records are kept rather than erased now.
	Kept  bool
	Basis string
	Count int
}

// Erasure is one applied erasure request: its answer and the ledger it leaves.
type Erasure struct {
	RequestID    string
	Dispositions []Disposition
	// Suppressions replace the ledger's entries; they include the earlier erasures'.
	Suppressions []Suppression
	At           time.Time
}

// Suppressed reports whether the ledger holds a suppression of purpose on scope.
func (l *Ledger) Suppressed(purpose Purpose, scope string) bool {
	return slices.ContainsFunc(l.Suppressions, func(s Suppression) bool {
		return s.Purpose == purpose && s.Scope == scope
	})
}

// ErasureAnswer returns the answer of an erasure request already applied to the ledger,
// requestID in the form docid.Canonical gives. An erasure stored before request ids
// were kept in that form is compared in it too.
func (l *Ledger) ErasureAnswer(requestID string) ([]Disposition, bool) {
	for _, e := range l.Erasures {
		if docid.Canonical(e.RequestID) == requestID {
			return e.Dispositions, true
		}
	}
	return nil, false
}

// Verdict decides purpose (with scope, in normal form) for the ledger's owner at the
// instant at: nothing while the owner is restricted here or, ownerRestricted, in the
// owner service; never a suppressed purpose and scope (an erased owner's objection
// holds forever, whatever else changes); else Decide on the entries.
func (l *Ledger) Verdict(purpose Purpose, scope string, at time.Time, ownerRestricted bool) Verdict {
	if l.Restricted || ownerRestricted {
		return Verdict{Reason: ReasonOwnerRestricted}
	}
	if l.Suppressed(purpose, scope) {
		return Verdict{Reason: ReasonObjection}
	}
	return Decide(l.Entries, purpose, scope, at)
}

// States derives the Verdict at the instant at of each purpose and scope the ledger's
// state lists (stateKeys).
func (l *Ledger) States(at time.Time, ownerRestricted bool) []State {
	keys := stateKeys(l.Entries)
	states := make([]State, len(keys))
	for i, k := range keys {
		states[i] = State{Purpose: k.purpose, Scope: k.scope, Verdict: l.Verdict(k.purpose, k.scope, at, ownerRestricted)}
	}
	return states
}

// PlanErasure decides what erasing the ledger l at the instant at does: every entry is
// erased, and each direct-marketing channel whose decision in force is a prohibition
// (objection, refusal or withdrawal) becomes a suppression dated the day it took effect
// in loc, beside those an earlier erasure left. The dispositions list the classes the
// owner has records of: the entries erased, the suppressions kept without an end.
func PlanErasure(l *Ledger, requestID string, at time.Time, loc *time.Location) Erasure {
	e := Erasure{RequestID: requestID, At: at, Suppressions: slices.Clone(l.Suppressions)}
	for _, channel := range Channels() {
		v := Decide(l.Entries, PurposeDirectMarketing, channel, at)
		if v.Deciding == nil || v.Allowed || l.Suppressed(PurposeDirectMarketing, channel) {
			continue
		}
		e.Suppressions = append(e.Suppressions, Suppression{
			Purpose: PurposeDirectMarketing, Scope: channel, Day: v.Deciding.EffectiveAt.In(loc).Format(time.DateOnly),
		})
	}
	if n := len(l.Entries); n > 0 {
		e.Dispositions = append(e.Dispositions, Disposition{Class: ClassConsentLedger, Count: n})
	}
	if n := len(e.Suppressions); n > 0 {
		e.Dispositions = append(e.Dispositions, Disposition{
			Class: ClassMarketingSuppression, Kept: true, Basis: BasisMarketingObjection, Count: n,
		})
	}
	return e
}
