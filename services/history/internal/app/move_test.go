package app

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/patientowner"
)

const (
	seller = "0b6d4f3e-2c59-4f0a-9e57-0000000000a1"
	buyer  = "0b6d4f3e-2c59-4f0a-9e57-0000000000b1"
)

// soldRegistry stands in for the owner service with racePatient sold by seller to
// buyer at sale.
type soldRegistry struct{ sale time.Time }

func (r soldRegistry) Patient(context.Context, string) (Patient, error) {
	return Patient{ID: racePatient, OwnerID: buyer, Updated: r.sale}, nil
}

func (r soldRegistry) Transfers(context.Context, string) ([]patientowner.Transfer, error) {
	return []patientowner.Transfer{{Version: 2, Time: r.sale, From: seller, To: buyer}}, nil
}

func (soldRegistry) OwnerExists(context.Context, string) error { return nil }

// beforeAmending runs before once, just before an amendment's write.
type beforeAmending struct {
	domain.Repository
	before func()
}

func (r *beforeAmending) AmendVisit(ctx context.Context, id string, expected int64, a domain.Amendment, original, current *domain.Visit) error {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	return r.Repository.AmendVisit(ctx, id, expected, a, original, current)
}

// TestMoveTheSellersErasureMissedIsWithdrawn: a start time corrected to before the sale
// moves the buyer's visit to the seller, whose erasure runs between the correction's
// check and its write and misses it. The correction is withdrawn and refused as any
// write to an erased owner's history, and the visit is the buyer's again, as it was.
func TestMoveTheSellersErasureMissedIsWithdrawn(t *testing.T) {
	sale := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	repo, reg := raceRepo(t), soldRegistry{sale: sale}
	plain, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vet := as(t, auth.RoleVeterinarian)
	v, err := plain.RecordVisit(vet, RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check"}})
	if err != nil || v.OwnerID != buyer {
		t.Fatalf("recorded %+v (%v), want the buyer's visit", v, err)
	}
	racing, err := New(&beforeAmending{Repository: repo, before: func() {
		if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), seller, uuid.NewString()); err != nil {
			t.Fatal(err)
		}
	}}, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = racing.AmendVisit(vet, AmendVisit{ID: v.ID, Version: 1, Reason: "wrong day", OwnerID: seller,
		Paths: []string{"start_time", ownerPath}, Visit: domain.Visit{StartTime: sale.Add(-time.Hour)}})
	if !errors.Is(err, errOwnerErased) {
		t.Errorf("the correction answered %v, want OWNER_ERASED", err)
	}
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Current.OwnerID != buyer || !rec.Current.StartTime.Equal(v.StartTime) || len(rec.Amendments) != 0 {
		t.Errorf("stored %+v with %d amendments, want the buyer's visit as recorded", rec.Current, len(rec.Amendments))
	}
	for owner, want := range map[string]int{seller: 0, buyer: 1} {
		if visits, err := repo.OwnerVisits(t.Context(), owner); err != nil || len(visits) != want {
			t.Errorf("owner %s has %d visits (%v), want %d", owner, len(visits), err, want)
		}
	}
}

// pausing runs beforeAmend just before an amendment's write and beforeMark just before
// the first MarkRestricted, each once.
type pausing struct {
	domain.Repository
	mu                      sync.Mutex
	beforeAmend, beforeMark func()
}

func (r *pausing) take(f *func()) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := *f
	*f = nil
	return g
}

func (r *pausing) AmendVisit(ctx context.Context, id string, expected int64, a domain.Amendment, original, current *domain.Visit) error {
	if f := r.take(&r.beforeAmend); f != nil {
		f()
	}
	return r.Repository.AmendVisit(ctx, id, expected, a, original, current)
}

func (r *pausing) MarkRestricted(ctx context.Context, ownerID string, marks []domain.Mark) ([]int64, error) {
	if f := r.take(&r.beforeMark); f != nil {
		f()
	}
	return r.Repository.MarkRestricted(ctx, ownerID, marks)
}

// TestMoveAwayFromTheSellerAsTheirErasurePlansIt: the seller's visit is corrected to
// after the sale, moving it to the buyer, and the correction's write lands after the
// seller's erasure read and planned the visit, before it marks it. The visit ends the
// buyer's, unrestricted and not held by the seller's erasure (the mark, matched on the
// visit alone, restricted it under the buyer: held by no erasure, hidden for good).
func TestMoveAwayFromTheSellerAsTheirErasurePlansIt(t *testing.T) {
	sale := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	base, reg := raceRepo(t), soldRegistry{sale: sale}
	repo := &pausing{Repository: base}
	svc, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vet := as(t, auth.RoleVeterinarian)
	v, err := svc.RecordVisit(vet, RecordVisit{PatientID: racePatient, OwnerID: seller, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: sale.Add(-time.Hour)}})
	if err != nil || v.OwnerID != seller {
		t.Fatalf("recorded %+v (%v), want the seller's visit", v, err)
	}
	checked, marking, amended := make(chan struct{}), make(chan struct{}), make(chan struct{})
	repo.beforeAmend = func() { close(checked); <-marking }
	repo.beforeMark = func() { close(marking); <-amended }
	erased := make(chan error, 1)
	go func() {
		<-checked
		_, err := svc.EraseOwnerData(as(t, auth.RoleClinicManager), seller, uuid.NewString())
		erased <- err
	}()
	_, _, err = svc.AmendVisit(vet, AmendVisit{ID: v.ID, Version: 1, Reason: "wrong time", OwnerID: buyer,
		Paths: []string{"start_time", ownerPath}, Visit: domain.Visit{StartTime: sale.Add(30 * time.Minute)}})
	close(amended)
	if err != nil {
		t.Fatalf("the correction answered %v", err)
	}
	if err := <-erased; err != nil {
		t.Fatalf("the erasure answered %v", err)
	}
	rec, err := base.GetVisit(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	e, err := base.GetErasure(t.Context(), seller)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Current.OwnerID != buyer || rec.Current.Restricted || e.Holds(v.ID) {
		t.Errorf("the visit is under the buyer=%v, restricted=%v, held by the seller's erasure=%v; want the buyer's, unrestricted, not held",
			rec.Current.OwnerID == buyer, rec.Current.Restricted, e.Holds(v.ID))
	}
	if _, err := svc.GetVisit(vet, v.ID); err != nil {
		t.Errorf("the vet reading the buyer's visit: %v", err)
	}
}
