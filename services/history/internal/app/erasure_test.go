package app

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	historymongo "github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/retention"
)

// nopAuditor accepts every event.
type nopAuditor struct{}

func (nopAuditor) Record(context.Context, ...audit.Event) error    { return nil }
func (nopAuditor) RecordNow(context.Context, ...audit.Event) error { return nil }

// crashingRepo stops (as a process dying would) at the first write of the named step.
type crashingRepo struct {
	domain.Repository
	crashAt string
}

var errCrash = errors.New("crash")

func (r *crashingRepo) crash(step string) error {
	if r.crashAt == step {
		return errCrash
	}
	return nil
}

func (r *crashingRepo) MarkRestricted(ctx context.Context, rs []domain.VisitRetention) error {
	if err := r.crash("restrict"); err != nil {
		return err
	}
	return r.Repository.MarkRestricted(ctx, rs)
}

func (r *crashingRepo) ScheduleErasure(ctx context.Context, e *domain.Erasure) error {
	if err := r.crash("schedule"); err != nil {
		return err
	}
	return r.Repository.ScheduleErasure(ctx, e)
}

func (r *crashingRepo) DeleteOwnerCommunications(ctx context.Context, ownerID string) error {
	if err := r.crash("communications"); err != nil {
		return err
	}
	return r.Repository.DeleteOwnerCommunications(ctx, ownerID)
}

// TestErasureCompletesAfterACrash: whichever write an erasure dies at (restricting a
// visit, erasing the communications, scheduling the sweep), a retry with the same
// request id finishes it and answers what was decided first.
func TestErasureCompletesAfterACrash(t *testing.T) {
	store := embeddedtest.Start(t)
	client := embeddedtest.Client(t, store.URI())
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "mgr", Roles: []auth.Role{auth.RoleClinicManager}})
	for _, step := range []string{"restrict", "communications", "schedule"} {
		t.Run(step, func(t *testing.T) {
			repo := historymongo.New(client.Database("crash_" + step))
			const (
				owner = "0b6d4f3e-2c59-4f0a-9e57-000000000001"
				job   = "0199a0b0-0000-7000-8000-000000000011" // the erasure job's id
			)
			if _, err := repo.CreateVisit(ctx, &domain.Visit{
				ID: "v1", PatientID: "p1", OwnerID: owner, Clinic: domain.ClinicKangasala, StartTime: now.AddDate(-1, 0, 0),
				Reason: "Limping", Invoices: []domain.Invoice{{Number: "1", State: domain.InvoiceOpen}}, Created: now,
			}, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := repo.CreateCommunication(ctx, &domain.Communication{ID: "c1", OwnerID: owner, Channel: domain.ChannelPhone, Time: now, Created: now}); err != nil {
				t.Fatal(err)
			}
			crashing := &crashingRepo{Repository: repo, crashAt: step}
			opts := Options{Now: func() time.Time { return now }}
			dying, err := New(crashing, nil, nopAuditor{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dying.EraseOwnerData(ctx, owner, job); !errors.Is(err, errCrash) {
				t.Fatalf("the first run did not crash: %v", err)
			}
			restarted, err := New(repo, nil, nopAuditor{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := restarted.EraseOwnerData(ctx, owner, job)
			if err != nil {
				t.Fatal(err)
			}
			e, err := repo.GetErasure(ctx, owner)
			if err != nil || !e.Applied || len(e.Requests) != 1 || !reflect.DeepEqual(e.Requests[0].Result, res) {
				t.Fatalf("erasure record %+v, %v; answered %+v", e, err, res)
			}
			if n, err := repo.CountOwnerCommunications(ctx, owner); err != nil || n != 0 {
				t.Errorf("%d communications left, %v", n, err)
			}
			v, err := repo.GetVisit(ctx, "v1")
			if err != nil || !v.Current.Restricted {
				t.Errorf("visit %+v, %v", v, err)
			}
			// The sweep finds it once its invoice's retention has passed.
			due, err := repo.ErasuresDue(ctx, retention.Date{Year: 2040, Month: time.January, Day: 1})
			if err != nil || len(due) != 1 || due[0].OwnerID != owner {
				t.Errorf("erasures due: %+v, %v", due, err)
			}
		})
	}
}
