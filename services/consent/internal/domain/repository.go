package domain

import (
	"context"
	"time"
)

// MaxEntriesPerOwner bounds one owner's ledger, which the store keeps in one document
// (16 MB at most in MongoDB): a lifetime of decisions is a few dozen entries, so
// reaching it means a client records in a loop.
const MaxEntriesPerOwner = 5000

// Ledger is one owner's ledger as stored: the entries in the order the store appended
// them (Seq increasing, a duplicate of an id left by concurrent retries dropped) and the
// consent service's restriction of the owner. The owner service's restriction is not
// here: it changes without the consent service hearing of it, so verdicts take it from
// the owner service at the time of asking.
type Ledger struct {
	OwnerID string
	Entries []Entry
	// Restricted is the consent service's own restriction, set by SetOwnerRestriction
	// (the disclosure service's erasure job before it erases, or the clinic manager)
	// and lifted by it (the clinic manager only).
	Restricted bool
	// Erased is set once an erasure emptied the ledger: nothing is recorded for the
	// owner again, and the restriction stays.
	Erased bool
	// Suppressions are what erasures kept of the owner's marketing prohibitions.
	Suppressions []Suppression
	// Erasures are the erasure requests applied, with their answers.
	Erasures []Erasure
	// StoredEntries is the number of entries as stored, duplicates left by
	// concurrent retries included: an erasure applies only to the ledger it read.
	StoredEntries int
}

// Entry returns the entry with id, if the ledger holds it.
func (l *Ledger) Entry(id string) (Entry, bool) {
	for _, e := range l.Entries {
		if e.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

// RestrictionChange is one setting or lifting of the consent service's restriction.
type RestrictionChange struct {
	Restricted   bool
	Reason       string
	ActorSubject string
	// ActorSystem marks the service's own in-process work (auth.Identity.System), which
	// no token can claim, as an audit event and an owner's change record do: a subject
	// alone cannot tell it, since a token may carry any.
	ActorSystem bool
	Time        time.Time
}

// Repository stores the owners' ledgers, one document per owner, read by _id. Every
// write is atomic on that one document; nothing is ever removed from a ledger.
type Repository interface {
	// Append adds e to the ledger of e.OwnerID (creating it). The store assigns e.Seq.
	// When the ledger already holds an entry with e.ID (a retried record) it returns
	// that entry and adds nothing. A full ledger, or an erased owner's, fails with a
	// precondition error.
	Append(ctx context.Context, e Entry) (Entry, error)
	// Ledger reads one owner's ledger; apperr.ErrNotFound when the owner has none.
	Ledger(ctx context.Context, ownerID string) (*Ledger, error)
	// Ledgers reads the ledgers of many owners in one query; owners without one are
	// absent from the map.
	Ledgers(ctx context.Context, ownerIDs []string) (map[string]*Ledger, error)
	// SetRestriction sets or lifts the consent service's restriction of an owner
	// (creating the ledger when the owner has none) and keeps the change. An erased
	// owner's ledger takes no change: lifting fails with a precondition error, and
	// restricting does nothing (it is restricted for good).
	SetRestriction(ctx context.Context, ownerID string, c RestrictionChange) error
	// Erase replaces the ledger of ownerID with what e leaves: no entries, e's
	// suppressions, the restriction, and e's answer beside the earlier ones; the
	// restriction history and the ledger's times go too. It applies only while the
	// ledger holds storedEntries entries (none: it does not exist yet), in one atomic
	// update, else fails with apperr.ErrConflict (read it again and plan again).
	Erase(ctx context.Context, ownerID string, storedEntries int, exists bool, e Erasure) error
}
