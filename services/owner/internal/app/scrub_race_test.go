package app

import (
	"bytes"
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	ownermongo "github.com/lillvet/register/services/owner/internal/adapters/mongo"
	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/changereason"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/fieldcrypt"
)

// armingRepo arms its erasure's monitor once ApplyErasure is entered, past the
// erasure's own reads of the owner.
type armingRepo struct {
	domain.Repository
	armed *atomic.Bool
}

func (r *armingRepo) ApplyErasure(ctx context.Context, o *domain.Owner, plan domain.ErasurePlan, c domain.Change, requestID string) (*domain.Owner, []domain.Disposition, error) {
	r.armed.Store(true)
	return r.Repository.ApplyErasure(ctx, o, plan, c, requestID)
}

// TestScrubKeepsARequestStartedDuringTheErasure: a second erasure request starts on
// the owner (restricted already by the first, so no version moves) and writes its
// reason into the patient's history after the first read the owner's requests and
// before it reaches the patient. The first keeps that reason: it is a request's, not
// text staff typed.
func TestScrubKeepsARequestStartedDuringTheErasure(t *testing.T) {
	keys, err := fieldcrypt.NewKeyring(map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}, "k1", bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	uri := embeddedtest.Start(t).URI()
	plain, err := New(ownermongo.New(embeddedtest.Client(t, uri).Database("race"), keys), nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "mgr", Roles: []auth.Role{auth.RoleClinicManager}})
	owner := createOwners(t, ctx, plain, "Laine")["Laine"]
	p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
	if err != nil {
		t.Fatal(err)
	}
	// The second request runs when the first lists the owner's patients.
	var armed, fired atomic.Bool
	var secondErr error
	mon := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName != "find" || !armed.Load() || fired.Load() {
			return
		}
		if coll, ok := e.Command.Lookup("find").StringValueOK(); !ok || coll != "patients" {
			return
		}
		fired.Store(true)
		_, secondErr = plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobNine, NameKeptUntil: "2060-12-31"})
	}}
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetMonitor(mon))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	first, err := New(&armingRepo{Repository: ownermongo.New(c.Database("race"), keys), armed: &armed}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobOne}); err != nil {
		t.Fatal(err)
	}
	if !fired.Load() || secondErr != nil {
		t.Fatalf("the second request: ran %v (%v)", fired.Load(), secondErr)
	}
	if reasons := patientReasons(t, ctx, plain, p.ID); !slices.Contains(reasons, changereason.Erasure(jobNine)) || !slices.Contains(reasons, changereason.Erasure(jobOne)) {
		t.Errorf("the patient's reasons %q, want both requests'", reasons)
	}
}

// patientReasons are the reasons of patient id's change history, oldest first.
func patientReasons(t *testing.T, ctx context.Context, s *Service, id string) []string {
	t.Helper()
	changes, err := s.PatientChanges(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, c := range changes {
		reasons = append(reasons, c.Reason)
	}
	return reasons
}
