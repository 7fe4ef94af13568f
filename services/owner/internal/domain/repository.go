package domain

import (
	"context"
)

// OwnerQuery selects owners for a list or search. Empty fields do not filter.
type OwnerQuery struct {
	// NamePrefix is a SearchKey of one or more words, each a prefix of a word of the
	// owner's given or family names.
	NamePrefix string
	// Phone is an E.164 number.
	Phone string
	// OwnerIDs limits the result to these owners (a customer-number or microchip search).
	OwnerIDs  []string
	PageSize  int
	PageToken string
}

// Repository stores owners and patients. Every write is atomic per document and safe to
// retry: the store has no multi-document transactions, so the adapter orders its writes
// and makes each idempotent.
type Repository interface {
	// CreateOwner stores o with its first change. When an owner with o.ID already exists
	// (a retried create) it returns that owner. An identity code already on record for
	// another owner fails with apperr.ErrAlreadyExists, unless that owner is erased and
	// keeps the code only for billing: the new owner takes over its uniqueness.
	CreateOwner(ctx context.Context, o *Owner, code *IdentityCode, c Change) (*Owner, error)
	GetOwner(ctx context.Context, id string) (*Owner, error)
	// UpdateOwner replaces the fields named in c.Fields when the stored version is
	// expected, else fails with apperr.ErrVersionMismatch. When c.Fields names identity_code,
	// code is the new value (nil removes it).
	UpdateOwner(ctx context.Context, o *Owner, expected int64, c Change, code *IdentityCode) (*Owner, error)
	ListOwners(ctx context.Context, q OwnerQuery) ([]*Owner, string, error)
	FindOwnerByIdentityCode(ctx context.Context, code IdentityCode) (*Owner, error)
	// IdentityCode decrypts the owner's identity code; apperr.ErrNotFound when none.
	IdentityCode(ctx context.Context, ownerID string) (IdentityCode, error)
	OwnerChanges(ctx context.Context, ownerID string) ([]Change, error)
	// SetRestriction sets or lifts the owner's restriction at the expected version with
	// its change record; apperr.ErrConflict when the version moved on, and for a lift
	// when an erasure request became pending meanwhile (StartErasure).
	SetRestriction(ctx context.Context, id string, restricted bool, expected int64, c Change) (*Owner, error)
	// StartErasure records erasure request requestID as pending on o, read at version
	// o.Version, restricting it with change record c unless o is restricted already, in
	// one update conditioned on that version: from then on, until ApplyErasure stores
	// the request's answer, the restriction cannot be lifted. apperr.ErrConflict when
	// the version moved on.
	StartErasure(ctx context.Context, o *Owner, requestID string, c Change) (*Owner, error)
	// ErasureAnswer returns the stored answer of erasure request requestID on the
	// owner, and whether there is one.
	ErasureAnswer(ctx context.Context, ownerID, requestID string) ([]Disposition, bool, error)
	// OwnerPatients returns every patient of the owner, anonymised ones included.
	OwnerPatients(ctx context.Context, ownerID string) ([]*Patient, error)
	// ApplyErasure applies plan to o, read at version o.Version, with change record c
	// (its reason names the request or the sweep); the earlier changes of the owner, and
	// those of the owner's time (InOwnersTime) in the histories of each patient it
	// writes and, for a request, of each patient the owner transferred away, keep their
	// reasons only as ScrubbedReason says. Writes to other documents (patients, claims,
	// the sweep's schedule) come first and are idempotent; the owner's own update comes
	// last, conditioned on the version, and stores the answer under requestID when that
	// is not empty, removing that request from the pending ones. A crash anywhere leaves the owner as it was or erased, and a retry
	// completes the work; apperr.ErrConflict when the owner changed meanwhile (read it
	// again and plan again). The answer, stored and returned, counts the patients the
	// plan covers as the erasure found them (ErasurePlan.AppliedTo with CoveredPatients
	// of those still the owner's), not as they were planned.
	ApplyErasure(ctx context.Context, o *Owner, plan ErasurePlan, c Change, requestID string) (*Owner, []Disposition, error)
	// DueForSweep returns the owners with something kept whose last kept day is
	// before today (YYYY-MM-DD).
	DueForSweep(ctx context.Context, today string) ([]string, error)
	// OwnersWithLatePatients returns the erased owners that have a patient no erasure
	// covered yet (LatePatient), in _id order.
	OwnersWithLatePatients(ctx context.Context) ([]string, error)
	// OwnerRestrictions returns, for each of ids that exists, whether it is restricted;
	// ids that do not exist are absent. One query, whatever the number of ids.
	OwnerRestrictions(ctx context.Context, ids []string) (map[string]bool, error)

	// EarlierPatientCreate answers the patient an earlier create with p's id stored
	// (ErrNotFound when none did), setting p's create digest, as CreatePatient does
	// before it stores p, so that SamePatientCreate can compare the two.
	EarlierPatientCreate(ctx context.Context, p *Patient) (*Patient, error)
	// CreatePatient allocates p's customer number and stores p; a retried create with the
	// same p.ID returns the stored patient. A microchip already on record for another
	// patient fails with apperr.ErrAlreadyExists.
	CreatePatient(ctx context.Context, p *Patient, c Change) (*Patient, error)
	// DeletePatient removes a patient no one has changed since its registration (the
	// registration taken back), and its microchip claim; its customer number stays used.
	// apperr.ErrConflict when the patient changed since.
	DeletePatient(ctx context.Context, id string) error
	GetPatient(ctx context.Context, id string) (*Patient, error)
	// UpdatePatient stores the fields named in c.Fields at the expected version, else
	// fails with apperr.ErrVersionMismatch.
	UpdatePatient(ctx context.Context, p *Patient, expected int64, c Change) (*Patient, error)
	ListOwnerPatients(ctx context.Context, ownerID string, pageSize int, pageToken string) ([]*Patient, string, error)
	FindPatientByCustomerNumber(ctx context.Context, n CustomerNumber) (*Patient, error)
	FindPatientByMicrochip(ctx context.Context, chip string) (*Patient, error)
	PatientChanges(ctx context.Context, patientID string) ([]Change, error)
	// TransferredPatients returns the patients the owner transferred to another owner
	// (their transfer records name the owner they left), those it has again included.
	TransferredPatients(ctx context.Context, ownerID string) ([]*Patient, error)
}
