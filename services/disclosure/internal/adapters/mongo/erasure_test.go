package mongo

import (
	"errors"
	"testing"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// TestErasureJobStore checks the job store's contract the worker relies on: a job
// round-trips whole, a transition lands only on the version it was read at, and only
// jobs needing a worker now are found.
func TestErasureJobStore(t *testing.T) {
	s := embeddedtest.Start(t)
	c := embeddedtest.Client(t, s.URI())
	repo := New(c.Database("erasure_jobs"))
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	rc := domain.Receipt{OwnerID: "o1", ReceivedAt: now, Channel: domain.ChannelLetter, Identification: domain.IdentifiedStrongElectronic}

	j := domain.NewErasureJob("j1", rc, now)
	j.RecordedBy = "manager-1"
	if _, err := repo.CreateErasureJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	again := domain.NewErasureJob("j1", rc, now.Add(time.Hour))
	if got, err := repo.CreateErasureJob(t.Context(), again); err != nil || !got.CreatedAt.Equal(now) {
		t.Fatalf("a retried create answered %+v, %v; want the first job", got, err)
	}

	// A worker takes the first step and records its result with the history's dates.
	from := j.Version
	a, err := j.Start(now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.UpdateErasureJob(t.Context(), j, from); err != nil {
		t.Fatal(err)
	}
	stale := j
	from = j.Version
	result := domain.StepResult{
		Dispositions:    []domain.Disposition{{RecordClass: "patient_records", Kept: true, LegalBasis: "basis.veterinary_records", KeptUntil: "2029-03-01", Count: 2}},
		OwnerNamedUntil: "2029-03-01", IdentityCodeNeededUntil: "2032-12-31",
	}
	if _, err := j.Succeed(a, result, nil, now); err != nil {
		t.Fatal(err)
	}
	if err := repo.UpdateErasureJob(t.Context(), j, from); err != nil {
		t.Fatal(err)
	}
	// A second worker that read the job before that transition loses.
	if _, err := stale.Start(now.Add(2*time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := repo.UpdateErasureJob(t.Context(), stale, from); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("a stale transition: %v, want a conflict", err)
	}
	got, err := repo.ErasureJob(t.Context(), "j1")
	if err != nil {
		t.Fatal(err)
	}
	r := got.Steps[0].Result
	if got.Version != j.Version || got.RecordedBy != "manager-1" || got.OwnerID != "o1" || got.Steps[0].State != domain.StepDone ||
		r.OwnerNamedUntil != result.OwnerNamedUntil || r.IdentityCodeNeededUntil != result.IdentityCodeNeededUntil ||
		len(r.Dispositions) != 1 || r.Dispositions[0] != result.Dispositions[0] {
		t.Fatalf("stored %+v", got)
	}

	due := func(at time.Time) int {
		t.Helper()
		jobs, err := repo.DueErasureJobs(t.Context(), at, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs)
	}
	if n := due(now); n != 1 {
		t.Errorf("%d jobs due with the next step due now, want 1", n)
	}
	from = got.Version
	if _, err := got.Start(now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := repo.UpdateErasureJob(t.Context(), got, from); err != nil {
		t.Fatal(err)
	}
	if n := due(now.Add(30 * time.Second)); n != 0 {
		t.Errorf("%d jobs due under a live lease, want 0", n)
	}
	if n := due(now.Add(time.Minute)); n != 1 {
		t.Errorf("%d jobs due once the lease ran out, want 1", n)
	}
	page, err := repo.OwnerErasureJobs(t.Context(), "o1", 0, "")
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != "j1" {
		t.Errorf("the owner's jobs: %+v, %v", page, err)
	}

	// A done job whose finish is not audited yet needs a worker until it is.
	done := domain.NewErasureJob("j2", rc, now)
	done.State, done.FinishedAt, done.FinishEventPending = domain.JobDone, now.Add(-time.Hour), true
	if _, err := repo.CreateErasureJob(t.Context(), done); err != nil {
		t.Fatal(err)
	}
	if got, err := repo.ErasureJob(t.Context(), "j2"); err != nil || !got.FinishEventPending {
		t.Fatalf("stored %+v, %v; want its finish event pending", got, err)
	}
	if n := due(now); n != 1 {
		t.Errorf("%d jobs due with a finish to audit (and a step under a lease), want 1", n)
	}
	from = done.Version
	done.FinishAudited()
	if err := repo.UpdateErasureJob(t.Context(), done, from); err != nil {
		t.Fatal(err)
	}
	if n := due(now); n != 0 {
		t.Errorf("%d jobs due once the finish is audited, want 0", n)
	}
}
