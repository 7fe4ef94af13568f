package app

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
)

// takeCodeMark reports whether the owner's identity code is marked to be checked, and
// clears its marks, as a run of the job finding the invoice open does.
func takeCodeMark(t *testing.T, repo domain.Repository, ownerID string) bool {
	t.Helper()
	due, err := repo.CodeChecksDue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(due, func(n domain.CodeNotice) bool { return n.OwnerID == ownerID })
	if i < 0 {
		return false
	}
	if err := repo.ClearCodeCheck(t.Context(), ownerID, due[i].Checks); err != nil {
		t.Fatal(err)
	}
	return true
}

// TestPaymentBeforeTheRestrictionEndsTheCodesNeed: the erasure reads the owner's visit
// with its invoice open and plans from it; billing then pays the invoice, before the
// erasure restricted the visit, and the payment stands. The erasure plans again from
// the paid invoice and answers that no unpaid invoice needs the identity code, instead
// of keeping it to the invoice's bookkeeping end six years away for an invoice that is
// paid, which no payment on a restricted visit would have marked to be checked.
func TestPaymentBeforeTheRestrictionEndsTheCodesNeed(t *testing.T) {
	open := domain.Invoice{Number: "2026-10", State: domain.InvoiceOpen}
	repo, plain, v := invoicedVisit(t, open)
	var payErr error
	racing, err := New(&afterVisitsRead{Repository: repo, during: func() {
		payErr = payInvoice(t, plain, repo, v.ID, open)
	}}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := racing.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
	if err != nil || payErr != nil {
		t.Fatalf("the erasure answered %v, the payment %v; want both OK", err, payErr)
	}
	if !res.IdentityCodeNeededUntil.IsZero() {
		t.Errorf("the erasure answered the identity code needed until %v for the invoice paid, want not needed", res.IdentityCodeNeededUntil)
	}
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Current.Restricted || len(rec.Current.Invoices) != 1 || rec.Current.Invoices[0].State != domain.InvoicePaid {
		t.Errorf("the visit holds %+v, want it restricted with the paid invoice", rec.Current)
	}
}

// TestErasureKeepingTheCodeMarksItOnce: an erasure that kept the identity code for an
// unpaid invoice marks it to be checked by the name retention job, and so does the
// retry of its request (the first call may have stopped before the mark); one that
// kept nothing for an invoice does not.
func TestErasureKeepingTheCodeMarksItOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state domain.InvoiceState
		want  bool
	}{
		{"unpaid invoice", domain.InvoiceOpen, true},
		{"paid invoice", domain.InvoicePaid, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, s, _ := invoicedVisit(t, domain.Invoice{Number: "2026-10", State: tc.state})
			for _, call := range []string{"the erasure", "its retry"} {
				if _, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
					t.Fatal(err)
				}
				if got := takeCodeMark(t, repo, raceOwner); got != tc.want {
					t.Errorf("after %s the code is marked %v, want %v", call, got, tc.want)
				}
			}
		})
	}
}

// keeper is the owner service as the name retention job calls it: it answers err, and
// counts the calls.
type keeper struct {
	calls int
	err   error
}

func (k *keeper) EndIdentityCodeRetention(context.Context, string) error {
	k.calls++
	return k.err
}

// TestVisitTheErasureMissedKeepsNoCode: the erasure kept the identity code for the
// invoice of the owner's visit; a visit recorded after its last read, whose recording
// stopped before its check refused it, holds another open invoice, and is removed by
// the sweep with it. Once billing paid the invoice on the restricted visit, the job
// tells the owner service that the code is needed no more: the missed visit's invoice
// keeps nothing.
func TestVisitTheErasureMissedKeepsNoCode(t *testing.T) {
	open := domain.Invoice{Number: "2026-10", State: domain.InvoiceOpen}
	repo, s, v := invoicedVisit(t, open)
	if _, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
		t.Fatal(err)
	}
	missed := &domain.Visit{OwnerID: raceOwner, PatientID: racePatient, Clinic: domain.ClinicKangasala, Reason: "check",
		StartTime: v.StartTime.AddDate(0, 0, 1), Invoices: []domain.Invoice{{Number: "2026-11", State: domain.InvoiceOpen}}}
	if _, err := repo.CreateVisit(t.Context(), missed, ""); err != nil {
		t.Fatal(err)
	}
	if err := payInvoice(t, s, repo, v.ID, open); err != nil {
		t.Fatal(err)
	}
	k := &keeper{}
	res, err := s.PushCodeRelease(t.Context(), k, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if k.calls != 1 || res.Told != 1 {
		t.Errorf("the owner service was called %d times, %d told; want told once that the code is needed no more", k.calls, res.Told)
	}
}

// TestFailedCodeChecksWaitLonger: the owner service refuses the job's call (a token
// of another role, say), every time. Each refusal is audited about the owner, so the
// owner is not asked at every run, every minute, but after five minutes, then ten, and
// so on; once the owner service answers that it has not erased the owner, the owner is
// asked again after the hour, and the code's end is told then.
func TestFailedCodeChecksWaitLonger(t *testing.T) {
	e := eraseInvoicedVisit(t, Options{})
	if err := payInvoice(t, e.s, e.repo, e.v.ID, e.open); err != nil {
		t.Fatal(err)
	}
	start := erasedOn.Add(time.Hour)
	k := &keeper{err: fmt.Errorf("end identity code retention: %w", apperr.ErrPermissionDenied)}
	for _, step := range []struct {
		after time.Duration
		calls int
	}{{0, 1}, {time.Minute, 1}, {5 * time.Minute, 2}, {14 * time.Minute, 2}, {15 * time.Minute, 3}, {34 * time.Minute, 3}, {35 * time.Minute, 4}} {
		e.clock = start.Add(step.after)
		if _, err := e.s.PushCodeRelease(t.Context(), k, time.Second); err != nil {
			t.Fatal(err)
		}
		if k.calls != step.calls {
			t.Fatalf("%v after the first refusal the owner service was called %d times, want %d", step.after, k.calls, step.calls)
		}
	}
	k.err = ErrOwnerNotErasedYet
	e.clock = start.Add(2 * time.Hour)
	if res, err := e.s.PushCodeRelease(t.Context(), k, time.Second); err != nil || len(res.Waiting) != 1 {
		t.Fatalf("the run answered %+v, %v; want the owner waiting", res, err)
	}
	k.err = nil
	for _, after := range []time.Duration{2*time.Hour + 5*time.Minute, 3 * time.Hour} {
		e.clock = start.Add(after)
		if _, err := e.s.PushCodeRelease(t.Context(), k, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if k.calls != 6 {
		t.Errorf("the owner service was called %d times, want once more after the hour of waiting, then told", k.calls)
	}
	if due, err := e.repo.CodeChecksDue(t.Context()); err != nil || len(due) != 0 {
		t.Errorf("marks left %+v (%v), want none once told", due, err)
	}
}

// TestNewMarkEndsTheWaitAfterFailures: after failed checks the owner waits, but a new
// mark (a payment, or the erasure applied again) is a new reason to ask: the next run
// asks at once, once the cause of the failures is mended.
func TestNewMarkEndsTheWaitAfterFailures(t *testing.T) {
	e := eraseInvoicedVisit(t, Options{})
	if err := payInvoice(t, e.s, e.repo, e.v.ID, e.open); err != nil {
		t.Fatal(err)
	}
	e.clock = erasedOn.Add(time.Hour)
	k := &keeper{err: fmt.Errorf("end identity code retention: %w", apperr.ErrPermissionDenied)}
	if _, err := e.s.PushCodeRelease(t.Context(), k, time.Second); err != nil || k.calls != 1 {
		t.Fatalf("the first run: %d calls, %v; want one refused call", k.calls, err)
	}
	k.err = nil
	if err := e.repo.MarkCodeCheck(t.Context(), e.v.OwnerID); err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(time.Minute)
	if _, err := e.s.PushCodeRelease(t.Context(), k, time.Second); err != nil || k.calls != 2 {
		t.Fatalf("the run after a new mark: %d calls, %v; want the owner service asked again at once", k.calls, err)
	}
}

// TestCodeRetryWait: the wait after a failed check doubles with each failure in a row,
// to a day.
func TestCodeRetryWait(t *testing.T) {
	for _, tc := range []struct {
		failures int64
		want     time.Duration
	}{{0, 5 * time.Minute}, {1, 10 * time.Minute}, {2, 20 * time.Minute}, {8, 1280 * time.Minute}, {9, 24 * time.Hour}, {1 << 40, 24 * time.Hour}} {
		if got := codeRetryWait(tc.failures); got != tc.want {
			t.Errorf("after %d failures: wait %v, want %v", tc.failures, got, tc.want)
		}
	}
}
