package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ownermongo "github.com/lillvet/register/services/owner/internal/adapters/mongo"
	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/audit/audittest"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/changereason"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/fieldcrypt"
)

type nopAuditor struct{}

func (nopAuditor) Record(context.Context, ...audit.Event) error    { return nil }
func (nopAuditor) RecordNow(context.Context, ...audit.Event) error { return nil }
func (nopAuditor) Reserve(ctx context.Context) (context.Context, func(), error) {
	return ctx, func() {}, nil
}

// restrictingRepo restricts an owner just before the first patient is written under
// them, as a restriction decided between a use case's check and its write would.
type restrictingRepo struct {
	domain.Repository
	svc  *Service
	done bool
}

func (r *restrictingRepo) restrictOnce(ctx context.Context, ownerID string) error {
	if r.done {
		return nil
	}
	r.done = true
	_, err := r.svc.SetOwnerRestriction(ctx, ownerID, true, "objection pending", "")
	return err
}

func (r *restrictingRepo) CreatePatient(ctx context.Context, p *domain.Patient, c domain.Change) (*domain.Patient, error) {
	if err := r.restrictOnce(ctx, p.OwnerID); err != nil {
		return nil, err
	}
	return r.Repository.CreatePatient(ctx, p, c)
}

func (r *restrictingRepo) UpdatePatient(ctx context.Context, p *domain.Patient, expected int64, c domain.Change) (*domain.Patient, error) {
	if err := r.restrictOnce(ctx, p.OwnerID); err != nil {
		return nil, err
	}
	return r.Repository.UpdatePatient(ctx, p, expected, c)
}

// raceSetup returns a repository on a fresh store, the use cases on it, the use cases
// on a restrictingRepo around it, and a clinic manager's context.
func raceSetup(t *testing.T) (*ownermongo.Repository, *Service, *Service, context.Context) {
	t.Helper()
	client := embeddedtest.Client(t, embeddedtest.Start(t).URI())
	keys, err := fieldcrypt.NewKeyring(map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}, "k1", bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	repo := ownermongo.New(client.Database("race"), keys)
	plain, err := New(repo, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	racing, err := New(&restrictingRepo{Repository: repo, svc: plain}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "mgr", Roles: []auth.Role{auth.RoleClinicManager}})
	return repo, plain, racing, ctx
}

// jobOne, jobTwo and jobNine are erasure requests' ids, as the disclosure service's
// erasure job makes them.
const (
	jobOne  = "0199a0b0-0000-7000-8000-000000000001"
	jobTwo  = "0199a0b0-0000-7000-8000-000000000002"
	jobNine = "0199a0b0-0000-7000-8000-000000000009"
)

// asErasureJob is ctx with the erasure job's identity, the only one that starts an
// erasure request with its restriction.
func asErasureJob(ctx context.Context) context.Context {
	return auth.WithIdentity(ctx, auth.Identity{Subject: "service:disclosure-erasure", Roles: []auth.Role{auth.RoleErasureJob}})
}

func wantOwnerRestricted(t *testing.T, what string, err error) {
	t.Helper()
	var pe *apperr.PreconditionError
	if !errors.As(err, &pe) || pe.Reason != "OWNER_RESTRICTED" {
		t.Fatalf("%s: %v, want OWNER_RESTRICTED", what, err)
	}
}

// TestRegistrationRacingARestriction: the owner is restricted between the check and the
// write; the registration is taken back and the caller told, and no active patient is
// left under the restricted owner.
func TestRegistrationRacingARestriction(t *testing.T) {
	repo, plain, racing, ctx := raceSetup(t)
	o, err := plain.CreateOwner(ctx, CreateOwner{Owner: domain.Owner{GivenNames: "Aino", FamilyName: "Laine", Phone: "040 123 4567",
		HomeClinic: domain.ClinicSeinajoki}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = racing.RegisterPatient(ctx, RegisterPatient{OwnerID: o.ID, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog,
		Microchip: "246098100777009"}})
	wantOwnerRestricted(t, "a registration racing a restriction", err)
	patients, err := repo.OwnerPatients(t.Context(), o.ID)
	if err != nil || len(patients) != 0 {
		t.Fatalf("patients under the restricted owner: %v (%v)", patients, err)
	}
	// The microchip's claim went with it: another owner can register the animal.
	other, err := plain.CreateOwner(ctx, CreateOwner{Owner: domain.Owner{GivenNames: "Eino", FamilyName: "Salo", Phone: "040 765 4321",
		HomeClinic: domain.ClinicKangasala}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: other.ID, Patient: domain.Patient{Name: "Rekku",
		Species: domain.SpeciesDog, Microchip: "246098100777009"}}); err != nil {
		t.Fatalf("the microchip after the registration was taken back: %v", err)
	}
}

// TestTransferRacingARestriction: the new owner is restricted between the check and the
// write; the transfer is taken back (in the history too) and the caller told, and the
// patient is the previous owner's again, not one under the restricted owner.
func TestTransferRacingARestriction(t *testing.T) {
	repo, plain, racing, ctx := raceSetup(t)
	owners := createOwners(t, ctx, plain, "Laine", "Salo")
	from, to := owners["Laine"], owners["Salo"]
	p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: from, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = racing.TransferPatient(ctx, p.ID, to, p.Version, "sold")
	wantOwnerRestricted(t, "a transfer racing a restriction", err)
	if patients, err := repo.OwnerPatients(t.Context(), to); err != nil || len(patients) != 0 {
		t.Fatalf("patients under the restricted owner: %v (%v)", patients, err)
	}
	got, err := repo.GetPatient(t.Context(), p.ID)
	if err != nil || got.OwnerID != from || got.Version != p.Version+2 {
		t.Fatalf("the patient after the transfer was taken back: %+v (%v), want owner %s at version %d", got, err, from, p.Version+2)
	}
	changes, err := repo.PatientChanges(t.Context(), p.ID)
	if err != nil || len(changes) != 3 || changes[1].Reason != "sold" || changes[2].Reason != changereason.Untransfer {
		t.Fatalf("the patient's history: %+v (%v), want the transfer and its taking back", changes, err)
	}
	back := []domain.ValueChange{{Field: "owner_id", From: to, To: from}}
	if !slices.Equal(changes[2].Values, back) {
		t.Errorf("the taking back's values: %+v, want %+v", changes[2].Values, back)
	}
}

// afterPatientWrite runs meanwhile once, right after the first patient write lands
// (a registration or an update), as whatever happens between a use case's write and its
// second check would; from then on, reading an owner fails with ownerReadErr when set
// (only the first ownerReadFails reads, when set), and reading a patient with patientReadErr
// (only the first read, when patientReadOnce).
type afterPatientWrite struct {
	domain.Repository
	meanwhile       func(ctx context.Context, written *domain.Patient) error
	ownerReadErr    error
	ownerReadFails  int
	patientReadErr  error
	patientReadOnce bool
	done            bool
}

func (r *afterPatientWrite) CreatePatient(ctx context.Context, p *domain.Patient, c domain.Change) (*domain.Patient, error) {
	created, err := r.Repository.CreatePatient(ctx, p, c)
	return r.landed(ctx, created, err)
}

func (r *afterPatientWrite) UpdatePatient(ctx context.Context, p *domain.Patient, expected int64, c domain.Change) (*domain.Patient, error) {
	written, err := r.Repository.UpdatePatient(ctx, p, expected, c)
	return r.landed(ctx, written, err)
}

func (r *afterPatientWrite) landed(ctx context.Context, written *domain.Patient, err error) (*domain.Patient, error) {
	if err != nil || r.done {
		return written, err
	}
	r.done = true
	if r.meanwhile != nil {
		if err := r.meanwhile(ctx, written); err != nil {
			return nil, err
		}
	}
	return written, nil
}

func (r *afterPatientWrite) GetOwner(ctx context.Context, id string) (*domain.Owner, error) {
	if r.done && r.ownerReadErr != nil {
		err := r.ownerReadErr
		if r.ownerReadFails--; r.ownerReadFails == 0 {
			r.ownerReadErr = nil
		}
		return nil, err
	}
	return r.Repository.GetOwner(ctx, id)
}

func (r *afterPatientWrite) GetPatient(ctx context.Context, id string) (*domain.Patient, error) {
	if r.done && r.patientReadErr != nil {
		err := r.patientReadErr
		if r.patientReadOnce {
			r.patientReadErr = nil
		}
		return nil, err
	}
	return r.Repository.GetPatient(ctx, id)
}

// TestTransferOvertakenAfterItsWrite: the new owner is restricted (and maybe erased, or
// the patient changed) between the transfer's write and its second check. The transfer
// is audited for both owners as soon as it is written; it is taken back (and that is
// audited too) unless the erasure or another transfer reached the patient first, and
// the caller is told what happened: OWNER_ERASED when the erasure holds the patient,
// else why the transfer was refused. When another transfer moved the patient on,
// nothing is taken back: the caller is told the transfer was superseded
// (FAILED_PRECONDITION TRANSFER_SUPERSEDED, not the refusal alone, nor UNAVAILABLE
// saying it was taken back when the new owner cannot be read after the write), after
// the refusal's description when there was one, and that the patient stays with that
// owner (or that it was moved back to its previous owner, when that transfer was back
// to them).
func TestTransferOvertakenAfterItsWrite(t *testing.T) {
	kept := time.Now().AddDate(3, 0, 0).Format(time.DateOnly)
	type scene struct {
		plain          *Service
		from, to, next string
	}
	restrict := func(ctx context.Context, sc scene, _ *domain.Patient) error {
		_, err := sc.plain.SetOwnerRestriction(asErasureJob(ctx), sc.to, true, changereason.Erasure(jobNine), jobNine)
		return err
	}
	erase := func(nameKeptUntil string) func(context.Context, scene, *domain.Patient) error {
		return func(ctx context.Context, sc scene, p *domain.Patient) error {
			if err := restrict(ctx, sc, p); err != nil {
				return err
			}
			_, err := sc.plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: sc.to, RequestID: jobNine, NameKeptUntil: nameKeptUntil})
			return err
		}
	}
	tests := []struct {
		name      string
		meanwhile func(context.Context, scene, *domain.Patient) error
		// owner is who the patient is left with: "from", "to" or "next".
		owner      string
		wantReason string
		// says is part of the refusal's description, when it must tell more.
		says string
		// storeDown fails every read of an owner after the transfer's write.
		storeDown bool
		wantErr   error
		takenBack bool
		erased    bool
		colour    string
	}{
		{name: "restricted", meanwhile: restrict, owner: "from", wantReason: "OWNER_RESTRICTED", takenBack: true},
		{name: "erased, names kept", meanwhile: erase(kept), owner: "to", wantReason: "OWNER_ERASED", erased: true},
		{name: "erased and anonymised", meanwhile: erase(""), owner: "to", wantReason: "OWNER_ERASED", erased: true},
		{
			name: "rectified meanwhile", owner: "from", wantReason: "OWNER_RESTRICTED", takenBack: true, colour: "black",
			meanwhile: func(ctx context.Context, sc scene, p *domain.Patient) error {
				if err := restrict(ctx, sc, p); err != nil {
					return err
				}
				_, err := sc.plain.UpdatePatient(ctx, UpdatePatient{ID: p.ID, Patient: domain.Patient{Colour: "black"}, Paths: []string{"colour"},
					Version: p.Version, Reason: "seen at the desk"})
				return err
			},
		},
		{
			name: "transferred on meanwhile", owner: "next", wantReason: "TRANSFER_SUPERSEDED",
			says: "the owner's data is restricted while an erasure or objection is pending: the transfer was written, then superseded: the patient was transferred on to another owner, who keeps it",
			meanwhile: func(ctx context.Context, sc scene, p *domain.Patient) error {
				if err := restrict(ctx, sc, p); err != nil {
					return err
				}
				_, err := sc.plain.TransferPatient(ctx, p.ID, sc.next, p.Version, "sold on")
				return err
			},
		},
		{
			name: "owner unreadable, transferred on meanwhile", owner: "next", storeDown: true, wantReason: "TRANSFER_SUPERSEDED",
			says: "superseded: the patient was transferred on to another owner, who keeps it, before the transfer could be taken back (the new owner could not be checked after the write)",
			meanwhile: func(ctx context.Context, sc scene, p *domain.Patient) error {
				_, err := sc.plain.TransferPatient(ctx, p.ID, sc.next, p.Version, "sold on")
				return err
			},
		},
		{
			name: "moved back meanwhile", owner: "from", wantReason: "TRANSFER_SUPERSEDED",
			says: "the owner's data is restricted while an erasure or objection is pending: the transfer was written, then superseded: the patient was moved back to its previous owner since",
			meanwhile: func(ctx context.Context, sc scene, p *domain.Patient) error {
				if err := restrict(ctx, sc, p); err != nil {
					return err
				}
				_, err := sc.plain.TransferPatient(ctx, p.ID, sc.from, p.Version, "sale cancelled")
				return err
			},
		},
		{
			name: "owner unreadable, moved back meanwhile", owner: "from", storeDown: true, wantReason: "TRANSFER_SUPERSEDED",
			says: "superseded: the patient was moved back to its previous owner since",
			meanwhile: func(ctx context.Context, sc scene, p *domain.Patient) error {
				_, err := sc.plain.TransferPatient(ctx, p.ID, sc.from, p.Version, "sale cancelled")
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			owners := createOwners(t, ctx, plain, "from", "to", "next")
			sc := scene{plain: plain, from: owners["from"], to: owners["to"], next: owners["next"]}
			aud := &audittest.Recorder{}
			racingRepo := &afterPatientWrite{Repository: repo, meanwhile: func(ctx context.Context, p *domain.Patient) error {
				return tt.meanwhile(ctx, sc, p)
			}}
			if tt.storeDown {
				racingRepo.ownerReadErr = errors.New("connection reset by peer")
			}
			racing, err := New(racingRepo, aud, Options{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owners["from"], Patient: domain.Patient{Name: "Rekku",
				Species: domain.SpeciesDog, Microchip: "246098100777009"}})
			if err != nil {
				t.Fatal(err)
			}

			_, err = racing.TransferPatient(ctx, p.ID, owners["to"], p.Version, "sold")
			var pe *apperr.PreconditionError
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("the transfer: %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && (!errors.As(err, &pe) || pe.Reason != tt.wantReason || !strings.Contains(pe.Description, tt.says)):
				t.Errorf("the transfer: %v, want %s saying %q", err, tt.wantReason, tt.says)
			case tt.wantErr == nil && errors.Is(err, apperr.ErrConflict):
				t.Errorf("the transfer: %v, a conflict that would answer ABORTED, which invites sending it again as it was", err)
			case tt.wantErr == nil && status.Code(apperr.ToStatus(ctx, nil, err)) != codes.FailedPrecondition:
				t.Errorf("the transfer: %v, answered %v, want FAILED_PRECONDITION", err, status.Code(apperr.ToStatus(ctx, nil, err)))
			}
			got, err := repo.GetPatient(t.Context(), p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.OwnerID != owners[tt.owner] || (got.Erased || got.Anonymised) != tt.erased || got.Colour != tt.colour {
				t.Errorf("the patient: owner %s erased %v anonymised %v colour %q, want owner %s (%s) erased %v colour %q",
					got.OwnerID, got.Erased, got.Anonymised, got.Colour, owners[tt.owner], tt.owner, tt.erased, tt.colour)
			}
			both := []string{owners["to"], owners["from"]}
			if s := aud.Subjects("patient.transfer"); !slices.Equal(s, both) {
				t.Errorf("patient.transfer audited for %v, want the new and the previous owner %v", s, both)
			}
			var wantBack []string
			if tt.takenBack {
				wantBack = both
			}
			if s := aud.Subjects("patient.transfer.taken_back"); !slices.Equal(s, wantBack) {
				t.Errorf("patient.transfer.taken_back audited for %v, want %v", s, wantBack)
			}
		})
	}
}

// TestSecondCheckAfterTheWrite: the second check of a registration or transfer, and the
// taking back, run to the end when the caller goes away right after the write (a valid
// write stands, one the restriction overtook is taken back); when the owner cannot be
// read after the write, the write is taken back and the caller told UNAVAILABLE. A
// registration rectified before it could be taken back stays, and the owner read again
// decides the answer: the patient as it is now when the owner is active,
// REGISTRATION_NOT_TAKEN_BACK after the refusal's description when restricted, never
// OWNER_RESTRICTED alone (read as "nothing written") nor UNAVAILABLE saying it was taken
// back (a caller sending it again, with no request id, would register the animal twice).
// One rectified when the patient or the owner cannot be read again stays too, answered
// FAILED_PRECONDITION REGISTRATION_NOT_TAKEN_BACK naming the patient, never ABORTED by
// the conflict; one transferred to another owner meanwhile stays with them, and the
// answer says so. A registration is audited once when written, and its taking back only
// when it was taken back.
func TestSecondCheckAfterTheWrite(t *testing.T) {
	tests := []struct {
		name     string
		transfer bool
		// restrict restricts the owner written to right after the write, and rectify
		// rectifies the patient (the colour).
		restrict   bool
		rectify    bool
		callerGone bool
		storeDown  bool
		// storeBlip fails only the second check's read of the owner, storeBlips that
		// many reads of it; patientDown every read of the patient after the write,
		// patientBlip only the first.
		storeBlip   bool
		storeBlips  int
		patientDown bool
		patientBlip bool
		// moved transfers the registered patient to the other owner right after the write,
		// and erase then erases the owner written to.
		moved bool
		erase bool
		// stands: no error, the patient under the owner written to; kept: an error, and
		// the patient stays there all the same.
		stands     bool
		kept       bool
		wantReason string
		says       string
		wantErr    error
	}{
		{name: "transfer, caller gone", transfer: true, callerGone: true, stands: true},
		{name: "transfer, caller gone, restricted", transfer: true, callerGone: true, restrict: true, wantReason: "OWNER_RESTRICTED"},
		{name: "transfer, owner unreadable", transfer: true, storeDown: true, wantErr: apperr.ErrUnavailable},
		{name: "transfer, restricted, rectified meanwhile, patient unreadable once", transfer: true, restrict: true, rectify: true, patientBlip: true,
			wantReason: "OWNER_RESTRICTED"},
		{
			name: "transfer, restricted, rectified meanwhile, patient unreadable", transfer: true, restrict: true, rectify: true, patientDown: true,
			kept: true, wantReason: "TRANSFER_NOT_TAKEN_BACK", says: "the owner's data is restricted while an erasure or objection is pending: the transfer of patient ",
		},
		{
			name: "transfer, owner unreadable once, rectified meanwhile, patient unreadable", transfer: true, storeBlip: true, rectify: true, patientDown: true,
			kept: true, wantReason: "TRANSFER_NOT_TAKEN_BACK", says: "it could not be read again",
		},
		{name: "registration, caller gone", callerGone: true, stands: true},
		{name: "registration, caller gone, restricted", callerGone: true, restrict: true, wantReason: "OWNER_RESTRICTED"},
		{name: "registration, owner unreadable", storeDown: true, wantErr: apperr.ErrUnavailable},
		{name: "registration, owner unreadable once, rectified meanwhile", storeBlip: true, rectify: true, stands: true},
		{name: "registration, owner unreadable twice, rectified meanwhile", storeBlips: 2, rectify: true, stands: true},
		{
			name: "registration, owner unreadable once, rectified meanwhile, restricted", storeBlip: true, rectify: true, restrict: true,
			kept: true, wantReason: "REGISTRATION_NOT_TAKEN_BACK", says: "the owner's data is restricted while an erasure or objection is pending: the patient ",
		},
		{
			name: "registration, owner unreadable, rectified meanwhile", storeDown: true, rectify: true,
			kept: true, wantReason: "REGISTRATION_NOT_TAKEN_BACK", says: "so it stays registered (the owner could not be read again)",
		},
		{
			name: "registration, owner unreadable once, rectified meanwhile, patient unreadable", storeBlip: true, rectify: true, patientDown: true,
			kept: true, wantReason: "REGISTRATION_NOT_TAKEN_BACK", says: "so it stays registered (the patient could not be read again)",
		},
		{name: "registration, owner unreadable once, rectified meanwhile, patient unreadable once", storeBlip: true, rectify: true, patientBlip: true, stands: true},
		{
			name: "registration, restricted, transferred meanwhile", restrict: true, moved: true,
			wantReason: "REGISTRATION_NOT_TAKEN_BACK", says: "so it stays registered (it was transferred to another owner since, who keeps it)",
		},
		{
			name: "registration, transferred meanwhile, owner erased, patient unreadable", restrict: true, moved: true, erase: true, patientDown: true,
			wantReason: "OWNER_ERASED", says: "unless it was transferred to another owner meanwhile",
		},
		{
			name: "registration, owner unreadable, transferred meanwhile", storeDown: true, moved: true,
			wantReason: "REGISTRATION_NOT_TAKEN_BACK", says: "it was transferred to another owner since, who keeps it",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			owners := createOwners(t, ctx, plain, "Laine", "Salo")
			from, to := owners["Laine"], owners["Salo"]
			call, hangUp := context.WithCancel(ctx)
			defer hangUp()
			racingRepo := &afterPatientWrite{Repository: repo, meanwhile: func(_ context.Context, p *domain.Patient) error {
				if tt.rectify {
					if _, err := plain.UpdatePatient(ctx, UpdatePatient{ID: p.ID, Patient: domain.Patient{Colour: "black"}, Paths: []string{"colour"},
						Version: p.Version, Reason: "seen at the desk"}); err != nil {
						return err
					}
				}
				if tt.moved {
					if _, err := plain.TransferPatient(ctx, p.ID, from, p.Version, "sold"); err != nil {
						return err
					}
				}
				if tt.restrict {
					if _, err := plain.SetOwnerRestriction(ctx, to, true, "objection pending", ""); err != nil {
						return err
					}
				}
				if tt.erase {
					if _, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: to, RequestID: jobOne, NameKeptUntil: "2060-12-31"}); err != nil {
						return err
					}
				}
				if tt.callerGone {
					hangUp()
				}
				return nil
			}}
			if tt.storeBlip {
				tt.storeBlips = 1
			}
			if tt.storeDown || tt.storeBlips > 0 {
				racingRepo.ownerReadErr = errors.New("connection reset by peer")
				racingRepo.ownerReadFails = tt.storeBlips
			}
			if tt.patientDown || tt.patientBlip {
				racingRepo.patientReadErr = errors.New("connection reset by peer")
				racingRepo.patientReadOnce = tt.patientBlip
			}
			aud := &audittest.Recorder{}
			racing, err := New(racingRepo, aud, Options{})
			if err != nil {
				t.Fatal(err)
			}

			var patientID string
			var answer *domain.Patient
			if tt.transfer {
				p, rerr := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: from, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
				if rerr != nil {
					t.Fatal(rerr)
				}
				patientID = p.ID
				answer, err = racing.TransferPatient(call, p.ID, to, p.Version, "sold")
			} else {
				answer, err = racing.RegisterPatient(call, RegisterPatient{OwnerID: to, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
			}
			var pe *apperr.PreconditionError
			switch {
			case tt.stands && err != nil:
				t.Errorf("a valid write: %v", err)
			case tt.stands && tt.rectify && (answer == nil || answer.Colour != "black"):
				t.Errorf("a valid write rectified meanwhile answered %+v, want the patient as it is now (colour black)", answer)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("%v, want %v", err, tt.wantErr)
			case tt.wantReason != "" && (!errors.As(err, &pe) || pe.Reason != tt.wantReason || !strings.Contains(pe.Description, tt.says)):
				t.Errorf("%v, want %s saying %q", err, tt.wantReason, tt.says)
			case tt.wantReason != "" && status.Code(apperr.ToStatus(ctx, nil, err)) != codes.FailedPrecondition:
				t.Errorf("%v, answered %v, want FAILED_PRECONDITION", err, status.Code(apperr.ToStatus(ctx, nil, err)))
			}
			under, err := repo.OwnerPatients(t.Context(), to)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(under) == 1; got != (tt.stands || tt.kept) {
				t.Errorf("%d patients under the owner written to, want the patient to stay: %v", len(under), tt.stands || tt.kept)
			}
			if strings.HasSuffix(tt.wantReason, "_NOT_TAKEN_BACK") && len(under) == 1 && (pe == nil || !strings.Contains(pe.Description, under[0].ID)) {
				t.Errorf("%v, want the patient %s named", err, under[0].ID)
			}
			if !tt.transfer {
				if tt.moved {
					if left, err := repo.OwnerPatients(t.Context(), from); err != nil || len(left) != 1 {
						t.Errorf("patients under the owner it was transferred to: %+v (%v), want it", left, err)
					}
				}
				if s := aud.Subjects("patient.create"); !slices.Equal(s, []string{to}) {
					t.Errorf("patient.create audited for %v, want once for %s", s, to)
				}
				back := []string(nil)
				if !tt.stands && !tt.kept && !tt.moved {
					back = []string{to}
				}
				if s := aud.Subjects("patient.create.taken_back"); !slices.Equal(s, back) {
					t.Errorf("patient.create.taken_back audited for %v, want %v", s, back)
				}
				return
			}
			back := []string(nil)
			if !tt.stands && !tt.kept {
				back = []string{to, from}
				changes, err := repo.PatientChanges(t.Context(), patientID)
				if err != nil || len(changes) < 3 || changes[len(changes)-1].Reason != changereason.Untransfer {
					t.Errorf("the patient's history: %+v (%v), want the transfer and its taking back", changes, err)
				}
			}
			if s := aud.Subjects("patient.transfer.taken_back"); !slices.Equal(s, back) {
				t.Errorf("patient.transfer.taken_back audited for %v, want %v", s, back)
			}
		})
	}
}

// beforeErasureApplied runs meanwhile once, when an erasure has read the owner and listed
// its patients and is about to apply its plan.
type beforeErasureApplied struct {
	domain.Repository
	meanwhile func()
}

func (r *beforeErasureApplied) ApplyErasure(ctx context.Context, o *domain.Owner, plan domain.ErasurePlan, c domain.Change, requestID string) (*domain.Owner, []domain.Disposition, error) {
	if r.meanwhile != nil {
		r.meanwhile()
		r.meanwhile = nil
	}
	return r.Repository.ApplyErasure(ctx, o, plan, c, requestID)
}

// TestWriteDuringAnErasure: an erasure called on an owner not yet restricted restricts
// it (as its own change) before it lists the patients, so a registration or transfer
// landing after the listing is refused or taken back, and no active patient is left
// under the erased owner.
func TestWriteDuringAnErasure(t *testing.T) {
	tests := []struct {
		name  string
		write func(ctx context.Context, plain *Service, to string, p *domain.Patient) error
	}{
		{"registration", func(ctx context.Context, plain *Service, to string, _ *domain.Patient) error {
			_, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: to, Patient: domain.Patient{Name: "Musti", Species: domain.SpeciesCat}})
			return err
		}},
		{"transfer", func(ctx context.Context, plain *Service, to string, p *domain.Patient) error {
			_, err := plain.TransferPatient(ctx, p.ID, to, p.Version, "sold")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			owners := createOwners(t, ctx, plain, "Laine", "Salo")
			from, to := owners["Laine"], owners["Salo"]
			p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: from, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			wrapped := &beforeErasureApplied{Repository: repo, meanwhile: func() { werr = tt.write(ctx, plain, to, p) }}
			eraser, err := New(wrapped, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}

			if _, err := eraser.EraseOwnerData(ctx, EraseOwnerData{OwnerID: to, RequestID: jobOne}); err != nil {
				t.Fatal(err)
			}
			if pe := (*apperr.PreconditionError)(nil); !errors.As(werr, &pe) || pe.Reason != "OWNER_RESTRICTED" {
				t.Errorf("a write while the owner's erasure runs: %v, want OWNER_RESTRICTED", werr)
			}
			under, err := repo.OwnerPatients(t.Context(), to)
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range under {
				if !got.Erased && !got.Anonymised {
					t.Errorf("an active patient %+v is left under the erased owner", got)
				}
			}
			changes, err := repo.OwnerChanges(t.Context(), to)
			if err != nil {
				t.Fatal(err)
			}
			var fields [][]string
			for _, c := range changes[1:] {
				if c.Reason != changereason.Erasure(jobOne) {
					t.Errorf("the owner's change %v has reason %q, want the erasure request's", c.Fields, c.Reason)
				}
				fields = append(fields, c.Fields)
			}
			if len(fields) != 2 || !slices.Equal(fields[0], []string{"restricted"}) || slices.Contains(fields[1], "restricted") {
				t.Errorf("the owner's changes after its registration: %v, want the restriction, then the erasure", fields)
			}
		})
	}
}

// TestErasureAnswersThePatientsItCovered: a patient of the owner is transferred away,
// or its registration taken back, after the erasure listed the owner's patients and
// before it reached them; the erasure's answer, and the answer stored for its retries,
// count only the patients it covered.
func TestErasureAnswersThePatientsItCovered(t *testing.T) {
	kept := time.Now().AddDate(3, 0, 0).Format(time.DateOnly)
	tests := []struct {
		name string
		gone func(ctx context.Context, repo domain.Repository, plain *Service, p *domain.Patient, other string) error
	}{
		{"transferred away", func(ctx context.Context, _ domain.Repository, plain *Service, p *domain.Patient, other string) error {
			_, err := plain.TransferPatient(ctx, p.ID, other, p.Version, "sold")
			return err
		}},
		{"registration taken back", func(ctx context.Context, repo domain.Repository, _ *Service, p *domain.Patient, _ string) error {
			return repo.DeletePatient(ctx, p.ID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			owners := createOwners(t, ctx, plain, "Laine", "Salo")
			var pets []*domain.Patient
			for _, name := range []string{"Rekku", "Musti"} {
				p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owners["Laine"], Patient: domain.Patient{Name: name, Species: domain.SpeciesDog}})
				if err != nil {
					t.Fatal(err)
				}
				pets = append(pets, p)
			}
			eraser, err := New(&beforeErasureApplied{Repository: repo, meanwhile: func() {
				if err := tt.gone(ctx, repo, plain, pets[0], owners["Salo"]); err != nil {
					t.Error(err)
				}
			}}, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			in := EraseOwnerData{OwnerID: owners["Laine"], RequestID: jobOne, NameKeptUntil: kept}
			answer, err := eraser.EraseOwnerData(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			retried, err := plain.EraseOwnerData(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			want := domain.Disposition{Class: domain.ClassPatients, Kept: true, Basis: domain.BasisVeterinaryRecords, KeptUntil: kept, Count: 1}
			for what, got := range map[string][]domain.Disposition{"the answer": answer, "the stored answer": retried} {
				i := slices.IndexFunc(got, func(d domain.Disposition) bool { return d.Class == domain.ClassPatients })
				if i < 0 || got[i] != want {
					t.Errorf("%s: %+v, want %+v among them", what, got, want)
				}
			}
		})
	}
}

// liftDuringErasure tries, once, to lift the owner's restriction and register a patient
// under the owner at the point of an erasure named by at: right after the erasure
// recorded its request ("started"), or once it has listed the owner's patients
// ("listed").
type liftDuringErasure struct {
	domain.Repository
	at   string
	lift func(ctx context.Context, ownerID string) error
}

func (r *liftDuringErasure) liftAt(ctx context.Context, at, ownerID string) error {
	if r.lift == nil || r.at != at {
		return nil
	}
	lift := r.lift
	r.lift = nil
	return lift(ctx, ownerID)
}

func (r *liftDuringErasure) StartErasure(ctx context.Context, o *domain.Owner, requestID string, c domain.Change) (*domain.Owner, error) {
	started, err := r.Repository.StartErasure(ctx, o, requestID, c)
	if err == nil {
		err = r.liftAt(ctx, "started", o.ID)
	}
	return started, err
}

func (r *liftDuringErasure) ApplyErasure(ctx context.Context, o *domain.Owner, plan domain.ErasurePlan, c domain.Change, requestID string) (*domain.Owner, []domain.Disposition, error) {
	if err := r.liftAt(ctx, "listed", o.ID); err != nil {
		return nil, nil, err
	}
	return r.Repository.ApplyErasure(ctx, o, plan, c, requestID)
}

// TestLiftRefusedOnceAnErasureStarted: an erasure request cannot be cancelled, so once
// its restriction is in place (the erasure job's first step, or EraseOwnerData's own),
// a clinic manager's lift is refused (ERASURE_IN_PROGRESS) and changes nothing, a
// registration under the owner stays refused, and the erasure completes. Before, a lift
// was either overruled by the erasure restricting again, or stopped it after it had
// anonymised the patients.
func TestLiftRefusedOnceAnErasureStarted(t *testing.T) {
	tests := []struct {
		name string
		// before restricts the owner before the erasure: "job" as the erasure job's
		// first step does, "objection" for another reason, "legacy" with the job's
		// reason but without the request (a job created before requests were recorded).
		before string
		// at is where the lift comes: "" between the job's restriction and the erasure,
		// else inside the erasure (liftDuringErasure).
		at string
	}{
		{name: "lifted between the job's restriction and the erasure", before: "job"},
		{name: "lifted after the erasure's restriction", at: "started"},
		{name: "lifted while the erasure writes the patients", at: "listed"},
		{name: "objection lifted while the erasure writes the patients", before: "objection", at: "listed"},
		{name: "legacy restriction lifted after the erasure recorded its request", before: "legacy", at: "started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			owner := createOwners(t, ctx, plain, "Laine")["Laine"]
			if _, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}}); err != nil {
				t.Fatal(err)
			}
			restrict := map[string][2]string{
				"job": {changereason.Erasure(jobOne), jobOne}, "objection": {"objection pending", ""}, "legacy": {changereason.Erasure(jobOne), ""},
			}
			if r, ok := restrict[tt.before]; ok {
				if _, err := plain.SetOwnerRestriction(asErasureJob(ctx), owner, true, r[0], r[1]); err != nil {
					t.Fatal(err)
				}
			}
			var liftErr, registerErr error
			lift := func(ctx context.Context, id string) error {
				_, liftErr = plain.SetOwnerRestriction(ctx, id, false, "objection withdrawn", "")
				_, registerErr = plain.RegisterPatient(ctx, RegisterPatient{OwnerID: id, Patient: domain.Patient{Name: "Musti", Species: domain.SpeciesDog}})
				return nil
			}
			eraser, err := plain, error(nil)
			if tt.at == "" {
				err = lift(ctx, owner)
			} else {
				eraser, err = New(&liftDuringErasure{Repository: repo, at: tt.at, lift: lift}, nopAuditor{}, Options{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := eraser.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobOne}); err != nil {
				t.Fatalf("the erasure: %v", err)
			}

			var pe *apperr.PreconditionError
			if !errors.As(liftErr, &pe) || pe.Reason != "ERASURE_IN_PROGRESS" {
				t.Errorf("the lift: %v, want ERASURE_IN_PROGRESS", liftErr)
			}
			wantOwnerRestricted(t, "the registration after the refused lift", registerErr)
			o, err := repo.GetOwner(t.Context(), owner)
			if err != nil || !o.Restricted || !o.Erased || !o.Anonymised {
				t.Fatalf("the owner after its erasure: %+v (%v), want it restricted, erased and anonymised", o, err)
			}
			if _, done, err := repo.ErasureAnswer(t.Context(), owner, jobOne); !done || err != nil {
				t.Errorf("the erasure stored no answer (%v)", err)
			}
			wantNoActivePatient(t, repo, owner, true)
		})
	}
}

// staleLift is a repository whose first read of an owner is overtaken by the erasure
// job's restriction (run), as a lift read just before it would be.
type staleLift struct {
	domain.Repository
	run func(ctx context.Context, id string) error
}

func (r *staleLift) GetOwner(ctx context.Context, id string) (*domain.Owner, error) {
	o, err := r.Repository.GetOwner(ctx, id)
	if run := r.run; err == nil && run != nil {
		r.run = nil
		err = run(ctx, id)
	}
	return o, err
}

// TestLiftReadBeforeTheErasureStarted: a lift that read the owner restricted (by an
// objection, so the erasure job's restriction moves no version) before the job recorded
// its request does not land after it: it is refused as the request is found.
func TestLiftReadBeforeTheErasureStarted(t *testing.T) {
	repo, plain, _, ctx := raceSetup(t)
	owner := createOwners(t, ctx, plain, "Laine")["Laine"]
	if _, err := plain.SetOwnerRestriction(ctx, owner, true, "objection pending", ""); err != nil {
		t.Fatal(err)
	}
	lifter, err := New(&staleLift{Repository: repo, run: func(ctx context.Context, id string) error {
		_, err := plain.SetOwnerRestriction(asErasureJob(ctx), id, true, changereason.Erasure(jobOne), jobOne)
		return err
	}}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = lifter.SetOwnerRestriction(ctx, owner, false, "objection withdrawn", "")
	if pe := (*apperr.PreconditionError)(nil); !errors.As(err, &pe) || pe.Reason != "ERASURE_IN_PROGRESS" {
		t.Fatalf("the lift: %v, want ERASURE_IN_PROGRESS", err)
	}
	if o, err := repo.GetOwner(t.Context(), owner); err != nil || !o.Restricted {
		t.Fatalf("the owner after the refused lift: %+v (%v), want it restricted", o, err)
	}
}

// TestAnsweredRequestIsNotPendingAgain: the erasure job's restriction repeated after its
// erasure ran (a job resumed from its first step) leaves no request pending, as nothing
// would ever remove it; nor does one that read the owner before the answer landed.
func TestAnsweredRequestIsNotPendingAgain(t *testing.T) {
	tests := []struct {
		name string
		// stale starts the request again from the owner read before its answer.
		stale bool
	}{
		{name: "restriction repeated after the erasure"},
		{name: "restriction read before the answer landed", stale: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			owner := createOwners(t, ctx, plain, "Laine")["Laine"]
			if _, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobOne}); err != nil {
				t.Fatal(err)
			}
			// A second request on the erased owner changes nothing on it, so its answer
			// moves no version that a stale start would trip on.
			read, err := repo.GetOwner(ctx, owner)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobNine}); err != nil {
				t.Fatal(err)
			}
			if tt.stale {
				_, err = repo.StartErasure(ctx, read, jobNine, domain.Change{Reason: changereason.Erasure(jobNine)})
				if !errors.Is(err, apperr.ErrConflict) {
					t.Errorf("starting an answered request from a stale read: %v, want a conflict", err)
				}
			} else {
				_, err = plain.SetOwnerRestriction(asErasureJob(ctx), owner, true, changereason.Erasure(jobNine), jobNine)
				if err != nil {
					t.Fatal(err)
				}
			}
			if o, err := repo.GetOwner(ctx, owner); err != nil || len(o.PendingErasures) > 0 {
				t.Fatalf("the owner after its requests were answered: pending %q (%v), want none", o.PendingErasures, err)
			}
		})
	}
}

// TestRegistrationOvertakenAfterItsWrite: the owner is restricted (and maybe erased)
// between a registration's write and its second check. The registration is audited as
// soon as it is written; it is taken back (and that is audited too) unless the erasure
// reached the patient first, and the caller is told what happened: refused only when
// the patient is gone.
func TestRegistrationOvertakenAfterItsWrite(t *testing.T) {
	kept := time.Now().AddDate(3, 0, 0).Format(time.DateOnly)
	tests := []struct {
		name string
		// erase runs the owner's erasure after its restriction, keeping the names until
		// nameKeptUntil.
		erase         bool
		nameKeptUntil string
		wantReason    string
	}{
		{name: "restricted", wantReason: "OWNER_RESTRICTED"},
		{name: "erased, names kept", erase: true, nameKeptUntil: kept, wantReason: "OWNER_ERASED"},
		{name: "erased and anonymised", erase: true, wantReason: "OWNER_ERASED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			o, err := plain.CreateOwner(ctx, CreateOwner{Owner: domain.Owner{GivenNames: "Aino", FamilyName: "Laine", Phone: "040 123 4567",
				HomeClinic: domain.ClinicSeinajoki}})
			if err != nil {
				t.Fatal(err)
			}
			aud := &audittest.Recorder{}
			racing, err := New(&afterPatientWrite{Repository: repo, meanwhile: func(ctx context.Context, _ *domain.Patient) error {
				if _, err := plain.SetOwnerRestriction(asErasureJob(ctx), o.ID, true, changereason.Erasure(jobNine), jobNine); err != nil || !tt.erase {
					return err
				}
				_, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: o.ID, RequestID: jobNine, NameKeptUntil: tt.nameKeptUntil})
				return err
			}}, aud, Options{})
			if err != nil {
				t.Fatal(err)
			}

			_, err = racing.RegisterPatient(ctx, RegisterPatient{OwnerID: o.ID, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog,
				Microchip: "246098100777009"}})
			if pe := (*apperr.PreconditionError)(nil); !errors.As(err, &pe) || pe.Reason != tt.wantReason {
				t.Errorf("the registration: %v, want %s", err, tt.wantReason)
			}
			under, err := repo.OwnerPatients(t.Context(), o.ID)
			if err != nil {
				t.Fatal(err)
			}
			stands, want := tt.erase, 0
			if stands {
				want = 1
			}
			if len(under) != want {
				t.Fatalf("%d patients under the owner, want the registration to stand: %v", len(under), stands)
			}
			if stands && !under[0].Erased && !under[0].Anonymised {
				t.Errorf("the patient %+v stands active under the erased owner", under[0])
			}
			if s := aud.Subjects("patient.create"); !slices.Equal(s, []string{o.ID}) {
				t.Errorf("patient.create audited for %v, want the owner %s", s, o.ID)
			}
			var back []string
			if !stands {
				back = []string{o.ID}
			}
			if s := aud.Subjects("patient.create.taken_back"); !slices.Equal(s, back) {
				t.Errorf("patient.create.taken_back audited for %v, want %v", s, back)
			}
		})
	}
}

// TestTransferTakenBackRestoresTheInsurance: the insurance a transfer cleared comes
// back with the patient when the transfer is taken back.
func TestTransferTakenBackRestoresTheInsurance(t *testing.T) {
	repo, plain, racing, ctx := raceSetup(t)
	owners := createOwners(t, ctx, plain, "from", "to")
	policy := domain.Insurance{Insurer: "Lähitapiola", PolicyNumber: "LT-123456"}
	p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owners["from"], Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog, Insurance: policy}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = racing.TransferPatient(ctx, p.ID, owners["to"], p.Version, "sold")
	wantOwnerRestricted(t, "a transfer racing a restriction", err)
	got, err := repo.GetPatient(t.Context(), p.ID)
	if err != nil || got.OwnerID != owners["from"] || got.Insurance != policy {
		t.Fatalf("the patient taken back: %+v (%v), want owner %s with insurance %+v", got, err, owners["from"], policy)
	}
	changes, err := repo.PatientChanges(t.Context(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes[1:] {
		if !slices.Equal(c.Fields, []string{"owner_id", "insurance"}) {
			t.Errorf("change %q names %v, want owner_id and insurance", c.Reason, c.Fields)
		}
	}
}

// afterListing runs meanwhile once, right after the owner's patients have been listed.
type afterListing struct {
	domain.Repository
	meanwhile func()
}

func (r *afterListing) ListOwnerPatients(ctx context.Context, ownerID string, size int, token string) ([]*domain.Patient, string, error) {
	ps, next, err := r.Repository.ListOwnerPatients(ctx, ownerID, size, token)
	if r.meanwhile != nil {
		r.meanwhile()
		r.meanwhile = nil
	}
	return ps, next, err
}

// TestExportOfAPetComingBack: a pet the owner transferred away comes back to them
// while their copy is gathered, after their patients were listed: the copy holds it
// among their patients, with the changes of both their times.
func TestExportOfAPetComingBack(t *testing.T) {
	repo, plain, _, ctx := raceSetup(t)
	owners := createOwners(t, ctx, plain, "Laine", "Salo")
	p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owners["Laine"], Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := plain.TransferPatient(ctx, p.ID, owners["Salo"], p.Version, "sold")
	if err != nil {
		t.Fatal(err)
	}
	exporter, err := New(&afterListing{Repository: repo, meanwhile: func() {
		if _, err := plain.TransferPatient(ctx, p.ID, owners["Laine"], moved.Version, "bought back"); err != nil {
			t.Error(err)
		}
	}}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := exporter.ExportOwner(ctx, owners["Laine"])
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Patients) != 1 || x.Patients[0].ID != p.ID || len(x.FormerPatients) != 0 {
		t.Fatalf("the copy holds patients %v and former patients %v, want the pet among the patients only", x.Patients, x.FormerPatients)
	}
	if got := len(x.PatientChanges[0]); got != 3 {
		t.Fatalf("the pet's changes in the copy: %d, want the registration and both transfers", got)
	}
}

// crashThenScrub is a repository whose first erasure by request crashes is emulated
// as a crash would leave it: the patients written, the owner's update not landed (a
// stale version); the service then restarts, and its one-off start-up scrub runs before
// the request is retried.
type crashThenScrub struct {
	*ownermongo.Repository
	crashed bool
}

func (r *crashThenScrub) ApplyErasure(ctx context.Context, o *domain.Owner, plan domain.ErasurePlan, c domain.Change, requestID string) (*domain.Owner, []domain.Disposition, error) {
	if requestID != "" && !r.crashed {
		r.crashed = true
		stale := *o
		stale.Version--
		if _, _, err := r.Repository.ApplyErasure(ctx, &stale, plan, c, requestID); !errors.Is(err, apperr.ErrConflict) {
			return nil, nil, fmt.Errorf("the crashed erasure: %w, want a conflict", err)
		}
		if _, err := r.ScrubErasedHistories(ctx); err != nil {
			return nil, nil, err
		}
	}
	return r.Repository.ApplyErasure(ctx, o, plan, c, requestID)
}

// TestStartupScrubKeepsAnInFlightRequestsReason: a second erasure request of an owner
// erased already anonymises a patient the first kept, and crashes before its owner
// update; the start-up scrub runs before the retry. The patient's history still says
// which request anonymised it: the scrub replaced only the reasons staff typed, not
// that of a request under way.
func TestStartupScrubKeepsAnInFlightRequestsReason(t *testing.T) {
	repo, plain, _, ctx := raceSetup(t)
	owner := createOwners(t, ctx, plain, "Laine")["Laine"]
	p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobOne, NameKeptUntil: "2060-12-31"}); err != nil {
		t.Fatal(err)
	}
	restarted, err := New(&crashThenScrub{Repository: repo}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobTwo}); err != nil {
		t.Fatal(err)
	}
	reasons := patientReasons(t, ctx, plain, p.ID)
	want := []string{changereason.Registered, changereason.Erasure(jobOne), changereason.Erasure(jobTwo)}
	if !slices.Equal(reasons, want) {
		t.Errorf("the patient's history says %q, want %q", reasons, want)
	}
}
