package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	historymongo "github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/audit/audittest"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/retention"
)

// afterAmend runs during once, right after an amendment's write succeeded (before the
// amendment looks for the erasure), as a slow process would.
type afterAmend struct {
	domain.Repository
	during func()
}

func (r *afterAmend) AmendVisit(ctx context.Context, id string, expected int64, a domain.Amendment, original, current *domain.Visit) error {
	if err := r.Repository.AmendVisit(ctx, id, expected, a, original, current); err != nil {
		return err
	}
	if f := r.during; f != nil {
		r.during = nil
		f()
	}
	return nil
}

// serviceAt returns a service on a store of its own whose clock stands at now.
func serviceAt(t testing.TB, now time.Time) (*historymongo.Repository, *Service) {
	t.Helper()
	repo := raceRepo(t)
	s, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return repo, s
}

// invoicedVisit returns a service on a store of its own at 2026-11-25 noon with a
// visit recorded a month before holding the invoice.
func invoicedVisit(t *testing.T, invoice domain.Invoice) (*historymongo.Repository, *Service, *domain.Visit) {
	t.Helper()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	repo, s := serviceAt(t, now)
	v, err := s.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: now.AddDate(0, -1, 0), Invoices: []domain.Invoice{invoice}}})
	if err != nil {
		t.Fatal(err)
	}
	return repo, s, v
}

// payInvoice has billing record, under the request id pay-1, the payment of the open
// invoice the visit holds, at the version stored now.
func payInvoice(t *testing.T, s *Service, repo domain.Repository, id string, open domain.Invoice) error {
	t.Helper()
	rec, err := repo.GetVisit(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	paid := open
	paid.State = domain.InvoicePaid
	_, _, err = s.AmendVisit(as(t, auth.RoleBilling), AmendVisit{ID: id, RequestID: "pay-1", Paths: []string{"invoices"},
		Version: rec.Current.Version, Reason: "paid", Visit: domain.Visit{Invoices: []domain.Invoice{paid}}})
	return err
}

// TestPaymentRecordedAfterErasureStands: a veterinarian's correction is written, then
// (before its check) the owner's erasure runs to the end and billing records the
// payment of the visit's open invoice on the restricted visit, answered OK. The
// correction, which the erasure planned from, stands, and so does the payment.
func TestPaymentRecordedAfterErasureStands(t *testing.T) {
	open := domain.Invoice{Number: "2026-10", State: domain.InvoiceOpen}
	repo, plain, v := invoicedVisit(t, open)
	var payErr error
	late, err := New(&afterAmend{Repository: repo, during: func() {
		if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
			t.Fatal(err)
		}
		payErr = payInvoice(t, plain, repo, v.ID, open)
	}}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	_, _, vetErr := late.AmendVisit(as(t, auth.RoleVeterinarian), AmendVisit{ID: v.ID, Paths: []string{"findings"}, Version: 1,
		Reason: "seen again", Visit: domain.Visit{Findings: "Fracture."}})
	if vetErr != nil || payErr != nil {
		t.Fatalf("the correction answered %v, the payment on the restricted visit %v; want both OK", vetErr, payErr)
	}
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Current.Invoices) != 1 || rec.Current.Invoices[0].State != domain.InvoicePaid || rec.Current.Findings != "Fracture." || len(rec.Amendments) != 2 {
		t.Errorf("both were answered OK, but the visit now holds %+v with amendments %+v", rec.Current, rec.Amendments)
	}
}

// TestInvoiceTheErasurePlannedForStands: billing's invoice is written, then (before
// its check) the owner's erasure reads the visit with the invoice, plans it kept six
// years and answers the identity code needed for the open invoice. The amendment then
// finds the erasure holding the visit and stands, so the visit is as planned.
func TestInvoiceTheErasurePlannedForStands(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	repo, plain, v, in := billingRace(t, now)
	var res domain.ErasureResult
	late, err := New(&afterAmend{Repository: repo, during: func() {
		var err error
		if res, err = plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
			t.Fatal(err)
		}
	}}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := late.AmendVisit(as(t, auth.RoleBilling), in); err != nil {
		t.Errorf("the amendment answered %v, want OK", err)
	}
	checkRestrictedWithInvoice(t, repo, v, 1, res)
}

// TestPaymentDigestAfterErasurePassesItsHorizon: an erased owner's visit whose
// digests were already past the horizon at the erasure (nothing scheduled for them);
// billing then records the payment under a request id, which stores a digest. The
// payment keeps the erasure scheduled for it, and the sweep removes it after its
// horizon; so does its retry when the payment's call failed after its write, as it
// kept the erasure scheduled (a store hiccup).
func TestPaymentDigestAfterErasurePassesItsHorizon(t *testing.T) {
	for _, retried := range []bool{false, true} {
		t.Run(fmt.Sprintf("retried %v", retried), func(t *testing.T) {
			e := eraseInvoicedVisit(t, Options{})
			s, repo, v, open := e.s, e.repo, e.v, e.open
			hiccup, err := New(failsRaiseDigests{repo}, &slowRegistry{}, nopAuditor{}, s.opts)
			if err != nil {
				t.Fatal(err)
			}
			e.clock = erasedOn.AddDate(0, 0, 1)
			if retried {
				if err := payInvoice(t, hiccup, repo, v.ID, open); err == nil {
					t.Fatal("the payment did not fail")
				}
			}
			if err := payInvoice(t, s, repo, v.ID, open); err != nil {
				t.Fatal(err)
			}
			if rec, err := repo.GetVisit(t.Context(), v.ID); err != nil || len(rec.Amendments) != 1 || rec.Amendments[0].Digest == "" {
				t.Fatalf("the payment is stored as %+v (%v), want it with its digest", rec, err)
			}
			for d := 2; d <= 9; d++ {
				e.clock = erasedOn.AddDate(0, 0, d)
				if _, err := s.RunRetentionSweep(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			rec, err := repo.GetVisit(t.Context(), v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Amendments) != 1 || rec.Amendments[0].Digest != "" || rec.Amendments[0].RequestID != "" {
				t.Errorf("amendments %+v, want the payment without its request digest and id 8 days after its request", rec.Amendments)
			}
		})
	}
}

// failsRaiseDigests fails every RaiseDigestsUntil (a store hiccup) after nothing is
// written.
type failsRaiseDigests struct{ domain.Repository }

func (failsRaiseDigests) RaiseDigestsUntil(context.Context, string, retention.Date) (*domain.Erasure, error) {
	return nil, errCrash
}

// contendedErasure refuses every SaveErasure as written concurrently by another
// writer, after nothing is written.
type contendedErasure struct{ domain.Repository }

func (contendedErasure) SaveErasure(_ context.Context, e *domain.Erasure) error {
	return fmt.Errorf("erasure of owner %s changed concurrently: %w", e.OwnerID, apperr.ErrConflict)
}

// TestPaymentStandsWhenTheErasureRecordKeepsChanging: billing pays the invoice of an
// erased owner's restricted visit under a request id, while every write of the whole
// erasure record at its version conflicts (the erasure's passes and the sweep keep
// changing it). The payment is stored, so it is answered OK with the paid invoice and
// the new version, never as a stale version of the caller's; and the erasure record is
// still kept to the payment's digest, which the sweeps remove after its seven days
// instead of keeping it to the visit's retention day, years away.
func TestPaymentStandsWhenTheErasureRecordKeepsChanging(t *testing.T) {
	e := eraseInvoicedVisit(t, Options{})
	repo, v := e.repo, e.v
	contended, err := New(contendedErasure{repo}, &slowRegistry{}, nopAuditor{}, e.s.opts)
	if err != nil {
		t.Fatal(err)
	}
	before, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.clock = erasedOn.AddDate(0, 0, 1)
	if err := payInvoice(t, contended, repo, v.ID, e.open); err != nil {
		t.Errorf("the stored payment is answered %v, want OK", err)
	}
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Current.Version != before.Current.Version+1 || len(rec.Current.Invoices) != 1 || rec.Current.Invoices[0].State != domain.InvoicePaid {
		t.Fatalf("the visit holds %+v at version %d, want the paid invoice at version %d", rec.Current.Invoices, rec.Current.Version, before.Current.Version+1)
	}
	e.sweep(t, 2, 60)
	e.checkDigestDropped(t)
}

// failsSchedule fails every ScheduleErasure with a store error, after nothing is written.
type failsSchedule struct{ domain.Repository }

func (failsSchedule) ScheduleErasure(context.Context, *domain.Erasure) error { return errCrash }

// TestPaymentRetryKeepsTheDigestScheduled: the sweeps have left the erasure record
// scheduled for the visit's retention, years away, when billing pays the invoice under
// a request id; the payment's call raises the record's digests day, then fails to
// schedule it (a store error), and its retry is answered OK. The retry schedules the
// record although its day already reaches the payment's digest, so the sweep removes
// the digest after its seven days.
func TestPaymentRetryKeepsTheDigestScheduled(t *testing.T) {
	e := eraseInvoicedVisit(t, Options{})
	unscheduled, err := New(failsSchedule{e.repo}, &slowRegistry{}, nopAuditor{}, e.s.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.sweep(t, 1, 20)
	e.clock = erasedOn.AddDate(0, 0, 21)
	if err := payInvoice(t, unscheduled, e.repo, e.v.ID, e.open); !errors.Is(err, errCrash) {
		t.Fatalf("the payment whose schedule failed answered %v, want the store error", err)
	}
	if err := payInvoice(t, e.s, e.repo, e.v.ID, e.open); err != nil {
		t.Fatalf("the retry of the stored payment answered %v, want OK", err)
	}
	e.sweep(t, 22, 80)
	e.checkDigestDropped(t)
}

// afterVisitsRead runs during once, right after a read of the owner's visits.
type afterVisitsRead struct {
	domain.Repository
	during func()
}

func (r *afterVisitsRead) OwnerVisits(ctx context.Context, ownerID string) ([]*domain.Visit, error) {
	visits, err := r.Repository.OwnerVisits(ctx, ownerID)
	if f := r.during; f != nil {
		r.during = nil
		f()
	}
	return visits, err
}

// TestSweepHoldingTheRecordLeavesThePaymentsDigestDay: the day after the erasure's
// check for missed visits, the sweep reads the erasure record and the owner's visits;
// billing's payment of the invoice then raises the record's digests day, and the sweep
// goes on to store the whole record as it read it. The sweep's write conflicts (it
// fails, and the next one sweeps again) instead of putting back the record without the
// payment's day, so the payment's digest is removed after its seven days.
func TestSweepHoldingTheRecordLeavesThePaymentsDigestDay(t *testing.T) {
	e := eraseInvoicedVisit(t, Options{})
	var payErr error
	racing, err := New(&afterVisitsRead{Repository: e.repo, during: func() {
		payErr = payInvoice(t, e.s, e.repo, e.v.ID, e.open)
	}}, &slowRegistry{}, nopAuditor{}, e.s.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.clock = erasedOn.AddDate(0, 0, 2)
	if _, err := racing.RunRetentionSweep(t.Context()); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("the sweep holding the record read before the payment answered %v, want a conflict", err)
	}
	if payErr != nil {
		t.Fatalf("the payment answered %v, want OK", payErr)
	}
	e.sweep(t, 3, 60)
	e.checkDigestDropped(t)
}

// TestPaymentDuringTheDigestsSweepKeepsItsRequestID: the visit was recorded the day
// before the erasure, which restricted it and kept its request digests for their
// seven days. Eight days after the erasure the sweep reads the owner's visits to drop
// them; billing then records the payment of the invoice under a request id, stored as
// the visit's first amendment. The sweep leaves the payment's request id and digest
// within their own seven days, so the payment's retry is answered with it; the sweeps
// after their horizon remove them.
func TestPaymentDuringTheDigestsSweepKeepsItsRequestID(t *testing.T) {
	e, payment, version, sweepErr := payDuringDigestsSweep(t, "pay-1")
	if sweepErr != nil && !errors.Is(sweepErr, apperr.ErrConflict) {
		t.Fatalf("the sweep answered %v", sweepErr)
	}
	retried, _, err := e.s.AmendVisit(as(t, auth.RoleBilling), payment)
	if err != nil {
		t.Fatalf("the payment's retry answered %v, want the payment", err)
	}
	if retried.Version != version+1 || len(retried.Invoices) != 1 || retried.Invoices[0].State != domain.InvoicePaid {
		t.Errorf("the payment's retry answered %+v at version %d, want the paid invoice at version %d",
			retried.Invoices, retried.Version, version+1)
	}
	e.sweep(t, 9, 20)
	e.checkDigestDropped(t)
}

// TestPaymentWithoutRequestIDDuringTheDigestsSweep: as in
// TestPaymentDuringTheDigestsSweepKeepsItsRequestID, billing pays the invoice while the
// sweep eight days after the erasure drops the visit's request digests, but sends no
// request id, so the payment stores no digest and schedules nothing. The sweep's drop,
// at the version it read, leaves the paid visit as it is; the sweeps after it still
// remove the visit's request digest, instead of leaving it to the visit's next
// retention day years away.
func TestPaymentWithoutRequestIDDuringTheDigestsSweep(t *testing.T) {
	e, _, _, sweepErr := payDuringDigestsSweep(t, "")
	if sweepErr != nil {
		t.Fatalf("the sweep answered %v", sweepErr)
	}
	e.sweep(t, 9, 60)
	e.checkDigestDropped(t)
}

// payDuringDigestsSweep erases the owner of a visit recorded the day before the
// erasure, which restricted it and kept its request digests for their seven days, and
// has billing pay the visit's invoice under requestID ("": none) while the sweep eight
// days after the erasure, having read the owner's visits, drops them. It returns the
// payment, the visit's version before it and the sweep's answer; the payment must have
// been answered OK.
func payDuringDigestsSweep(t *testing.T, requestID string) (*erasedVisit, AmendVisit, int64, error) {
	t.Helper()
	e := eraseInvoicedVisitFrom(t, Options{}, erasedOn.AddDate(0, 0, -1))
	before, err := e.repo.GetVisit(t.Context(), e.v.ID)
	if err != nil {
		t.Fatal(err)
	}
	paid := e.open
	paid.State = domain.InvoicePaid
	payment := AmendVisit{ID: e.v.ID, RequestID: requestID, Paths: []string{"invoices"}, Version: before.Current.Version,
		Reason: "paid", Visit: domain.Visit{Invoices: []domain.Invoice{paid}}}
	var payErr error
	racing, err := New(&afterVisitsRead{Repository: e.repo, during: func() {
		_, _, payErr = e.s.AmendVisit(as(t, auth.RoleBilling), payment)
	}}, &slowRegistry{}, nopAuditor{}, e.s.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.clock = erasedOn.AddDate(0, 0, 8)
	_, sweepErr := racing.RunRetentionSweep(t.Context())
	if payErr != nil {
		t.Fatalf("the payment answered %v, want OK", payErr)
	}
	return e, payment, before.Current.Version, sweepErr
}

// sweep runs the retention sweep once a day, at noon, from day from to day to after
// erasedOn.
func (e *erasedVisit) sweep(t *testing.T, from, to int) {
	t.Helper()
	for d := from; d <= to; d++ {
		e.clock = erasedOn.AddDate(0, 0, d)
		if _, err := e.s.RunRetentionSweep(t.Context()); err != nil {
			t.Fatalf("the sweep on day %d: %v", d, err)
		}
	}
}

// checkDigestDropped checks that the visit holds no request digest of its own, and the
// payment without its request digest and request id.
func (e *erasedVisit) checkDigestDropped(t *testing.T) {
	t.Helper()
	rec, err := e.repo.GetVisit(t.Context(), e.v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Digest != "" {
		t.Errorf("the visit still holds its request digest %q past its horizon", rec.Digest)
	}
	if len(rec.Amendments) != 1 {
		t.Fatalf("%d amendments, want the payment", len(rec.Amendments))
	}
	if got := rec.Amendments[0].Digest; got != "" {
		t.Errorf("the payment still holds its request digest %q past its horizon", got)
	}
	if got := rec.Amendments[0].RequestID; got != "" {
		t.Errorf("the payment still holds its request id %q past its horizon", got)
	}
}

// erasedOn is when eraseInvoicedVisit erases the owner.
var erasedOn = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// erasedVisit is eraseInvoicedVisit's store, service and visit; clock is the
// service's, which the test moves.
type erasedVisit struct {
	repo  *historymongo.Repository
	s     *Service
	clock time.Time
	v     *domain.Visit
	open  domain.Invoice
}

// eraseInvoicedVisit records, under a request id, a visit holding an open invoice two
// months before erasedOn, when it erases the owner: the visit's digests are past their
// horizon then, so the erasure schedules nothing for them. The service takes opts with
// its own clock, time zone (UTC) and request key.
func eraseInvoicedVisit(t *testing.T, opts Options) *erasedVisit {
	t.Helper()
	return eraseInvoicedVisitFrom(t, opts, erasedOn.AddDate(0, -2, 0))
}

// eraseInvoicedVisitFrom is eraseInvoicedVisit with the visit recorded at recorded.
func eraseInvoicedVisitFrom(t *testing.T, opts Options, recorded time.Time) *erasedVisit {
	t.Helper()
	e := &erasedVisit{repo: raceRepo(t), clock: recorded, open: domain.Invoice{Number: "2026-10", State: domain.InvoiceOpen}}
	opts.Now, opts.Location, opts.RequestKey = func() time.Time { return e.clock }, time.UTC, bytes.Repeat([]byte{7}, MinRequestKey)
	var err error
	if e.s, err = New(e.repo, &slowRegistry{}, nopAuditor{}, opts); err != nil {
		t.Fatal(err)
	}
	e.v, err = e.s.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, RequestID: "visit-1", Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: e.clock, Invoices: []domain.Invoice{e.open}}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock = erasedOn
	if _, err := e.s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
		t.Fatal(err)
	}
	return e
}

// crashAroundCreate runs before once just before a visit's write, then writes it and
// stops (as a process dying would) before the visit looks for the erasure.
type crashAroundCreate struct {
	domain.Repository
	before func()
}

func (r *crashAroundCreate) CreateVisit(ctx context.Context, v *domain.Visit, digest string) (*domain.Visit, error) {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	if _, err := r.Repository.CreateVisit(ctx, v, digest); err != nil {
		return nil, err
	}
	return nil, errCrash
}

// pausesAfterLastRead pauses the erasure right after the read that confirms its
// passes (the first read of the visits once it stored itself closing): it closes
// readDone, then waits for goOn.
type pausesAfterLastRead struct {
	domain.Repository
	closing        bool
	readDone, goOn chan struct{}
}

func (r *pausesAfterLastRead) SaveErasure(ctx context.Context, e *domain.Erasure) error {
	err := r.Repository.SaveErasure(ctx, e)
	r.closing = r.closing || (err == nil && e.Closing)
	return err
}

func (r *pausesAfterLastRead) OwnerVisits(ctx context.Context, ownerID string) ([]*domain.Visit, error) {
	visits, err := r.Repository.OwnerVisits(ctx, ownerID)
	if r.closing && r.readDone != nil {
		close(r.readDone)
		r.readDone = nil
		<-r.goOn
	}
	return visits, err
}

// stopsWhenClosing stops (as a process dying would) right after the erasure stored
// itself closing.
type stopsWhenClosing struct{ domain.Repository }

func (r stopsWhenClosing) SaveErasure(ctx context.Context, e *domain.Erasure) error {
	if err := r.Repository.SaveErasure(ctx, e); err != nil || !e.Closing || e.Applied {
		return err
	}
	return errCrash
}

// recordStopping records, under the request id form-1, a visit that passes its check
// before eraser begins the owner's erasure (erase-1), run by erase just before the
// visit's write; the recording stops after its write, before it looks for the
// erasure. It returns a service on the store and the visit's request.
func recordStopping(t *testing.T, repo domain.Repository, erase func()) (*Service, RecordVisit) {
	t.Helper()
	reg := &slowRegistry{}
	plain, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopping, err := New(&crashAroundCreate{Repository: repo, before: erase}, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := RecordVisit{PatientID: racePatient, RequestID: "form-1", Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-time.Hour).Truncate(time.Millisecond)}}
	if _, err := stopping.RecordVisit(as(t, auth.RoleVeterinarian), in); !errors.Is(err, errCrash) {
		t.Fatalf("the stopping visit: %v", err)
	}
	return plain, in
}

// visitRecordedAfterErasure records a visit that passed its check before the owner's
// erasure began and was written once the erasure was applied (after its last read of
// the visits, and after its removal of the visits it missed), its call stopping before
// it looks for the erasure. It returns the store, a service on it and the visit's
// request.
func visitRecordedAfterErasure(t *testing.T) (*historymongo.Repository, *Service, RecordVisit) {
	t.Helper()
	repo := raceRepo(t)
	eraser, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain, in := recordStopping(t, repo, func() {
		if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
			t.Fatalf("erasure: %v", err)
		}
	})
	return repo, plain, in
}

// TestRecordVisitRetryAfterStopIsSettled: a visit passes its check, the owner's
// erasure is applied (without it), the visit is written and its call stops before it
// looks for the erasure. The retry (same
// request id) settles it as the first call would have: removed and refused, not left
// unrestricted on the erased owner.
func TestRecordVisitRetryAfterStopIsSettled(t *testing.T) {
	repo, plain, in := visitRecordedAfterErasure(t)
	if _, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), in); !errors.Is(err, errOwnerErased) {
		t.Errorf("the retry answered %v, want OWNER_ERASED", err)
	}
	if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
		t.Fatal(err)
	}
	visits, err := repo.OwnerVisits(t.Context(), raceOwner)
	if err != nil {
		t.Fatal(err)
	}
	if len(visits) != 0 {
		t.Errorf("the erased owner has visits %+v", visits)
	}
}

// TestRecordVisitRetryWhileErasureCloses: a visit passes its check and is written
// after the owner's erasure stored itself closing, which stopped there; the visit's
// call stops before it looks for the erasure. Its retry cannot tell whether the first
// call was answered OK before the erasure began closing, so it is told to retry (not
// refused, which would remove it); the erasure's retry then finds the visit and
// restricts it, and the visit's retry is answered as any restricted visit's is.
func TestRecordVisitRetryWhileErasureCloses(t *testing.T) {
	repo := raceRepo(t)
	eraser, err := New(stopsWhenClosing{repo}, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain, in := recordStopping(t, repo, func() {
		if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); !errors.Is(err, errCrash) {
			t.Fatalf("the stopping erasure: %v", err)
		}
	})
	if _, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), in); !errors.Is(err, apperr.ErrUnavailable) {
		t.Errorf("the retry while the erasure closes answered %v, want UNAVAILABLE", err)
	}
	if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), in); !errors.Is(err, errRestricted) {
		t.Errorf("the retry after the erasure answered %v, want VISIT_RESTRICTED", err)
	}
	if visits, err := repo.OwnerVisits(t.Context(), raceOwner); err != nil || len(visits) != 1 || !visits[0].Restricted {
		t.Errorf("the erased owner's visits: %+v (%v), want the visit restricted", visits, err)
	}
}

// TestWritesToAVisitTheErasureMissedAreRefused: a visit is recorded after the owner's
// erasure was applied (its call stopped before its own check);
// a correction of it and one built on that are each refused, each withdrawing only
// itself, and the visit's retry then removes it. Nothing of it is left on the erased
// owner, and the erasure answers as planned.
func TestWritesToAVisitTheErasureMissedAreRefused(t *testing.T) {
	repo, plain, in := visitRecordedAfterErasure(t)
	visits, err := repo.OwnerVisits(t.Context(), raceOwner)
	if err != nil || len(visits) != 1 {
		t.Fatalf("visits %+v (%v)", visits, err)
	}
	id := visits[0].ID
	// The first correction stops after its write; the second, built on it, settles.
	first := AmendVisit{ID: id, RequestID: "fix-1", Paths: []string{"findings"}, Version: 1, Reason: "seen again", Visit: domain.Visit{Findings: "Fracture."}}
	stoppingFix, err := New(stopsAfterAmending{repo}, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := stoppingFix.AmendVisit(as(t, auth.RoleVeterinarian), first); !errors.Is(err, errCrash) {
		t.Fatalf("the stopping correction: %v", err)
	}
	second := AmendVisit{ID: id, Paths: []string{"follow_up"}, Version: 2, Reason: "plan", Visit: domain.Visit{FollowUp: "In a week."}}
	if _, _, err := plain.AmendVisit(as(t, auth.RoleVeterinarian), second); !errors.Is(err, errOwnerErased) {
		t.Errorf("the correction built on the first answered %v, want OWNER_ERASED", err)
	}
	if rec, err := repo.GetVisit(t.Context(), id); err != nil || len(rec.Amendments) != 1 || rec.Current.Findings != "Fracture." {
		t.Errorf("after the second correction settled: %+v (%v); want only the first correction left", rec, err)
	}
	for _, step := range []struct {
		name string
		call func() error
	}{
		{"the first correction's retry", func() error { _, _, err := plain.AmendVisit(as(t, auth.RoleVeterinarian), first); return err }},
		{"the visit's retry", func() error { _, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), in); return err }},
	} {
		if err := step.call(); !errors.Is(err, errOwnerErased) {
			t.Errorf("%s answered %v, want OWNER_ERASED", step.name, err)
		}
	}
	if _, err := repo.GetVisit(t.Context(), id); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("the visit is still stored: %v", err)
	}
	res, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
	if err != nil || res.OwnerNamedUntil != (domain.ErasureResult{}).OwnerNamedUntil {
		t.Errorf("the erasure answered %+v, %v; want nothing kept", res, err)
	}
}

// eraserHooks pauses the erasure right after its plan's read (readDone, then waits for
// goOn) and runs afterPlan once right after it stored its plan.
type eraserHooks struct {
	domain.Repository
	readDone, goOn chan struct{}
	afterPlan      func()
}

func (r *eraserHooks) OwnerVisits(ctx context.Context, ownerID string) ([]*domain.Visit, error) {
	visits, err := r.Repository.OwnerVisits(ctx, ownerID)
	if r.readDone != nil {
		close(r.readDone)
		r.readDone = nil
		<-r.goOn
	}
	return visits, err
}

func (r *eraserHooks) SaveErasure(ctx context.Context, e *domain.Erasure) error {
	err := r.Repository.SaveErasure(ctx, e)
	if f := r.afterPlan; f != nil && len(e.Requests) > 0 && !e.Applied {
		r.afterPlan = nil
		f()
	}
	return err
}

// onCreate runs before once just before a visit's write, and after once right after
// it (before the recording looks for the erasure).
type onCreate struct {
	domain.Repository
	before, after func()
}

func (r *onCreate) CreateVisit(ctx context.Context, v *domain.Visit, digest string) (*domain.Visit, error) {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	out, err := r.Repository.CreateVisit(ctx, v, digest)
	if f := r.after; f != nil && err == nil {
		r.after = nil
		f()
	}
	return out, err
}

// TestRecordVisitAnsweredOKIsNotRemovedByItsRetry: a visit passes its check,
// the owner's erasure stores its empty record and reads the visits (without it), the
// visit is written and, the erasure not planned yet, answered OK. The erasure stores its
// plan; the client's retry of the recording (its answer was lost) then comes in. The
// visit answered OK must stay (the erasure's pass plans it).
func TestRecordVisitAnsweredOKIsNotRemovedByItsRetry(t *testing.T) {
	repo := raceRepo(t)
	plain, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := RecordVisit{PatientID: racePatient, RequestID: "form-1", Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-time.Hour).Truncate(time.Millisecond)}}
	var retryErr error
	hooks := &eraserHooks{Repository: repo, readDone: make(chan struct{}), goOn: make(chan struct{}), afterPlan: func() {
		_, retryErr = plain.RecordVisit(as(t, auth.RoleVeterinarian), in)
	}}
	eraser, err := New(hooks, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	readDone := hooks.readDone
	eraseDone := make(chan error, 1)
	recorder, err := New(&onCreate{Repository: repo, before: func() {
		go func() {
			_, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
			eraseDone <- err
		}()
		<-readDone
	}}, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := recorder.RecordVisit(as(t, auth.RoleVeterinarian), in)
	close(hooks.goOn)
	if err != nil {
		t.Skipf("the recording answered %v: not answered OK", err)
	}
	if err := <-eraseDone; err != nil {
		t.Fatalf("erasure: %v", err)
	}
	if _, err := repo.GetVisit(t.Context(), v.ID); err != nil {
		t.Errorf("the visit was answered OK, then removed when its retry came in (retry answered %v): GetVisit %v", retryErr, err)
	}
}

// beforeDelete runs during once, just before the erasure deletes a visit it found with
// nothing left to keep (after applyRetention's read of it).
type beforeDelete struct {
	domain.Repository
	during func()
}

func (r *beforeDelete) DeleteVisit(ctx context.Context, ownerID, id string, version int64) (bool, error) {
	if f := r.during; f != nil {
		r.during = nil
		f()
	}
	return r.Repository.DeleteVisit(ctx, ownerID, id, version)
}

// TestInvoiceAddedToAGoneVisitIsNotDeleted: a visit four and a half years old
// (nothing of it kept: patient records three years) is planned gone; billing adds an
// open invoice (bookkeeping: six years from the end of 2022) after the erasure's pass
// read it and before it deletes it. The amendment is answered OK, so the visit must
// stay, restricted with the invoice, and the answer needs the identity code for it.
func TestInvoiceAddedToAGoneVisitIsNotDeleted(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	repo, plain := serviceAt(t, now)
	v, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Date(2022, 6, 1, 10, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	var amendErr error
	eraser, err := New(&beforeDelete{Repository: repo, during: func() {
		_, _, amendErr = plain.AmendVisit(as(t, auth.RoleBilling), AmendVisit{ID: v.ID, RequestID: "bill-1", Paths: []string{"invoices"},
			Version: 1, Reason: "invoiced late", Visit: domain.Visit{Invoices: []domain.Invoice{{Number: "2022-77", State: domain.InvoiceOpen}}}})
	}}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
	if err != nil {
		t.Fatal(err)
	}
	if amendErr != nil {
		t.Skipf("the amendment answered %v (not answered OK: nothing lost)", amendErr)
	}
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil {
		t.Errorf("billing's invoice was answered OK, then the visit holding it was deleted by the erasure: GetVisit %v; erasure answered identity code needed until %v", err, res.IdentityCodeNeededUntil)
		return
	}
	if len(rec.Current.Invoices) != 1 || res.IdentityCodeNeededUntil.IsZero() {
		t.Errorf("visit %+v, answer %+v", rec.Current, res)
	}
}

// TestSecondRequestAnswersWhatTheVisitsHold: the erasure job's request erase-1
// stores its plan and stops; a second request erase-2 for the same owner decides and
// stops too; billing then adds an open invoice (answered OK: the plan holds the
// visit). erase-1's retry plans the visit again and restricts it with the invoice;
// erase-2's retry must not answer that no identity code is needed.
func TestSecondRequestAnswersWhatTheVisitsHold(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	repo, plain, v, in := billingRace(t, now)
	stopping, err := New(stopsAfterPlanning{repo}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"erase-1", "erase-2"} {
		if _, err := stopping.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, id); err == nil {
			t.Fatalf("%s did not stop", id)
		}
	}
	if _, _, err := plain.AmendVisit(as(t, auth.RoleBilling), in); err != nil {
		t.Fatalf("billing's invoice: %v", err)
	}
	res1, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
	if err != nil {
		t.Fatal(err)
	}
	res2, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-2")
	if err != nil {
		t.Fatal(err)
	}
	checkRestrictedWithInvoice(t, repo, v, 1, res1)
	if res2.IdentityCodeNeededUntil != res1.IdentityCodeNeededUntil {
		t.Errorf("erase-2 answered the identity code needed until %v, erase-1 %v; the restricted visit holds an open invoice kept until %v",
			res2.IdentityCodeNeededUntil, res1.IdentityCodeNeededUntil, res1.IdentityCodeNeededUntil)
	}
}

// TestSecondInvoiceCountedInTheAnswer: a visit holds an open invoice; billing
// adds a second one after the erasure's plan read it. The erasure restricts the visit
// with both kept for bookkeeping; its answer must count two invoices kept.
func TestSecondInvoiceCountedInTheAnswer(t *testing.T) {
	first := domain.Invoice{Number: "2026-76", State: domain.InvoiceOpen}
	repo, plain, v := invoicedVisit(t, first)
	var amendErr error
	eraser, err := New(&erasureRace{Repository: repo, at: "planRead", during: func() {
		_, _, amendErr = plain.AmendVisit(as(t, auth.RoleBilling), AmendVisit{ID: v.ID, Paths: []string{"invoices"}, Version: 1, Reason: "invoiced",
			Visit: domain.Visit{Invoices: []domain.Invoice{first, {Number: "2026-77", State: domain.InvoiceOpen}}}})
	}}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
	if err != nil || amendErr != nil {
		t.Fatalf("erasure %v, amendment %v", err, amendErr)
	}
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil || len(rec.Current.Invoices) != 2 {
		t.Fatalf("visit %+v (%v)", rec, err)
	}
	for _, d := range res.Dispositions {
		if d.Class == domain.ClassInvoices && d.Kept && d.Count != 2 {
			t.Errorf("the erasure answered %d invoices kept; the restricted visit holds 2 (%+v)", d.Count, res.Dispositions)
		}
	}
}

// TestErasedOwnerRefusalsAreAudited: a write refused OWNER_ERASED (before its write,
// or after it as the erasure missed it) is audited as denied, about the owner, so that
// the owner's access report shows the attempt.
func TestErasedOwnerRefusalsAreAudited(t *testing.T) {
	visit := RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-time.Hour)}}
	erased := func(t *testing.T) domain.Repository {
		repo, s := serviceAt(t, time.Now())
		if _, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
			t.Fatal(err)
		}
		return repo
	}
	for _, tc := range []struct {
		name   string
		action string
		call   func(t *testing.T, auditor Auditor) error
	}{
		{"a visit after the erasure", "visit.create", func(t *testing.T, auditor Auditor) error {
			s, err := New(erased(t), &slowRegistry{}, auditor, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.RecordVisit(as(t, auth.RoleVeterinarian), visit)
			return err
		}},
		{"a communication after the erasure", "communication.create", func(t *testing.T, auditor Auditor) error {
			s, err := New(erased(t), &slowRegistry{}, auditor, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.RecordCommunication(as(t, auth.RoleVeterinarian), RecordCommunication{OwnerID: raceOwner, Communication: domain.Communication{
				Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: "called about Rex"}})
			return err
		}},
		{"the retry of a visit the erasure missed", "visit.create", func(t *testing.T, auditor Auditor) error {
			repo, _, in := visitRecordedAfterErasure(t)
			s, err := New(repo, &slowRegistry{}, auditor, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.RecordVisit(as(t, auth.RoleVeterinarian), in)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auditor := &audittest.Recorder{}
			if err := tc.call(t, auditor); !errors.Is(err, errOwnerErased) {
				t.Fatalf("answered %v, want OWNER_ERASED", err)
			}
			if !slices.ContainsFunc(auditor.Events(), func(e audit.Event) bool {
				return e.Action == tc.action && e.Outcome == audit.OutcomeDenied && e.SubjectOwnerID == raceOwner && e.Reason == "OWNER_ERASED"
			}) {
				t.Errorf("audited %+v, want %s denied about the owner", auditor.Events(), tc.action)
			}
		})
	}
}

// TestWriteAfterAppliedErasureRefusedUnderSecondRequest: a visit with an open invoice
// passes its check before the owner's erasure (erase-1) begins; erase-1 runs to the
// end and answers no identity code needed. The visit is then written, and a second
// request (erase-2) is decided, and stops, before the visit looks for the erasure. The
// visit came after erase-1's last read: it is refused and removed, and neither request
// answers for it (erase-2 used to reopen the erasure, so the visit was answered OK and
// kept with its invoice while erase-1, handed to the owner service, needed no code).
func TestWriteAfterAppliedErasureRefusedUnderSecondRequest(t *testing.T) {
	repo := raceRepo(t)
	plain, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopping, err := New(stopsAfterPlanning{repo}, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	manager := as(t, auth.RoleClinicManager)
	recorder, err := New(&onCreate{Repository: repo,
		before: func() {
			if _, err := plain.EraseOwnerData(manager, raceOwner, "erase-1"); err != nil {
				t.Fatalf("erase-1: %v", err)
			}
		},
		after: func() {
			if _, err := stopping.EraseOwnerData(manager, raceOwner, "erase-2"); !errors.Is(err, errCrash) {
				t.Fatalf("the stopping erase-2: %v", err)
			}
		},
	}, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = recorder.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, RequestID: "form-1", Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-time.Hour).Truncate(time.Millisecond),
		Invoices: []domain.Invoice{{Number: "2026-90", State: domain.InvoiceOpen}}}})
	if !errors.Is(err, errOwnerErased) {
		t.Errorf("a visit written after erase-1 was applied was answered %v, want OWNER_ERASED", err)
	}
	for _, id := range []string{"erase-2", "erase-1"} {
		res, err := plain.EraseOwnerData(manager, raceOwner, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if !res.IdentityCodeNeededUntil.IsZero() {
			t.Errorf("%s answered the identity code needed until %v, want not needed", id, res.IdentityCodeNeededUntil)
		}
	}
	if visits, err := repo.OwnerVisits(t.Context(), raceOwner); err != nil || len(visits) != 0 {
		t.Errorf("the owner's visits: %+v (%v), want none: the refused visit kept", visits, err)
	}
}

// afterCreateCommunication runs during once, right after a communication's write was
// tried (before the call looks for the erasure), whatever the write answered.
type afterCreateCommunication struct {
	domain.Repository
	during func()
}

func (r *afterCreateCommunication) CreateCommunication(ctx context.Context, c *domain.Communication) (*domain.Communication, error) {
	out, err := r.Repository.CreateCommunication(ctx, c)
	if f := r.during; f != nil {
		r.during = nil
		f()
	}
	return out, err
}

// TestRetriedCommunicationRacingAnErasureIsRefused: a communication is recorded under
// a request id by a call answered OK before the owner's erasure began, and a retry
// racing it (its client lost the answer) writes after it, so that its write finds the
// first one stored; the erasure is decided before the retry looks for it: applied (the
// first communication erased already), stopped once planned (it is still stored), or
// paused after storing its record, before it counts the communications. The retry is
// refused OWNER_ERASED, as the first call would be after such a write, audited about
// the owner, and leaves the communication to the erasure until it is applied: the
// erasure, finished, answers it erased and no communication of the owner is left.
func TestRetriedCommunicationRacingAnErasureIsRefused(t *testing.T) {
	asks := domain.Communication{Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: "Asks about invoice",
		Time: time.Now().Add(-time.Hour).Truncate(time.Millisecond)}
	for _, tc := range []struct {
		name string
		// erase decides the erasure once the retry's write has found the first
		// communication stored, and returns what finishes it, with its answer.
		erase func(t *testing.T, repo domain.Repository) (finish func() domain.ErasureResult)
	}{
		{"erasure applied", func(t *testing.T, repo domain.Repository) func() domain.ErasureResult {
			res, err := newPlain(t, repo).EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
			if err != nil {
				t.Fatal(err)
			}
			return func() domain.ErasureResult { return res }
		}},
		{"erasure planned", func(t *testing.T, repo domain.Repository) func() domain.ErasureResult {
			s, err := New(stopsAfterPlanning{repo}, &slowRegistry{}, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); !errors.Is(err, errCrash) {
				t.Fatalf("the stopping erasure: %v", err)
			}
			return func() domain.ErasureResult {
				res, err := newPlain(t, repo).EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
		}},
		{"erasure deciding", func(t *testing.T, repo domain.Repository) func() domain.ErasureResult {
			hooks := &eraserHooks{Repository: repo, readDone: make(chan struct{}), goOn: make(chan struct{})}
			s, err := New(hooks, &slowRegistry{}, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			readDone := hooks.readDone
			done := eraseInBackground(t, s)
			<-readDone
			return func() domain.ErasureResult {
				close(hooks.goOn)
				return <-done
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := raceRepo(t)
			vet := as(t, auth.RoleVeterinarian)
			reg := &slowRegistry{during: func() {
				if _, err := newPlain(t, repo).RecordCommunication(vet, RecordCommunication{OwnerID: raceOwner, RequestID: "call-1", Communication: asks}); err != nil {
					t.Fatal(err)
				}
			}}
			auditor := &audittest.Recorder{}
			var finish func() domain.ErasureResult
			retry, err := New(&afterCreateCommunication{Repository: repo, during: func() { finish = tc.erase(t, repo) }}, reg, auditor, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c, err := retry.RecordCommunication(vet, RecordCommunication{OwnerID: raceOwner, RequestID: "call-1", Communication: asks}); !errors.Is(err, errOwnerErased) {
				t.Errorf("the retry answered %+v, %v; want OWNER_ERASED", c, err)
			}
			if !slices.ContainsFunc(auditor.Events(), func(e audit.Event) bool {
				return e.Action == "communication.create" && e.Outcome == audit.OutcomeDenied && e.SubjectOwnerID == raceOwner && e.Reason == "OWNER_ERASED"
			}) {
				t.Errorf("audited %+v, want communication.create denied about the owner", auditor.Events())
			}
			want := []domain.Disposition{{Class: domain.ClassCommunications, Count: 1}}
			if res := finish(); !reflect.DeepEqual(res.Dispositions, want) {
				t.Errorf("the erasure answered %+v, want %+v: the first call was answered OK before it began", res.Dispositions, want)
			}
			if n, err := repo.CountOwnerCommunications(t.Context(), raceOwner); err != nil || n != 0 {
				t.Errorf("%d communications of the erased owner left (%v)", n, err)
			}
		})
	}
}

// newPlain returns a service on repo without hooks.
func newPlain(t *testing.T, repo domain.Repository) *Service {
	t.Helper()
	s, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// afterCreateVisit runs during once with the visit, right after its write (before the
// recording looks for the erasure).
type afterCreateVisit struct {
	domain.Repository
	before func()
	during func(v *domain.Visit)
}

func (r *afterCreateVisit) CreateVisit(ctx context.Context, v *domain.Visit, digest string) (*domain.Visit, error) {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	out, err := r.Repository.CreateVisit(ctx, v, digest)
	if f := r.during; f != nil && err == nil {
		r.during = nil
		f(out)
	}
	return out, err
}

// TestAmendedVisitTheErasureMissedIsRemoved: a visit (no request id, so never
// retried) passes its check before the owner's erasure begins and is written after the
// erasure's last read of the visits: with the erasure applied already, or paused right
// after that read and applied once the recording is answered. A correction is written
// before the recording looks for the erasure, and its call stops before its own check.
// The recording is refused, and so is the correction's retry: nothing written to the
// visit was answered OK, so nothing of it may stay on the erased owner unrestricted.
func TestAmendedVisitTheErasureMissedIsRemoved(t *testing.T) {
	for _, tc := range []struct {
		name string
		// erase begins the erasure (just before the visit's write) and returns what
		// waits for its end once the recording is answered.
		erase func(t *testing.T, repo domain.Repository) (wait func())
	}{
		{"erasure applied before the write", func(t *testing.T, repo domain.Repository) func() {
			s, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}},
		{"erasure closing at the write", func(t *testing.T, repo domain.Repository) func() {
			hooks := &pausesAfterLastRead{Repository: repo, readDone: make(chan struct{}), goOn: make(chan struct{})}
			s, err := New(hooks, &slowRegistry{}, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			readDone, done := hooks.readDone, make(chan error, 1)
			go func() {
				_, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
				done <- err
			}()
			<-readDone
			return func() {
				close(hooks.goOn)
				if err := <-done; err != nil {
					t.Fatalf("erasure: %v", err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := raceRepo(t)
			vet := as(t, auth.RoleVeterinarian)
			plain, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var wait func()
			fix, err := recordAmendedVisit(t, repo, func() { wait = tc.erase(t, repo) })
			wait()
			if !errors.Is(err, errOwnerErased) {
				t.Errorf("the recording answered %v, want OWNER_ERASED", err)
			}
			if _, a, err := plain.AmendVisit(vet, fix); err == nil {
				t.Errorf("the correction's retry answered %+v, want it refused", a)
			}
			visits, err := repo.OwnerVisits(t.Context(), raceOwner)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range visits {
				if !v.Restricted {
					t.Errorf("the erased owner keeps the unrestricted visit %+v", v)
				}
			}
		})
	}
}

// TestErasedCountFollowsACorrection: a visit of 2019 with its invoice, nothing of which
// is kept any more (patient records three years, bookkeeping to the end of 2025); billing
// removes the invoice after the owner's erasure read the visit to plan, after it stored
// that plan, or after its first pass read the visits but before it read the visit whole
// to delete it (the pass's only write then fails on the version, nothing written). The
// erasure removes the visit as it is then, and its answer counts the patient record
// erased and no invoice, as a plan made after the correction would.
func TestErasedCountFollowsACorrection(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		// racing runs correct at the window of the erasure's reads of repo.
		racing func(repo domain.Repository, id string, correct func()) domain.Repository
	}{
		{"plan read", func(repo domain.Repository, _ string, correct func()) domain.Repository {
			return &erasureRace{Repository: repo, at: "planRead", during: correct}
		}},
		{"plan saved", func(repo domain.Repository, _ string, correct func()) domain.Repository {
			return &erasureRace{Repository: repo, at: "planSaved", during: correct}
		}},
		{"before the deletion's read", func(repo domain.Repository, id string, correct func()) domain.Repository {
			return &amendOnGet{Repository: repo, id: id, n: 1, amend: func(int) { correct() }}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, plain := serviceAt(t, now)
			v, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{
				Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Date(2019, 6, 1, 10, 0, 0, 0, time.UTC),
				Invoices: []domain.Invoice{{Number: "2019-15", State: domain.InvoicePaid}}}})
			if err != nil {
				t.Fatal(err)
			}
			corrected := false
			var amendErr error
			eraser, err := New(tc.racing(repo, v.ID, func() {
				corrected = true
				_, _, amendErr = plain.AmendVisit(as(t, auth.RoleBilling), AmendVisit{ID: v.ID, Paths: []string{"invoices"}, Version: 1,
					Reason: "invoiced in error", Visit: domain.Visit{}})
			}), &slowRegistry{}, nopAuditor{}, plain.opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
			if err != nil || amendErr != nil || !corrected {
				t.Fatalf("erasure %v, correction %v (made: %v)", err, amendErr, corrected)
			}
			want := []domain.Disposition{{Class: domain.ClassPatientRecords, Count: 1}}
			if !reflect.DeepEqual(res.Dispositions, want) {
				t.Errorf("the erasure answered %+v, want %+v: the visit held no invoice when it was removed", res.Dispositions, want)
			}
		})
	}
}

// TestErasedCountFollowsACorrectionBeforeTheMark: a visit of a month ago, its record
// kept, with two open invoices or a medication; a correction removes one invoice, or
// the medication, after the erasure read the visit to plan and before its mark, which
// (by _id alone) restricts the visit as corrected, and the pass goes again. The answer
// counts what the restricted visit holds: one invoice kept, or no medicine record, not
// what the earlier plan read.
func TestErasedCountFollowsACorrectionBeforeTheMark(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	twoInvoices := []domain.Invoice{{Number: "2026-76", State: domain.InvoiceOpen}, {Number: "2026-77", State: domain.InvoiceOpen}}
	record := domain.Disposition{Class: domain.ClassPatientRecords, Kept: true, Basis: retention.BasisVeterinaryRecords, KeptUntil: retention.Date{Year: 2029, Month: 10, Day: 25}, Count: 1}
	for _, tc := range []struct {
		name       string
		visit      domain.Visit
		correction AmendVisit
		role       auth.Role
		want       []domain.Disposition
	}{
		{"an invoice removed", domain.Visit{Invoices: twoInvoices},
			AmendVisit{Paths: []string{"invoices"}, Reason: "invoiced in error", Visit: domain.Visit{Invoices: twoInvoices[:1]}}, auth.RoleBilling,
			[]domain.Disposition{record, {Class: domain.ClassInvoices, Kept: true, Basis: retention.BasisBookkeeping, KeptUntil: retention.Date{Year: 2032, Month: 12, Day: 31}, Count: 1}}},
		{"the medication removed", domain.Visit{Medications: []domain.Medication{{Product: "Metacam", Dose: "1 ml", Route: domain.RouteOral, Duration: "3 days"}}},
			AmendVisit{Paths: []string{"medications"}, Reason: "entered on the wrong visit"}, auth.RoleVeterinarian,
			[]domain.Disposition{record}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, plain := serviceAt(t, now)
			visit := tc.visit
			visit.Clinic, visit.Reason, visit.StartTime = domain.ClinicKangasala, "check", now.AddDate(0, -1, 0)
			v, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: visit})
			if err != nil {
				t.Fatal(err)
			}
			correction := tc.correction
			correction.ID, correction.Version = v.ID, v.Version
			var amendErr error
			eraser, err := New(&erasureRace{Repository: repo, at: "mark", during: func() {
				_, _, amendErr = plain.AmendVisit(as(t, tc.role), correction)
			}}, &slowRegistry{}, nopAuditor{}, plain.opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
			if err != nil || amendErr != nil {
				t.Fatalf("erasure %v, correction %v", err, amendErr)
			}
			if !reflect.DeepEqual(res.Dispositions, tc.want) {
				t.Errorf("the erasure answered %+v, want %+v", res.Dispositions, tc.want)
			}
		})
	}
}

// amendOnGet runs amend(i) before the first n reads of the visit id, i counting down
// from n-1: billing's corrections landing just before the erasure reads the visit whole
// to reduce it.
type amendOnGet struct {
	domain.Repository
	id    string
	n     int
	amend func(i int)
}

func (r *amendOnGet) GetVisit(ctx context.Context, id string) (*domain.VisitRecord, error) {
	if id == r.id && r.n > 0 {
		r.n--
		r.amend(r.n)
	}
	return r.Repository.GetVisit(ctx, id)
}

// TestErasedCountKeepsAVisitTheErasureDeleted: an animal's visits of 2019 (nothing of
// it kept) and a later one. The erasure deletes the first in its first pass; billing
// corrects the second's invoices just before passes read it to reduce or delete it, so
// the erasure plans again from the second visit alone: the same parts kept (its 2021
// invoice, kept to the end of 2027, paid at each of two passes), another part (an open
// invoice added to a 2021 visit that had none, so the answer is taken from the new plan
// in full), or nothing (the paid invoice of a second 2019 visit removed, both visits
// erased whole). Its answer still counts both patient records erased: the visit it
// deleted is no longer read, but it was erased; and it counts the second visit's parts
// as it held them when the erasure wrote to it. With the first visit of 2021, its
// medicines (five years) past and its paid invoice kept, the erasure reduces it instead,
// and the answer taken in full from the new plan still counts its medicines erased.
func TestErasedCountKeepsAVisitTheErasureDeleted(t *testing.T) {
	invoice := func(state domain.InvoiceState) []domain.Invoice {
		return []domain.Invoice{{Number: "2021-15", State: state}}
	}
	keptInvoice := []domain.Disposition{
		{Class: domain.ClassPatientRecords, Count: 2},
		{Class: domain.ClassInvoices, Kept: true, Basis: retention.BasisBookkeeping, KeptUntil: retention.Date{Year: 2027, Month: 12, Day: 31}, Count: 1},
	}
	erasedWhole := domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Date(2019, 6, 1, 10, 0, 0, 0, time.UTC)}
	reduced := domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Date(2021, 5, 1, 10, 0, 0, 0, time.UTC),
		Medications: []domain.Medication{{Product: "Metacam", Dose: "1 ml", Route: domain.RouteOral, Duration: "3 days"}},
		Invoices:    []domain.Invoice{{Number: "2021-14", State: domain.InvoicePaid}}}
	for _, tc := range []struct {
		name        string
		first       domain.Visit
		second      time.Time
		invoices    []domain.Invoice
		corrections int
		// corrected is the second visit's invoices after correction i (counting down).
		corrected func(i int) []domain.Invoice
		want      []domain.Disposition
	}{
		{"same parts kept", erasedWhole, time.Date(2021, 6, 1, 10, 0, 0, 0, time.UTC), invoice(domain.InvoiceOpen), 2, func(i int) []domain.Invoice {
			if i == 0 {
				return invoice(domain.InvoiceOpen)
			}
			return invoice(domain.InvoicePaid)
		}, keptInvoice},
		{"an invoice added", erasedWhole, time.Date(2021, 6, 1, 10, 0, 0, 0, time.UTC), nil, 1, func(int) []domain.Invoice { return invoice(domain.InvoiceOpen) }, keptInvoice},
		{"an erased invoice removed", erasedWhole, time.Date(2019, 9, 1, 10, 0, 0, 0, time.UTC), invoice(domain.InvoicePaid), 1, func(int) []domain.Invoice { return nil },
			[]domain.Disposition{{Class: domain.ClassPatientRecords, Count: 2}}},
		{"the first reduced, an erased invoice removed", reduced, time.Date(2019, 9, 1, 10, 0, 0, 0, time.UTC), invoice(domain.InvoicePaid), 1, func(int) []domain.Invoice { return nil },
			[]domain.Disposition{
				{Class: domain.ClassPatientRecords, Count: 2},
				{Class: domain.ClassMedicineRecords, Count: 1},
				{Class: domain.ClassInvoices, Kept: true, Basis: retention.BasisBookkeeping, KeptUntil: retention.Date{Year: 2027, Month: 12, Day: 31}, Count: 1},
			}},
		{"the first reduced, an invoice added", reduced, time.Date(2021, 6, 1, 10, 0, 0, 0, time.UTC), nil, 1, func(int) []domain.Invoice { return invoice(domain.InvoiceOpen) },
			[]domain.Disposition{
				{Class: domain.ClassPatientRecords, Count: 2},
				{Class: domain.ClassMedicineRecords, Count: 1},
				{Class: domain.ClassInvoices, Kept: true, Basis: retention.BasisBookkeeping, KeptUntil: retention.Date{Year: 2027, Month: 12, Day: 31}, Count: 2},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			repo, plain := serviceAt(t, now)
			vet, billing := as(t, auth.RoleVeterinarian), as(t, auth.RoleBilling)
			if _, err := plain.RecordVisit(vet, RecordVisit{PatientID: racePatient, Visit: tc.first}); err != nil {
				t.Fatal(err)
			}
			second, err := plain.RecordVisit(vet, RecordVisit{PatientID: racePatient, Visit: domain.Visit{
				Clinic: domain.ClinicKangasala, Reason: "check", StartTime: tc.second, Invoices: tc.invoices}})
			if err != nil {
				t.Fatal(err)
			}
			corrections := &amendOnGet{Repository: repo, id: second.ID, n: tc.corrections}
			corrections.amend = func(i int) {
				rec, err := repo.GetVisit(t.Context(), second.ID)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := plain.AmendVisit(billing, AmendVisit{ID: second.ID, Paths: []string{"invoices"}, Version: rec.Current.Version,
					Reason: "billing", Visit: domain.Visit{Invoices: tc.corrected(i)}}); err != nil {
					t.Fatalf("billing's correction %d: %v", i, err)
				}
			}
			eraser, err := New(corrections, &slowRegistry{}, nopAuditor{}, plain.opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
			if err != nil {
				t.Fatal(err)
			}
			if corrections.n != 0 {
				t.Fatalf("%d corrections not made", corrections.n)
			}
			if !reflect.DeepEqual(res.Dispositions, tc.want) {
				t.Errorf("the erasure answered %+v, want %+v", res.Dispositions, tc.want)
			}
			if left := unrestrictedVisits(t, repo, raceOwner); len(left) != 0 {
				t.Errorf("the erased owner keeps the unrestricted visits %v", left)
			}
		})
	}
}

// crashOnGet fails the read of the visit id, as a process dying there would.
type crashOnGet struct {
	domain.Repository
	id string
}

func (r *crashOnGet) GetVisit(ctx context.Context, id string) (*domain.VisitRecord, error) {
	if id == r.id {
		return nil, errCrash
	}
	return r.Repository.GetVisit(ctx, id)
}

// erasureStoppedAfterDeleting returns a store with two visits of the animal: one of 2019
// with a paid invoice (nothing of it kept), which the owner's erasure, requested as
// erase-1, deleted before it stopped, and the one of 2021 with an open invoice (kept to
// the end of 2027) it stopped at, returned with a plain service on the store.
func erasureStoppedAfterDeleting(t *testing.T) (domain.Repository, *Service, *domain.Visit) {
	t.Helper()
	repo, plain := serviceAt(t, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	vet := as(t, auth.RoleVeterinarian)
	if _, err := plain.RecordVisit(vet, RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check",
		StartTime: time.Date(2019, 6, 1, 10, 0, 0, 0, time.UTC), Invoices: []domain.Invoice{{Number: "2019-15", State: domain.InvoicePaid}}}}); err != nil {
		t.Fatal(err)
	}
	second, err := plain.RecordVisit(vet, RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check",
		StartTime: time.Date(2021, 6, 1, 10, 0, 0, 0, time.UTC), Invoices: []domain.Invoice{{Number: "2021-15", State: domain.InvoiceOpen}}}})
	if err != nil {
		t.Fatal(err)
	}
	stopping, err := New(&crashOnGet{Repository: repo, id: second.ID}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stopping.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); !errors.Is(err, errCrash) {
		t.Fatalf("the stopping erasure: %v", err)
	}
	if visits, err := repo.OwnerVisits(t.Context(), raceOwner); err != nil || len(visits) != 1 {
		t.Fatalf("the erasure left %d visits (%v), want the 2019 one deleted", len(visits), err)
	}
	return repo, plain, second
}

// addSecondOpenInvoice is billing's correction of the 2021 visit of
// erasureStoppedAfterDeleting: a second open invoice, so the erasure keeps the same
// parts as long, more of them.
func addSecondOpenInvoice(t *testing.T, s *Service, v *domain.Visit) {
	t.Helper()
	if _, _, err := s.AmendVisit(as(t, auth.RoleBilling), AmendVisit{ID: v.ID, Paths: []string{"invoices"}, Version: v.Version, Reason: "billed",
		Visit: domain.Visit{Invoices: []domain.Invoice{{Number: "2021-15", State: domain.InvoiceOpen}, {Number: "2021-16", State: domain.InvoiceOpen}}}}); err != nil {
		t.Fatalf("billing's correction: %v", err)
	}
}

// bothVisitsErased is the answer to the erasure of erasureStoppedAfterDeleting once
// billing added the second invoice: both patient records and the 2019 invoice erased,
// the two open invoices kept.
var bothVisitsErased = []domain.Disposition{
	{Class: domain.ClassPatientRecords, Count: 2},
	{Class: domain.ClassInvoices, Kept: true, Basis: retention.BasisBookkeeping, KeptUntil: retention.Date{Year: 2027, Month: 12, Day: 31}, Count: 2},
	{Class: domain.ClassInvoices, Count: 1},
}

// removeOpenInvoice is billing's correction of the 2021 visit of
// erasureStoppedAfterDeleting: its open invoice cancelled, so the erasure keeps other
// parts (none of the invoices) and its answer is replaced (see domain.Replanned).
func removeOpenInvoice(t *testing.T, s *Service, v *domain.Visit) {
	t.Helper()
	if _, _, err := s.AmendVisit(as(t, auth.RoleBilling), AmendVisit{ID: v.ID, Paths: []string{"invoices"}, Version: v.Version, Reason: "cancelled",
		Visit: domain.Visit{}}); err != nil {
		t.Fatalf("billing's correction: %v", err)
	}
}

// TestRetryKeepsCountingTheVisitItDeleted: erase-1 deleted the 2019 visit and stopped,
// its record stored by this version or by one before the plan's entries kept what their
// visits held (a service restarted on the upgrade), and perhaps erase-2 (another request
// id) planned from that record and stopped. Billing then adds a second open invoice to
// the 2021 visit (the same parts kept as long). erase-1's retry, planning again, still
// answers the 2019 visit's patient record and invoice erased, and so does erase-2's
// planned from a record of this version: a second request's plan holds the visit the
// first deleted, and a plan without what the deleted visit held keeps the erased counts
// as answered, as the version before did. When billing instead cancels the 2021 visit's
// open invoice (other parts kept), the new plan's answer replaces the first: it counts
// the 2019 invoice erased from a record of this version, and from one stored before
// counts the deleted visit as a patient record only.
func TestRetryKeepsCountingTheVisitItDeleted(t *testing.T) {
	invoiceCancelled := []domain.Disposition{
		{Class: domain.ClassPatientRecords, Count: 2},
		{Class: domain.ClassInvoices, Count: 1},
	}
	for _, tc := range []struct {
		name          string
		storedBefore  bool
		secondRequest bool
		correct       func(*testing.T, *Service, *domain.Visit)
		want          []domain.Disposition
	}{
		{"stored now", false, false, addSecondOpenInvoice, bothVisitsErased},
		{"a second request planned", false, true, addSecondOpenInvoice, bothVisitsErased},
		{"stored before", true, false, addSecondOpenInvoice, bothVisitsErased},
		{"stored before, a second request planned", true, true, addSecondOpenInvoice, bothVisitsErased},
		{"stored now, the invoice cancelled", false, false, removeOpenInvoice, invoiceCancelled},
		{"stored before, the invoice cancelled", true, false, removeOpenInvoice, []domain.Disposition{{Class: domain.ClassPatientRecords, Count: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, plain, second := erasureStoppedAfterDeleting(t)
			if tc.storedBefore {
				storeAsBeforeCountsHeld(t, repo)
			}
			requests := []string{"erase-1"}
			if tc.secondRequest {
				stopping, err := New(stopsAfterPlanning{repo}, &slowRegistry{}, nopAuditor{}, plain.opts)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := stopping.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-2"); !errors.Is(err, errCrash) {
					t.Fatalf("erase-2: %v", err)
				}
				if !tc.storedBefore {
					// Planned from a record stored before, erase-2 counted the deleted
					// visit as a patient record only from its first answer.
					requests = append(requests, "erase-2")
				}
			}
			tc.correct(t, plain, second)
			for _, requestID := range requests {
				res, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, requestID)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(res.Dispositions, tc.want) {
					t.Errorf("%s answered %+v, want %+v", requestID, res.Dispositions, tc.want)
				}
			}
		})
	}
}

// storeAsBeforeCountsHeld stores the owner's erasure record as a version before its
// plan's entries kept what their visits held stored it.
func storeAsBeforeCountsHeld(t *testing.T, repo domain.Repository) {
	t.Helper()
	e, err := repo.GetErasure(t.Context(), raceOwner)
	if err != nil {
		t.Fatal(err)
	}
	for i := range e.Visits {
		e.Visits[i].Medications, e.Visits[i].Invoices = false, 0
	}
	e.CountsHeld = false
	e.Version++
	if err := repo.SaveErasure(t.Context(), e); err != nil {
		t.Fatal(err)
	}
}

// stopsWhenApplied stops (as a process dying would) right after the erasure stored
// itself applied.
type stopsWhenApplied struct{ domain.Repository }

func (r stopsWhenApplied) SaveErasure(ctx context.Context, e *domain.Erasure) error {
	if err := r.Repository.SaveErasure(ctx, e); err != nil || !e.Applied {
		return err
	}
	return errCrash
}

// visitMissedByStoppedErasure returns a store where the owner's erasure, requested as
// erase-1, missed a visit and stopped once stored applied, before it removed the visits
// it missed: the visit (no request id) passes its check before the erasure begins and
// is written after the erasure's last read, a correction is written before the
// recording looks for the erasure, which then is still closing, and the correction's
// call stops before its own check. It returns the visit's id.
func visitMissedByStoppedErasure(t *testing.T) (*historymongo.Repository, string) {
	t.Helper()
	repo := raceRepo(t)
	hooks := &pausesAfterLastRead{Repository: repo, readDone: make(chan struct{}), goOn: make(chan struct{})}
	eraser, err := New(stopsWhenApplied{hooks}, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	erased := make(chan error, 1)
	fix, err := recordAmendedVisit(t, repo, func() {
		readDone := hooks.readDone
		go func() {
			_, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
			erased <- err
		}()
		<-readDone
	})
	if !errors.Is(err, errOwnerErased) {
		t.Fatalf("the recording answered %v, want OWNER_ERASED", err)
	}
	close(hooks.goOn)
	if err := <-erased; !errors.Is(err, errCrash) {
		t.Fatalf("the stopping erasure: %v", err)
	}
	return repo, fix.ID
}

// recordAmendedVisit records a visit of the owner (no request id) with erase run just
// before its write, and a correction written right after it, whose call stops before
// its own check. It returns the correction, for a retry, and what the recording
// answered.
func recordAmendedVisit(t *testing.T, repo domain.Repository, erase func()) (AmendVisit, error) {
	t.Helper()
	vet := as(t, auth.RoleVeterinarian)
	stoppingFix, err := New(stopsAfterAmending{repo}, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var fix AmendVisit
	recorder, err := New(&afterCreateVisit{Repository: repo,
		before: erase,
		during: func(v *domain.Visit) {
			fix = AmendVisit{ID: v.ID, RequestID: "fix-1", Paths: []string{"findings"}, Version: 1, Reason: "seen again",
				Visit: domain.Visit{Findings: "Fracture."}}
			if _, _, err := stoppingFix.AmendVisit(vet, fix); !errors.Is(err, errCrash) {
				t.Fatalf("the stopping correction: %v", err)
			}
		},
	}, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = recorder.RecordVisit(vet, RecordVisit{PatientID: racePatient, Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-time.Hour).Truncate(time.Millisecond)}})
	return fix, err
}

// eraseInBackground starts the erasure of raceOwner's data with s, requested as
// erase-1, and returns where its answer comes once it ends.
func eraseInBackground(t *testing.T, s *Service) <-chan domain.ErasureResult {
	done := make(chan domain.ErasureResult, 1)
	go func() {
		res, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
		if err != nil {
			t.Errorf("erasure: %v", err)
		}
		done <- res
	}()
	return done
}

// medicatedVisitOf2021 records, with s, the animal's visit of 2021 with a medication and
// a paid invoice: past its clinical retention by 2026, an erasure reduces it to the
// invoice, kept to the end of 2027.
func medicatedVisitOf2021(t *testing.T, s *Service) *domain.Visit {
	t.Helper()
	v, err := s.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check",
		StartTime:   time.Date(2021, 5, 1, 10, 0, 0, 0, time.UTC),
		Medications: []domain.Medication{{Product: "Metacam", Dose: "1 ml", Route: domain.RouteOral, Duration: "3 days"}},
		Invoices:    []domain.Invoice{{Number: "2021-14", State: domain.InvoicePaid}}}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// goneAfterItsInvoice reports whether the sweep of 1 January 2028, the day after the
// 2021 visit's invoice is kept to, removes the visit.
func goneAfterItsInvoice(t *testing.T, repo domain.Repository, v *domain.Visit) bool {
	t.Helper()
	sweeper, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{Now: func() time.Time { return time.Date(2028, 1, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sweeper.RunRetentionSweep(as(t, auth.RoleClinicManager)); err != nil {
		t.Fatal(err)
	}
	_, err = repo.GetVisit(t.Context(), v.ID)
	if err != nil && !errors.Is(err, apperr.ErrNotFound) {
		t.Fatal(err)
	}
	return err != nil
}

// check2021Record checks the 2021 visit of medicatedVisitOf2021 once the erasure is
// done: its clinical record and medication removed (reduced) or kept whole, and the
// visit gone after its invoice's day only when reduced (else its clinical record keeps
// it longer).
func check2021Record(t *testing.T, repo domain.Repository, old *domain.Visit, reduced bool) {
	t.Helper()
	rec, err := repo.GetVisit(t.Context(), old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if whole := rec.Current.Reason != "" && len(rec.Current.Medications) == 1; whole == reduced {
		t.Errorf("the 2021 visit holds %+v after the erasure; want its clinical record kept %v", rec.Current, !reduced)
	}
	if gone := goneAfterItsInvoice(t, repo, old); gone != reduced {
		t.Errorf("the 2021 visit is gone after its invoice's day: %v, want %v", gone, reduced)
	}
}

// reducedOf2021 is the answer for the 2021 visit of medicatedVisitOf2021, reduced: its
// clinical record and medication erased, its invoice kept.
var reducedOf2021 = []domain.Disposition{
	{Class: domain.ClassPatientRecords, Count: 1},
	{Class: domain.ClassMedicineRecords, Count: 1},
	{Class: domain.ClassInvoices, Kept: true, Basis: retention.BasisBookkeeping, KeptUntil: retention.Date{Year: 2027, Month: 12, Day: 31}, Count: 1},
}

// TestAnimalComingInWhileTheErasureApplies: a veterinarian records a new visit of the
// animal, checked before the erasure began, while the erasure applies. Before the
// erasure closes it stands (answered OK), and the erasure, which has only marked
// visits until then, plans again: the animal's last visit is today, so its 2021
// clinical record, with the medication as its part, is kept to 25 November 2029, whole.
// Once the erasure is closing, and has reduced the 2021 visit, the new visit is
// refused and the 2021 clinical record and medication stay erased as answered, the
// visit held only to its invoice's day.
func TestAnimalComingInWhileTheErasureApplies(t *testing.T) {
	keptTo2029 := retention.Date{Year: 2029, Month: 11, Day: 25}
	for _, tc := range []struct {
		name    string
		at      string
		refused bool
		want    []domain.Disposition
	}{
		{name: "before the erasure closes", at: "closing", want: []domain.Disposition{
			{Class: domain.ClassPatientRecords, Kept: true, Basis: retention.BasisVeterinaryRecords, KeptUntil: keptTo2029, Count: 2},
			{Class: domain.ClassMedicineRecords, Kept: true, Basis: retention.BasisVeterinaryRecords, KeptUntil: keptTo2029, Count: 1},
			reducedOf2021[2],
		}},
		{name: "once the erasure reduced the 2021 visit", at: "reduced", refused: true, want: reducedOf2021},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, plain := serviceAt(t, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
			old := medicatedVisitOf2021(t, plain)
			reached, goOn := make(chan struct{}), make(chan struct{})
			eraser, err := New(&erasureRace{Repository: repo, at: tc.at, during: func() { close(reached); <-goOn }}, &slowRegistry{}, nopAuditor{}, plain.opts)
			if err != nil {
				t.Fatal(err)
			}
			// An erasure that ends before it reaches the step (it failed) ends the wait
			// too, so that the test fails instead of hanging.
			var done <-chan domain.ErasureResult
			var res domain.ErasureResult
			ended := false
			recorder, err := New(&onCreate{Repository: repo, before: func() {
				done = eraseInBackground(t, eraser)
				select {
				case <-reached:
				case res = <-done:
					ended = true
				}
			}}, &slowRegistry{}, nopAuditor{}, plain.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = recorder.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala,
				Reason: "vaccination", StartTime: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}})
			close(goOn)
			if done == nil {
				t.Fatalf("the new visit was not written: %v", err)
			}
			if !ended {
				res = <-done
			}
			if ended {
				t.Fatalf("the erasure ended before the step %q", tc.at)
			}
			if refused := errors.Is(err, errOwnerErased); refused != tc.refused || err != nil && !refused {
				t.Errorf("the new visit answered %v, want refused %v", err, tc.refused)
			}
			if !reflect.DeepEqual(res.Dispositions, tc.want) {
				t.Errorf("the erasure answered\n%+v\nwant\n%+v", res.Dispositions, tc.want)
			}
			check2021Record(t, repo, old, tc.refused)
		})
	}
}

// TestRetryAfterTheAnimalCameIn: the erasure stops once close confirmed the visits,
// after it reduced the animal's 2021 visit (at erasing the communications) or before
// (at that reduction); the animal, now another owner's, is seen by the clinic; the
// erasure's retry goes on. A clinical record the reduction removed is not kept again:
// the retry answers as the first call decided, naming the owner to the invoice's day,
// and the visit is held only to that day. One not yet removed is kept, with the
// medication as its part, to 25 November 2029, as the visit of today keeps it under
// rule 7, although the plan the retry takes over was made before that visit: the retry
// reads the animal's last visit again before it removes anything, as does the retry of
// a record stored before plans kept the animal's last visit.
func TestRetryAfterTheAnimalCameIn(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	keptTo2029 := retention.Date{Year: 2029, Month: 11, Day: 25}
	keptWhole := []domain.Disposition{
		{Class: domain.ClassPatientRecords, Kept: true, Basis: retention.BasisVeterinaryRecords, KeptUntil: keptTo2029, Count: 1},
		{Class: domain.ClassMedicineRecords, Kept: true, Basis: retention.BasisVeterinaryRecords, KeptUntil: keptTo2029, Count: 1},
		reducedOf2021[2],
	}
	for _, tc := range []struct {
		name     string
		crashAt  string
		asBefore bool
		want     []domain.Disposition
		named    retention.Date
		reduced  bool
	}{
		{name: "stopped once it reduced the visit", crashAt: "communications", want: reducedOf2021,
			named: retention.Date{Year: 2027, Month: 12, Day: 31}, reduced: true},
		{name: "stopped before reducing it", crashAt: "reduce", want: keptWhole, named: keptTo2029},
		{name: "stopped before reducing it, stored before plans kept the animal's last visit", crashAt: "reduce", asBefore: true,
			want: keptWhole, named: keptTo2029},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, plain := serviceAt(t, now)
			old := medicatedVisitOf2021(t, plain)
			dying, err := New(&crashingRepo{Repository: repo, crashAt: tc.crashAt}, &slowRegistry{}, nopAuditor{}, plain.opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dying.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); !errors.Is(err, errCrash) {
				t.Fatalf("the stopping erasure: %v", err)
			}
			if tc.asBefore {
				storeAsBeforeLastEntries(t, repo)
			}
			nextOwnersVisit(t, repo, now)
			res, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Dispositions, tc.want) || res.OwnerNamedUntil != tc.named {
				t.Errorf("the retry answered %+v, the owner named until %s; want %+v until %s", res.Dispositions, res.OwnerNamedUntil, tc.want, tc.named)
			}
			check2021Record(t, repo, old, tc.reduced)
		})
	}
}

// nextOwnersVisit stores the animal's visit by its next owner an hour before now,
// which the erasure of raceOwner never refuses.
func nextOwnersVisit(t *testing.T, repo domain.Repository, now time.Time) {
	t.Helper()
	if _, err := repo.CreateVisit(t.Context(), &domain.Visit{ID: "0b6d4f3e-2c59-4f0a-9e57-0000000000dd", PatientID: racePatient,
		OwnerID: "0b6d4f3e-2c59-4f0a-9e57-0000000000cc", Clinic: domain.ClinicKangasala, Reason: "vaccination",
		StartTime: now.Add(-time.Hour), Created: now}, ""); err != nil {
		t.Fatal(err)
	}
}

// TestNextOwnersVisitBeforeTheErasureCloses: the animal's next owner brings it in after
// the erasure planned and before it closes. Close reads the animal's last visit again
// and the erasure plans again before it removes anything: the 2021 clinical record,
// with the medication as its part, is kept to 25 November 2029, whole.
func TestNextOwnersVisitBeforeTheErasureCloses(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	repo, plain := serviceAt(t, now)
	old := medicatedVisitOf2021(t, plain)
	eraser, err := New(&erasureRace{Repository: repo, at: "closing", during: func() { nextOwnersVisit(t, repo, now) }}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
	if err != nil {
		t.Fatal(err)
	}
	if keptTo2029 := (retention.Date{Year: 2029, Month: 11, Day: 25}); res.OwnerNamedUntil != keptTo2029 {
		t.Errorf("the erasure answered %+v, the owner named until %s; want until %s", res.Dispositions, res.OwnerNamedUntil, keptTo2029)
	}
	check2021Record(t, repo, old, false)
}

// storeAsBeforeLastEntries stores the owner's erasure record as a version before its
// plan's entries kept their animal's last visit stored it.
func storeAsBeforeLastEntries(t *testing.T, repo domain.Repository) {
	t.Helper()
	e, err := repo.GetErasure(t.Context(), raceOwner)
	if err != nil {
		t.Fatal(err)
	}
	for i := range e.Visits {
		e.Visits[i].LastEntry = time.Time{}
	}
	e.Version++
	if err := repo.SaveErasure(t.Context(), e); err != nil {
		t.Fatal(err)
	}
}

// erasureAnswer is what an erasure request answered.
type erasureAnswer struct {
	res domain.ErasureResult
	err error
}

// eraseUntil starts the erasure of raceOwner's data with s, requested as requestID,
// waits until it reaches the step whose hook closes reached, and returns where its
// answer comes once it ends. An erasure that ends before the step fails the test.
func eraseUntil(t *testing.T, s *Service, requestID string, reached <-chan struct{}) <-chan erasureAnswer {
	done := make(chan erasureAnswer, 1)
	go func() {
		res, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, requestID)
		done <- erasureAnswer{res, err}
	}()
	select {
	case <-reached:
	case a := <-done:
		t.Errorf("%s ended before its step: %+v, %v", requestID, a.res, a.err)
		done <- a
	}
	return done
}

// TestSecondRequestWhileTheFirstReducesLeavesItClosing: erase-1 has closed (its read
// found the visits as planned) and is about to reduce the animal's 2021 visit when a
// second request for the owner stores its decision; a veterinarian's visit of the
// animal, checked before either began, is then written. The record stays closing, so
// the visit is refused, and the 2021 clinical record and medication are erased as both
// requests answer. Had the decision reopened the record, the visit would stand,
// answered OK while the 2021 record was whole, and erase-1 would then reduce the
// record that visit keeps to 2029 (DESIGN rule 7).
func TestSecondRequestWhileTheFirstReducesLeavesItClosing(t *testing.T) {
	repo, plain := serviceAt(t, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	old := medicatedVisitOf2021(t, plain)
	atReduce, reduceGo := make(chan struct{}), make(chan struct{})
	first, err := New(&erasureRace{Repository: repo, at: "reduce", during: func() { close(atReduce); <-reduceGo }}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	decided, decidedGo := make(chan struct{}), make(chan struct{})
	second, err := New(&erasureRace{Repository: repo, at: "planSaved", during: func() { close(decided); <-decidedGo }}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	var done1, done2 <-chan erasureAnswer
	recorder, err := New(&onCreate{Repository: repo, before: func() {
		done1 = eraseUntil(t, first, "erase-1", atReduce)
		done2 = eraseUntil(t, second, "erase-2", decided)
	}}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = recorder.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala,
		Reason: "vaccination", StartTime: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}})
	close(reduceGo)
	a1 := <-done1
	close(decidedGo)
	a2 := <-done2
	if !errors.Is(err, errOwnerErased) {
		t.Errorf("the visit of today answered %v, want OWNER_ERASED", err)
	}
	for id, a := range map[string]erasureAnswer{"erase-1": a1, "erase-2": a2} {
		if a.err != nil || !reflect.DeepEqual(a.res.Dispositions, reducedOf2021) {
			t.Errorf("%s answered %+v, %v; want %+v", id, a.res.Dispositions, a.err, reducedOf2021)
		}
	}
	if left := unrestrictedVisits(t, repo, raceOwner); len(left) != 0 {
		t.Errorf("the erased owner keeps the unrestricted visits %v", left)
	}
	check2021Record(t, repo, old, true)
}

// unrestrictedVisits lists the ids of the owner's visits that are not restricted.
func unrestrictedVisits(t *testing.T, repo domain.Repository, ownerID string) []string {
	t.Helper()
	visits, err := repo.OwnerVisits(t.Context(), ownerID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range visits {
		if !v.Restricted {
			out = append(out, v.ID)
		}
	}
	return out
}

// refusingStore queues audit events but cannot store any at once, as when the audit
// store is down.
type refusingStore struct{ audittest.Recorder }

func (*refusingStore) RecordNow(context.Context, ...audit.Event) error {
	return errors.New("audit store unavailable")
}

// TestRetryOfAppliedErasureRemovesMissedVisit: an erasure that missed a visit stops
// once stored applied, before it removes the visits it missed. Its retry stores its
// audit event about the owner, then removes the visit and answers; when the event
// cannot be stored, the retry fails and the visit stays until a later retry, so that
// nothing is erased unaudited.
func TestRetryOfAppliedErasureRemovesMissedVisit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		auditor interface {
			Auditor
			Subjects(action string) []string
		}
		answered bool
	}{
		{"audit stored", &audittest.Recorder{}, true},
		{"audit store down", &refusingStore{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, missed := visitMissedByStoppedErasure(t)
			if left := unrestrictedVisits(t, repo, raceOwner); !slices.Equal(left, []string{missed}) {
				t.Fatalf("before the retry, the owner's unrestricted visits are %v, want the one missed", left)
			}
			retry, err := New(repo, &slowRegistry{}, tc.auditor, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = retry.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
			if answered := err == nil; answered != tc.answered {
				t.Fatalf("the retry answered %v, want answered %v", err, tc.answered)
			}
			wantAudited, wantLeft := []string{raceOwner}, []string(nil)
			if !tc.answered {
				wantAudited, wantLeft = nil, []string{missed}
			}
			if got := tc.auditor.Subjects("history.erase"); !slices.Equal(got, wantAudited) {
				t.Errorf("history.erase audited about %v, want %v", got, wantAudited)
			}
			if left := unrestrictedVisits(t, repo, raceOwner); !slices.Equal(left, wantLeft) {
				t.Errorf("the erased owner keeps the unrestricted visits %v, want %v", left, wantLeft)
			}
		})
	}
}

// TestSweepRemovesVisitTheErasureMissed: a visit without a request id (never retried)
// passes its check before the owner's erasure begins, is written once the erasure is
// applied (after its last read of the visits), and its call stops before its own
// check. The retention sweep a day after the erasure's day removes it.
func TestSweepRemovesVisitTheErasureMissed(t *testing.T) {
	repo := raceRepo(t)
	eraser, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopping, err := New(&crashAroundCreate{Repository: repo, before: func() {
		if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
			t.Fatalf("erasure: %v", err)
		}
	}}, &slowRegistry{}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stopping.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-time.Hour).Truncate(time.Millisecond),
		Invoices: []domain.Invoice{{Number: "2026-15", State: domain.InvoiceOpen}}}}); !errors.Is(err, errCrash) {
		t.Fatalf("the stopping recording: %v", err)
	}
	if left := unrestrictedVisits(t, repo, raceOwner); len(left) != 1 {
		t.Fatalf("before the sweep, the owner's unrestricted visits are %v, want the one missed", left)
	}
	sweeper, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{Now: func() time.Time { return time.Now().AddDate(0, 0, 2) }})
	if err != nil {
		t.Fatal(err)
	}
	removed, err := sweeper.RunRetentionSweep(as(t, auth.RoleClinicManager))
	if err != nil {
		t.Fatal(err)
	}
	if left := unrestrictedVisits(t, repo, raceOwner); len(left) != 0 {
		t.Errorf("the erased owner keeps the unrestricted visits %v", left)
	}
	want := []domain.Disposition{{Class: domain.ClassPatientRecords, Count: 1}, {Class: domain.ClassInvoices, Count: 1}}
	if got := removed.Dispositions(); !reflect.DeepEqual(got, want) {
		t.Errorf("the sweep reports %+v removed, want %+v", got, want)
	}
	// Checked once: the record is not due again at every later sweep.
	due, err := repo.ErasuresDue(t.Context(), sweeper.today().AddMonths(1))
	if err != nil || len(due) != 0 {
		t.Errorf("after the check, erasures due a month later: %d (%v), want none", len(due), err)
	}
}

// TestSweepChecksForMissedVisitsAfterTheDay: the owner's visit was last written to
// seven days before the erasure, so its request digests' horizon ends on the erasure's
// day, and the sweep the next day is due for them, before the day after which the
// erasure's missed check is due. That sweep leaves the check for later: a visit written
// after it by a call checked before the erasure, stopped before its own check, is
// removed by the sweep the day after.
func TestSweepChecksForMissedVisitsAfterTheDay(t *testing.T) {
	erasureDay := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	repo, earlier := serviceAt(t, erasureDay.AddDate(0, 0, -7))
	if _, err := earlier.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: erasureDay.AddDate(0, 0, -8)}}); err != nil {
		t.Fatal(err)
	}
	at := func(day int) *Service {
		s, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{Now: func() time.Time { return erasureDay.AddDate(0, 0, day) }})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	stopping, err := New(&crashAroundCreate{Repository: repo, before: func() {
		if _, err := at(0).EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
			t.Fatalf("erasure: %v", err)
		}
		if _, err := at(1).RunRetentionSweep(as(t, auth.RoleClinicManager)); err != nil {
			t.Fatalf("the sweep the day after the erasure: %v", err)
		}
	}}, &slowRegistry{}, nopAuditor{}, Options{Now: func() time.Time { return erasureDay.AddDate(0, 0, 1) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stopping.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: erasureDay}}); !errors.Is(err, errCrash) {
		t.Fatalf("the stopping recording: %v", err)
	}
	if _, err := at(2).RunRetentionSweep(as(t, auth.RoleClinicManager)); err != nil {
		t.Fatal(err)
	}
	if left := unrestrictedVisits(t, repo, raceOwner); len(left) != 0 {
		t.Errorf("the erased owner keeps the unrestricted visits %v", left)
	}
}

// crashAroundCreateCommunication runs before once just before a communication's write,
// then writes it and stops before the call looks for the erasure.
type crashAroundCreateCommunication struct {
	domain.Repository
	before func()
}

func (r *crashAroundCreateCommunication) CreateCommunication(ctx context.Context, c *domain.Communication) (*domain.Communication, error) {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	if _, err := r.Repository.CreateCommunication(ctx, c); err != nil {
		return nil, err
	}
	return nil, errCrash
}

// TestCommunicationTheErasureMissedIsRemoved: a communication's call passes its check
// before the owner's erasure begins, writes once the erasure is applied and stops
// before it looks for the erasure again, leaving the communication on the erased
// owner. Recorded without a request id it is never retried, and the first sweep after
// the day following the erasure's removes it; with one, its retry is refused
// OWNER_ERASED and removes it.
func TestCommunicationTheErasureMissedIsRemoved(t *testing.T) {
	for _, tc := range []struct {
		name      string
		requestID string
		// after runs once the stopping call has written, with its input.
		after func(t *testing.T, repo domain.Repository, in RecordCommunication) error
	}{
		{"swept", "", func(t *testing.T, repo domain.Repository, _ RecordCommunication) error {
			sweeper, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{Now: func() time.Time { return time.Now().AddDate(0, 0, 2) }})
			if err != nil {
				t.Fatal(err)
			}
			removed, err := sweeper.RunRetentionSweep(as(t, auth.RoleClinicManager))
			if want := []domain.Disposition{{Class: domain.ClassCommunications, Count: 1}}; err == nil && !reflect.DeepEqual(removed.Dispositions(), want) {
				t.Errorf("the sweep reports %+v removed, want %+v", removed.Dispositions(), want)
			}
			return err
		}},
		{"retried", "2f0b6d4f-3e2c-4590-8a9e-570000000001", func(t *testing.T, repo domain.Repository, in RecordCommunication) error {
			retrying, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := retrying.RecordCommunication(as(t, auth.RoleVeterinarian), in); !errors.Is(err, errOwnerErased) {
				return fmt.Errorf("the retry: %w, want OWNER_ERASED", err)
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := raceRepo(t)
			eraser, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			stopping, err := New(&crashAroundCreateCommunication{Repository: repo, before: func() {
				if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
					t.Fatalf("erasure: %v", err)
				}
			}}, &slowRegistry{}, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			in := RecordCommunication{OwnerID: raceOwner, RequestID: tc.requestID, Communication: domain.Communication{
				Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: "called about Rex"}}
			if _, err := stopping.RecordCommunication(as(t, auth.RoleVeterinarian), in); !errors.Is(err, errCrash) {
				t.Fatalf("the stopping recording: %v", err)
			}
			if err := tc.after(t, repo, in); err != nil {
				t.Fatal(err)
			}
			if n, err := repo.CountOwnerCommunications(t.Context(), raceOwner); err != nil || n != 0 {
				t.Errorf("the erased owner keeps %d communications (%v)", n, err)
			}
		})
	}
}

// missesErasureOnce answers the first look for an owner's erasure record as if there
// were none: a check made before the erasure began.
type missesErasureOnce struct {
	domain.Repository
	looked bool
}

func (r *missesErasureOnce) GetErasure(ctx context.Context, ownerID string) (*domain.Erasure, error) {
	if !r.looked {
		r.looked = true
		return nil, fmt.Errorf("owner %s: %w", ownerID, apperr.ErrNotFound)
	}
	return r.Repository.GetErasure(ctx, ownerID)
}

// TestRefusedCommunicationLeavesTheOthersToTheErasure: while the owner's erasure is
// being decided (its record stored, the owner's two communications not yet counted), a
// communication's call is refused OWNER_ERASED, at its first check or, checked before
// the erasure began, at the check after its write. It erases its own communication
// only, so the erasure still answers the owner's two communications erased. A retry
// of a call answered OK before the erasure began (its client lost the answer) leaves
// that communication to the erasure too, which answers it erased. Once the erasure is
// applied, a call checked before it began is refused after its write and erases what
// it wrote.
func TestRefusedCommunicationLeavesTheOthersToTheErasure(t *testing.T) {
	for _, tc := range []struct {
		name      string
		requestID string
		// repo is the store as the refused call sees it.
		repo func(domain.Repository) domain.Repository
		// answered: the call was made and answered OK before the erasure began.
		answered bool
		// applied: the call is made once the erasure is applied, not while it is
		// being decided.
		applied bool
	}{
		{name: "at its first check", repo: sameRepo},
		{name: "a retry at its first check", requestID: "2f0b6d4f-3e2c-4590-8a9e-570000000002", repo: sameRepo},
		{name: "a retry of a call answered before the erasure", requestID: "2f0b6d4f-3e2c-4590-8a9e-570000000009", repo: sameRepo, answered: true},
		{name: "after its write", repo: missesErasure},
		{name: "after its write, the erasure applied", repo: missesErasure, applied: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			repo, plain := serviceAt(t, now)
			vet := as(t, auth.RoleVeterinarian)
			for _, subject := range []string{"called about Rex", "asked for the bill"} {
				if _, err := plain.RecordCommunication(vet, RecordCommunication{OwnerID: raceOwner, Communication: domain.Communication{
					Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: subject}}); err != nil {
					t.Fatal(err)
				}
			}
			call := RecordCommunication{OwnerID: raceOwner, RequestID: tc.requestID, Communication: domain.Communication{
				Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: "called again", Time: now.Add(-time.Hour)}}
			wantErased := 2
			if tc.answered {
				if _, err := plain.RecordCommunication(vet, call); err != nil {
					t.Fatal(err)
				}
				wantErased++
			}
			calling, err := New(tc.repo(repo), &slowRegistry{}, nopAuditor{}, plain.opts)
			if err != nil {
				t.Fatal(err)
			}
			var refused error
			record := func() { _, refused = calling.RecordCommunication(vet, call) }
			race := &erasureRace{Repository: repo, at: "planRead", during: record}
			if tc.applied {
				race.during = nil
			}
			eraser, err := New(race, &slowRegistry{}, nopAuditor{}, plain.opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
			if tc.applied {
				record()
			}
			if err != nil || !errors.Is(refused, errOwnerErased) {
				t.Fatalf("erasure %v, the call %v; want the call refused OWNER_ERASED", err, refused)
			}
			want := []domain.Disposition{{Class: domain.ClassCommunications, Count: wantErased}}
			if !reflect.DeepEqual(res.Dispositions, want) {
				t.Errorf("the erasure answered %+v, want %+v", res.Dispositions, want)
			}
			if n, err := repo.CountOwnerCommunications(t.Context(), raceOwner); err != nil || n != 0 {
				t.Errorf("the erased owner keeps %d communications (%v)", n, err)
			}
		})
	}
}

// sameRepo is the store as it is; missesErasure misses the first look for the owner's
// erasure record (see missesErasureOnce).
func sameRepo(r domain.Repository) domain.Repository { return r }

func missesErasure(r domain.Repository) domain.Repository { return &missesErasureOnce{Repository: r} }
