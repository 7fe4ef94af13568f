package app

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
)

// OwnerEraser is the owner service's part of an erasure.
type OwnerEraser interface {
	// RestrictOwner restricts the owner (idempotent) as the start of erasure request
	// requestID, which its change history names as the reason: from then on the owner
	// service refuses to lift the restriction, as the request cannot be cancelled.
	RestrictOwner(ctx context.Context, ownerID, requestID string) error
	// EraseOwner erases the owner's data but what the given days keep; a retry with
	// the same request id answers the first result.
	EraseOwner(ctx context.Context, ownerID, requestID, nameKeptUntil, identityCodeKeptUntil string) ([]domain.Disposition, error)
}

// ConsentEraser is the consent service's part of an erasure.
type ConsentEraser interface {
	// RestrictConsent sets the consent service's own restriction of the owner, for
	// erasure request requestID, which it records as the reason.
	RestrictConsent(ctx context.Context, ownerID, requestID string) error
	// EraseConsent erases the owner's ledger, keeping marketing objections as
	// suppressions; a retry with the same request id answers the first result.
	EraseConsent(ctx context.Context, ownerID, requestID string) ([]domain.Disposition, error)
}

// HistoryEraser is the patient-history service's part of an erasure.
type HistoryEraser interface {
	// EraseHistory erases the owner's communications and restricts the visits kept;
	// the result says until when kept records name the owner and whether an unpaid
	// invoice needs the identity code. A retry with the same request id answers the
	// first result.
	EraseHistory(ctx context.Context, ownerID, requestID string) (domain.StepResult, error)
}

// Credentials give the job's calls an identity: an erasure runs with no caller, so its
// calls to the other services carry the service's own token, and its audit events name
// that subject. Context fails while no valid token is at hand.
type Credentials interface {
	Context(ctx context.Context) (context.Context, error)
}

// ErasureOptions tune the erasure job.
type ErasureOptions struct {
	// Lease is how long a worker holds a step before another may take it over,
	// presuming the first dead; longer than CallTimeout.
	Lease time.Duration
	// CallTimeout bounds one step's call.
	CallTimeout time.Duration
	// Poll is how often the worker looks for due jobs; new and resumed jobs wake it at
	// once.
	Poll time.Duration
	// Backoff spaces a failing step's retries.
	Backoff domain.Backoff
	// Logger gets the worker's failures: ids and codes only.
	Logger *slog.Logger
}

// dueBatch bounds the jobs one pass of the worker takes.
const dueBatch = 20

// ReasonErasureNotConfigured is the precondition reason of an erasure request while the
// service has no credentials for the job (DISCLOSURE_JOB_TOKEN_FILE).
const ReasonErasureNotConfigured = "ERASURE_JOBS_NOT_CONFIGURED"

// Erasure implements the erasure requests: recording them, reading them, and the worker
// that runs their jobs.
type Erasure struct {
	jobs    domain.ErasureJobs
	log     domain.Repository
	owners  Owners
	owner   OwnerEraser
	consent ConsentEraser
	history HistoryEraser
	changes OwnerChanges
	visits  VisitAmendments
	creds   Credentials
	auditor Auditor
	opts    ErasureOptions
	now     func() time.Time
	wake    chan struct{}
}

// ErasureDeps are what the erasure use cases call.
type ErasureDeps struct {
	Jobs domain.ErasureJobs
	// Log is the disclosure log, from which the recipients to notify come.
	Log    domain.Repository
	Owners Owners
	Owner  OwnerEraser
	// Consent and History are the other services' erasure parts.
	Consent ConsentEraser
	History HistoryEraser
	// Changes is the owner service's change history, for the recipients to tell of a
	// rectification.
	Changes OwnerChanges
	// Visits are the patient-history service's amendments, for the recipients to tell
	// of a correction of a visit.
	Visits VisitAmendments
	// Credentials are nil when the service has none: erasure requests are then refused.
	Credentials Credentials
	Auditor     Auditor
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewErasure builds the erasure use cases; zero options take the defaults.
func NewErasure(d ErasureDeps, opts ErasureOptions) *Erasure {
	if d.Now == nil {
		d.Now = time.Now
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 2 * time.Minute
	}
	if opts.Lease <= opts.CallTimeout {
		opts.Lease = 4 * opts.CallTimeout
	}
	if opts.Poll <= 0 {
		opts.Poll = 5 * time.Second
	}
	if opts.Backoff == (domain.Backoff{}) {
		opts.Backoff = domain.DefaultBackoff()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Erasure{
		jobs: d.Jobs, log: d.Log, owners: d.Owners, owner: d.Owner, consent: d.Consent, history: d.History,
		changes: d.Changes, visits: d.Visits, creds: d.Credentials, auditor: d.Auditor, opts: opts, now: d.Now, wake: make(chan struct{}, 1),
	}
}

// Enabled reports whether the service can run erasure jobs (it has credentials).
func (e *Erasure) Enabled() bool { return e.creds != nil }

// CreateErasureRequest records an erasure request and starts its job. A retry with the
// same request id returns the first request, wherever its job stands.
func (e *Erasure) CreateErasureRequest(ctx context.Context, requestID string, r domain.Receipt) (domain.ErasureJob, error) {
	if !e.Enabled() {
		return domain.ErasureJob{}, apperr.Precondition(ReasonErasureNotConfigured,
			"erasure requests cannot run: the service has no credentials for its job")
	}
	now := e.now().UTC().Truncate(time.Millisecond)
	if err := validateReceipt(&r, "erasure_request", now); err != nil {
		return domain.ErasureJob{}, err
	}
	id, err := newID("erasure_request", requestID)
	if err != nil {
		return domain.ErasureJob{}, err
	}
	if requestID != "" {
		if first, err := e.jobs.ErasureJob(ctx, id); err == nil {
			return e.replayErasure(ctx, first, r)
		} else if !errors.Is(err, apperr.ErrNotFound) {
			return domain.ErasureJob{}, err
		}
	}
	status, err := e.owners.Status(ctx, r.OwnerID)
	if err != nil {
		return domain.ErasureJob{}, err
	}
	if !status.Exists {
		return domain.ErasureJob{}, apperr.New(apperr.ErrNotFound, "owner %s not found", r.OwnerID)
	}
	j := domain.NewErasureJob(id, r, now)
	caller, _ := auth.FromContext(ctx)
	j.RecordedBy = caller.Subject
	stored, err := e.jobs.CreateErasureJob(ctx, j)
	if err != nil {
		return domain.ErasureJob{}, err
	}
	if !stored.CreatedAt.Equal(j.CreatedAt) {
		// A concurrent retry stored its request first: answer with that one.
		return e.replayErasure(ctx, stored, r)
	}
	e.kick()
	return stored, e.audit(ctx, erasureEvent("erasure_request.create", stored))
}

func (e *Erasure) replayErasure(ctx context.Context, first domain.ErasureJob, retry domain.Receipt) (domain.ErasureJob, error) {
	if first.OwnerID != retry.OwnerID {
		return domain.ErasureJob{}, apperr.RequestIDReused("an erasure request of another owner")
	}
	return first, e.audit(ctx, erasureEvent("erasure_request.create", first))
}

// validateReceipt applies the domain's rules; the owner id must also be a UUID, and
// is written as the register issued it.
func validateReceipt(r *domain.Receipt, prefix string, now time.Time) error {
	err := domain.PrepareErasureRequest(r, prefix, now)
	var v *apperr.ValidationError
	switch {
	case err == nil:
		v = &apperr.ValidationError{}
	case !errors.As(err, &v):
		return err
	}
	if r.OwnerID != "" {
		r.OwnerID = v.UUID(prefix+".owner_id", r.OwnerID)
	}
	return v.Err()
}

// ErasureRequest reads one erasure request.
func (e *Erasure) ErasureRequest(ctx context.Context, id string) (domain.ErasureJob, error) {
	j, err := e.jobs.ErasureJob(ctx, id)
	if err != nil {
		return domain.ErasureJob{}, err
	}
	return j, e.audit(ctx, erasureEvent("erasure_request.read", j))
}

// OwnerErasureRequests lists an owner's erasure requests, most recently created first.
func (e *Erasure) OwnerErasureRequests(ctx context.Context, ownerID string, pageSize int, pageToken string) (domain.Page[domain.ErasureJob], error) {
	page, err := e.jobs.OwnerErasureJobs(ctx, ownerID, pageSize, pageToken)
	if err != nil {
		return page, err
	}
	return page, e.audit(ctx, audit.Event{
		Action: "erasure_request.list", Resource: "owners/" + ownerID + "/erasureRequests", SubjectOwnerID: ownerID,
	})
}

// ResumeErasureRequest puts a stuck request's job back to running, its failed step due
// now.
func (e *Erasure) ResumeErasureRequest(ctx context.Context, id string) (domain.ErasureJob, error) {
	j, err := e.jobs.ErasureJob(ctx, id)
	if err != nil {
		return domain.ErasureJob{}, err
	}
	from := j.Version
	if err := j.Resume(e.now()); errors.Is(err, domain.ErrJobNotStuck) {
		return domain.ErasureJob{}, apperr.Precondition(domain.ReasonNotStuck, "the erasure request is not stuck")
	} else if err != nil {
		return domain.ErasureJob{}, err
	}
	if err := e.jobs.UpdateErasureJob(ctx, j, from); err != nil {
		return domain.ErasureJob{}, err
	}
	e.kick()
	return j, e.audit(ctx, erasureEvent("erasure_request.resume", j))
}

// kick wakes the worker without waiting for its next poll.
func (e *Erasure) kick() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Erasure) audit(ctx context.Context, events ...audit.Event) error {
	return recordWith(ctx, e.auditor, events...)
}

func erasureEvent(action string, j domain.ErasureJob) audit.Event {
	return audit.Event{Action: action, Resource: "erasureRequests/" + j.ID, SubjectOwnerID: j.OwnerID}
}

// jitter draws the backoff's random fraction; it spreads retries, nothing depends on
// its quality.
func jitter() float64 { return rand.Float64() } //nolint:gosec // not a secret
