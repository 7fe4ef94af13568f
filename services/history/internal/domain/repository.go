package domain

import (
	"context"
	"time"

	"github.com/lillvet/register/services/platform/retention"
)

// Page sizes of list operations.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Query selects a page of one patient's or one owner's entries, newest first. Start
// and End bound the time (Start inclusive, End exclusive); zero means unbounded. The
// page token is the opaque position after the previous page.
type Query struct {
	// ID is the patient (visits) or the owner (communications, timeline).
	ID        string
	Start     time.Time
	End       time.Time
	PageSize  int
	PageToken string
	// Restricted includes restricted visits (kept after an erasure); lists leave them
	// out otherwise.
	Restricted bool
}

// Repository stores visits and communications. Every write is one atomic document
// write, safe to retry.
type Repository interface {
	// CreateVisit stores v (Version 1) with the digest of its request (see
	// VisitRecord.Digest); apperr.ErrAlreadyExists when a visit with v.ID exists (the id
	// derives from the request id: a retry, or a request id reused), which the caller
	// reads and compares.
	CreateVisit(ctx context.Context, v *Visit, digest string) (*Visit, error)
	// GetVisit reads a visit with its original and amendments.
	GetVisit(ctx context.Context, id string) (*VisitRecord, error)
	// AmendVisit appends a (whose Version is expected+1) and stores current as the new
	// view, when the stored version is expected; else apperr.ErrVersionMismatch. original, the
	// visit as recorded, is given with the first amendment, which stores it beside the
	// view (the version alone does not tell it: a restriction raises the version too).
	AmendVisit(ctx context.Context, id string, expected int64, a Amendment, original, current *Visit) error
	// WithdrawAmendments stores rec (Withdraw's) as the visit's view and trail, when
	// the stored version is expected; else apperr.ErrConflict, or apperr.ErrNotFound
	// when the visit is gone. The restriction is left as it is.
	WithdrawAmendments(ctx context.Context, rec *VisitRecord, expected int64) error
	ListPatientVisits(ctx context.Context, q Query) ([]*Visit, string, error)

	// CreateCommunication stores c; apperr.ErrAlreadyExists when one with c.ID exists
	// (the id derives from the request id: a retry, or a request id reused), which the
	// caller reads and compares.
	CreateCommunication(ctx context.Context, c *Communication) (*Communication, error)
	// GetCommunication reads a communication; apperr.ErrNotFound when there is none.
	GetCommunication(ctx context.Context, id string) (*Communication, error)
	// DeleteCommunication deletes the communication by _id, if it is stored.
	DeleteCommunication(ctx context.Context, id string) error
	ListOwnerCommunications(ctx context.Context, q Query) ([]*Communication, string, error)
	// ListOwnerTimeline merges the owner's visits and communications, newest first,
	// with one query per collection. Without withCommunications only visits are listed.
	ListOwnerTimeline(ctx context.Context, q Query, withCommunications bool) ([]TimelineEntry, string, error)

	// ExportOwner calls visit for every visit recorded for the owner and then
	// communication for every communication with them, each oldest first, reading
	// each collection with one query.
	ExportOwner(ctx context.Context, ownerID string, visit func(*VisitRecord) error, communication func(*Communication) error) error

	// OwnerVisits returns the current views of every visit recorded for the owner,
	// restricted ones too, with what their restriction keeps (Visit.Restriction).
	OwnerVisits(ctx context.Context, ownerID string) ([]*Visit, error)
	// LastVisitTime is when the patient's newest visit started, by any owner; zero
	// when it has none.
	LastVisitTime(ctx context.Context, patientID string) (time.Time, error)
	// CountOwnerCommunications counts the communications with the owner.
	CountOwnerCommunications(ctx context.Context, ownerID string) (int, error)
	// DeleteOwnerCommunications deletes every communication with the owner and counts
	// those it deleted.
	DeleteOwnerCommunications(ctx context.Context, ownerID string) (int, error)
	// MarkRestricted marks each visit of the owner restricted with its retention, by _id,
	// and raises its version, so that an amendment built on a read from before fails as
	// stale instead of applying to the restricted visit; visits no longer there, or no
	// longer the owner's (a correction of the start time moved one to another owner
	// after the erasure read it), are skipped: the erasure holds no other owner's visit.
	// A mark's DropDigests removes the visit's request digests in the same write, and
	// applies only to the visit at the mark's Version (skipped otherwise). It returns
	// the version each visit had just before its mark, 0 for one skipped, which tells
	// the erasure whether the visit is still the one it planned from.
	MarkRestricted(ctx context.Context, ownerID string, marks []Mark) ([]int64, error)
	// DropDigests removes the request digests of each visit (with its amendments'
	// request ids, see WithoutDigests), by _id, and raises its version (an amendment
	// being withdrawn from a read from before would write them back); the visit's
	// Version bounds its amendments. Visits no longer there, or changed since their
	// Version (a payment since may hold one of the amendments it bounds, and keeps the
	// owner's erasure scheduled for its own digests only when it stored one), are
	// skipped. It returns how many it skipped.
	DropDigests(ctx context.Context, visits []*Visit) (int, error)
	// ReduceVisit marks the owner's visit restricted with its retention r and stores rec
	// as its content (what r keeps of it; its request digest is removed when rec has
	// none) at the next version, when the visit is still the owner's at rec's version;
	// else apperr.ErrConflict. The new version keeps an amendment built on the
	// unreduced record from writing it back.
	ReduceVisit(ctx context.Context, ownerID string, r VisitRetention, rec *VisitRecord) error
	// DeleteUnamendedVisit deletes the visit when it is neither amended nor restricted,
	// so that nothing but its recording goes; it reports whether it did.
	DeleteUnamendedVisit(ctx context.Context, id string) (bool, error)
	// DeleteMissedVisit deletes the visit whatever it holds, by its id alone: only for
	// one that no write can keep any more (an applied erasure of its owner missed it).
	// It reports whether it did (a concurrent call may have deleted it first).
	DeleteMissedVisit(ctx context.Context, id string) (bool, error)
	// DeleteVisit deletes the owner's visit at the version and reports whether it did:
	// a visit at another version (written to since it was read), another owner's (moved
	// since) or missing is left.
	DeleteVisit(ctx context.Context, ownerID, id string, version int64) (bool, error)
	// StoredVisits returns those of ids that name a stored visit, whoever's it is.
	StoredVisits(ctx context.Context, ids []string) ([]string, error)

	// GetErasure reads the owner's erasure record; apperr.ErrNotFound when the owner
	// was never erased.
	GetErasure(ctx context.Context, ownerID string) (*Erasure, error)
	// SaveErasure stores e, whose Version is one more than the stored one (1: a new
	// record); apperr.ErrConflict when another writer changed it first.
	SaveErasure(ctx context.Context, e *Erasure) error
	// RaiseDigestsUntil raises the DigestsUntil of the owner's erasure record to until,
	// unless it reaches it already, and returns the record as stored then. Its one write
	// never conflicts, and it raises the record's Version, so that a writer holding the
	// record as read before (a pass that lowers the day, see SaveErasure) conflicts
	// instead of writing it over. apperr.ErrNotFound when the owner was never erased.
	RaiseDigestsUntil(ctx context.Context, ownerID string, until retention.Date) (*Erasure, error)
	// ScheduleErasure records when e next has something due (e.NextDue), unless a
	// later version of the record was scheduled already. It is written after the record
	// and again by whoever finds it applied, so that a crash in between delays nothing.
	ScheduleErasure(ctx context.Context, e *Erasure) error
	// ErasuresDue returns the applied erasures scheduled with something to remove after
	// a day before today.
	ErasuresDue(ctx context.Context, today retention.Date) ([]*Erasure, error)

	// ErasedOwners returns the ids of every owner with an erasure record.
	ErasedOwners(ctx context.Context) ([]string, error)
	// NoteErasedPatients records that the erased owner's kept visits include visits of
	// each patient, before the erasure restricts them.
	NoteErasedPatients(ctx context.Context, ownerID string, patientIDs []string) error
	// NotedErasures returns the ids of the owners whose erasure had its patients noted
	// (SetErasureNoted), by one read of the ids alone.
	NotedErasures(ctx context.Context) ([]string, error)
	// SetErasureNoted stores that the owner's erasure had its patients noted.
	SetErasureNoted(ctx context.Context, ownerID string) error
	// ErasedOwnersOf returns the owners noted erased with kept visits of the patient
	// (NoteErasedPatients), each once, by one read of the patient's id.
	ErasedOwnersOf(ctx context.Context, patientID string) ([]string, error)
	// MarkNamesCheck marks each owner's NamesNotice to be checked (Checks + 1), creating
	// it when there is none.
	MarkNamesCheck(ctx context.Context, ownerIDs ...string) error
	// MarkNamesPending marks each owner's NamesNotice to be checked, as MarkNamesCheck,
	// and keeps it pending until until at least (NamesNotice.PendingUntil).
	MarkNamesPending(ctx context.Context, until time.Time, ownerIDs ...string) error
	// NamesChecksDue returns the notices marked to be checked.
	NamesChecksDue(ctx context.Context) ([]NamesNotice, error)
	// NamesTold stores that the owner service was told the day, with the number of the
	// owner's erasure requests then.
	NamesTold(ctx context.Context, ownerID string, day retention.Date, requests int) error
	// NamesAskAfter stores that the owner's names are not checked again before t
	// (NamesNotice.AskAfter).
	NamesAskAfter(ctx context.Context, ownerID string, t time.Time) error
	// ClearNamesCheck clears the owner's marks when they are still the checks read;
	// a mark set since stays.
	ClearNamesCheck(ctx context.Context, ownerID string, checks int64) error

	// MarkCodeCheck marks the owner's CodeNotice to be checked (Checks + 1), creating
	// it when there is none, and ends its wait (AskAfter), keeping its Failures.
	MarkCodeCheck(ctx context.Context, ownerID string) error
	// MarkCodePending marks the owner's CodeNotice to be checked, as MarkCodeCheck, and
	// keeps it pending until until at least (CodeNotice.PendingUntil).
	MarkCodePending(ctx context.Context, until time.Time, ownerID string) error
	// CodeChecksDue returns the notices marked to be checked.
	CodeChecksDue(ctx context.Context) ([]CodeNotice, error)
	// CodeAskAfter stores that the owner's code is not checked again before t
	// (CodeNotice.AskAfter), after failures checks failed in a row
	// (CodeNotice.Failures).
	CodeAskAfter(ctx context.Context, ownerID string, t time.Time, failures int64) error
	// ClearCodeCheck clears the owner's marks when they are still the checks read, and
	// its failures with them; a mark set since stays.
	ClearCodeCheck(ctx context.Context, ownerID string, checks int64) error
}
