package app

import (
	"context"
	"time"
)

// Change is one recorded change of an owner's or a patient's data: who, when, which
// fields and why (the values are not kept in the history).
type Change struct {
	Version      int64     `json:"version"`
	Time         time.Time `json:"time,omitzero"`
	ActorSubject string    `json:"actorSubject,omitempty"`
	ActorName    string    `json:"actorName,omitempty"`
	ActorRoles   []string  `json:"actorRoles,omitempty"`
	// ActorSystem marks the service's own work, which no person asked for and no
	// token can claim.
	ActorSystem bool     `json:"actorSystem,omitempty"`
	Fields      []string `json:"fields,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	// Values are the values the owner service keeps of a change (a transfer's owner
	// ids, the other owner's left empty in a copy).
	Values []ValueChange `json:"values,omitempty"`
}

// ValueChange is one field's value before and after a change.
type ValueChange struct {
	Field    string `json:"field"`
	OldValue string `json:"oldValue,omitempty"`
	NewValue string `json:"newValue,omitempty"`
}

// OwnerRecord is the owner as the owner service holds them, with the identity code in
// full: the owner's own copy.
type OwnerRecord struct {
	ID                string    `json:"id"`
	GivenNames        string    `json:"givenNames,omitempty"`
	FamilyName        string    `json:"familyName,omitempty"`
	Address           Address   `json:"address,omitzero"`
	Phone             string    `json:"phone,omitempty"`
	Email             string    `json:"email,omitempty"`
	PreferredLanguage string    `json:"preferredLanguage,omitempty"`
	HomeClinic        string    `json:"homeClinic,omitempty"`
	IdentityCode      string    `json:"identityCode,omitempty"`
	Restricted        bool      `json:"restricted,omitempty"`
	CreateTime        time.Time `json:"createTime,omitzero"`
	UpdateTime        time.Time `json:"updateTime,omitzero"`
	Changes           []Change  `json:"changes,omitempty"`
}

// Insurance is a patient's insurance as the owner reported it.
type Insurance struct {
	Insurer      string `json:"insurer,omitempty"`
	PolicyNumber string `json:"policyNumber,omitempty"`
}

// PatientRecord is one of the owner's animals with its change history.
type PatientRecord struct {
	ID                     string    `json:"id"`
	CustomerNumber         string    `json:"customerNumber,omitempty"`
	Name                   string    `json:"name,omitempty"`
	Species                string    `json:"species,omitempty"`
	Breed                  string    `json:"breed,omitempty"`
	Sex                    string    `json:"sex,omitempty"`
	Neutered               bool      `json:"neutered,omitempty"`
	BirthDate              string    `json:"birthDate,omitempty"`
	Colour                 string    `json:"colour,omitempty"`
	Microchip              string    `json:"microchip,omitempty"`
	KennelClubRegistration string    `json:"kennelClubRegistration,omitempty"`
	Insurance              Insurance `json:"insurance,omitzero"`
	Deceased               bool      `json:"deceased,omitempty"`
	DeathDate              string    `json:"deathDate,omitempty"`
	CreateTime             time.Time `json:"createTime,omitzero"`
	Changes                []Change  `json:"changes,omitempty"`
}

// FormerPatientRecord is an animal the owner transferred to another owner: only the
// changes of the owner's time with it, as the owner service gives them (its details
// are the new owner's).
type FormerPatientRecord struct {
	ID             string   `json:"id"`
	CustomerNumber string   `json:"customerNumber,omitempty"`
	Changes        []Change `json:"changes"`
}

// OwnerExport is everything the owner service holds about an owner.
type OwnerExport struct {
	Owner          OwnerRecord
	Patients       []PatientRecord
	FormerPatients []FormerPatientRecord
}

// ConsentDecision is one entry of the owner's consent ledger.
type ConsentDecision struct {
	ID       string `json:"id"`
	Sequence int64  `json:"sequence"`
	Purpose  string `json:"purpose"`
	Scope    string `json:"scope,omitempty"`
	// ScopeName is the name of the recipient a scope that is a recipient id names
	// (an insurer's or a microchip registry's), as this service stores it; empty when
	// the scope is no recipient's.
	ScopeName        string    `json:"scopeName,omitempty"`
	Decision         string    `json:"decision"`
	Method           string    `json:"method,omitempty"`
	EvidenceRef      string    `json:"evidenceRef,omitempty"`
	StatementVersion string    `json:"statementVersion,omitempty"`
	ValidFrom        time.Time `json:"validFrom,omitzero"`
	ValidUntil       time.Time `json:"validUntil,omitzero"`
	EffectiveTime    time.Time `json:"effectiveTime,omitzero"`
	RecordedBy       string    `json:"recordedBy,omitempty"`
	RecordedByName   string    `json:"recordedByName,omitempty"`
	RecordTime       time.Time `json:"recordTime,omitzero"`
}

// ConsentState is where one purpose (and scope) stands now.
type ConsentState struct {
	Purpose string `json:"purpose"`
	Scope   string `json:"scope,omitempty"`
	// ScopeName is as ConsentDecision's.
	ScopeName string `json:"scopeName,omitempty"`
	Allowed   bool   `json:"allowed"`
	// Reason is the consent service's reason for the state, as its enum's lower-case
	// word (no_grant, explicit_grant, …).
	Reason string `json:"reason,omitempty"`
	// DecisionID is the decision the state rests on; empty when a default decided.
	DecisionID string `json:"decisionId,omitempty"`
}

// ConsentLedger is an owner's consents now and every decision behind them, oldest
// first.
type ConsentLedger struct {
	Restricted bool              `json:"restricted,omitempty"`
	Current    []ConsentState    `json:"current"`
	Decisions  []ConsentDecision `json:"decisions"`
}

// AccessEvent is one audited read or change of the owner's data in one service.
type AccessEvent struct {
	Time         time.Time `json:"time"`
	Service      string    `json:"service"`
	ActorSubject string    `json:"actorSubject,omitempty"`
	ActorName    string    `json:"actorName,omitempty"`
	ActorRoles   []string  `json:"actorRoles,omitempty"`
	// ActorSystem marks the service's own work, which no person asked for and no
	// token can claim.
	ActorSystem bool   `json:"actorSystem,omitempty"`
	Action      string `json:"action"`
	Resource    string `json:"resource,omitempty"`
	Purpose     string `json:"purpose,omitempty"`
	Outcome     string `json:"outcome"`
}

// AccessLog is one service's audit log: who read or changed an owner's data there.
type AccessLog interface {
	// OwnerEvents returns the events about the owner, oldest first, each naming the
	// service.
	OwnerEvents(ctx context.Context, ownerID string) ([]AccessEvent, error)
}
