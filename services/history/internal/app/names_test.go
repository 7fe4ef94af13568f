package app

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	historymongo "github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/retention"
)

// toldKeeper stands in for the owner service and keeps the days it was told.
type toldKeeper struct {
	told []string
}

func (k *toldKeeper) ExtendNameRetention(_ context.Context, _ string, until retention.Date) error {
	k.told = append(k.told, until.String())
	return nil
}

// TestNamesJobRacingTheVisitsWrite: the seller's visit of 20 May 2024 keeps the
// seller's names to 20 May 2027 as the erasure of 25 November 2026 answered; a visit by
// the buyer, recorded or corrected to 10 January 2027, keeps them to 10 January 2030. A
// job run between the visit's mark and its write computes the day without the visit
// and clears the mark; the next run still tells the owner service the later day.
func TestNamesJobRacingTheVisitsWrite(t *testing.T) {
	sale := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, plain, racing *Service)
	}{
		{name: "recorded", write: func(t *testing.T, _, racing *Service) {
			if _, err := racing.RecordVisit(as(t, auth.RoleVeterinarian), namesVisit(time.Date(2027, 1, 10, 10, 0, 0, 0, time.UTC))); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "start time corrected", write: func(t *testing.T, plain, racing *Service) {
			v, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), namesVisit(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := racing.AmendVisit(as(t, auth.RoleVeterinarian), AmendVisit{ID: v.ID, Version: 1, Reason: "wrong day",
				Paths: []string{"start_time"}, Visit: domain.Visit{StartTime: time.Date(2027, 1, 10, 10, 0, 0, 0, time.UTC)}}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, reg := raceRepo(t), soldRegistry{sale: sale}
			now := time.Date(2024, 5, 20, 12, 0, 0, 0, time.UTC)
			opts := Options{Now: func() time.Time { return now }}
			plain, err := New(repo, reg, nopAuditor{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, OwnerID: seller,
				Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: now.Add(-time.Hour)}}); err != nil {
				t.Fatal(err)
			}
			now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), seller, uuid.NewString()); err != nil {
				t.Fatal(err)
			}
			keeper := &toldKeeper{}
			push := func() {
				if _, err := plain.PushNameRetention(t.Context(), keeper, time.Second); err != nil {
					t.Fatal(err)
				}
			}
			racing, err := New(&beforeCreate{Repository: &beforeAmending{Repository: repo, before: push}, during: push}, reg, nopAuditor{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			now = time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
			tc.write(t, plain, racing)
			push()
			if n := len(keeper.told); n == 0 || keeper.told[n-1] != "2030-01-10" {
				t.Errorf("the owner service was told %q, want 2030-01-10 last", keeper.told)
			}
		})
	}
}

func namesVisit(start time.Time) RecordVisit {
	return RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: start}}
}

// countingVisits counts the reads of an owner's visits, each a scan of the visits on
// the embedded store.
type countingVisits struct {
	domain.Repository
	reads int
}

func (r *countingVisits) OwnerVisits(ctx context.Context, ownerID string) ([]*domain.Visit, error) {
	r.reads++
	return r.Repository.OwnerVisits(ctx, ownerID)
}

// TestErasedPatientsNotedOncePerStore: an erasure applied before the notes were kept
// (its note removed here) is noted, and its owner marked, by the first start's pass;
// a second start on the same store (a restart, another replica) reads no owner's
// visits again.
func TestErasedPatientsNotedOncePerStore(t *testing.T) {
	db := embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("names")
	repo := historymongo.New(db)
	plain, err := New(repo, soldRegistry{sale: time.Now().Add(-time.Hour)}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, OwnerID: seller,
		Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-2 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), seller, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("erased_patients").DeleteMany(t.Context(), bson.M{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		start         string
		owners, reads int
	}{
		{start: "the first start", owners: 1, reads: 1},
		{start: "a second start", owners: 0, reads: 0},
	} {
		counting := &countingVisits{Repository: repo}
		s, err := New(counting, soldRegistry{}, nopAuditor{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.NoteErasedPatientsOfAll(t.Context())
		if err != nil || n != tc.owners || counting.reads != tc.reads {
			t.Errorf("%s went through %d owners reading %d owners' visits (%v), want %d and %d", tc.start, n, counting.reads, err, tc.owners, tc.reads)
		}
		if owners, err := repo.ErasedOwnersOf(t.Context(), racePatient); err != nil || !slices.Equal(owners, []string{seller}) {
			t.Errorf("after %s the patient's erased owners are %v (%v), want the seller", tc.start, owners, err)
		}
	}
}
