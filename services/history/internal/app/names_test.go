package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	historymongo "github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/patientowner"
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
			f := newErasedSeller(t, soldRegistry{sale: sale})
			repo, reg, opts, plain, keeper, push := f.repo, f.reg, f.opts, f.plain, f.keeper, f.push
			racing, err := New(&beforeCreate{Repository: &beforeAmending{Repository: repo, before: push}, during: push}, reg, nopAuditor{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			*f.now = time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
			tc.write(t, plain, racing)
			push()
			if n := len(keeper.told); n == 0 || keeper.told[n-1] != "2030-01-10" {
				t.Errorf("the owner service was told %q, want 2030-01-10 last", keeper.told)
			}
		})
	}
}

// erasedSeller is the seller's visit of racePatient in May 2024 (the animal sold as reg
// says) and the seller erased on 2026-11-25 (the clock, now), and push a name
// retention run telling keeper.
type erasedSeller struct {
	repo   *historymongo.Repository
	reg    Registry
	now    *time.Time
	opts   Options
	plain  *Service
	keeper *toldKeeper
	push   func()
}

func newErasedSeller(t *testing.T, reg Registry) erasedSeller {
	t.Helper()
	now := time.Date(2024, 5, 20, 12, 0, 0, 0, time.UTC)
	f := erasedSeller{repo: raceRepo(t), reg: reg, now: &now, keeper: &toldKeeper{}}
	f.opts = Options{Now: func() time.Time { return *f.now }}
	plain, err := New(f.repo, f.reg, nopAuditor{}, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	f.plain = plain
	if _, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, OwnerID: seller,
		Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: now.Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if _, err := plain.EraseOwnerData(as(t, auth.RoleClinicManager), seller, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	f.push = func() {
		if _, err := plain.PushNameRetention(t.Context(), f.keeper, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// failingMark fails every MarkNamesCheck (the mark after a write), as a store error
// would.
type failingMark struct {
	domain.Repository
}

func (*failingMark) MarkNamesCheck(context.Context, ...string) error {
	return errors.New("store down")
}

// keptAuditor keeps the actions and resources of the events recorded.
type keptAuditor struct {
	events []string
}

func (a *keptAuditor) Record(_ context.Context, events ...audit.Event) error {
	for _, e := range events {
		a.events = append(a.events, e.Action+" "+e.Resource)
	}
	return nil
}

func (a *keptAuditor) RecordNow(ctx context.Context, events ...audit.Event) error {
	return a.Record(ctx, events...)
}

// TestNamesMarkAfterTheWriteFailed: as in TestNamesJobRacingTheVisitsWrite, a job run
// between the visit's first mark and its write computes the day without the visit, and
// the mark after the write then fails. The write stands: it is answered OK (so no
// client retries it) and audited, and the failure is logged at WARN with the visit's
// id. The mark before the write stays due while the write may land: a later run tells
// the owner service 10 January 2030, and a run once the write's bound has passed
// clears it. Before, the run between the mark and the write cleared it, and the day
// was never told.
func TestNamesMarkAfterTheWriteFailed(t *testing.T) {
	sale := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		action string
		// write writes through s the visit recorded or corrected to 10 January 2027,
		// and answers its id.
		write func(t *testing.T, s *Service, id string) (string, error)
		// first is what the write needs before it: the id of the visit it corrects.
		first func(t *testing.T, plain *Service) string
	}{
		{name: "recorded", action: "visit.create",
			first: func(*testing.T, *Service) string { return "" },
			write: func(t *testing.T, s *Service, _ string) (string, error) {
				v, err := s.RecordVisit(as(t, auth.RoleVeterinarian), namesVisit(time.Date(2027, 1, 10, 10, 0, 0, 0, time.UTC)))
				if err != nil {
					return "", err
				}
				return v.ID, nil
			}},
		{name: "start time corrected", action: "visit.amend",
			first: func(t *testing.T, plain *Service) string {
				v, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), namesVisit(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)))
				if err != nil {
					t.Fatal(err)
				}
				return v.ID
			},
			write: func(t *testing.T, s *Service, id string) (string, error) {
				v, _, err := s.AmendVisit(as(t, auth.RoleVeterinarian), AmendVisit{ID: id, Version: 1, Reason: "wrong day",
					Paths: []string{"start_time"}, Visit: domain.Visit{StartTime: time.Date(2027, 1, 10, 10, 0, 0, 0, time.UTC)}})
				if err != nil {
					return "", err
				}
				return v.ID, nil
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newErasedSeller(t, soldRegistry{sale: sale})
			repo, reg, opts, plain, keeper, push := f.repo, f.reg, f.opts, f.plain, f.keeper, f.push
			var logs bytes.Buffer
			auditor := &keptAuditor{}
			racingOpts := opts
			racingOpts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			failing := &failingMark{Repository: repo}
			racing, err := New(&beforeCreate{Repository: &beforeAmending{Repository: failing, before: push}, during: push}, reg, auditor, racingOpts)
			if err != nil {
				t.Fatal(err)
			}
			*f.now = time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
			id := tc.first(t, plain)
			push()
			toldBefore := len(keeper.told)
			id, err = tc.write(t, racing, id)
			if err != nil {
				t.Fatalf("the write whose mark after failed: %v, want it answered", err)
			}
			if len(keeper.told) != toldBefore {
				t.Fatalf("the run between the mark and the write told %q: it ran after the write", keeper.told[toldBefore:])
			}
			if want := tc.action + " visits/" + id; !slices.Contains(auditor.events, want) {
				t.Errorf("audited %q, want %q", auditor.events, want)
			}
			if line := logs.String(); !strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, id) {
				t.Errorf("logged %q, want the failed mark at WARN with the visit's id", line)
			}
			*f.now = f.now.Add(time.Minute)
			push()
			if n := len(keeper.told); n == 0 || keeper.told[n-1] != "2030-01-10" {
				t.Errorf("the owner service was told %q, want 2030-01-10 last", keeper.told)
			}
			if due := dueOwners(t, repo); !slices.Contains(due, seller) {
				t.Errorf("the owners due while the write may land are %q, want the seller among them", due)
			}
			*f.now = f.now.Add(markedWriteTimeout + pendingSlack)
			push()
			if due := dueOwners(t, repo); slices.Contains(due, seller) {
				t.Errorf("the owners due after the write's bound are %q, want the seller cleared", due)
			}
		})
	}
}

// dueOwners are the owners marked to be checked.
func dueOwners(t *testing.T, repo domain.Repository) []string {
	t.Helper()
	due, err := repo.NamesChecksDue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range due {
		out = append(out, n.OwnerID)
	}
	return out
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

// oldReplica is the repository as a release before the name notices used it: an
// erasure it applies notes no patients and marks no owner.
type oldReplica struct {
	domain.Repository
}

func (oldReplica) NoteErasedPatients(context.Context, string, []string) error   { return nil }
func (oldReplica) SetErasureNoted(context.Context, string) error                { return nil }
func (oldReplica) MarkNamesCheck(context.Context, ...string) error              { return nil }
func (oldReplica) MarkNamesPending(context.Context, time.Time, ...string) error { return nil }

// ownedRegistry stands in for the owner service with each patient (the key) under its
// owner since long ago.
type ownedRegistry map[string]string

func (r ownedRegistry) Patient(_ context.Context, id string) (Patient, error) {
	return Patient{ID: id, OwnerID: r[id], Updated: time.Now().AddDate(-1, 0, 0)}, nil
}

func (ownedRegistry) Transfers(context.Context, string) ([]patientowner.Transfer, error) {
	return nil, nil
}

func (ownedRegistry) OwnerExists(context.Context, string) error { return nil }

// TestErasedPatientsNotedOncePerErasure: an erasure an old replica applied (a release
// before the notes, as in a rolling upgrade) has its patients noted, and its owner
// marked, by the next start, also when it came after a start had noted the others;
// an erasure this release applied, or one a start noted, has its owner's visits read
// by no start.
func TestErasedPatientsNotedOncePerErasure(t *testing.T) {
	repo := historymongo.New(embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("names"))
	const (
		ownerA, ownerB, ownerC = "0b6d4f3e-2c59-4f0a-9e57-0000000000c1", "0b6d4f3e-2c59-4f0a-9e57-0000000000c2", "0b6d4f3e-2c59-4f0a-9e57-0000000000c3"
		petA, petB, petC       = "0b6d4f3e-2c59-4f0a-9e57-0000000000d1", "0b6d4f3e-2c59-4f0a-9e57-0000000000d2", "0b6d4f3e-2c59-4f0a-9e57-0000000000d3"
	)
	reg := ownedRegistry{petA: ownerA, petB: ownerB, petC: ownerC}
	current, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	old, err := New(oldReplica{Repository: repo}, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for pet := range reg {
		if _, err := current.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: pet,
			Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-2 * time.Hour)}}); err != nil {
			t.Fatal(err)
		}
	}
	erase := func(s *Service, owner string) func(t *testing.T) {
		return func(t *testing.T) {
			if _, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), owner, uuid.NewString()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		before        string
		erase         func(t *testing.T)
		owners, reads int
		pet, owner    string // the erased owner noted for the pet, and marked
	}{
		{before: "an erasure this release applied", erase: erase(current, ownerA), pet: petA, owner: ownerA},
		{before: "an erasure an old replica applied", erase: erase(old, ownerB), owners: 1, reads: 1, pet: petB, owner: ownerB},
		{before: "nothing new", erase: func(*testing.T) {}, pet: petB, owner: ownerB},
		{before: "an erasure an old replica applied after a start noted the others", erase: erase(old, ownerC), owners: 1, reads: 1, pet: petC, owner: ownerC},
	} {
		tc.erase(t)
		counting := &countingVisits{Repository: repo}
		s, err := New(counting, reg, nopAuditor{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.NoteErasedPatientsOfAll(t.Context())
		if err != nil || n != tc.owners || counting.reads != tc.reads {
			t.Errorf("after %s a start went through %d owners reading %d owners' visits (%v), want %d and %d", tc.before, n, counting.reads, err, tc.owners, tc.reads)
		}
		if owners, err := repo.ErasedOwnersOf(t.Context(), tc.pet); err != nil || !slices.Equal(owners, []string{tc.owner}) {
			t.Errorf("after %s the pet's erased owners are %v (%v), want %s", tc.before, owners, err, tc.owner)
		}
		due, err := repo.NamesChecksDue(t.Context())
		if err != nil || !slices.ContainsFunc(due, func(n domain.NamesNotice) bool { return n.OwnerID == tc.owner }) {
			t.Errorf("after %s the owners marked are %+v (%v), want %s among them", tc.before, due, err, tc.owner)
		}
	}
}

// stopsBeforeApplied fails the write storing an erasure applied, as a process stopping
// just before it would: the erasure's passes ran, and it is not applied.
type stopsBeforeApplied struct {
	domain.Repository
}

func (r stopsBeforeApplied) SaveErasure(ctx context.Context, e *domain.Erasure) error {
	if e.Applied {
		return errors.New("stopped")
	}
	return r.Repository.SaveErasure(ctx, e)
}

// failsNoted fails storing an erasure as noted, as a store failing right after the
// erasure was stored applied would.
type failsNoted struct {
	domain.Repository
}

func (failsNoted) SetErasureNoted(context.Context, string) error {
	return errors.New("connection reset by peer")
}

// TestErasureAppliedWhenNotingItFails: an erasure stored applied whose storing as noted
// fails is answered all the same, the failure logged at WARN with the owner's id, and
// the next start notes it and stores it as noted, after which no start reads its
// visits. Before, the erasure step failed, and was run again, for a write only the
// name retention job's bookkeeping needs.
func TestErasureAppliedWhenNotingItFails(t *testing.T) {
	repo := historymongo.New(embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("names"))
	const owner, pet = "0b6d4f3e-2c59-4f0a-9e57-0000000000c1", "0b6d4f3e-2c59-4f0a-9e57-0000000000d1"
	reg := ownedRegistry{pet: owner}
	plain, err := New(repo, reg, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: pet,
		Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-2 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	eraser, err := New(failsNoted{Repository: repo}, reg, nopAuditor{}, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), owner, uuid.NewString()); err != nil {
		t.Fatalf("the erasure whose storing as noted failed: %v, want it answered", err)
	}
	if line := logs.String(); !strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, owner) {
		t.Errorf("logged %q, want the failure at WARN with the owner's id", line)
	}
	for start, want := range []int{1, 0} {
		counting := &countingVisits{Repository: repo}
		s, err := New(counting, reg, nopAuditor{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.NoteErasedPatientsOfAll(t.Context()); err != nil || n != want || counting.reads != want {
			t.Errorf("start %d went through %d owners reading %d owners' visits (%v), want %d", start+1, n, counting.reads, err, want)
		}
	}
	if owners, err := repo.ErasedOwnersOf(t.Context(), pet); err != nil || !slices.Equal(owners, []string{owner}) {
		t.Errorf("the pet's erased owners are %v (%v), want the owner", owners, err)
	}
}

// TestErasureNotAppliedIsNotStoredNoted: an erasure stopped before it was stored
// applied, by this release or by an old replica, is not stored as noted: this
// release's has its patients noted by its passes; a start notes the patients of each
// and marks its owner, yet leaves it not stored as noted, since until it is applied an
// old replica may still plan visits of it without noting them, and the next start reads
// its visits again. Once applied, this release stores it as noted itself, and no start
// reads it. Before, this release's passes stored it as noted before it was applied,
// and a start stored an old replica's as noted whatever its state.
func TestErasureNotAppliedIsNotStoredNoted(t *testing.T) {
	for _, tc := range []struct {
		name string
		// repo is the repository the erasure runs on, over the store's.
		repo        func(domain.Repository) domain.Repository
		notedByPass bool // its patients noted before any start
	}{
		{name: "this release", repo: func(r domain.Repository) domain.Repository { return r }, notedByPass: true},
		{name: "an old replica", repo: func(r domain.Repository) domain.Repository { return oldReplica{Repository: r} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := historymongo.New(embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("names"))
			const owner, pet = "0b6d4f3e-2c59-4f0a-9e57-0000000000c1", "0b6d4f3e-2c59-4f0a-9e57-0000000000d1"
			reg := ownedRegistry{pet: owner}
			current, err := New(repo, reg, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := current.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: pet,
				Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: time.Now().Add(-2 * time.Hour)}}); err != nil {
				t.Fatal(err)
			}
			eraser, err := New(stopsBeforeApplied{Repository: tc.repo(repo)}, reg, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			requestID := uuid.NewString()
			if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), owner, requestID); err == nil {
				t.Fatal("the erasure stopped before it was applied answered")
			}
			owners, err := repo.ErasedOwnersOf(t.Context(), pet)
			if err != nil || slices.Equal(owners, []string{owner}) != tc.notedByPass {
				t.Errorf("after the passes the pet's erased owners are %v (%v), want the owner noted: %v", owners, err, tc.notedByPass)
			}
			for start := range 2 {
				counting := &countingVisits{Repository: repo}
				s, err := New(counting, reg, nopAuditor{}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if n, err := s.NoteErasedPatientsOfAll(t.Context()); err != nil || n != 1 || counting.reads != 1 {
					t.Errorf("start %d went through %d owners reading %d owners' visits (%v), want the erasure not applied read again", start+1, n, counting.reads, err)
				}
				if owners, err := repo.ErasedOwnersOf(t.Context(), pet); err != nil || !slices.Equal(owners, []string{owner}) {
					t.Errorf("after start %d the pet's erased owners are %v (%v), want the owner", start+1, owners, err)
				}
				if due := dueOwners(t, repo); !slices.Contains(due, owner) {
					t.Errorf("after start %d the owners marked are %q, want the owner", start+1, due)
				}
			}
			if noted, err := repo.NotedErasures(t.Context()); err != nil || len(noted) != 0 {
				t.Errorf("stored as noted before it was applied: %q (%v)", noted, err)
			}
			if _, err := current.EraseOwnerData(as(t, auth.RoleClinicManager), owner, requestID); err != nil {
				t.Fatal(err)
			}
			counting := &countingVisits{Repository: repo}
			s, err := New(counting, reg, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := s.NoteErasedPatientsOfAll(t.Context()); err != nil || n != 0 || counting.reads != 0 {
				t.Errorf("once applied a start went through %d owners reading %d owners' visits (%v), want none", n, counting.reads, err)
			}
		})
	}
}

// resoldRegistry stands in for the owner service with racePatient sold by seller to
// buyer at sale, and by buyer to third at resale.
type resoldRegistry struct{ sale, resale time.Time }

const third = "0b6d4f3e-2c59-4f0a-9e57-0000000000e1"

func (r resoldRegistry) Patient(context.Context, string) (Patient, error) {
	return Patient{ID: racePatient, OwnerID: third, Updated: r.resale}, nil
}

func (r resoldRegistry) Transfers(context.Context, string) ([]patientowner.Transfer, error) {
	return []patientowner.Transfer{{Version: 2, Time: r.sale, From: seller, To: buyer}, {Version: 3, Time: r.resale, From: buyer, To: third}}, nil
}

func (resoldRegistry) OwnerExists(context.Context, string) error { return nil }

// TestRetriedWriteMarksAgain: the retry of a write that may move the animal's last
// visit, under its request id, marks the animal's erased owners again (the belt for a
// first call whose marks were lost: its write landed past its bound, and the mark
// after failed): the visit recorded, its start time corrected, and the visit moved to
// another owner.
func TestRetriedWriteMarksAgain(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		// first is what the write needs before it: the id of the visit it corrects.
		first func(t *testing.T, s *Service) string
		// write writes through s under its request id.
		write func(t *testing.T, s *Service, id string)
	}{
		{name: "recorded",
			first: func(*testing.T, *Service) string { return "" },
			write: func(t *testing.T, s *Service, _ string) {
				in := namesVisit(day(2027, 1, 10))
				in.RequestID = "form-1"
				if _, err := s.RecordVisit(as(t, auth.RoleVeterinarian), in); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "start time corrected",
			first: func(t *testing.T, s *Service) string {
				v, err := s.RecordVisit(as(t, auth.RoleVeterinarian), namesVisit(day(2026, 12, 20)))
				if err != nil {
					t.Fatal(err)
				}
				return v.ID
			},
			write: func(t *testing.T, s *Service, id string) {
				if _, _, err := s.AmendVisit(as(t, auth.RoleVeterinarian), AmendVisit{ID: id, Version: 1, Reason: "wrong day", RequestID: "form-1",
					Paths: []string{"start_time"}, Visit: domain.Visit{StartTime: day(2027, 1, 10)}}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "moved to another owner",
			first: func(t *testing.T, s *Service) string {
				in := namesVisit(day(2026, 11, 28))
				in.OwnerID = buyer
				v, err := s.RecordVisit(as(t, auth.RoleVeterinarian), in)
				if err != nil {
					t.Fatal(err)
				}
				return v.ID
			},
			write: func(t *testing.T, s *Service, id string) {
				_, a, err := s.AmendVisit(as(t, auth.RoleVeterinarian), AmendVisit{ID: id, Version: 1, Reason: "the new owner's visit",
					RequestID: "form-1", OwnerID: third, Paths: []string{ownerPath}})
				if err != nil || a.MovedFrom != buyer || slices.Contains(a.Fields, "start_time") {
					t.Fatalf("the move answered %+v (%v), want it moved from the buyer, its start time as it was", a, err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newErasedSeller(t, resoldRegistry{sale: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC), resale: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)})
			repo, s, now := f.repo, f.plain, f.now
			*now = time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
			id := tc.first(t, s)
			tc.write(t, s, id)
			*now = now.Add(markedWriteTimeout + pendingSlack)
			if _, err := s.PushNameRetention(t.Context(), &toldKeeper{}, time.Second); err != nil {
				t.Fatal(err)
			}
			if due := dueOwners(t, repo); slices.Contains(due, seller) {
				t.Fatalf("the owners due after a run past the write's bound are %q, want the seller cleared", due)
			}
			tc.write(t, s, id)
			if due := dueOwners(t, repo); !slices.Contains(due, seller) {
				t.Errorf("the owners due after the retry are %q, want the seller", due)
			}
		})
	}
}

// notErasedKeeper stands in for an owner service whose erasure job's step has not run
// yet until erased, and counts the calls.
type notErasedKeeper struct {
	toldKeeper
	erased bool
	calls  int
}

func (k *notErasedKeeper) ExtendNameRetention(ctx context.Context, ownerID string, until retention.Date) error {
	k.calls++
	if !k.erased {
		return ErrOwnerNotErasedYet
	}
	return k.toldKeeper.ExtendNameRetention(ctx, ownerID, until)
}

// TestNamesJobWaitsForTheOwnerServicesErasure: an owner the owner service has not
// erased yet (its erasure job's step stuck before the owner) is asked once, and then
// not before an hour has passed, each refusal being audited in the owner's access
// report; it stays marked all the while, and once the owner service erased it, the
// first run after the hour tells the later day. Before, every run (each minute) asked.
func TestNamesJobWaitsForTheOwnerServicesErasure(t *testing.T) {
	f := newErasedSeller(t, soldRegistry{sale: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)})
	repo, s, now := f.repo, f.plain, f.now
	*now = time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	if _, err := s.RecordVisit(as(t, auth.RoleVeterinarian), namesVisit(time.Date(2027, 1, 10, 10, 0, 0, 0, time.UTC))); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Hour) // past the visit's bound
	keeper := &notErasedKeeper{}
	for _, tc := range []struct {
		after     time.Duration // since the last run
		erased    bool
		wantCalls int
		waiting   bool
		told      []string
		due       bool
	}{
		{after: 0, wantCalls: 1, waiting: true, due: true},
		{after: time.Minute, wantCalls: 1, due: true},
		{after: 58 * time.Minute, wantCalls: 1, erased: true, due: true},
		{after: time.Minute, wantCalls: 2, erased: true, told: []string{"2030-01-10"}},
	} {
		*now = now.Add(tc.after)
		keeper.erased = tc.erased
		res, err := s.PushNameRetention(t.Context(), keeper, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if keeper.calls != tc.wantCalls || slices.Contains(res.Waiting, seller) != tc.waiting || !slices.Equal(keeper.told, tc.told) {
			t.Errorf("at %s the owner service was asked %d times in all, told %q, waiting %q; want %d, told %q, waiting %v",
				now.Format(time.TimeOnly), keeper.calls, keeper.told, res.Waiting, tc.wantCalls, tc.told, tc.waiting)
		}
		if due := dueOwners(t, repo); slices.Contains(due, seller) != tc.due {
			t.Errorf("at %s the owners due are %q, want the seller due: %v", now.Format(time.TimeOnly), due, tc.due)
		}
	}
}
