package app

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	historymongo "github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/audit/audittest"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
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
// The correction was audited about both owners once written, and so is its refusal.
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
	auditor := &audittest.Recorder{}
	racing, err := New(&beforeAmending{Repository: repo, before: func() {
		if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), seller, uuid.NewString()); err != nil {
			t.Fatal(err)
		}
	}}, reg, auditor, Options{})
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
	for _, owner := range []string{buyer, seller} {
		if got, want := outcomesAbout(auditor, "visit.amend", owner), []string{audit.OutcomeSuccess, "denied OWNER_ERASED"}; !slices.Equal(got, want) {
			t.Errorf("the correction is audited about owner %s as %q, want %q", owner, got, want)
		}
	}
}

// TestMoveRetryTheSellersErasureMissedIsRefusedForBoth: a start time corrected to
// before the sale moves the buyer's visit to the seller, whose erasure runs between the
// correction's check and its write and misses it; the correction's call stops after
// its write. Its retry withdraws it and is refused in the audit of both owners, as the
// retry's success would have been audited.
func TestMoveRetryTheSellersErasureMissedIsRefusedForBoth(t *testing.T) {
	sale := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	repo, reg := raceRepo(t), soldRegistry{sale: sale}
	plain, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vet := as(t, auth.RoleVeterinarian)
	v, err := plain.RecordVisit(vet, RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check"}})
	if err != nil {
		t.Fatal(err)
	}
	stopping, err := New(&beforeAmending{Repository: stopsAfterAmending{repo}, before: func() {
		if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), seller, uuid.NewString()); err != nil {
			t.Fatal(err)
		}
	}}, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	move := AmendVisit{ID: v.ID, RequestID: "move-1", Version: 1, Reason: "wrong day", OwnerID: seller,
		Paths: []string{"start_time", ownerPath}, Visit: domain.Visit{StartTime: sale.Add(-time.Hour)}}
	if _, _, err := stopping.AmendVisit(vet, move); !errors.Is(err, errCrash) {
		t.Fatalf("the stopping correction answered %v", err)
	}
	auditor := &audittest.Recorder{}
	retrying, err := New(repo, reg, auditor, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := retrying.AmendVisit(vet, move); !errors.Is(err, errOwnerErased) {
		t.Errorf("the retry answered %v, want OWNER_ERASED", err)
	}
	for _, owner := range []string{buyer, seller} {
		if got, want := outcomesAbout(auditor, "visit.amend", owner), []string{"denied OWNER_ERASED"}; !slices.Equal(got, want) {
			t.Errorf("the retry is audited about owner %s as %q, want %q", owner, got, want)
		}
	}
}

// outcomesAbout lists the outcomes of the events with action about the owner, in the
// order recorded, a refusal with its reason.
func outcomesAbout(r *audittest.Recorder, action, ownerID string) []string {
	var out []string
	for _, e := range r.Events() {
		if e.Action == action && e.SubjectOwnerID == ownerID {
			out = append(out, strings.TrimSpace(e.Outcome+" "+e.Reason))
		}
	}
	return out
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

// moveRace is the seller's visit of racePatient, sold an hour ago, with the service
// whose repository pauses for a move racing the seller's erasure.
type moveRace struct {
	sale time.Time
	base domain.Repository
	repo *pausing
	svc  *Service
	v    *domain.Visit
}

// newMoveRace records the seller's visit years and an hour before the sale.
func newMoveRace(t *testing.T, years int) *moveRace {
	t.Helper()
	m := &moveRace{sale: time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond), base: raceRepo(t)}
	m.repo = &pausing{Repository: m.base}
	var err error
	if m.svc, err = New(m.repo, soldRegistry{sale: m.sale}, nopAuditor{}, Options{}); err != nil {
		t.Fatal(err)
	}
	m.v, err = m.svc.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, OwnerID: seller,
		Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: m.sale.AddDate(-years, 0, 0).Add(-time.Hour)}})
	if err != nil || m.v.OwnerID != seller {
		t.Fatalf("recorded %+v (%v), want the seller's visit", m.v, err)
	}
	return m
}

// movedAsErased corrects the visit at its first version by in, whose write lands after
// the seller's erasure read and planned the visit and before its first mark, and
// returns the erasure's answer.
func (m *moveRace) movedAsErased(t *testing.T, in AmendVisit) domain.ErasureResult {
	t.Helper()
	checked, marking, amended := make(chan struct{}), make(chan struct{}), make(chan struct{})
	m.repo.beforeAmend = func() { close(checked); <-marking }
	m.repo.beforeMark = func() { close(marking); <-amended }
	type answer struct {
		res domain.ErasureResult
		err error
	}
	erased := make(chan answer, 1)
	go func() {
		<-checked
		res, err := m.svc.EraseOwnerData(as(t, auth.RoleClinicManager), seller, uuid.NewString())
		erased <- answer{res, err}
	}()
	in.ID, in.Version = m.v.ID, 1
	_, _, err := m.svc.AmendVisit(as(t, auth.RoleVeterinarian), in)
	close(amended)
	if err != nil {
		t.Fatalf("the correction answered %v", err)
	}
	a := <-erased
	if a.err != nil {
		t.Fatalf("the erasure answered %v", a.err)
	}
	return a.res
}

// TestMoveAwayFromTheSellerAsTheirErasurePlansIt: the seller's visit is corrected to
// after the sale, moving it to the buyer, and the correction's write lands after the
// seller's erasure read and planned the visit, before it marks it. The visit ends the
// buyer's, unrestricted and not held by the seller's erasure (the mark, matched on the
// visit alone, restricted it under the buyer: held by no erasure, hidden for good).
func TestMoveAwayFromTheSellerAsTheirErasurePlansIt(t *testing.T) {
	m := newMoveRace(t, 0)
	m.movedAsErased(t, AmendVisit{Reason: "wrong time", OwnerID: buyer,
		Paths: []string{"start_time", ownerPath}, Visit: domain.Visit{StartTime: m.sale.Add(30 * time.Minute)}})
	rec, err := m.base.GetVisit(t.Context(), m.v.ID)
	if err != nil {
		t.Fatal(err)
	}
	e, err := m.base.GetErasure(t.Context(), seller)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Current.OwnerID != buyer || rec.Current.Restricted || e.Holds(m.v.ID) {
		t.Errorf("the visit is under the buyer=%v, restricted=%v, held by the seller's erasure=%v; want the buyer's, unrestricted, not held",
			rec.Current.OwnerID == buyer, rec.Current.Restricted, e.Holds(m.v.ID))
	}
	if _, err := m.svc.GetVisit(as(t, auth.RoleVeterinarian), m.v.ID); err != nil {
		t.Errorf("the vet reading the buyer's visit: %v", err)
	}
}

// TestOldVisitMovedAwayAsTheSellersErasurePlansItStaysTheBuyers: the seller's visit,
// so old that their erasure plans its removal, is corrected to the buyer's (owner_id
// alone) after the erasure read it and before it applies the plan. The erasure plans
// again without it: its answer erases nothing, it holds no entry for the visit, and the
// sweep after its day leaves the buyer's visit as it is.
func TestOldVisitMovedAwayAsTheSellersErasurePlansItStaysTheBuyers(t *testing.T) {
	m := newMoveRace(t, 30)
	res := m.movedAsErased(t, AmendVisit{Reason: "the buyer's visit", OwnerID: buyer, Paths: []string{ownerPath}})
	for _, d := range res.Dispositions {
		if !d.Kept && d.Count > 0 {
			t.Errorf("the seller's erasure answered %d %s erased, want none: the visit is the buyer's", d.Count, d.Class)
		}
	}
	e, err := m.base.GetErasure(t.Context(), seller)
	if err != nil {
		t.Fatal(err)
	}
	if e.Holds(m.v.ID) {
		t.Error("the seller's erasure holds the buyer's visit")
	}
	later, err := New(m.base, soldRegistry{sale: m.sale}, nopAuditor{}, Options{Now: func() time.Time { return time.Now().Add(72 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	removed, err := later.RunRetentionSweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := m.base.GetVisit(t.Context(), m.v.ID)
	if err != nil {
		t.Fatalf("the buyer's visit after the sweep (which removed %v): %v", removed, err)
	}
	if rec.Current.OwnerID != buyer || rec.Current.Restricted {
		t.Errorf("the visit is under the buyer=%v, restricted=%v; want the buyer's, unrestricted", rec.Current.OwnerID == buyer, rec.Current.Restricted)
	}
}

// TestSweepLeavesAVisitNoLongerTheOwners: an erasure record stored before erasures
// looked up the visits they remove may hold a visit moved to another owner since. The
// sweep past its day drops the entry and leaves the other owner's visit as it is,
// counting nothing of it.
func TestSweepLeavesAVisitNoLongerTheOwners(t *testing.T) {
	m := newMoveRace(t, 0)
	repo, v := m.base, m.v
	if _, err := m.svc.EraseOwnerData(as(t, auth.RoleClinicManager), seller, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The move as such a record's erasure missed it, written past every check.
	moved := rec.Current
	moved.OwnerID, moved.Version = buyer, rec.Current.Version+1
	a := domain.Amendment{Version: moved.Version, Time: time.Now(), Reason: "the buyer's visit", Fields: []string{ownerPath}, MovedFrom: seller}
	if err := repo.AmendVisit(t.Context(), v.ID, rec.Current.Version, a, &rec.Original, &moved); err != nil {
		t.Fatal(err)
	}
	later, err := New(repo, soldRegistry{sale: m.sale}, nopAuditor{}, Options{Now: func() time.Time { return time.Now().AddDate(40, 0, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	removed, err := later.RunRetentionSweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for class, n := range removed {
		if n != 0 {
			t.Errorf("the sweep removed %d %s, want nothing", n, class)
		}
	}
	if _, err := repo.GetVisit(t.Context(), v.ID); err != nil {
		t.Errorf("the buyer's visit after the sweep: %v", err)
	}
	e, err := repo.GetErasure(t.Context(), seller)
	if err != nil {
		t.Fatal(err)
	}
	if e.Holds(v.ID) {
		t.Error("the seller's erasure still holds the buyer's visit")
	}
}

// TestRetryOfAMoveStoredBeforeItsOwnerWasKept: an amendment that moved a visit, stored
// before amendments kept the owner they named (its digest made without it), is still
// answered to its author's retry once an erasure has reduced it, as it was then.
func TestRetryOfAMoveStoredBeforeItsOwnerWasKept(t *testing.T) {
	sale := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	db := embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("race")
	repo, reg := historymongo.New(db), soldRegistry{sale: sale}
	svc, err := New(repo, reg, nopAuditor{}, Options{RequestKey: bytes.Repeat([]byte{7}, MinRequestKey)})
	if err != nil {
		t.Fatal(err)
	}
	vet := auth.WithIdentity(t.Context(), auth.Identity{Subject: "test-vet", Roles: []auth.Role{auth.RoleVeterinarian, auth.RoleClinicManager}})
	v, err := svc.RecordVisit(vet, RecordVisit{PatientID: racePatient, OwnerID: seller, Visit: domain.Visit{Clinic: domain.ClinicKangasala,
		Reason: "check", StartTime: sale.AddDate(-5, -9, 0), Invoices: []domain.Invoice{{Number: "2021-1", State: domain.InvoiceOpen}}}})
	if err != nil {
		t.Fatal(err)
	}
	move := AmendVisit{ID: v.ID, RequestID: "move-1", Version: 1, Reason: "the buyer's visit", OwnerID: buyer, Paths: []string{ownerPath}}
	if _, _, err := svc.AmendVisit(vet, move); err != nil {
		t.Fatal(err)
	}
	// The digest such an amendment was stored with (fields owner_id, the reason, no
	// owner, under the key above), written out so that a change to how amendments are
	// digested, which would refuse these retries, fails here.
	const storedDigest = "JVYtCsOM.9T7udcyazXYBiC5RIAHwvCKWldt465OS_bUaNQ_DoGY"
	if _, err := db.Collection("visits").UpdateOne(t.Context(), bson.M{"_id": v.ID}, bson.M{
		"$unset": bson.M{"amendments.0.owner_id": ""}, "$set": bson.M{"amendments.0.digest": storedDigest},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EraseOwnerData(as(t, auth.RoleClinicManager), buyer, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil || !rec.Current.Restricted || rec.Amendments[0].Reason != "" {
		t.Fatalf("the visit after the erasure: %+v (%v), want it reduced to its invoice", rec, err)
	}
	if _, a, err := svc.AmendVisit(vet, move); err != nil || a.Version != 2 {
		t.Errorf("the retry answered %+v, %v; want the move", a, err)
	}
}
