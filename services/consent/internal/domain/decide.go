package domain

import (
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Reason says why a purpose is allowed or not.
type Reason string

// The reasons. Only ReasonDefaultOptOut and ReasonExplicitGrant allow.
const (
	// ReasonDefaultOptOut: an opt-out purpose with no prohibition in force.
	ReasonDefaultOptOut Reason = "default_opt_out"
	// ReasonExplicitGrant: the latest decision is a grant in force.
	ReasonExplicitGrant Reason = "explicit_grant"
	ReasonObjection     Reason = "objection"
	ReasonWithdrawal    Reason = "withdrawal"
	ReasonRefusal       Reason = "refusal"
	// ReasonNoGrant: an opt-in purpose with no decision in effect.
	ReasonNoGrant Reason = "no_grant"
	// ReasonExpired: an opt-in purpose whose latest grant has reached its ValidUntil.
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid: an opt-in purpose whose latest grant has not reached its ValidFrom.
	ReasonNotYetValid Reason = "not_yet_valid"
	// ReasonOwnerRestricted: an erasure or objection is pending on the owner.
	ReasonOwnerRestricted Reason = "owner_restricted"
)

// Verdict answers "may this purpose use the owner's data now?".
type Verdict struct {
	Allowed bool
	Reason  Reason
	// Deciding is a copy of the entry the verdict rests on; nil when a default decided
	// (ReasonDefaultOptOut, ReasonNoGrant) or the owner's restriction did.
	Deciding *Entry
}

// State is the derived state of one purpose and scope.
type State struct {
	Purpose Purpose
	Scope   string
	Verdict Verdict
}

// Decide derives whether purpose (with scope, in normal form) may use the owner's data
// at the instant at, from the owner's ledger entries in any order. Only entries of that
// purpose and scope with EffectiveAt <= at count; the latest decision wins (see
// latestFirst), so a grant scheduled ahead is overruled by a withdrawal made after it.
//
// An opt-out purpose is allowed unless the latest decision is an objection, refusal or
// withdrawal. A grant on it is an explicit grant while in force; outside its validity
// period the decision before it applies (an earlier objection holds), or the default,
// which allows.
//
// An opt-in purpose is allowed only while the latest decision is a grant and at lies in
// [ValidFrom, ValidUntil). An objection on it denies like a withdrawal, with reason
// objection.
//
// A recipient-scoped purpose's (Purpose.RecipientScoped) entries whose scope is no
// recipient id (isRecipientID) name no recipient a check can ask about: microchip
// registry decisions recorded before that purpose took the registry's recipient id as
// scope are stored without one, and insurer decisions recorded before the insurer's
// scope had to be its recipient id may hold its name as typed ("LähiTapiola"). A grant
// among them was meant for one recipient the ledger cannot tell for sure, so it allows
// none, and is recorded again naming the recipient. A withdrawal, refusal or objection
// among them was the owner's word against that recipient, which the ledger cannot tell
// either, so it counts for each recipient of the purpose beside that recipient's entries
// (countsFor): a grant re-recorded with the date of the original form is overruled by a
// withdrawal made after that date, a grant made after the withdrawal allows. The purpose
// with such a scope, which no check or filter can ask for (NormalizeScope requires a
// recipient id) but the listed state (Ledger.States) does, is decided the same way: a
// prohibition as usual, a grant as no grant, without a deciding entry.
//
// The owner's restriction and an erased owner's suppressions outrank the entries; they
// are the ledger's (Ledger.Verdict).
func Decide(entries []Entry, purpose Purpose, scope string, at time.Time) Verdict {
	var effective []*Entry
	for i := range entries {
		e := &entries[i]
		if countsFor(e, purpose, scope) && !e.EffectiveAt.After(at) {
			effective = append(effective, e)
		}
	}
	slices.SortFunc(effective, latestFirst)
	for _, e := range effective {
		deciding := *e
		switch e.Decision {
		case DecisionGranted:
			if purpose.RecipientScoped() && !isRecipientID(e.Scope) {
				return Verdict{Reason: ReasonNoGrant}
			}
			reason := ReasonExplicitGrant
			switch {
			case !e.ValidFrom.IsZero() && at.Before(e.ValidFrom):
				reason = ReasonNotYetValid
			case !e.ValidUntil.IsZero() && !at.Before(e.ValidUntil):
				reason = ReasonExpired
			}
			if reason == ReasonExplicitGrant {
				return Verdict{Allowed: true, Reason: reason, Deciding: &deciding}
			}
			if purpose.OptIn() {
				return Verdict{Reason: reason, Deciding: &deciding}
			}
			// On an opt-out purpose a grant out of force leaves the decision before it
			// in force: an objection made earlier still holds.
		case DecisionObjected:
			return Verdict{Reason: ReasonObjection, Deciding: &deciding}
		case DecisionRefused:
			return Verdict{Reason: ReasonRefusal, Deciding: &deciding}
		case DecisionWithdrawn:
			return Verdict{Reason: ReasonWithdrawal, Deciding: &deciding}
		default:
			// An unknown decision never reaches the ledger through ValidateEntry; should
			// one be read back anyway, it must not count as a grant.
			return Verdict{Reason: ReasonWithdrawal, Deciding: &deciding}
		}
	}
	return defaultVerdict(purpose)
}

// countsFor reports whether e bears on purpose with scope: an entry of that purpose and
// scope, or, for a recipient-scoped purpose, one whose scope names no recipient
// (isRecipientID: none, or an insurer's name as typed) that is not a grant (an unknown
// decision included: it must not count as a grant either).
func countsFor(e *Entry, purpose Purpose, scope string) bool {
	if e.Purpose != purpose {
		return false
	}
	return e.Scope == scope || (purpose.RecipientScoped() && !isRecipientID(e.Scope) && e.Decision != DecisionGranted)
}

// isRecipientID reports whether scope is a recipient's id as NormalizeScope and
// StoredScope give it: a UUID in canonical form.
func isRecipientID(scope string) bool {
	id, err := uuid.Parse(scope)
	return err == nil && id.String() == scope
}

// decidedAt is when the customer made the decision: its EffectiveAt (a written decision
// may be recorded days after its date), except that a grant scheduled ahead was made
// when it was recorded.
func decidedAt(e *Entry) time.Time {
	if !e.RecordedAt.IsZero() && e.RecordedAt.Before(e.EffectiveAt) {
		return e.RecordedAt
	}
	return e.EffectiveAt
}

func defaultVerdict(p Purpose) Verdict {
	if p.OptIn() {
		return Verdict{Reason: ReasonNoGrant}
	}
	return Verdict{Allowed: true, Reason: ReasonDefaultOptOut}
}

// latestFirst orders entries latest decision first: by when the customer made the
// decision, then Seq. The store makes Seq unique per owner; ID only keeps the result
// independent of input order should it not be.
func latestFirst(a, b *Entry) int {
	if c := decidedAt(b).Compare(decidedAt(a)); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Seq, a.Seq); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

// stateKey is a purpose and scope whose state is listed.
type stateKey struct {
	purpose Purpose
	scope   string
}

// stateKeys lists the purposes and scopes whose state is derived: every purpose and
// scope the entries name (including entries not yet effective, which then show the
// default), and every opt-out purpose without entries (direct marketing once per
// channel), sorted by purpose in the order of Purposes, unknown purposes last by name,
// then by scope.
func stateKeys(entries []Entry) []stateKey {
	seen := map[stateKey]bool{}
	var keys []stateKey
	add := func(k stateKey) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, e := range entries {
		add(stateKey{e.Purpose, e.Scope})
	}
	for _, p := range Purposes() {
		switch {
		case p.OptIn():
		case p == PurposeDirectMarketing:
			for _, c := range Channels() {
				add(stateKey{p, c})
			}
		default:
			add(stateKey{p, ""})
		}
	}
	slices.SortFunc(keys, func(a, b stateKey) int {
		return cmp.Or(comparePurpose(a.purpose, b.purpose), cmp.Compare(a.scope, b.scope))
	})
	return keys
}

func comparePurpose(a, b Purpose) int {
	ra, rb := purposeRank(a), purposeRank(b)
	if ra < 0 {
		ra = len(Purposes())
	}
	if rb < 0 {
		rb = len(Purposes())
	}
	return cmp.Or(cmp.Compare(ra, rb), cmp.Compare(a, b))
}
