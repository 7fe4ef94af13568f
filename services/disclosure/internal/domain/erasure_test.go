package domain

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

const lease = time.Minute

func kept(class string) StepResult {
	return StepResult{Dispositions: []Disposition{{RecordClass: class, Kept: true, LegalBasis: "basis.bookkeeping", KeptUntil: "2032-12-31", Count: 1}}}
}

var (
	ownerRestrict   = StepKind{ServiceOwner, ActionRestrict}
	consentRestrict = StepKind{ServiceConsent, ActionRestrict}
	historyErase    = StepKind{ServiceHistory, ActionErase}
	receipt         = Receipt{OwnerID: "own-1", ReceivedAt: testNow, Channel: ChannelLetter, Identification: IdentifiedStrongElectronic}
)

func TestErasureJobRunsEachStepOnceInOrder(t *testing.T) {
	j := NewErasureJob("er-1", receipt, testNow)
	if j.State != JobRunning || j.Version != 1 || len(j.Steps) != 6 {
		t.Fatalf("new job %+v", j)
	}
	now := testNow
	var order []StepKind
	finishedCount := 0
	var last Attempt
	for range ErasureSteps() {
		a, err := j.Start(now, lease)
		if err != nil {
			t.Fatal(err)
		}
		order, last = append(order, a.StepKind), a
		if _, ok := j.Due(now); ok {
			t.Fatalf("%v is due again while its lease lives", a.StepKind)
		}
		now = now.Add(time.Second)
		finished, err := j.Succeed(a, kept("invoices"), []Notification{{RecipientID: "rec-1"}}, now)
		if err != nil {
			t.Fatal(err)
		}
		if finished {
			finishedCount++
		}
	}
	if !slices.Equal(order, []StepKind{ownerRestrict, consentRestrict, {ServiceDisclosure, ActionErase}, historyErase, {ServiceConsent, ActionErase}, {ServiceOwner, ActionErase}}) {
		t.Fatalf("steps ran in order %v", order)
	}
	if finishedCount != 1 || j.State != JobDone || !j.FinishedAt.Equal(now) || j.Version != 13 || len(j.Notify) != 1 {
		t.Fatalf("finished %d times, job %+v", finishedCount, j)
	}
	for _, s := range j.Steps {
		if s.State != StepDone || s.Attempts != 1 || len(s.Result.Dispositions) != 1 {
			t.Errorf("step %+v", s)
		}
	}
	// A done job needs a worker only to audit its finish, and then no more.
	if !j.FinishEventPending || !j.NextWake().Equal(j.FinishedAt) {
		t.Fatalf("just finished: finish event pending %v, wake %v", j.FinishEventPending, j.NextWake())
	}
	j.FinishAudited()
	if j.FinishEventPending || !j.NextWake().IsZero() || j.Version != 14 {
		t.Fatalf("finish audited: pending %v, wake %v, version %d", j.FinishEventPending, j.NextWake(), j.Version)
	}
	// A late worker's result is refused, not recorded.
	if _, ok := j.Due(now.Add(time.Hour)); ok {
		t.Error("a done job has a step due")
	}
	if _, err := j.Start(now, lease); !errors.Is(err, ErrNoStepDue) {
		t.Errorf("start on a done job: %v", err)
	}
	if finished, err := j.Succeed(last, StepResult{}, nil, now); finished || !errors.Is(err, ErrStaleAttempt) {
		t.Errorf("second success of the last step: %v, %v", finished, err)
	}
}

func TestErasureJobResumesAfterACrash(t *testing.T) {
	j := NewErasureJob("er-1", receipt, testNow)
	dead, err := j.Start(testNow, lease)
	if err != nil {
		t.Fatal(err)
	}
	// The worker dies here, before or after the owner service applied the step.
	if _, ok := j.Due(testNow.Add(lease - time.Second)); ok {
		t.Fatal("due before the lease ran out")
	}
	if wake := j.NextWake(); !wake.Equal(testNow.Add(lease)) {
		t.Fatalf("next wake %s, want the lease's end", wake)
	}
	restart := testNow.Add(lease)
	again, err := j.Start(restart, lease)
	if err != nil || again != (Attempt{StepKind: ownerRestrict, Number: 2}) {
		t.Fatalf("after the restart: %+v, %v; want the owner step's second attempt", again, err)
	}
	// The presumed-dead worker was only slow and reports now: refused, whether it
	// succeeded or failed, so only the attempt holding the step records anything.
	if _, err := j.Succeed(dead, StepResult{}, nil, restart); !errors.Is(err, ErrStaleAttempt) {
		t.Fatalf("late result of the first attempt: %v", err)
	}
	if err := j.Fail(dead, "UNAVAILABLE", false, restart, DefaultBackoff(), 0); !errors.Is(err, ErrStaleAttempt) {
		t.Fatalf("late failure of the first attempt: %v", err)
	}
	if _, err := j.Succeed(again, StepResult{}, nil, restart); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Succeed(again, StepResult{}, nil, restart); !errors.Is(err, ErrStaleAttempt) {
		t.Fatalf("second result of one attempt: %v", err)
	}
	if k, ok := j.Due(restart); !ok || k != consentRestrict {
		t.Fatalf("next due %v %v, want the consent restriction now", k, ok)
	}
}

func TestErasureJobRetriesWithBackoff(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute, Jitter: 0.5}
	j := NewErasureJob("er-1", receipt, testNow)
	now := testNow
	for attempt := 1; attempt <= 8; attempt++ {
		a, err := j.Start(now, lease)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Fail(a, "UNAVAILABLE", false, now, b, 0); err != nil {
			t.Fatal(err)
		}
		want := min(time.Second<<(attempt-1), time.Minute)
		s := j.Steps[0]
		if s.State != StepFailed || s.Attempts != attempt || s.LastError != "UNAVAILABLE" || !s.NextAttemptAt.Equal(now.Add(want)) {
			t.Fatalf("attempt %d: %+v, want retry after %s", attempt, s, want)
		}
		if _, ok := j.Due(s.NextAttemptAt.Add(-time.Nanosecond)); ok {
			t.Fatalf("attempt %d: due before the backoff ended", attempt)
		}
		now = s.NextAttemptAt
	}
	a, err := j.Start(now, lease)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Succeed(a, StepResult{}, nil, now); err != nil || j.Steps[0].LastError != "" {
		t.Fatalf("success after failures: %v, %+v", err, j.Steps[0])
	}
}

func TestErasureJobStuckAndResumed(t *testing.T) {
	j := NewErasureJob("er-1", receipt, testNow)
	if err := j.Resume(testNow); !errors.Is(err, ErrJobNotStuck) {
		t.Fatalf("resume of a running job: %v", err)
	}
	if err := j.Fail(Attempt{ownerRestrict, 0}, "INTERNAL", false, testNow, DefaultBackoff(), 0); !errors.Is(err, ErrStaleAttempt) {
		t.Fatalf("failure of a step not running: %v", err)
	}
	a, err := j.Start(testNow, lease)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Succeed(Attempt{historyErase, 1}, StepResult{}, nil, testNow); !errors.Is(err, ErrStaleAttempt) {
		t.Fatalf("success of another service's step: %v", err)
	}
	if err := j.Fail(a, "INVALID_ARGUMENT", true, testNow, DefaultBackoff(), 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := j.Due(testNow.AddDate(1, 0, 0)); ok || j.State != JobStuck || !j.NextWake().IsZero() {
		t.Fatalf("a stuck job is due: %+v", j)
	}
	later := testNow.Add(time.Hour)
	if err := j.Resume(later); err != nil {
		t.Fatal(err)
	}
	if k, ok := j.Due(later); !ok || k != ownerRestrict || j.State != JobRunning {
		t.Fatalf("after resuming: %v %v %+v", k, ok, j)
	}
}

// FuzzErasureJob drives a job with any sequence of worker actions, late reports of old
// attempts included, and checks the invariants the store's compare-and-set relies on: a
// refused transition changes nothing, a landed one bumps the version, steps finish in
// order, each result is recorded once, and the job finishes at most once (exactly once
// when it is done).
func FuzzErasureJob(f *testing.F) {
	f.Add([]byte{0, 13, 0, 19, 0, 25, 0, 37, 0, 43}) // five steps, each started and done
	f.Add([]byte{0, 5, 0, 9, 19, 4, 0})              // a lease runs out; the first attempt reports late
	f.Add([]byte{0, 11, 4, 0, 26, 28})               // a permanent failure, resumed, a transient one
	f.Fuzz(func(t *testing.T, ops []byte) {
		j := NewErasureJob("er-1", receipt, testNow)
		now := testNow
		finished := 0
		// Every attempt ever started, so that late reports of old ones are tried too.
		attempts := []Attempt{{StepKind: ownerRestrict}}
		for _, op := range ops {
			before := j.Version
			steps := slices.Clone(j.Steps)
			a := attempts[int(op>>3)%len(attempts)]
			var err error
			switch op % 6 {
			case 0:
				var started Attempt
				if started, err = j.Start(now, lease); err == nil {
					attempts = append(attempts, started)
				}
			case 1:
				var done bool
				done, err = j.Succeed(a, kept("patient_records"), []Notification{{RecipientID: "rec-1"}}, now)
				if done {
					finished++
				}
			case 2:
				err = j.Fail(a, "UNAVAILABLE", false, now, DefaultBackoff(), float64(op)/256)
			case 3:
				err = j.Fail(a, "INVALID_ARGUMENT", true, now, DefaultBackoff(), 0)
			case 4:
				err = j.Resume(now)
			case 5:
				now = now.Add(time.Duration(op) * time.Minute)
				continue
			}
			if err != nil {
				if j.Version != before || !slices.EqualFunc(j.Steps, steps, stepsEqual) {
					t.Fatalf("refused op %d changed the job", op)
				}
				continue
			}
			if j.Version != before+1 {
				t.Fatalf("op %d: version %d after %d", op, j.Version, before)
			}
			for i := 1; i < len(j.Steps); i++ {
				if j.Steps[i].State != StepPending && j.Steps[i-1].State != StepDone {
					t.Fatalf("step %d ran before step %d was done: %+v", i, i-1, j.Steps)
				}
			}
			for i, s := range j.Steps {
				if (s.State == StepDone) != (len(s.Result.Dispositions) == 1) || (steps[i].State == StepDone && s.DoneAt != steps[i].DoneAt) {
					t.Fatalf("step %d's result recorded wrongly: %+v", i, s)
				}
			}
		}
		if finished > 1 || (finished == 1) != (j.State == JobDone) || (j.State == JobDone) != (len(j.Notify) == 1) {
			t.Fatalf("finished %d times, state %s", finished, j.State)
		}
	})
}

func stepsEqual(a, b Step) bool {
	return a.StepKind == b.StepKind && a.State == b.State && a.Attempts == b.Attempts &&
		a.NextAttemptAt.Equal(b.NextAttemptAt) && a.LeaseUntil.Equal(b.LeaseUntil) &&
		a.LastError == b.LastError && a.DoneAt.Equal(b.DoneAt) && len(a.Result.Dispositions) == len(b.Result.Dispositions)
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Hour, Jitter: 0.2}
	for _, tc := range []struct {
		attempt int
		u       float64
		want    time.Duration
	}{
		{1, 0, time.Second},
		{2, 0, 2 * time.Second},
		{3, 0.5, 4*time.Second - 400*time.Millisecond},
		{12, 0, 2048 * time.Second},
		{13, 0, time.Hour},
		{13, 1, 48 * time.Minute},
		{0, 0, time.Second},
		{-5, 0, time.Second},
		{math.MaxInt, 0, time.Hour},
		{1, -3, time.Second},
		{1, math.NaN(), time.Second},
		{1, 7, 800 * time.Millisecond},
	} {
		if got := b.Delay(tc.attempt, tc.u); got != tc.want {
			t.Errorf("Delay(%d, %v) = %s, want %s", tc.attempt, tc.u, got, tc.want)
		}
	}
	for _, tc := range []struct {
		b    Backoff
		want time.Duration
	}{
		{Backoff{Base: time.Second, Max: time.Hour, Jitter: -1}, time.Second},
		{Backoff{Base: time.Second, Max: time.Hour, Jitter: 5}, 500 * time.Millisecond},
		{Backoff{Base: time.Second, Max: time.Hour, Jitter: math.NaN()}, time.Second},
		{Backoff{Base: time.Second, Max: -time.Hour}, 0},
	} {
		if got := tc.b.Delay(1, 0.5); got != tc.want {
			t.Errorf("%+v: Delay = %s, want %s", tc.b, got, tc.want)
		}
	}
}

// FuzzBackoffDelay checks the jitter bounds: the delay lies in [d·(1−J), d] with
// d = min(Max, Base·2^(attempt−1)). Inputs outside a valid policy are folded into
// one (0 < Base ≤ Max, 0 ≤ J ≤ 1, attempt ≥ 1) rather than skipped, so every input
// tests something.
func FuzzBackoffDelay(f *testing.F) {
	f.Add(int64(time.Second), int64(time.Hour), 0.2, 3, 0.5)
	f.Add(int64(1), int64(1), 1.0, 1000, 0.999)
	f.Fuzz(func(t *testing.T, base, maxDelay int64, jitter float64, attempt int, u float64) {
		base = 1 + abs(base%int64(time.Hour))
		maxDelay = base + abs(maxDelay%int64(24*time.Hour))
		if jitter = math.Abs(jitter); jitter > 1 {
			jitter = math.Mod(jitter, 1)
		}
		if math.IsNaN(jitter) {
			jitter = 0
		}
		attempt = 1 + int(abs(int64(attempt%10000)))
		b := Backoff{Base: time.Duration(base), Max: time.Duration(maxDelay), Jitter: jitter}
		d := b.Max
		if attempt-1 < 62 {
			if f := float64(base) * math.Pow(2, float64(attempt-1)); f < float64(maxDelay) {
				d = time.Duration(f)
			}
		}
		got := b.Delay(attempt, u)
		low := time.Duration(float64(d)*(1-jitter)) - 1
		if got > d || got < low || got < 0 {
			t.Fatalf("Delay(%d, %v) = %s outside [%s, %s]", attempt, u, got, low, d)
		}
	})
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
