package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

const (
	amendedOwner   = "0190a0b0-0000-7000-8000-0000000000a1"
	amendedPatient = "0190a0b0-0000-7000-8000-0000000000b1"
	amendedVisit   = "0190a0b0-0000-7000-8000-0000000000c1"
	recipientA     = "0190a0b0-0000-7000-8000-000000000001"
	recipientB     = "0190a0b0-0000-7000-8000-000000000002"
	recipientC     = "0190a0b0-0000-7000-8000-000000000003"
)

// tickingClock moves on a millisecond each time it is read: shared by the service and
// the history fake, the order of the reads is the order of the times.
type tickingClock struct{ now time.Time }

func (c *tickingClock) Now() time.Time {
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

// recordingHistory is the history service while a veterinarian records a visit: the
// visit is recorded after the disclosure took its log time and before its export reads
// the history, so the package carries it.
type recordingHistory struct {
	clock    *tickingClock
	recorded *time.Time
}

func (h recordingHistory) Export(context.Context, string) (app.HistoryExport, error) {
	*h.recorded = h.clock.Now()
	return app.HistoryExport{Visits: []app.VisitRecord{{Visit: app.Visit{
		ID: amendedVisit, PatientID: amendedPatient, Reason: "ears", Diagnoses: []app.Diagnosis{{Text: "Otitis externa"}},
		Version: 1, CreateTime: *h.recorded,
	}}}}, nil
}

// laterAmendment answers the diagnosis correction of the visit, an hour after it was
// recorded.
type laterAmendment struct{ recorded *time.Time }

func (a laterAmendment) Amendment(context.Context, string, int64) (app.VisitAmendment, error) {
	return app.VisitAmendment{
		OwnerID: amendedOwner, PatientID: amendedPatient, Recorded: *a.recorded, Time: a.recorded.Add(time.Hour), Fields: []string{"diagnoses"},
	}, nil
}

// TestAmendedVisitCarriedByADisclosureBegunBeforeItsRecording: a disclosure's log time
// is taken before its package is gathered, so one begun just before a visit was
// recorded can carry the visit; its recipient received the wrong diagnosis and is
// listed when the diagnosis is corrected (GDPR Art. 19). Entries logged before the
// gathering time was kept are bounded by their log time, as they were.
func TestAmendedVisitCarriedByADisclosureBegunBeforeItsRecording(t *testing.T) {
	db, writer := servicetest.AuditedDB(t, "disclosure_rectification")
	repo := disclosuremongo.New(db)
	for _, id := range []string{recipientA, recipientB, recipientC} {
		if _, err := repo.CreateRecipient(t.Context(), domain.Recipient{
			ID: id, Name: "Vakuutus " + id[len(id)-1:], Kind: domain.KindInsurer, Country: "FI",
			Active: true, Categories: domain.DefaultCategories(domain.KindInsurer), CreatedAt: time.Now(),
		}); err != nil {
			t.Fatal(err)
		}
	}
	clock := &tickingClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	var recorded time.Time
	svc, err := app.New(repo, app.Peers{Owners: peers{}, Consents: peers{}, History: recordingHistory{clock, &recorded}}, writer, app.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "reception", Roles: []auth.Role{auth.RoleReception}})
	rec, err := svc.Disclose(ctx, domain.DisclosureRequest{
		RecipientID: recipientA, OwnerID: amendedOwner, Categories: []domain.Category{domain.CategoryVisitHistory}, CaseReference: "claim 1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.CreatedAt.Before(recorded) || !strings.Contains(string(rec.Payload), "Otitis externa") {
		t.Fatalf("logged at %v, the visit recorded at %v; package %s", rec.CreatedAt, recorded, rec.Payload)
	}
	// Entries logged before the gathering time was kept: one after the visit was
	// recorded, one before.
	for _, legacy := range []struct {
		id, recipient string
		logged        time.Time
	}{
		{"0190a0b0-0000-7000-8000-000000000101", recipientB, recorded.Add(time.Millisecond)},
		{"0190a0b0-0000-7000-8000-000000000102", recipientC, recorded.Add(-time.Millisecond)},
	} {
		if _, err := repo.AppendRecord(t.Context(), domain.Record{
			ID: legacy.id, RecipientID: legacy.recipient, RecipientKind: domain.KindInsurer,
			OwnerID: amendedOwner, PatientIDs: []string{amendedPatient}, Categories: []domain.Category{domain.CategoryVisitHistory},
			Basis: domain.BasisConsent, RequestedBy: "reception", CreatedAt: legacy.logged, PayloadSHA256: "00", Payload: []byte("{}"),
		}); err != nil {
			t.Fatal(err)
		}
	}

	e := app.NewErasure(app.ErasureDeps{
		Jobs: repo, Log: repo, Owner: &racingOwner{}, Consent: erasers{}, History: erasers{}, Visits: laterAmendment{&recorded},
		Credentials: jobCredentials{}, Auditor: writer,
	}, app.ErasureOptions{})
	mgr := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
	r, err := e.RectificationRecipients(mgr, app.RectificationQuery{OwnerID: amendedOwner, VisitID: amendedVisit, Version: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range r.Recipients {
		got = append(got, n.RecipientID)
	}
	slices.Sort(got)
	if want := []string{recipientA, recipientB}; !slices.Equal(got, want) {
		t.Errorf("recipients to tell of the corrected diagnosis = %v, want %v: the disclosure %s (package gathered after the visit) and the entry logged after it", got, want, rec.ID)
	}
}
