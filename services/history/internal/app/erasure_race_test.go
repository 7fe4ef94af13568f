package app

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	historymongo "github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
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
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	repo := raceRepo(t)
	opts := Options{Now: func() time.Time { return now }}
	plain, err := New(repo, &slowRegistry{}, nopAuditor{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	open := domain.Invoice{Number: "2026-10", State: domain.InvoiceOpen}
	v, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: now.AddDate(0, -1, 0), Invoices: []domain.Invoice{open}}})
	if err != nil {
		t.Fatal(err)
	}
	var payErr error
	late, err := New(&afterAmend{Repository: repo, during: func() {
		if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
			t.Fatal(err)
		}
		payErr = payInvoice(t, plain, repo, v.ID, open)
	}}, &slowRegistry{}, nopAuditor{}, opts)
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
// horizon.
func TestPaymentDigestAfterErasurePassesItsHorizon(t *testing.T) {
	erasedAt := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := erasedAt.AddDate(0, -2, 0)
	repo := raceRepo(t)
	s, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{Now: func() time.Time { return clock }, Location: time.UTC,
		RequestKey: bytes.Repeat([]byte{7}, MinRequestKey)})
	if err != nil {
		t.Fatal(err)
	}
	open := domain.Invoice{Number: "2026-10", State: domain.InvoiceOpen}
	v, err := s.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, RequestID: "visit-1", Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: clock, Invoices: []domain.Invoice{open}}})
	if err != nil {
		t.Fatal(err)
	}
	clock = erasedAt
	if _, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
		t.Fatal(err)
	}
	clock = erasedAt.AddDate(0, 0, 1)
	if err := payInvoice(t, s, repo, v.ID, open); err != nil {
		t.Fatal(err)
	}
	if rec, err := repo.GetVisit(t.Context(), v.ID); err != nil || len(rec.Amendments) != 1 || rec.Amendments[0].Digest == "" {
		t.Fatalf("the payment is stored as %+v (%v), want it with its digest", rec, err)
	}
	for d := 2; d <= 9; d++ {
		clock = erasedAt.AddDate(0, 0, d)
		if _, err := s.RunRetentionSweep(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Amendments) != 1 {
		t.Fatalf("amendments %+v, want the payment", rec.Amendments)
	}
	for i, a := range rec.Amendments {
		if a.Digest != "" {
			t.Errorf("amendment %d (the payment, %v) still holds its request digest 8 days after its request", i, a.Time)
		}
	}
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

// visitRecordedAfterPlan records a visit that passed its check before the owner's
// erasure began and was written after the erasure stored its plan (which stopped
// there), its call stopping before it looks for the erasure. It returns the store, a
// service on it and the visit's request.
func visitRecordedAfterPlan(t *testing.T) (*historymongo.Repository, *Service, RecordVisit) {
	t.Helper()
	repo := raceRepo(t)
	reg := &slowRegistry{}
	plain, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	eraser, err := New(stopsAfterPlanning{repo}, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopping, err := New(&crashAroundCreate{Repository: repo, before: func() {
		if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); !errors.Is(err, errCrash) {
			t.Fatalf("the stopping erasure: %v", err)
		}
	}}, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := RecordVisit{PatientID: racePatient, RequestID: "form-1", Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-time.Hour).Truncate(time.Millisecond)}}
	if _, err := stopping.RecordVisit(as(t, auth.RoleVeterinarian), in); !errors.Is(err, errCrash) {
		t.Fatalf("the stopping visit: %v", err)
	}
	return repo, plain, in
}

// TestRecordVisitRetryAfterStopIsSettled: a visit passes its check, the erasure reads
// the owner's visits (without it) and stores its plan, the visit is written and its
// call stops before it looks for the erasure. The retry (same request id) settles it
// as the first call would have: removed and refused, not left unrestricted on the
// erased owner.
func TestRecordVisitRetryAfterStopIsSettled(t *testing.T) {
	repo, plain, in := visitRecordedAfterPlan(t)
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

// TestWritesToAVisitTheErasureMissedAreRefused: a visit is recorded after the owner's
// erasure read the visits and stored its plan (its call stopped before its own check);
// a correction of it and one built on that are each refused, each withdrawing only
// itself, and the visit's retry then removes it. Nothing of it is left on the erased
// owner, and the erasure answers as planned.
func TestWritesToAVisitTheErasureMissedAreRefused(t *testing.T) {
	repo, plain, in := visitRecordedAfterPlan(t)
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
