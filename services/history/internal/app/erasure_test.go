package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

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

func (r *crashingRepo) MarkRestricted(ctx context.Context, ownerID string, marks []domain.Mark) ([]int64, error) {
	if err := r.crash("restrict"); err != nil {
		return nil, err
	}
	return r.Repository.MarkRestricted(ctx, ownerID, marks)
}

func (r *crashingRepo) ReduceVisit(ctx context.Context, ownerID string, rt domain.VisitRetention, rec *domain.VisitRecord) error {
	if err := r.crash("reduce"); err != nil {
		return err
	}
	return r.Repository.ReduceVisit(ctx, ownerID, rt, rec)
}

func (r *crashingRepo) ScheduleErasure(ctx context.Context, e *domain.Erasure) error {
	if err := r.crash("schedule"); err != nil {
		return err
	}
	return r.Repository.ScheduleErasure(ctx, e)
}

func (r *crashingRepo) DeleteOwnerCommunications(ctx context.Context, ownerID string) (int, error) {
	if err := r.crash("communications"); err != nil {
		return 0, err
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

// TestRequestDigestsPassTheirHorizon erases an owner whose visits were recorded and
// corrected under request ids, two months before and the day before: the erasure
// removes the digests of the old requests, and the corrections' request ids (the
// client's text), as it marks or reduces their visits, and keeps the recent ones, which
// a retry may still need and is answered by, until the sweep after their horizon, so
// that no keyed hash of what a reduction removed, nor any text a caller typed, stays
// for the record's retention.
func TestRequestDigestsPassTheirHorizon(t *testing.T) {
	erasedAt := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := erasedAt
	repo := raceRepo(t)
	s, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{Now: func() time.Time { return clock }, Location: time.UTC,
		RequestKey: bytes.Repeat([]byte{7}, MinRequestKey)})
	if err != nil {
		t.Fatal(err)
	}
	type visit struct {
		name     string
		recorded time.Time
		// reduced: recorded with an invoice a correction removed, which the erasure
		// removes from the original too; else the correction records its payment, and
		// the visit, kept whole, is only marked.
		reduced bool
		id      string
		fix     AmendVisit
	}
	visits := []*visit{
		{name: "old, marked", recorded: erasedAt.AddDate(0, -2, 0)},
		{name: "old, reduced", recorded: erasedAt.AddDate(0, -2, 0), reduced: true},
		{name: "recent, marked", recorded: erasedAt.AddDate(0, 0, -1)},
		{name: "recent, reduced", recorded: erasedAt.AddDate(0, 0, -1), reduced: true},
	}
	for i, v := range visits {
		clock = v.recorded
		invoice := domain.Invoice{Number: fmt.Sprintf("2026-%d", i), State: domain.InvoiceOpen}
		rec, err := s.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, RequestID: fmt.Sprintf("visit-%d", i),
			Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check", StartTime: v.recorded, Invoices: []domain.Invoice{invoice}}})
		if err != nil {
			t.Fatal(err)
		}
		v.id = rec.ID
		var corrected []domain.Invoice
		if !v.reduced {
			invoice.State = domain.InvoicePaid
			corrected = []domain.Invoice{invoice}
		}
		v.fix = AmendVisit{ID: v.id, RequestID: fmt.Sprintf("bill-%d", i), Paths: []string{"invoices"},
			Version: 1, Reason: "settled", Visit: domain.Visit{Invoices: corrected}}
		if _, _, err := s.AmendVisit(as(t, auth.RoleBilling), v.fix); err != nil {
			t.Fatal(err)
		}
	}
	// checkDigests checks which visits still hold their request digests on the day.
	checkDigests := func(day string, held func(*visit) bool) {
		t.Helper()
		for _, v := range visits {
			rec, err := repo.GetVisit(t.Context(), v.id)
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Current.Restricted || (len(rec.Original.Invoices) == 0) != v.reduced {
				t.Errorf("%s: visit %+v not restricted as planned", v.name, rec)
			}
			if got := rec.Digest != "" && rec.Amendments[0].Digest != ""; got != held(v) {
				t.Errorf("%s, %s: visit digest %q, amendment digest %q; want them held: %v", day, v.name, rec.Digest, rec.Amendments[0].Digest, held(v))
			}
			if got := rec.Amendments[0].RequestID; (got != "") != held(v) {
				t.Errorf("%s, %s: amendment request id %q; want it held: %v", day, v.name, got, held(v))
			}
			if !held(v) {
				continue
			}
			if _, a, err := s.AmendVisit(as(t, auth.RoleBilling), v.fix); err != nil || a.Version != 2 {
				t.Errorf("%s, %s: the correction's retry answered %+v, %v; want the correction", day, v.name, a, err)
			}
		}
	}
	clock = erasedAt
	if _, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
		t.Fatal(err)
	}
	recent := func(v *visit) bool { return v.recorded.After(erasedAt.AddDate(0, 0, -domain.RequestDigestDays)) }
	checkDigests("at the erasure", recent)
	for _, tc := range []struct {
		day  time.Time
		held func(*visit) bool
	}{
		{erasedAt.AddDate(0, 0, domain.RequestDigestDays-1), recent},
		{erasedAt.AddDate(0, 0, domain.RequestDigestDays), func(*visit) bool { return false }},
	} {
		clock = tc.day
		if _, err := s.RunRetentionSweep(t.Context()); err != nil {
			t.Fatal(err)
		}
		checkDigests("swept "+tc.day.Format(time.DateOnly), tc.held)
	}
	if e, err := repo.GetErasure(t.Context(), raceOwner); err != nil || !e.DigestsUntil.IsZero() || len(e.Visits) != len(visits) {
		t.Errorf("erasure record after the digests' sweep: %+v (%v), want every visit held and no digests due", e, err)
	}
}

// TestStoredErasureKeepsWhatItsVisitsHeld: an erasure record read back tells what each
// visit it planned held, so that its retry, planning again after it deleted one, still
// counts the deleted visit's medications and invoices erased.
func TestStoredErasureKeepsWhatItsVisitsHeld(t *testing.T) {
	repo := raceRepo(t)
	planned := []domain.VisitRetention{
		{VisitID: "v1", Version: 2, Medications: true, Invoices: 2},
		{VisitID: "v2", Version: 1, RecordUntil: retention.Date{Year: 2029, Month: 6, Day: 1}},
	}
	if err := repo.SaveErasure(t.Context(), &domain.Erasure{OwnerID: raceOwner, Version: 1, Visits: planned, CountsHeld: true}); err != nil {
		t.Fatal(err)
	}
	e, err := repo.GetErasure(t.Context(), raceOwner)
	if err != nil || !reflect.DeepEqual(e.Visits, planned) || !e.CountsHeld {
		t.Errorf("stored the plan %+v counting what its visits held, read back %+v (%v)", planned, e, err)
	}
}

// TestStoredRecordIsAnsweredAsBefore: an erasure record as the versions before stored
// it, written to the store as such, is read and answered as they answered it. erase-1
// decided over two visits of the animal, a 2019 one with a paid invoice (nothing of it
// kept) and a 2021 one with an open invoice (kept to the end of 2027), deleted the first
// and stopped; billing then adds a second open invoice to the 2021 visit (the same
// parts kept as long), or cancels its invoice (other parts kept). A record whose
// entries say what their visits held (counts_held) still counts the 2019 invoice
// erased either way; one stored before they did keeps it as first answered while the
// plan keeps the same parts, and counts the deleted visit as a patient record only once
// the plan keeps other parts.
func TestStoredRecordIsAnsweredAsBefore(t *testing.T) {
	recordsErased := domain.Disposition{Class: domain.ClassPatientRecords, Count: 2}
	invoiceErased := domain.Disposition{Class: domain.ClassInvoices, Count: 1}
	twoKept := domain.Disposition{Class: domain.ClassInvoices, Kept: true, Basis: retention.BasisBookkeeping,
		KeptUntil: retention.Date{Year: 2027, Month: 12, Day: 31}, Count: 2}
	for _, tc := range []struct {
		name string
		// countsHeld: the entries say what their visits held.
		countsHeld bool
		correct    func(*testing.T, *Service, *domain.Visit)
		want       []domain.Disposition
	}{
		{"counts held, an invoice added", true, addSecondOpenInvoice, []domain.Disposition{recordsErased, twoKept, invoiceErased}},
		{"counts held, the invoice cancelled", true, removeOpenInvoice, []domain.Disposition{recordsErased, invoiceErased}},
		{"stored before, an invoice added", false, addSecondOpenInvoice, []domain.Disposition{recordsErased, twoKept, invoiceErased}},
		{"stored before, the invoice cancelled", false, removeOpenInvoice, []domain.Disposition{recordsErased}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("stored")
			repo := historymongo.New(db)
			s, err := New(repo, &slowRegistry{}, nopAuditor{}, Options{Now: func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }})
			if err != nil {
				t.Fatal(err)
			}
			kept, err := s.RecordVisit(as(t, auth.RoleVeterinarian), RecordVisit{PatientID: racePatient, Visit: domain.Visit{Clinic: domain.ClinicKangasala, Reason: "check",
				StartTime: time.Date(2021, 6, 1, 10, 0, 0, 0, time.UTC), Invoices: []domain.Invoice{{Number: "2021-15", State: domain.InvoiceOpen}}}})
			if err != nil {
				t.Fatal(err)
			}
			deleted := bson.M{"visit_id": "0b6d4f3e-2c59-4f0a-9e57-0000000000dd", "version": 1}
			held := bson.M{"visit_id": kept.ID, "invoice_until": "2027-12-31", "version": 1}
			record := bson.M{"_id": raceOwner, "version": 3, "applied": false, "visits": bson.A{deleted, held},
				"requests": bson.A{bson.M{"request_id": "erase-1", "decided_at": time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC),
					"dispositions": bson.A{
						bson.M{"class": "patient_records", "kept": false, "count": 2},
						bson.M{"class": "invoices", "kept": true, "basis": retention.BasisBookkeeping, "kept_until": "2027-12-31", "count": 1},
						bson.M{"class": "invoices", "kept": false, "count": 1},
					},
					"owner_named_until": "2027-12-31", "identity_code_needed_until": "2027-12-31"}}}
			if tc.countsHeld {
				deleted["invoices"], held["invoices"], record["counts_held"] = 1, 1, true
			}
			if _, err := db.Collection("erasures").InsertOne(t.Context(), record); err != nil {
				t.Fatal(err)
			}
			tc.correct(t, s, kept)
			res, err := s.EraseOwnerData(as(t, auth.RoleClinicManager), raceOwner, "erase-1")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Dispositions, tc.want) {
				t.Errorf("erase-1 answered %+v, want %+v", res.Dispositions, tc.want)
			}
		})
	}
}
