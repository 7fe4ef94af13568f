package domain

import (
	"context"
	"time"
)

// Record is one entry of the disclosure log: a disclosure that went out, or one that was
// refused, or one still pending. Payload is the package exactly as sent, kept so that
// the recipient can fetch it and the hash can be checked against it. A pending entry is
// final once, disclosed or refused (see Repository.FinalizeRecord); after that nothing
// but the removal of Payload changes it.
type Record struct {
	ID            string
	RecipientID   string
	RecipientKind Kind
	OwnerID       string
	// PatientIDs are the animals the package covers, or that were asked for when refused.
	PatientIDs []string
	// HistoryOnlyPatientIDs are those of PatientIDs the package names only in the
	// owner's history (animals transferred away before it was gathered): their basics
	// and microchip did not go out. Nil for entries logged before it was kept.
	HistoryOnlyPatientIDs []string
	// Categories are those asked for: exactly what the package holds when disclosed.
	Categories    []Category
	CaseReference string
	// Requested is what the request named that the entry does not otherwise tell, kept
	// so that a retry can be told from its request id sent with another request (see
	// SameRequest). Nil for entries logged before it was kept.
	Requested *Requested
	// Refusal is nil for a disclosure that went out, or is pending.
	Refusal *Refusal
	// Pending marks a disclosure logged with its package but not yet handed out: the
	// owner's restriction is read once more before it is final. Nothing reads a pending
	// entry as a disclosure.
	Pending bool
	// Basis is the basis a disclosed package rests on, as the last check before it went
	// out read it; empty for a refusal.
	Basis Basis
	// ConsentEntryID is the consent ledger entry that allowed the disclosure at that
	// check; empty for a refusal.
	ConsentEntryID string
	// RequestedBy is the subject of the staff member who asked.
	RequestedBy string
	// RequestedByRoles are their roles at the time.
	RequestedByRoles []string
	// RequestedByName is their display name and RequestedPurpose the purpose their
	// call stated, for the audit record another call may store for them (a pending
	// entry refused); empty in entries logged before they were kept.
	RequestedByName  string
	RequestedPurpose string
	// CreatedAt is when the disclosure was logged, taken before its package was
	// gathered: data changed after it may still be in the package as it was.
	CreatedAt time.Time
	// GatheredAt is when the package had been gathered: data recorded before it may be
	// in the package, although recorded after CreatedAt. Zero for a refusal and for
	// entries logged before it was kept.
	GatheredAt time.Time
	// PayloadSHA256 is the lower-case hex SHA-256 of Payload.
	PayloadSHA256 string
	Payload       []byte
}

// Requested is what a disclosure request named beyond the fields its log entry keeps as
// sent (recipient, owner, categories, case reference).
type Requested struct {
	// PatientIDs are the patients the request named, as validated (none: all of the
	// owner's). The entry's own PatientIDs are those the package covers, every animal of
	// the owner's and of their history when none were named.
	PatientIDs []string
}

// Disclosed reports whether the package went out.
func (r *Record) Disclosed() bool { return r.Refusal == nil && !r.Pending }

// Page is one page of a list: the items and the token of the next page ("" at the end).
type Page[T any] struct {
	Items []T
	Next  string
}

// Repository stores recipients, the disclosure log and the access requests in the
// service's own database, and lists an owner's erasure jobs (ErasureJobs stores them,
// for the erasure use cases only). Every write is one document; a log entry changes
// only from pending to final, once, and by the removal of its package. The access
// report reads all of them: each is data the service holds about the owner.
type Repository interface {
	ErasureJobLister

	// CreateRecipient stores a new recipient. When one with r.ID exists (a retried
	// create) it returns that one and stores nothing. An active recipient of a kind only
	// one of which may be active (Kind.SingleActive) is refused KindTaken while another
	// is active, by a guarantee of the store: of two creates at once, one is refused.
	CreateRecipient(ctx context.Context, r Recipient) (Recipient, error)
	// Recipient reads one recipient; apperr.ErrNotFound when unknown.
	Recipient(ctx context.Context, id string) (Recipient, error)
	// ListRecipients lists recipients oldest first.
	ListRecipients(ctx context.Context, pageSize int, pageToken string) (Page[Recipient], error)
	// DeactivateRecipient deactivates an active recipient at now and returns it; an
	// inactive one is returned as it is.
	DeactivateRecipient(ctx context.Context, id string, now time.Time) (Recipient, error)

	// AppendRecord stores a log entry. When one with rec.ID exists (a retried disclosure)
	// it returns that one and stores nothing.
	AppendRecord(ctx context.Context, rec Record) (Record, error)
	// Record reads one log entry, pending or final, with its payload;
	// apperr.ErrNotFound when unknown.
	Record(ctx context.Context, id string) (Record, error)
	// FinalizeRecord makes the pending entry id final, only while it is still pending:
	// when decided.Refusal is nil disclosed, on decided's basis and consent entry (the
	// last check's, which the entry names from then on), else refused with its package,
	// the package's hash, its basis and consent entry removed (nothing was disclosed on
	// them). It returns the entry as it stands after, which another call (a
	// retry, the owner's erasure, the sweep) may have made final first, and whether
	// this call was the one that decided it. Only the call that logged the entry asks
	// for it disclosed, and the write that decides a disclosure is the one that makes it
	// final: no other call ever makes an entry disclosed, so that a package is in the
	// log as disclosed (and its recipient told of later corrections) from the moment
	// the disclosure is decided, never later. refused, unless nil, is called with the
	// entry as it becomes whenever this call finds it pending and it becomes refused
	// (by this call's refusal or by the one another call claimed first), before it is
	// made final; its error leaves the entry pending, to be made final by the next
	// call, which calls its own again. A caller whose record of the refusal must not be
	// lost keeps it there, idempotent: several calls may find the same entry pending.
	FinalizeRecord(ctx context.Context, id string, decided Outcome, refused func(Record) error) (Record, bool, error)
	// RefusePending makes every pending entry about the owner refused, as
	// FinalizeRecord does with refused, and returns the ids of those this call decided.
	RefusePending(ctx context.Context, ownerID string, refusal Refusal, refused func(Record) error) ([]string, error)
	// RefuseRecipientPending is RefusePending of every pending entry to the recipient.
	RefuseRecipientPending(ctx context.Context, recipientID string, refusal Refusal, refused func(Record) error) ([]string, error)
	// ErasePackages removes the packages (payloads) of the owner's log entries, which
	// keep everything else, the payload's hash included, and returns how many it removed.
	ErasePackages(ctx context.Context, ownerID string) (int, error)
	// OwnerRecords lists the final log entries about an owner, newest first, without
	// payloads.
	OwnerRecords(ctx context.Context, ownerID string, pageSize int, pageToken string) (Page[Record], error)
	// PatientRecords lists the final log entries that name a patient, whichever owner each
	// was about, newest first, without payloads.
	PatientRecords(ctx context.Context, patientID string, pageSize int, pageToken string) (Page[Record], error)
	// RecipientRecords lists the disclosures that went to a recipient (never the refused
	// ones), newest first, without payloads.
	RecipientRecords(ctx context.Context, recipientID string, pageSize int, pageToken string) (Page[Record], error)

	// AccessLedger reads the list of an owner's access requests: an empty ledger when
	// there is none.
	AccessLedger(ctx context.Context, ownerID string) (AccessLedger, error)
	// AddToAccessLedger appends p to the owner's ledger, creating it when needed, in one
	// atomic step, and returns the ledger as it stood right after.
	AddToAccessLedger(ctx context.Context, ownerID string, p PriorRequest) (AccessLedger, error)
	// CreateAccessRequest stores a new access request. When one with r.ID exists (a
	// retried record) it returns that one and stores nothing.
	CreateAccessRequest(ctx context.Context, r AccessRequest) (AccessRequest, error)
	// AccessRequest reads one access request, without its charge flag;
	// apperr.ErrNotFound when unknown.
	AccessRequest(ctx context.Context, id string) (AccessRequest, error)
	// OwnerAccessRequests lists the requests the owner's ledger l lists, most recently
	// received first, without their charge flags.
	OwnerAccessRequests(ctx context.Context, l AccessLedger, pageSize int, pageToken string) (Page[AccessRequest], error)
	// ExtendAccessRequest stores r's extension unless the stored request is already
	// extended, and returns the stored request.
	ExtendAccessRequest(ctx context.Context, r AccessRequest) (AccessRequest, error)
	// ProposeAccessAnswer stores p as the received request's answer proposal unless it
	// holds one made at or after staleBefore, and returns the stored request: answered,
	// or received with a proposal (p or the fresh one), never received with none.
	ProposeAccessAnswer(ctx context.Context, id string, p AnswerProposal, staleBefore time.Time) (AccessRequest, error)
	// WithdrawAccessAnswer removes the request's answer proposal if copy copyID made it.
	WithdrawAccessAnswer(ctx context.Context, id, copyID string) error
	// AnswerAccessRequest marks the request answered at, if it is received and proposes
	// at or nothing, and returns the stored request. A zero at is an error.
	AnswerAccessRequest(ctx context.Context, id string, at time.Time) (AccessRequest, error)
}
