package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	historymongo "github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/patientowner"
)

const (
	raceOwner   = "0b6d4f3e-2c59-4f0a-9e57-0000000000aa"
	racePatient = "0b6d4f3e-2c59-4f0a-9e57-0000000000bb"
)

// slowRegistry stands in for the owner service (a fake: the race needs a hook between
// the check and the write); during its answer it runs during, as another request would.
type slowRegistry struct {
	during func()
}

func (r *slowRegistry) Patient(context.Context, string) (Patient, error) {
	r.run()
	return Patient{ID: racePatient, OwnerID: raceOwner}, nil
}

// Transfers answers the patient never transferred; Patient's record never changed
// after registration anyway, so it is not asked.
func (r *slowRegistry) Transfers(context.Context, string) ([]patientowner.Transfer, error) {
	return nil, nil
}

func (r *slowRegistry) OwnerExists(context.Context, string) error {
	r.run()
	return nil
}

func (r *slowRegistry) run() {
	if f := r.during; f != nil {
		r.during = nil
		f()
	}
}

func raceRepo(t testing.TB) *historymongo.Repository {
	t.Helper()
	client := embeddedtest.Client(t, embeddedtest.Start(t).URI())
	return historymongo.New(client.Database("race"))
}

func as(t testing.TB, role auth.Role) context.Context {
	return auth.WithIdentity(t.Context(), auth.Identity{Subject: "test-" + string(role), Roles: []auth.Role{role}})
}

// TestRecordsRacingAnErasure erases the owner while a communication and a visit are
// being recorded, between their check and their write: neither is left behind
// unrestricted on the erased owner, and the callers are told.
func TestRecordsRacingAnErasure(t *testing.T) {
	repo := raceRepo(t)
	reg := &slowRegistry{}
	s, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	erase := func() {
		if _, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, uuid.NewString()); err != nil {
			t.Fatal(err)
		}
	}
	reg.during = erase
	_, err = s.RecordCommunication(as(t, auth.RoleVeterinarian), RecordCommunication{OwnerID: raceOwner, Communication: domain.Communication{
		Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: "called about Rex",
	}})
	if !errors.Is(err, errOwnerErased) {
		t.Errorf("a communication racing the erasure: %v, want OWNER_ERASED", err)
	}
	if n, err := repo.CountOwnerCommunications(t.Context(), raceOwner); err != nil || n != 0 {
		t.Errorf("%d communications of the erased owner left (%v)", n, err)
	}

	// On a store of its own, a visit whose check passes while the erasure is decided
	// just before its write.
	repo = raceRepo(t)
	eraser, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	late, err := New(&beforeCreate{Repository: repo, during: func() {
		if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, uuid.NewString()); err != nil {
			t.Fatal(err)
		}
	}}, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = late.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{
		Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-time.Hour),
	}})
	if !errors.Is(err, errOwnerErased) {
		t.Errorf("a visit racing the erasure: %v, want OWNER_ERASED", err)
	}
	visits, err := repo.OwnerVisits(t.Context(), raceOwner)
	if err != nil || len(visits) != 0 {
		t.Errorf("visits of the erased owner: %d (%v)", len(visits), err)
	}
}

// beforeCreate runs during just before a visit is written.
type beforeCreate struct {
	domain.Repository
	during func()
}

func (r *beforeCreate) CreateVisit(ctx context.Context, v *domain.Visit, digest string) (*domain.Visit, error) {
	if f := r.during; f != nil {
		r.during = nil
		f()
	}
	return r.Repository.CreateVisit(ctx, v, digest)
}

// versionRace runs during just after the amendment read the visit.
type versionRace struct {
	domain.Repository
	during func()
}

func (r *versionRace) GetVisit(ctx context.Context, id string) (*domain.VisitRecord, error) {
	rec, err := r.Repository.GetVisit(ctx, id)
	if f := r.during; f != nil {
		r.during = nil
		f()
	}
	return rec, err
}

// TestAmendmentAheadOfItsReadIsRefused sends amendment B at version 2 while the visit is
// at version 1, and amendment A (version 1) lands between B's read and its write: B
// is refused as stale instead of being applied to its old read, undoing A.
func TestAmendmentAheadOfItsReadIsRefused(t *testing.T) {
	repo := raceRepo(t)
	reg := &slowRegistry{}
	plain, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vet := as(t, auth.RoleVeterinarian)
	v, err := plain.RecordVisit(vet, RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check"}})
	if err != nil {
		t.Fatal(err)
	}
	racing, err := New(&versionRace{Repository: repo, during: func() {
		if _, _, err := plain.AmendVisit(vet, AmendVisit{ID: v.ID, Paths: []string{"findings"}, Version: 1, Reason: "A",
			Visit: domain.Visit{Findings: "Fracture."}}); err != nil {
			t.Fatal(err)
		}
	}}, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = racing.AmendVisit(vet, AmendVisit{ID: v.ID, Paths: []string{"follow_up"}, Version: 2, Reason: "B",
		Visit: domain.Visit{FollowUp: "Control in two weeks."}})
	if err == nil {
		t.Error("an amendment at a version ahead of its read was applied")
	}
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil || rec.Current.Findings != "Fracture." {
		t.Errorf("amendment A lost: %+v (%v)", rec.Current, err)
	}
}

// TestRecordVisitRacingARetry records a visit while a call with the same request id
// writes first, between the first's look for it and its write: the same visit is
// answered as the racing call stored it, another one refused, as the retries that come
// after the write are.
func TestRecordVisitRacingARetry(t *testing.T) {
	repo := raceRepo(t)
	reg := &slowRegistry{}
	s, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vet := as(t, auth.RoleVeterinarian)
	limping := domain.Visit{Clinic: domain.ClinicKangasala, Reason: "Limping", StartTime: time.Now().Add(-time.Hour).Truncate(time.Millisecond)}
	vaccination := limping
	vaccination.Reason = "Vaccination"
	for _, tc := range []struct {
		name      string
		requestID string
		racing    domain.Visit
		reused    bool
	}{
		{"the same visit", "form-1", limping, false},
		{"another visit", "form-2", vaccination, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var first *domain.Visit
			reg.during = func() {
				var err error
				if first, err = s.RecordVisit(vet, RecordVisit{PatientID: racePatient, RequestID: tc.requestID, Visit: tc.racing}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.RecordVisit(vet, RecordVisit{PatientID: racePatient, RequestID: tc.requestID, Visit: limping})
			checkRacedRetry(t, got, first, err, tc.reused, func(got, first *domain.Visit) bool {
				return got.ID == first.ID && got.Created.Equal(first.Created)
			})
		})
	}
}

// checkRacedRetry checks the answer (got, err) to a call whose request id a racing call
// used first, storing first: refused with REQUEST_ID_REUSED when reused, else answered
// with first as stored (same tells).
func checkRacedRetry[T any](t *testing.T, got, first T, err error, reused bool, same func(got, first T) bool) {
	t.Helper()
	var pe *apperr.PreconditionError
	switch refused := errors.As(err, &pe) && pe.Reason == "REQUEST_ID_REUSED"; {
	case refused != reused:
		t.Errorf("reused request id: %v (%v), want %v", refused, err, reused)
	case !reused && (err != nil || !same(got, first)):
		t.Errorf("answered %+v (%v), want the racing call's %+v", got, err, first)
	}
}

// TestRecordCommunicationRacingARetry records a communication while a call with the
// same request id writes first, between the first's look for it and its write: the
// same communication is answered as the racing call stored it, another one refused,
// and only the racing call's is stored.
func TestRecordCommunicationRacingARetry(t *testing.T) {
	reg := &slowRegistry{}
	vet := as(t, auth.RoleVeterinarian)
	asks := domain.Communication{Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: "Asks about invoice",
		Time: time.Now().Add(-time.Hour).Truncate(time.Millisecond)}
	complaint := asks
	complaint.Subject = "Complaint about treatment"
	for _, tc := range []struct {
		name   string
		racing domain.Communication
		reused bool
	}{
		{"the same communication", asks, false},
		{"another communication", complaint, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := raceRepo(t)
			s, err := New(repo, reg, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var first *domain.Communication
			reg.during = func() {
				var err error
				if first, err = s.RecordCommunication(vet, RecordCommunication{OwnerID: raceOwner, RequestID: "call-1", Communication: tc.racing}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.RecordCommunication(vet, RecordCommunication{OwnerID: raceOwner, RequestID: "call-1", Communication: asks})
			checkRacedRetry(t, got, first, err, tc.reused, func(got, first *domain.Communication) bool {
				return got.ID == first.ID && got.Created.Equal(first.Created)
			})
			if n, err := repo.CountOwnerCommunications(t.Context(), raceOwner); err != nil || n != 1 {
				t.Errorf("%d communications stored (%v), want the racing call's only", n, err)
			}
		})
	}
}

// TestAmendmentRacingAnErasure lets the owner's erasure restrict (or reduce) a visit
// between an amendment's read of it and its write: the amendment, built on the visit
// as it was before, is refused as stale and the visit stays as the erasure left it,
// with no invoice the erasure did not plan for and no clinical text it removed.
func TestAmendmentRacingAnErasure(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	opts := Options{Now: func() time.Time { return now }}
	for _, tc := range []struct {
		name  string
		visit domain.Visit
		role  auth.Role
		in    AmendVisit
		// keptReason is the visit's reason as the erasure keeps it.
		keptReason string
	}{
		{
			name:  "billing adds an invoice to a visit kept without",
			visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: now.AddDate(0, -1, 0)},
			role:  auth.RoleBilling,
			in: AmendVisit{Paths: []string{"invoices"}, Version: 1, Reason: "invoiced",
				Visit: domain.Visit{Invoices: []domain.Invoice{{Number: "2026-77", State: domain.InvoiceOpen}}}},
			keptReason: "check",
		},
		{
			name:       "a veterinarian corrects a visit kept whole",
			visit:      domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: now.AddDate(0, -1, 0)},
			role:       auth.RoleVeterinarian,
			in:         AmendVisit{Paths: []string{"findings"}, Version: 1, Reason: "seen again", Visit: domain.Visit{Findings: "Fracture."}},
			keptReason: "check",
		},
		{
			name: "a veterinarian corrects a visit reduced to its invoice",
			visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Date(2021, 3, 10, 12, 0, 0, 0, time.UTC),
				Invoices: []domain.Invoice{{Number: "2021-15", State: domain.InvoicePaid}}},
			role: auth.RoleVeterinarian,
			in:   AmendVisit{Paths: []string{"findings"}, Version: 1, Reason: "seen again", Visit: domain.Visit{Findings: "Fracture."}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := raceRepo(t)
			reg := &slowRegistry{}
			plain, err := New(repo, reg, nopAuditor{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			v, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: tc.visit})
			if err != nil {
				t.Fatal(err)
			}
			racing, err := New(&versionRace{Repository: repo, during: func() {
				if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, uuid.NewString()); err != nil {
					t.Fatal(err)
				}
			}}, reg, nopAuditor{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			in := tc.in
			in.ID = v.ID
			if _, a, err := racing.AmendVisit(as(t, tc.role), in); !errors.Is(err, apperr.ErrConflict) {
				t.Errorf("the amendment answered %+v, %v; want a conflict", a, err)
			}
			rec, err := repo.GetVisit(t.Context(), v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Current.Restricted || len(rec.Amendments) != 0 || rec.Current.Findings != "" ||
				len(rec.Current.Invoices) != len(tc.visit.Invoices) || rec.Current.Reason != tc.keptReason {
				t.Errorf("stored %+v with %d amendments; want the visit as the erasure left it", rec.Current, len(rec.Amendments))
			}
		})
	}
}

// erasureRace runs during once, at the erasure's step named by at: "planRead" just
// after it read the owner's visits to plan, "planSaved" just after it stored its plan
// (not yet applied), "mark" just before it marks the visits it read restricted,
// "closing" just before it stores itself closing, "reduce" just before it reduces a
// visit, "reduced" just after.
type erasureRace struct {
	domain.Repository
	at     string
	during func()
}

func (r *erasureRace) run(step string) {
	if f := r.during; f != nil && r.at == step {
		r.during = nil
		f()
	}
}

func (r *erasureRace) OwnerVisits(ctx context.Context, ownerID string) ([]*domain.Visit, error) {
	visits, err := r.Repository.OwnerVisits(ctx, ownerID)
	r.run("planRead")
	return visits, err
}

func (r *erasureRace) SaveErasure(ctx context.Context, e *domain.Erasure) error {
	if e.Closing && !e.Applied {
		r.run("closing")
	}
	err := r.Repository.SaveErasure(ctx, e)
	if len(e.Requests) > 0 && !e.Applied {
		r.run("planSaved")
	}
	return err
}

func (r *erasureRace) ReduceVisit(ctx context.Context, ownerID string, rt domain.VisitRetention, rec *domain.VisitRecord) error {
	r.run("reduce")
	err := r.Repository.ReduceVisit(ctx, ownerID, rt, rec)
	if err == nil {
		r.run("reduced")
	}
	return err
}

func (r *erasureRace) MarkRestricted(ctx context.Context, ownerID string, marks []domain.Mark) ([]int64, error) {
	r.run("mark")
	return r.Repository.MarkRestricted(ctx, ownerID, marks)
}

// billingRace returns a service on a store of its own at now with a visit recorded a
// month before, and billing's amendment adding an open invoice to it under bill-1.
func billingRace(t *testing.T, now time.Time) (*historymongo.Repository, *Service, *domain.Visit, AmendVisit) {
	t.Helper()
	repo := raceRepo(t)
	s, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient,
		Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: now.AddDate(0, -1, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	return repo, s, v, AmendVisit{ID: v.ID, RequestID: "bill-1", Paths: []string{"invoices"}, Version: 1, Reason: "invoiced",
		Visit: domain.Visit{Invoices: []domain.Invoice{{Number: "2026-77", State: domain.InvoiceOpen}}}}
}

// checkRestrictedWithInvoice checks that v is stored restricted with billing's open
// invoice, its content as v shows it and that many amendments, kept for bookkeeping by
// the erasure's plan, and that res, the erasure's answer, needs the identity code as
// long as the invoice is kept. It returns the stored version.
func checkRestrictedWithInvoice(t *testing.T, repo domain.Repository, v *domain.Visit, amendments int, res domain.ErasureResult) int64 {
	t.Helper()
	rec, err := repo.GetVisit(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Current.Restricted || len(rec.Current.Invoices) != 1 || len(rec.Amendments) != amendments ||
		rec.Current.Reason != v.Reason || rec.Current.Findings != v.Findings {
		t.Errorf("stored %+v with amendments %+v; want the visit restricted with the invoice", rec.Current, rec.Amendments)
	}
	e, err := repo.GetErasure(t.Context(), v.OwnerID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(e.Visits, func(r domain.VisitRetention) bool { return r.VisitID == v.ID })
	if i < 0 || e.Visits[i].InvoiceUntil.IsZero() || rec.Retention.InvoiceUntil != e.Visits[i].InvoiceUntil {
		t.Errorf("the erasure holds %+v and the visit %+v; want the invoice kept for bookkeeping", e.Visits, rec.Retention)
	} else if res.IdentityCodeNeededUntil != e.Visits[i].InvoiceUntil {
		t.Errorf("the erasure answered the identity code needed until %v, want %v, the open invoice's bookkeeping end", res.IdentityCodeNeededUntil, e.Visits[i].InvoiceUntil)
	}
	return rec.Current.Version
}

// TestBillingInvoiceAddedWhileErasureRuns lets billing add an invoice to a visit while
// the owner's erasure runs: after it read the visit to plan (without invoices), after
// it stored that plan, and between the apply's read and its marking; on a visit
// recorded as it is and on one a veterinarian corrected before. The amendment is
// answered OK and stands: the erasure finds the visit changed since its plan, plans it
// again and restricts it with the invoice kept for bookkeeping and the identity code
// needed for it, and the amendment's retry is answered as the amendment made.
func TestBillingInvoiceAddedWhileErasureRuns(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		window    string
		corrected bool
	}{
		{"planRead", false}, {"planSaved", false}, {"mark", false},
		{"planRead", true}, {"planSaved", true}, {"mark", true},
	} {
		t.Run(fmt.Sprintf("%s corrected %v", tc.window, tc.corrected), func(t *testing.T) {
			repo, plain, v, in := billingRace(t, now)
			var corrections int
			if tc.corrected {
				var err error
				if v, _, err = plain.AmendVisit(as(t, auth.RoleVeterinarian), AmendVisit{ID: v.ID, Paths: []string{"findings"}, Version: 1,
					Reason: "seen again", Visit: domain.Visit{Findings: "Fracture."}}); err != nil {
					t.Fatal(err)
				}
				in.Version, corrections = v.Version, 1
			}
			var amendErr error
			eraser, err := New(&erasureRace{Repository: repo, at: tc.window, during: func() {
				_, _, amendErr = plain.AmendVisit(as(t, auth.RoleBilling), in)
			}}, &slowRegistry{}, nopAuditor{}, plain.opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, uuid.NewString())
			if err != nil {
				t.Fatal(err)
			}
			if amendErr != nil {
				t.Errorf("the amendment racing the erasure answered %v, want OK", amendErr)
			}
			checkRestrictedWithInvoice(t, repo, v, corrections+1, res)
			if _, a, err := plain.AmendVisit(as(t, auth.RoleBilling), in); err != nil || a.Version != in.Version+1 {
				t.Errorf("the amendment's retry answered %+v, %v; want the amendment made", a, err)
			}
		})
	}
}

// TestVisitRecordedWhileErasurePlans records a visit after the owner's erasure read the
// visits to plan and before it stored the plan: the visit, which the plan does not
// hold, is removed and the caller told, not left unrestricted on the erased owner.
func TestVisitRecordedWhileErasurePlans(t *testing.T) {
	repo := raceRepo(t)
	reg := &slowRegistry{}
	plain, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var recordErr error
	eraser, err := New(&erasureRace{Repository: repo, at: "planRead", during: func() {
		_, recordErr = plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{
			Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-time.Hour),
		}})
	}}, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(recordErr, errOwnerErased) {
		t.Errorf("a visit recorded while the erasure plans: %v, want OWNER_ERASED", recordErr)
	}
	visits, err := repo.OwnerVisits(t.Context(), raceOwner)
	if err != nil || len(visits) != 0 {
		t.Errorf("visits of the erased owner: %+v (%v)", visits, err)
	}
}

// stopsAfterAmending stops (as a process dying would) right after an amendment's write.
type stopsAfterAmending struct{ domain.Repository }

func (r stopsAfterAmending) AmendVisit(ctx context.Context, id string, expected int64, a domain.Amendment, original, current *domain.Visit) error {
	if err := r.Repository.AmendVisit(ctx, id, expected, a, original, current); err != nil {
		return err
	}
	return errCrash
}

// stopsAfterPlanning stops (as a process dying would) right after the erasure stored
// its plan.
type stopsAfterPlanning struct{ domain.Repository }

func (r stopsAfterPlanning) SaveErasure(ctx context.Context, e *domain.Erasure) error {
	if err := r.Repository.SaveErasure(ctx, e); err != nil || len(e.Requests) == 0 || e.Applied {
		return err
	}
	return errCrash
}

// TestAmendmentStoppedWhileErasureRuns: billing's amendment is written after the
// erasure read the visit to plan and its call stops before it looks for the erasure,
// which stops too once it stored its plan. The amendment's retry is answered OK, and
// the erasure, retried, finds the visit changed since its plan and restricts it with
// the invoice kept, answering the identity code needed for it.
func TestAmendmentStoppedWhileErasureRuns(t *testing.T) {
	repo, plain, v, in := billingRace(t, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	stopping, err := New(stopsAfterAmending{repo}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	eraser, err := New(stopsAfterPlanning{&erasureRace{Repository: repo, at: "planRead", during: func() {
		if _, _, err := stopping.AmendVisit(as(t, auth.RoleBilling), in); !errors.Is(err, errCrash) {
			t.Errorf("the stopping amendment: %v", err)
		}
	}}}, &slowRegistry{}, nopAuditor{}, plain.opts)
	if err != nil {
		t.Fatal(err)
	}
	erasure := uuid.NewString()
	if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, erasure); !errors.Is(err, errCrash) {
		t.Fatalf("the stopping erasure: %v", err)
	}
	if _, _, err := plain.AmendVisit(as(t, auth.RoleBilling), in); err != nil {
		t.Errorf("the amendment's retry answered %v, want OK", err)
	}
	res, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, erasure)
	if err != nil {
		t.Fatal(err)
	}
	checkRestrictedWithInvoice(t, repo, v, 1, res)
}
