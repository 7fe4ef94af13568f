package domain

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
)

// Service is a service holding the owner's data.
type Service string

// The services an erasure runs on.
const (
	ServiceOwner      Service = "owner"
	ServiceHistory    Service = "history"
	ServiceConsent    Service = "consent"
	ServiceDisclosure Service = "disclosure"
)

// Action is what a step does on its service.
type Action string

// The actions: restrict leaves the owner out of everything at once (search, marketing,
// statistics, disclosure); erase removes what no law requires the service to keep and
// restricts the rest.
const (
	ActionRestrict Action = "restrict"
	ActionErase    Action = "erase"
)

// StepKind is one step's service and action.
type StepKind struct {
	Service Service
	Action  Action
}

// ErasureSteps returns the steps in the order they run. Both restrictions come first,
// so the owner is out of search, marketing and disclosure before anything is erased
// anywhere; then this service's copies of what it disclosed (the log entries stay: who
// received what, when and on which basis, with the package's hash); the history
// service erases before the owner service, because its answer (the last day a kept
// record names the owner, and whether an unpaid invoice still needs the identity code)
// says what the owner service must keep.
func ErasureSteps() []StepKind {
	return []StepKind{
		{ServiceOwner, ActionRestrict},
		{ServiceConsent, ActionRestrict},
		{ServiceDisclosure, ActionErase},
		{ServiceHistory, ActionErase},
		{ServiceConsent, ActionErase},
		{ServiceOwner, ActionErase},
	}
}

// StepState is where one step stands.
type StepState string

// The step states. A failed step is retried at NextAttemptAt unless the job gave up.
const (
	StepPending StepState = "pending"
	StepRunning StepState = "running"
	StepDone    StepState = "done"
	StepFailed  StepState = "failed"
)

// JobState is where the whole job stands.
type JobState string

// The job states. A job is done once every step is; it is stuck when a step failed
// permanently, and waits for an operator to resume it.
const (
	JobRunning JobState = "running"
	JobDone    JobState = "done"
	JobStuck   JobState = "stuck"
)

// Disposition is what an erasure did with one class of the owner's records in one
// service, as that service answered: erased now, or kept (restricted) on a legal basis
// until a day. The class and basis are the services' stable keys ("patient_records",
// "basis.veterinary_records"); KeptUntil is a day "YYYY-MM-DD", empty when erased or
// kept without an end (a marketing suppression).
type Disposition struct {
	RecordClass string
	Kept        bool
	LegalBasis  string
	KeptUntil   string
	Count       int
}

// BasisMarketingObjection is the key of the basis on which the consent service keeps a
// marketing objection through an erasure (GDPR Art. 21(3): it must keep being
// honoured); the other bases an erasure keeps records on are retention's.
const BasisMarketingObjection = "basis.marketing_objection"

// StepResult is what a done step answered. Only erase steps have dispositions; the
// history service's erase also says until when kept records name the owner and whether
// an unpaid invoice needs the identity code, which the owner service's erase is given.
type StepResult struct {
	Dispositions            []Disposition
	OwnerNamedUntil         string
	IdentityCodeNeededUntil string
}

// Step is one service's part of an erasure: one idempotent RPC (with the job's id as
// request id where the RPC takes one), so that running it again after a crash is
// harmless.
type Step struct {
	StepKind
	State    StepState
	Attempts int
	// NextAttemptAt is when a pending or failed step may run next.
	NextAttemptAt time.Time
	// LeaseUntil is when a running step counts as abandoned (its worker died) and may
	// be taken again.
	LeaseUntil time.Time
	// LastError is the last failure's gRPC code name or another code: never a message,
	// which might carry personal data.
	LastError string
	// Result is what the service answered, once done.
	Result StepResult
	// DoneAt is when the step was done; zero until then.
	DoneAt time.Time
}

// Done reports whether the step is done.
func (s *Step) Done() bool { return s.State == StepDone }

// ErasureJob is an erasure request running across the services. Its state lives in the
// disclosure service's store and every transition bumps Version, which the store uses
// for compare-and-set: of two workers racing on one job only one transition lands, so
// each step's result is recorded once and the job finishes exactly once.
type ErasureJob struct {
	ID string
	// Receipt is how the request arrived and who identified the person.
	Receipt
	State   JobState
	Steps   []Step
	Version int64
	// RecordedBy is the staff member who recorded the request; the job's calls run
	// under the service's own credentials, so this is who asked.
	RecordedBy string
	// CreatedAt and FinishedAt bound the job; FinishedAt is zero until it is done.
	CreatedAt  time.Time
	FinishedAt time.Time
	// Notify is the recipients to tell of the erasure (GDPR Art. 19), set once, by
	// the transition that finishes the job.
	Notify []Notification
	// FinishEventPending is set by the transition that finishes the job and cleared
	// once the audit event of the finish is stored: a worker that dies between the two
	// leaves the job needing a worker, which stores the event.
	FinishEventPending bool
}

// Notification is a recipient that received the owner's data, from the disclosure log.
type Notification struct {
	RecipientID   string
	Name          string
	Kind          Kind
	Contact       Contact
	Categories    []Category
	DisclosureIDs []string
	LastAt        time.Time
}

// Errors of the job's transitions. Each is a programming or race error the worker
// handles by re-reading the job, never something to show the owner.
var (
	ErrNoStepDue    = errors.New("erasure job: no step is due")
	ErrStaleAttempt = errors.New("erasure job: not the step's running attempt")
	ErrJobNotStuck  = errors.New("erasure job: not stuck")
)

// ReasonNotStuck is the precondition reason of resuming a job that is not stuck.
const ReasonNotStuck = "ERASURE_REQUEST_NOT_STUCK"

// NewErasureJob returns a job for the receipt with every step pending and due now.
func NewErasureJob(id string, r Receipt, now time.Time) ErasureJob {
	j := ErasureJob{ID: id, Receipt: r, State: JobRunning, CreatedAt: now, Version: 1}
	for _, k := range ErasureSteps() {
		j.Steps = append(j.Steps, Step{StepKind: k, State: StepPending, NextAttemptAt: now})
	}
	return j
}

// PrepareErasureRequest validates an erasure request's receipt in place, as
// PrepareAccessRequest does: the received time (now when zero), the channel and how
// and by whom the person was identified.
func PrepareErasureRequest(r *Receipt, prefix string, now time.Time) error {
	var v apperr.ValidationError
	r.check(&v, prefix, now)
	return v.Err()
}

// current is the index of the first step not done, or -1 when all are. Steps run one at
// a time in order.
func (j *ErasureJob) current() int {
	for i := range j.Steps {
		if !j.Steps[i].Done() {
			return i
		}
	}
	return -1
}

// Result returns the result of the done step of kind k, and false when it is not done.
func (j *ErasureJob) Result(k StepKind) (StepResult, bool) {
	for _, s := range j.Steps {
		if s.StepKind == k && s.Done() {
			return s.Result, true
		}
	}
	return StepResult{}, false
}

// Due returns the step to run at now and true, or false when none is: the job is done
// or stuck, the current step waits for its backoff, or it is running under a live lease.
// A running step whose lease has passed is due again: its worker is presumed dead, and
// the step's RPC is idempotent. This is how a job resumes after a crash or restart.
func (j *ErasureJob) Due(now time.Time) (StepKind, bool) {
	if j.State != JobRunning {
		return StepKind{}, false
	}
	i := j.current()
	if i < 0 {
		return StepKind{}, false
	}
	s := j.Steps[i]
	switch s.State {
	case StepPending, StepFailed:
		return s.StepKind, !now.Before(s.NextAttemptAt)
	case StepRunning:
		return s.StepKind, !now.Before(s.LeaseUntil)
	default:
		return StepKind{}, false
	}
}

// NextWake returns when the job next needs a worker, or the zero time if never (done
// and its finish audited, or stuck).
func (j *ErasureJob) NextWake() time.Time {
	if j.State == JobDone && j.FinishEventPending {
		return j.FinishedAt
	}
	i := j.current()
	if j.State != JobRunning || i < 0 {
		return time.Time{}
	}
	if s := j.Steps[i]; s.State == StepRunning {
		return s.LeaseUntil
	}
	return j.Steps[i].NextAttemptAt
}

// Attempt is one run of a step by a worker. Its number fences the step: once the lease
// has passed and another worker took the step, the first worker's late report is
// refused, so a result or failure is only ever recorded by the attempt that holds it.
type Attempt struct {
	StepKind
	Number int
}

// Start takes the due step for a worker until now+lease and counts the attempt.
func (j *ErasureJob) Start(now time.Time, lease time.Duration) (Attempt, error) {
	k, ok := j.Due(now)
	if !ok {
		return Attempt{}, ErrNoStepDue
	}
	s := &j.Steps[j.current()]
	s.State = StepRunning
	s.Attempts++
	s.LeaseUntil = now.Add(lease)
	j.Version++
	return Attempt{StepKind: k, Number: s.Attempts}, nil
}

// Last reports whether a is an attempt at the last step, whose success finishes the
// job: the worker gathers the recipients to notify before recording it.
func (j *ErasureJob) Last(a Attempt) bool {
	return len(j.Steps) > 0 && j.Steps[len(j.Steps)-1].StepKind == a.StepKind
}

// Succeed records the result of attempt a, which must be the step's running one. It
// returns finished true exactly when this transition completed the job; notify is then
// recorded as the recipients to notify, in the same transition, so that the list is
// written once.
func (j *ErasureJob) Succeed(a Attempt, result StepResult, notify []Notification, now time.Time) (finished bool, err error) {
	s, err := j.running(a)
	if err != nil {
		return false, err
	}
	s.State, s.Result, s.DoneAt, s.LastError = StepDone, result, now, ""
	s.LeaseUntil = time.Time{}
	j.Version++
	if j.current() < 0 {
		j.State, j.FinishedAt, j.Notify, j.FinishEventPending = JobDone, now, notify, true
		return true, nil
	}
	next := &j.Steps[j.current()]
	next.NextAttemptAt = now
	return false, nil
}

// FinishAudited records that the audit event of the job's finish is stored.
func (j *ErasureJob) FinishAudited() {
	j.FinishEventPending = false
	j.Version++
}

// Fail records that attempt a, the step's running one, failed, with a code (never a
// message). A transient failure is retried after b's delay for the attempt, drawn with u
// in [0, 1); a permanent one (the service rejects the request as invalid) makes the job
// stuck until an operator resumes it.
func (j *ErasureJob) Fail(a Attempt, code string, permanent bool, now time.Time, b Backoff, u float64) error {
	s, err := j.running(a)
	if err != nil {
		return err
	}
	s.State, s.LastError, s.LeaseUntil = StepFailed, code, time.Time{}
	s.NextAttemptAt = now.Add(b.Delay(s.Attempts, u))
	if permanent {
		j.State = JobStuck
	}
	j.Version++
	return nil
}

// Resume puts a stuck job back to running, its failed step due at now.
func (j *ErasureJob) Resume(now time.Time) error {
	if j.State != JobStuck {
		return ErrJobNotStuck
	}
	j.State = JobRunning
	j.Steps[j.current()].NextAttemptAt = now
	j.Version++
	return nil
}

func (j *ErasureJob) running(a Attempt) (*Step, error) {
	if i := j.current(); j.State == JobRunning && i >= 0 {
		if s := &j.Steps[i]; s.StepKind == a.StepKind && s.State == StepRunning && s.Attempts == a.Number {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w: %s %s attempt %d", ErrStaleAttempt, a.Service, a.Action, a.Number)
}

// Backoff spaces the retries of a failed step: Base doubled per attempt up to Max, then
// shortened by a random fraction of at most Jitter, so that steps failing together do
// not retry together.
type Backoff struct {
	Base   time.Duration
	Max    time.Duration
	Jitter float64
}

// DefaultBackoff retries after about 1 s, 2 s, 4 s … up to an hour, with a fifth of
// jitter: a service down for a day is retried hourly, and an erasure never gives up on
// a transient failure.
func DefaultBackoff() Backoff { return Backoff{Base: time.Second, Max: time.Hour, Jitter: 0.2} }

// Delay returns the wait after the given attempt (1 for the first): in
// [d·(1−Jitter), d] where d = min(Max, Base·2^(attempt−1)). u is a uniform random number
// in [0, 1); values outside are clamped, and a Jitter outside [0, 1] counts as its
// nearest bound.
func (b Backoff) Delay(attempt int, u float64) time.Duration {
	d := b.Max
	if attempt < 1 {
		attempt = 1
	}
	if exp := attempt - 1; exp < 62 {
		if f := float64(b.Base) * math.Pow(2, float64(exp)); f < float64(b.Max) {
			d = time.Duration(f)
		}
	}
	if d < 0 {
		d = 0
	}
	return d - time.Duration(float64(d)*unit(b.Jitter)*unit(u))
}

// unit clamps x into [0, 1], NaN to 0.
func unit(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return min(max(x, 0), 1)
}

// ErasureJobs stores erasure jobs in the service's own database, one document each.
type ErasureJobs interface {
	// CreateErasureJob stores a new job. When one with j.ID exists (a retried create) it
	// returns that one and stores nothing.
	CreateErasureJob(ctx context.Context, j ErasureJob) (ErasureJob, error)
	// ErasureJob reads one job; apperr.ErrNotFound when unknown.
	ErasureJob(ctx context.Context, id string) (ErasureJob, error)
	// UpdateErasureJob stores j, a transition of the job read at version from, only
	// while the stored job is still at that version: apperr.ErrConflict when another
	// transition landed first.
	UpdateErasureJob(ctx context.Context, j ErasureJob, from int64) error
	// DueErasureJobs returns up to limit jobs that need a worker at now, longest
	// waiting first: running ones, and done ones whose finish is not audited yet.
	DueErasureJobs(ctx context.Context, now time.Time, limit int) ([]ErasureJob, error)
	ErasureJobLister
}

// ErasureJobLister reads an owner's erasure jobs, and nothing more: what the access
// report needs of them, which must not start, move or finish a job.
type ErasureJobLister interface {
	// OwnerErasureJobs lists an owner's jobs, most recently created first.
	OwnerErasureJobs(ctx context.Context, ownerID string, pageSize int, pageToken string) (Page[ErasureJob], error)
}
