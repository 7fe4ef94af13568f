package app

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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

// restrictingRepo restricts the owner just before a patient is written, as a
// restriction decided between RegisterPatient's check and its write would.
type restrictingRepo struct {
	domain.Repository
	svc *Service
}

func (r *restrictingRepo) CreatePatient(ctx context.Context, p *domain.Patient, c domain.Change) (*domain.Patient, error) {
	if _, err := r.svc.SetOwnerRestriction(ctx, p.OwnerID, true, "objection pending"); err != nil {
		return nil, err
	}
	return r.Repository.CreatePatient(ctx, p, c)
}

// TestRegistrationRacingARestriction: the owner is restricted between the check and the
// write; the registration is taken back and the caller told, and no active patient is
// left under the restricted owner.
func TestRegistrationRacingARestriction(t *testing.T) {
	client, err := mongo.Connect(options.Client().ApplyURI(embeddedtest.Start(t).URI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	keys, err := fieldcrypt.NewKeyring(map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}, "k1", bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	repo := ownermongo.New(client.Database("race"), keys)
	plain, err := New(repo, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "mgr", Roles: []auth.Role{auth.RoleClinicManager}})
	o, err := plain.CreateOwner(ctx, CreateOwner{Owner: domain.Owner{GivenNames: "Aino", FamilyName: "Laine", Phone: "040 123 4567",
		HomeClinic: domain.ClinicSeinajoki}})
	if err != nil {
		t.Fatal(err)
	}
	racing, err := New(&restrictingRepo{Repository: repo, svc: plain}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = racing.RegisterPatient(ctx, RegisterPatient{OwnerID: o.ID, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog,
		Microchip: "246098100777009"}})
	var pe *apperr.PreconditionError
	if !errors.As(err, &pe) || pe.Reason != "OWNER_RESTRICTED" {
		t.Fatalf("a registration racing a restriction: %v, want OWNER_RESTRICTED", err)
	}
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
