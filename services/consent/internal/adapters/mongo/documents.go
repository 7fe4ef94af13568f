package mongo

import (
	"time"

	"github.com/lillvet/register/services/consent/internal/domain"
)

// ledgerDoc is one owner's ledger as stored, keyed by the owner id. Ledgers recorded to
// before the verdicts asked the owner service for its restriction also hold
// owner_restricted, that restriction as it was at their last record; nothing reads it.
type ledgerDoc struct {
	ID string `bson:"_id"`
	// Entries are appended with $push and never changed; an entry's sequence number is
	// its position plus one.
	Entries      []entryDoc       `bson:"entries"`
	Restricted   bool             `bson:"restricted"`
	Restrictions []restrictionDoc `bson:"restrictions,omitempty"`
	// Erased, Suppressions and Erasures are set by an erasure, which empties Entries
	// and removes Restrictions, Created and Updated.
	Erased       bool             `bson:"erased,omitempty"`
	Suppressions []suppressionDoc `bson:"suppressions,omitempty"`
	Erasures     []erasureDoc     `bson:"erasures,omitempty"`
	Created      time.Time        `bson:"created,omitempty"`
	Updated      time.Time        `bson:"updated,omitempty"`
}

// suppressionDoc is an erased owner's marketing prohibition: no personal data.
type suppressionDoc struct {
	Purpose string `bson:"purpose"`
	Scope   string `bson:"scope,omitempty"`
	Day     string `bson:"day"`
}

// erasureDoc is the stored answer of one erasure request.
type erasureDoc struct {
	RequestID    string           `bson:"request_id"`
	Dispositions []dispositionDoc `bson:"dispositions"`
}

type dispositionDoc struct {
	Class string `bson:"class"`
	Kept  bool   `bson:"kept,omitempty"`
	Basis string `bson:"basis,omitempty"`
	Count int    `bson:"count"`
}

type entryDoc struct {
	ID               string     `bson:"id"`
	Purpose          string     `bson:"purpose"`
	Scope            string     `bson:"scope,omitempty"`
	Decision         string     `bson:"decision"`
	Method           string     `bson:"method"`
	EvidenceRef      string     `bson:"evidence_ref,omitempty"`
	StatementVersion string     `bson:"statement_version,omitempty"`
	ValidFrom        *time.Time `bson:"valid_from,omitempty"`
	ValidUntil       *time.Time `bson:"valid_until,omitempty"`
	EffectiveAt      time.Time  `bson:"effective_at"`
	RecordedBy       string     `bson:"recorded_by"`
	RecordedByName   string     `bson:"recorded_by_name,omitempty"`
	RecordedAt       time.Time  `bson:"recorded_at"`
}

type restrictionDoc struct {
	Restricted   bool   `bson:"restricted"`
	Reason       string `bson:"reason"`
	ActorSubject string `bson:"actor_subject"`
	// ActorSystem is left out when false, as in the audit events.
	ActorSystem bool      `bson:"actor_system,omitempty"`
	Time        time.Time `bson:"time"`
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromOptional(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func toEntryDoc(e domain.Entry) entryDoc {
	return entryDoc{
		ID: e.ID, Purpose: string(e.Purpose), Scope: e.Scope, Decision: string(e.Decision),
		Method: string(e.Method), EvidenceRef: e.EvidenceRef, StatementVersion: e.StatementVersion,
		ValidFrom: optionalTime(e.ValidFrom), ValidUntil: optionalTime(e.ValidUntil),
		EffectiveAt: e.EffectiveAt, RecordedBy: e.RecordedBy, RecordedByName: e.RecordedByName,
		RecordedAt: e.RecordedAt,
	}
}

// toLedger maps a stored ledger, numbering the entries by position, keeping only the
// first entry of an id that concurrent retries appended twice, and reading each scope in
// normal form (domain.StoredScope).
func toLedger(d *ledgerDoc) *domain.Ledger {
	l := &domain.Ledger{
		OwnerID: d.ID, Restricted: d.Restricted, Erased: d.Erased,
		Entries: make([]domain.Entry, 0, len(d.Entries)), StoredEntries: len(d.Entries),
	}
	for _, s := range d.Suppressions {
		l.Suppressions = append(l.Suppressions, domain.Suppression{Purpose: domain.Purpose(s.Purpose), Scope: s.Scope, Day: s.Day})
	}
	for _, e := range d.Erasures {
		ds := make([]domain.Disposition, len(e.Dispositions))
		for i, x := range e.Dispositions {
			ds[i] = domain.Disposition{Class: x.Class, Kept: x.Kept, Basis: x.Basis, Count: x.Count}
		}
		l.Erasures = append(l.Erasures, domain.Erasure{RequestID: e.RequestID, Dispositions: ds})
	}
	seen := make(map[string]bool, len(d.Entries))
	for i, e := range d.Entries {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		purpose := domain.Purpose(e.Purpose)
		l.Entries = append(l.Entries, domain.Entry{
			ID: e.ID, OwnerID: d.ID, Seq: int64(i) + 1, Purpose: purpose, Scope: domain.StoredScope(purpose, e.Scope),
			Decision: domain.Decision(e.Decision), Method: domain.Method(e.Method), EvidenceRef: e.EvidenceRef,
			StatementVersion: e.StatementVersion, ValidFrom: fromOptional(e.ValidFrom),
			ValidUntil: fromOptional(e.ValidUntil), EffectiveAt: e.EffectiveAt.UTC(),
			RecordedBy: e.RecordedBy, RecordedByName: e.RecordedByName, RecordedAt: e.RecordedAt.UTC(),
		})
	}
	return l
}

func toErasureDocs(e domain.Erasure) ([]suppressionDoc, erasureDoc) {
	sups := make([]suppressionDoc, len(e.Suppressions))
	for i, s := range e.Suppressions {
		sups[i] = suppressionDoc{Purpose: string(s.Purpose), Scope: s.Scope, Day: s.Day}
	}
	ds := make([]dispositionDoc, len(e.Dispositions))
	for i, d := range e.Dispositions {
		ds[i] = dispositionDoc{Class: d.Class, Kept: d.Kept, Basis: d.Basis, Count: d.Count}
	}
	return sups, erasureDoc{RequestID: e.RequestID, Dispositions: ds}
}
