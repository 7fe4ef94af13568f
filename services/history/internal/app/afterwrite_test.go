package app

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	historymongo "github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/audit/audittest"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// afterWriteTrouble runs written once, right after its method (CreateVisit,
// AmendVisit or CreateCommunication) stored a change, before the call looks for the
// owner's erasure: it cancels the caller's context, as a client's deadline or
// disconnect would, or makes the next read of the erasure record fail, as a store
// would.
type afterWriteTrouble struct {
	domain.Repository
	method      string
	written     func()
	failErasure bool
}

func (r *afterWriteTrouble) done(method string) {
	if f := r.written; f != nil && method == r.method {
		r.written = nil
		f()
	}
}

func (r *afterWriteTrouble) CreateVisit(ctx context.Context, v *domain.Visit, digest string) (*domain.Visit, error) {
	created, err := r.Repository.CreateVisit(ctx, v, digest)
	if err == nil {
		r.done("CreateVisit")
	}
	return created, err
}

func (r *afterWriteTrouble) AmendVisit(ctx context.Context, id string, expected int64, a domain.Amendment, original, current *domain.Visit) error {
	err := r.Repository.AmendVisit(ctx, id, expected, a, original, current)
	if err == nil {
		r.done("AmendVisit")
	}
	return err
}

func (r *afterWriteTrouble) CreateCommunication(ctx context.Context, c *domain.Communication) (*domain.Communication, error) {
	created, err := r.Repository.CreateCommunication(ctx, c)
	if err == nil {
		r.done("CreateCommunication")
	}
	return created, err
}

func (r *afterWriteTrouble) GetErasure(ctx context.Context, ownerID string) (*domain.Erasure, error) {
	if r.failErasure {
		r.failErasure = false
		return nil, errCrash
	}
	return r.Repository.GetErasure(ctx, ownerID)
}

// TestWriteIsAuditedWhateverFollowsIt: a visit, an amendment and a communication are
// stored, and then the caller's context is cancelled, or the store fails the read of
// the owner's erasure record that follows the write. Each change stays stored, so the
// audit log must hold its event (rule 8). A cancelled call still settles with the
// erasure and answers the record; a failed read answers the error, and the retry
// under the same request id answers the record stored.
func TestWriteIsAuditedWhateverFollowsIt(t *testing.T) {
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	writes := []struct {
		action string
		// method is the repository's method storing the change.
		method string
		// write makes the change under request id requestID and answers the id of the
		// record it changed.
		write func(t *testing.T, ctx context.Context, s *Service, requestID string) (string, error)
		// stored tells whether the record id holds the change.
		stored func(t *testing.T, repo domain.Repository, id string) bool
	}{
		{"visit.create", "CreateVisit", func(_ *testing.T, ctx context.Context, s *Service, requestID string) (string, error) {
			v, err := s.RecordVisit(ctx, RecordVisit{PatientID: racePatient, RequestID: requestID, Visit: domain.Visit{
				Clinic: domain.ClinicKangasala, Reason: "check", StartTime: start}})
			if err != nil {
				// The id is the request's, whatever the answer.
				id, _ := newID("visit", racePatient, requestID)
				return id, err
			}
			return v.ID, nil
		}, func(t *testing.T, repo domain.Repository, id string) bool {
			_, err := repo.GetVisit(t.Context(), id)
			return err == nil
		}},
		{"visit.amend", "AmendVisit", func(t *testing.T, ctx context.Context, s *Service, requestID string) (string, error) {
			v, err := s.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, RequestID: "form-1", Visit: domain.Visit{
				Clinic: domain.ClinicKangasala, Reason: "check", StartTime: start}})
			if err != nil {
				t.Fatal(err)
			}
			amended, _, err := s.AmendVisit(ctx, AmendVisit{ID: v.ID, RequestID: requestID, Paths: []string{"findings"},
				Version: v.Version, Reason: "typo", Visit: domain.Visit{Findings: "limps on the left hind leg"}})
			if err != nil {
				return v.ID, err
			}
			return amended.ID, nil
		}, func(t *testing.T, repo domain.Repository, id string) bool {
			rec, err := repo.GetVisit(t.Context(), id)
			return err == nil && len(rec.Amendments) == 1
		}},
		{"communication.create", "CreateCommunication", func(_ *testing.T, ctx context.Context, s *Service, requestID string) (string, error) {
			c, err := s.RecordCommunication(ctx, RecordCommunication{OwnerID: raceOwner, RequestID: requestID, Communication: domain.Communication{
				Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: "asks about the invoice"}})
			if err != nil {
				id, _ := newID("communication", raceOwner, requestID)
				return id, err
			}
			return c.ID, nil
		}, func(t *testing.T, repo domain.Repository, id string) bool {
			_, err := repo.GetCommunication(t.Context(), id)
			return err == nil
		}},
	}
	for _, trouble := range []struct {
		name     string
		cancels  bool
		answered bool
	}{
		{name: "the caller goes away", cancels: true, answered: true},
		{name: "the erasure record cannot be read"},
	} {
		for _, w := range writes {
			t.Run(trouble.name+"/"+w.action, func(t *testing.T) {
				db := embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("afterwrite")
				repo := historymongo.New(db)
				writer := audit.NewWriter(db, slog.New(slog.DiscardHandler))
				troubled := &afterWriteTrouble{Repository: repo, method: w.method}
				s, err := New(troubled, &slowRegistry{}, writer, Options{})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(as(t, auth.RoleVeterinarian))
				defer cancel()
				troubled.written = func() { troubled.failErasure = true }
				if trouble.cancels {
					troubled.written = cancel
				}

				id, err := w.write(t, ctx, s, "req-1")
				if answered := err == nil; answered != trouble.answered {
					t.Errorf("answered %v; want answered %t", err, trouble.answered)
				}
				if !w.stored(t, repo, id) {
					t.Fatalf("the change to %q is not stored", id)
				}
				// Each call that made the change or was answered it is audited.
				calls := 1
				if !trouble.answered {
					calls++
					again, err := w.write(t, as(t, auth.RoleVeterinarian), s, "req-1")
					if err != nil || again != id {
						t.Errorf("the retry answered %q, %v; want the record %q", again, err, id)
					}
				}
				if got := storedEvents(t, writer, w.action); got != calls {
					t.Errorf("the audit log holds %d %s events about the owner; want %d", got, w.action, calls)
				}
			})
		}
	}
}

// storedEvents writes what writer queued and counts its events of action about
// raceOwner that succeeded.
func storedEvents(t *testing.T, writer *audit.Writer, action string) int {
	t.Helper()
	stopped, stop := context.WithCancel(t.Context())
	stop()
	if err := writer.Run(stopped); err != nil {
		t.Fatalf("writing the queued events: %v", err)
	}
	n := 0
	err := writer.EachBySubject(t.Context(), raceOwner, func(e audit.Event) error {
		if e.Action == action && e.Outcome == audit.OutcomeSuccess {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRefusedWriteIsAuditedAfterItsSuccess: a write passes its check, the erasure of
// the owner it is for runs to the end before the write and misses it, and the call's
// check after the write refuses it. The audit queue is full but for the room the call
// keeps (audit.Writer.Reserve), as under load: the log holds, about each owner the
// write changed, its success and then its refusal. A correction moving the visit to
// the erased owner changed the data of both owners, and uses all of the call's room.
func TestRefusedWriteIsAuditedAfterItsSuccess(t *testing.T) {
	sale := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	for _, tc := range []struct {
		name   string
		action string
		// write makes the write, erase running between its check and its write with
		// the owner it is for, and answers the owners it changed the data of.
		write func(t *testing.T, ctx context.Context, repo domain.Repository, writer *audit.Writer, erase func(*Service, string)) ([]string, error)
	}{
		{"a visit", "visit.create", func(t *testing.T, ctx context.Context, repo domain.Repository, writer *audit.Writer, erase func(*Service, string)) ([]string, error) {
			eraser := newService(t, repo, &slowRegistry{}, nopAuditor{})
			s := newService(t, &beforeCreate{Repository: repo, during: func() { erase(eraser, raceOwner) }}, &slowRegistry{}, writer)
			_, err := s.RecordVisit(ctx, RecordVisit{PatientID: racePatient, RequestID: "form-1", Visit: domain.Visit{
				Clinic: domain.ClinicKangasala, Reason: "check", StartTime: sale}})
			return []string{raceOwner}, err
		}},
		{"a correction moving the visit", "visit.amend", func(t *testing.T, ctx context.Context, repo domain.Repository, writer *audit.Writer, erase func(*Service, string)) ([]string, error) {
			reg := soldRegistry{sale: sale}
			plain := newService(t, repo, reg, nopAuditor{})
			v, err := plain.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check"}})
			if err != nil {
				t.Fatal(err)
			}
			s := newService(t, &beforeAmending{Repository: repo, before: func() { erase(plain, seller) }}, reg, writer)
			_, _, err = s.AmendVisit(ctx, AmendVisit{ID: v.ID, Version: 1, Reason: "wrong day", OwnerID: seller,
				Paths: []string{"start_time", ownerPath}, Visit: domain.Visit{StartTime: sale.Add(-time.Hour)}})
			return []string{buyer, seller}, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("afterwrite")
			repo := historymongo.New(db)
			writer := audit.NewWriter(db, slog.New(slog.DiscardHandler))
			ctx, release, err := writer.Reserve(as(t, auth.RoleVeterinarian))
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			audittest.FillQueue(t, writer)
			erased := false
			erase := func(eraser *Service, owner string) {
				if _, err := eraser.EraseOwnerData(as(t, auth.RoleClinicManager), owner, "erase-1"); err != nil {
					t.Fatal(err)
				}
				erased = true
			}
			owners, err := tc.write(t, ctx, repo, writer, erase)
			if !erased {
				t.Fatal("no erasure ran before the write")
			}
			if !errors.Is(err, errOwnerErased) || errors.Is(err, apperr.ErrUnavailable) {
				t.Fatalf("answered %v, want OWNER_ERASED with both audited", err)
			}
			stopped, stop := context.WithCancel(t.Context())
			stop()
			if err := writer.Run(stopped); err != nil {
				t.Fatalf("writing the queued events: %v", err)
			}
			for _, owner := range owners {
				if got, want := storedOutcomes(t, writer, tc.action, owner), []string{audit.OutcomeSuccess, "denied OWNER_ERASED"}; !slices.Equal(got, want) {
					t.Errorf("the audit log holds %s about owner %s as %q, want %q", tc.action, owner, got, want)
				}
			}
		})
	}
}

// newService is a service on repo with the registry reg and the auditor.
func newService(t *testing.T, repo domain.Repository, reg Registry, auditor Auditor) *Service {
	t.Helper()
	s, err := New(repo, reg, auditor, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// storedOutcomes lists the outcomes of the stored events with action about the owner,
// oldest first, a refusal with its reason.
func storedOutcomes(t *testing.T, writer *audit.Writer, action, ownerID string) []string {
	t.Helper()
	var out []string
	err := writer.EachBySubject(t.Context(), ownerID, func(e audit.Event) error {
		if e.Action == action {
			out = append(out, strings.TrimSpace(e.Outcome+" "+e.Reason))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
