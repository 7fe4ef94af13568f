package app

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	ownermongo "github.com/lillvet/register/services/owner/internal/adapters/mongo"
	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/fieldcrypt"
)

type nopAuditor struct{}

func (nopAuditor) Record(context.Context, ...audit.Event) error    { return nil }
func (nopAuditor) RecordNow(context.Context, ...audit.Event) error { return nil }

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
	_, err := r.svc.SetOwnerRestriction(ctx, ownerID, true, "objection pending")
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
	var owners [2]*domain.Owner
	for i, family := range []string{"Laine", "Salo"} {
		o, err := plain.CreateOwner(ctx, CreateOwner{Owner: domain.Owner{GivenNames: "Aino", FamilyName: family, Phone: "040 123 4567",
			HomeClinic: domain.ClinicSeinajoki}})
		if err != nil {
			t.Fatal(err)
		}
		owners[i] = o
	}
	from, to := owners[0], owners[1]
	p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: from.ID, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = racing.TransferPatient(ctx, p.ID, to.ID, p.Version, "sold")
	wantOwnerRestricted(t, "a transfer racing a restriction", err)
	if patients, err := repo.OwnerPatients(t.Context(), to.ID); err != nil || len(patients) != 0 {
		t.Fatalf("patients under the restricted owner: %v (%v)", patients, err)
	}
	got, err := repo.GetPatient(t.Context(), p.ID)
	if err != nil || got.OwnerID != from.ID || got.Version != p.Version+2 {
		t.Fatalf("the patient after the transfer was taken back: %+v (%v), want owner %s at version %d", got, err, from.ID, p.Version+2)
	}
	changes, err := repo.PatientChanges(t.Context(), p.ID)
	if err != nil || len(changes) != 3 || changes[1].Reason != "sold" || changes[2].Reason != untransferReason {
		t.Fatalf("the patient's history: %+v (%v), want the transfer and its taking back", changes, err)
	}
	back := []domain.ValueChange{{Field: "owner_id", From: to.ID, To: from.ID}}
	if !slices.Equal(changes[2].Values, back) {
		t.Errorf("the taking back's values: %+v, want %+v", changes[2].Values, back)
	}
}
