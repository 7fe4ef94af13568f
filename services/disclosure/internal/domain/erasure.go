package domain

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/lillvet/register/services/platform/retention"
)

// Service is a service holding the owner's data, one erasure step each.
type Service string

// The services, in the order their steps run. The owner step comes first because it
// restricts the owner at once (out of search, marketing, statistics and disclosure)
// before anything is erased anywhere.
const (
	ServiceOwner   Service = "owner"
	ServiceHistory Service = "history"
	ServiceConsent Service = "consent"
)

// ErasureServices returns the services in step order.
func ErasureServices() []Service { return []Service{ServiceOwner, ServiceHistory, ServiceConsent} }

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

// Step is one service's part of an erasure: one idempotent RPC (EraseOwnerData with the
// job's id as request id), so that running it again after a crash is harmless.
type Step struct {
	Service  Service
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
	// Result is what the service erased and kept, once done.
	Result []retention.Decision
	DoneAt time.Time
}

// ErasureJob is an erasure request running across the services. Its state lives in the
// disclosure service's store and every transition bumps Version, which the store uses
// for compare-and-set: of two workers racing on one job only one transition lands, so
// each step's result is recorded once and the job finishes exactly once.
type ErasureJob struct {
	ID      string
	OwnerID string
	State   JobState
	Steps   []Step
	Version int64
	// CreatedAt and FinishedAt bound the job; FinishedAt is zero until it is done.
	CreatedAt  time.Time
	FinishedAt time.Time
}

// Errors of the job's transitions. Each is a programming or race error the worker
// handles by re-reading the job, never something to show the owner.
var (
	ErrNoStepDue    = errors.New("erasure job: no step is due")
	ErrStaleAttempt = errors.New("erasure job: not the step's running attempt")
	ErrJobNotStuck  = errors.New("erasure job: not stuck")
)

// NewErasureJob returns a job for the owner with every step pending and due now.
func NewErasureJob(id, ownerID string, now time.Time) ErasureJob {
	j := ErasureJob{ID: id, OwnerID: ownerID, State: JobRunning, CreatedAt: now, Version: 1}
	for _, s := range ErasureServices() {
		j.Steps = append(j.Steps, Step{Service: s, State: StepPending, NextAttemptAt: now})
	}
	return j
}

// current is the index of the first step not done, or -1 when all are. Steps run one at
// a time in order.
func (j *ErasureJob) current() int {
	for i, s := range j.Steps {
		if s.State != StepDone {
			return i
		}
	}
	return -1
}

// Due returns the step to run at now and true, or false when none is: the job is done
// or stuck, the current step waits for its backoff, or it is running under a live lease.
// A running step whose lease has passed is due again: its worker is presumed dead, and
// the step's RPC is idempotent. This is how a job resumes after a crash or restart.
func (j *ErasureJob) Due(now time.Time) (Service, bool) {
	if j.State != JobRunning {
		return "", false
	}
	i := j.current()
	if i < 0 {
		return "", false
	}
	s := j.Steps[i]
	switch s.State {
	case StepPending, StepFailed:
		return s.Service, !now.Before(s.NextAttemptAt)
	case StepRunning:
		return s.Service, !now.Before(s.LeaseUntil)
	default:
		return "", false
	}
}

// NextWake returns when the job next needs a worker, or the zero time if never (done
// or stuck).
func (j *ErasureJob) NextWake() time.Time {
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
	Service Service
	Number  int
}

// Start takes the due step for a worker until now+lease and counts the attempt.
func (j *ErasureJob) Start(now time.Time, lease time.Duration) (Attempt, error) {
	svc, ok := j.Due(now)
	if !ok {
		return Attempt{}, ErrNoStepDue
	}
	s := &j.Steps[j.current()]
	s.State = StepRunning
	s.Attempts++
	s.LeaseUntil = now.Add(lease)
	j.Version++
	return Attempt{Service: svc, Number: s.Attempts}, nil
}

// Succeed records the result of attempt a, which must be the step's running one. It
// returns finished true exactly when this transition completed the job; the caller then
// notifies (recipients under GDPR Art. 19, the owner) once.
func (j *ErasureJob) Succeed(a Attempt, result []retention.Decision, now time.Time) (finished bool, err error) {
	s, err := j.running(a)
	if err != nil {
		return false, err
	}
	s.State, s.Result, s.DoneAt, s.LastError = StepDone, result, now, ""
	s.LeaseUntil = time.Time{}
	j.Version++
	if j.current() < 0 {
		j.State, j.FinishedAt = JobDone, now
		return true, nil
	}
	next := &j.Steps[j.current()]
	next.NextAttemptAt = now
	return false, nil
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
		if s := &j.Steps[i]; s.Service == a.Service && s.State == StepRunning && s.Attempts == a.Number {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w: %s attempt %d", ErrStaleAttempt, a.Service, a.Number)
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
