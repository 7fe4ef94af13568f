package domain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lillvet/register/services/platform/retention"
)

// The classes of this service's records the retention sweep removes, as
// RecordDisposition.record_class names them.
const (
	// ClassDisclosureLog is the disclosure log, disclosed and refused entries alike,
	// kept from the disclosure time.
	ClassDisclosureLog = "disclosure_log"
	// ClassAccessRequests is the access requests, kept from their receipt.
	ClassAccessRequests = "access_requests"
	// ClassErasureRequests is the finished erasure requests, kept from their finish;
	// a running or stuck one is never removed.
	ClassErasureRequests = "erasure_requests"
)

// SweptClasses returns the classes in the order the sweep runs and reports them.
func SweptClasses() []string {
	return []string{ClassDisclosureLog, ClassAccessRequests, ClassErasureRequests}
}

// Records are kept RecordsRetention years after their time
// (DISCLOSURE_RECORDS_RETENTION_YEARS): the log proves what left the register to
// whom and on what basis, the requests prove that the customer's rights were
// answered, both against claims for the general limitation period of three years
// (Act on the limitation of debts 728/2003 §4), which is the minimum; the default
// five years gives a claim raised late in it time to be heard.
const (
	MinRecordsRetentionYears     = 3
	DefaultRecordsRetentionYears = 5
	maxRecordsRetentionYears     = 50
)

// CheckRecordsRetention reports a period outside 3–50 years.
func CheckRecordsRetention(years int) error {
	if years < MinRecordsRetentionYears || years > maxRecordsRetentionYears {
		return fmt.Errorf("DISCLOSURE_RECORDS_RETENTION_YEARS must be %d–%d, got %d", MinRecordsRetentionYears, maxRecordsRetentionYears, years)
	}
	return nil
}

// RetentionCutoff is the instant before which a record's time must lie for it to be
// removed on now's day: a record is kept through the same calendar day (in loc)
// years later, and removed from the day after.
func RetentionCutoff(now time.Time, years int, loc *time.Location) time.Time {
	d := retention.DateOf(now, loc).AddYears(-years)
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Expired is one record the sweep removes, or a stale pending disclosure it refuses:
// its id and whose it is (for the audit).
type Expired struct {
	ID      string
	OwnerID string
}

// ErrUnknownClass is returned for a class the store does not sweep.
var ErrUnknownClass = errors.New("unknown record class")

// RetentionStore finds and removes the records past their retention.
type RetentionStore interface {
	// ExpiredRecords lists up to limit records of class whose time is before cutoff.
	// It returns none and skipped without reading the class when what the last
	// MarkSwept noted shows that nothing can be that old.
	ExpiredRecords(ctx context.Context, class string, cutoff time.Time, limit int) (records []Expired, skipped bool, err error)
	// RemoveRecords deletes the records of class; an access request leaves its
	// owner's ledger first, so that a crash in between leaves it to the next sweep.
	RemoveRecords(ctx context.Context, class string, records []Expired) error
	// MarkSwept notes, once nothing of class is left before the cutoff, a lower
	// bound of the times of what is left and of what is yet to be stored (at the
	// earliest now minus slack), so that the next sweeps skip the class until
	// something may be due.
	MarkSwept(ctx context.Context, class string, now time.Time, slack time.Duration) error

	// PendingPassDue reports whether the pass over stale pending disclosures last ran
	// more than every before now, or never.
	PendingPassDue(ctx context.Context, now time.Time, every time.Duration) (bool, error)
	// MarkPendingPass notes that the pass over stale pending disclosures ran at now.
	MarkPendingPass(ctx context.Context, now time.Time) error
	// StalePending lists up to limit disclosure log entries still pending that were
	// logged before before.
	StalePending(ctx context.Context, before time.Time, limit int) ([]Expired, error)
	// FinalizeRecord is Repository.FinalizeRecord.
	FinalizeRecord(ctx context.Context, id string, decided Outcome, refused func(Record) error) (Record, bool, error)
}
