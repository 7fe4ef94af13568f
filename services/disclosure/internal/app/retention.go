package app

import (
	"context"
	"fmt"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
)

const (
	// sweepBatch bounds the records one step of the sweep reads, audits and removes.
	sweepBatch = 500
	// sweepSlack is how much earlier than the sweep's clock a record stored after it
	// may be timed (another replica's clock, a disclosure begun a moment before).
	sweepSlack = 24 * time.Hour
	// PendingTimeout is how long after its time a disclosure may stay pending before
	// the sweep refuses it: a disclosure settles within its call's deadline, seconds
	// after it began, so one this old failed and was not retried.
	PendingTimeout = 15 * time.Minute
	// PendingPassEvery is how often the sweep looks for stale pending disclosures: on
	// the embedded store the look scans the log, which an hourly sweep should not do.
	PendingPassEvery = 24 * time.Hour
)

// RetentionOptions tune the retention sweep.
type RetentionOptions struct {
	// Years is how long the records are kept after their time; zero means
	// domain.DefaultRecordsRetentionYears.
	Years int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Location is the clinics' time zone, in which the days are counted; nil means
	// retention.ClinicZone.
	Location *time.Location
}

// Retention removes the service's records once their retention has passed.
type Retention struct {
	store   domain.RetentionStore
	auditor Auditor
	opts    RetentionOptions
}

// NewRetention builds the retention sweep.
func NewRetention(store domain.RetentionStore, auditor Auditor, opts RetentionOptions) (*Retention, error) {
	if opts.Years == 0 {
		opts.Years = domain.DefaultRecordsRetentionYears
	}
	if err := domain.CheckRecordsRetention(opts.Years); err != nil {
		return nil, err
	}
	var err error
	if opts.Now, opts.Location, err = clock(opts.Now, opts.Location); err != nil {
		return nil, err
	}
	return &Retention{store: store, auditor: auditor, opts: opts}, nil
}

// RunRetentionSweep refuses the disclosures left pending past PendingTimeout (once
// every PendingPassEvery), then removes, class by class, every record whose retention
// ended before today, each removal audited first with its owner as the subject, and
// answers how many of each class it removed. A second run removes nothing; a run that
// failed halfway leaves the rest to the next.
func (r *Retention) RunRetentionSweep(ctx context.Context) ([]domain.Disposition, error) {
	now := r.opts.Now()
	if err := r.refuseStalePending(ctx, now); err != nil {
		return nil, fmt.Errorf("retention sweep of pending disclosures: %w", err)
	}
	cutoff := domain.RetentionCutoff(now, r.opts.Years, r.opts.Location)
	var removed []domain.Disposition
	for _, class := range domain.SweptClasses() {
		n, err := r.sweepClass(ctx, class, cutoff, now)
		if n > 0 {
			removed = append(removed, domain.Disposition{RecordClass: class, Count: n})
		}
		if err != nil {
			return removed, fmt.Errorf("retention sweep of %s: %w", class, err)
		}
	}
	return removed, nil
}

func (r *Retention) sweepClass(ctx context.Context, class string, cutoff, now time.Time) (int, error) {
	total := 0
	for {
		batch, skipped, err := r.store.ExpiredRecords(ctx, class, cutoff, sweepBatch)
		if err != nil || skipped {
			return total, err
		}
		if len(batch) > 0 {
			events := make([]audit.Event, len(batch))
			for i, e := range batch {
				events[i] = audit.Event{
					Action: "disclosure.retention_sweep", Resource: sweptResource(class, e.ID), SubjectOwnerID: e.OwnerID,
					Outcome: audit.OutcomeSuccess,
				}
			}
			if err := r.auditor.RecordNow(ctx, events...); err != nil {
				return total, fmt.Errorf("audit: %w", err)
			}
			if err := r.store.RemoveRecords(ctx, class, batch); err != nil {
				return total, err
			}
			total += len(batch)
		}
		if len(batch) < sweepBatch {
			return total, r.store.MarkSwept(ctx, class, now, sweepSlack)
		}
	}
}

// refuseStalePending refuses, NOT_COMPLETED, the disclosures still pending that were
// logged PendingTimeout before now, unless it ran within PendingPassEvery: their call
// stopped, or could neither read the owner's restriction nor write its own refusal,
// and no retry came, so nothing was handed out; a retry from now on answers the
// refusal. Each
// is made final by FinalizeRecord, as the disclosure's own is, so a retry racing the
// sweep and the sweep agree. Each refusal is audited as a refused disclosure, which its
// caller never had audited, before the entry is made final (auditUnanswered): a sweep
// that stops or fails after it, midway through a batch or between its claim and the
// entry's change, loses none, and two sweeps at once store it once.
func (r *Retention) refuseStalePending(ctx context.Context, now time.Time) error {
	if due, err := r.store.PendingPassDue(ctx, now, PendingPassEvery); err != nil || !due {
		return err
	}
	refusal := domain.Outcome{Refusal: &domain.Refusal{Reason: domain.RefusalNotCompleted}}
	for {
		batch, err := r.store.StalePending(ctx, now.Add(-PendingTimeout), sweepBatch)
		if err != nil {
			return err
		}
		for _, e := range batch {
			if _, _, err := r.store.FinalizeRecord(ctx, e.ID, refusal, auditUnanswered(ctx, r.auditor)); err != nil {
				return err
			}
		}
		if len(batch) < sweepBatch {
			return r.store.MarkPendingPass(ctx, now)
		}
	}
}

func sweptResource(class, id string) string {
	switch class {
	case domain.ClassDisclosureLog:
		return disclosureResource(id)
	case domain.ClassAccessRequests:
		return accessRequestResource(id)
	default:
		return "erasureRequests/" + id
	}
}
