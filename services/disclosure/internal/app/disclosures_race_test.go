package app_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// racingOwner is the owner service during an erasure: the job's restriction shows in
// the status the disclosure reads. meanwhile runs at a named moment of the disclosure
// ("status 2": after its second status read, whose answer is then on its way; "export":
// while the history export is gathered), and the status read named unavailable fails.
type racingOwner struct {
	peers
	restricted  atomic.Bool
	reads       int
	meanwhile   map[string]func()
	unavailable string
}

func (o *racingOwner) Status(context.Context, string) (app.OwnerStatus, error) {
	o.reads++
	st := app.OwnerStatus{Exists: true, Restricted: o.restricted.Load()}
	moment := fmt.Sprintf("status %d", o.reads)
	o.run(moment)
	if moment == o.unavailable {
		return app.OwnerStatus{}, errors.New("the owner service is unavailable")
	}
	return st, nil
}

func (o *racingOwner) run(moment string) {
	if f := o.meanwhile[moment]; f != nil {
		f()
	}
}

func (o *racingOwner) RestrictOwner(context.Context, string, string, string) error {
	o.restricted.Store(true)
	return nil
}

func (o *racingOwner) EraseOwner(context.Context, string, string, string, string) ([]domain.Disposition, error) {
	return nil, nil
}

// racingHistory is the history service: its export of the owner's visits runs the
// owner's moment "export".
type racingHistory struct{ owner *racingOwner }

func (h racingHistory) Export(context.Context, string) (app.HistoryExport, error) {
	h.owner.run("export")
	return app.HistoryExport{Visits: []app.VisitRecord{{Visit: app.Visit{ID: "v1", PatientID: "0190a0b0-0000-7000-8000-0000000000b1", Reason: "Limping"}}}}, nil
}

// haltingHistoryEraser holds the erasure job at its history step until released.
type haltingHistoryEraser struct {
	reached chan struct{}
	release chan struct{}
}

func (h haltingHistoryEraser) EraseHistory(context.Context, string, string) (domain.StepResult, error) {
	close(h.reached)
	<-h.release
	return domain.StepResult{}, nil
}

// TestDisclosureRacingAnErasureLeavesNoPackage runs an insurer's disclosure of an owner's
// visits, begun before the owner's erasure, with the erasure job at several moments of
// it. Whatever the moment, when the job is done the disclosure log holds no package
// about the owner, and a recipient the package may have reached is listed for
// notification (GDPR Art. 19); one it did not reach is refused, its refusal logged when
// it is found before the log entry.
func TestDisclosureRacingAnErasureLeavesNoPackage(t *testing.T) {
	const ownerID, recipientID = "0190a0b0-0000-7000-8000-0000000000a1", "0190a0b0-0000-7000-8000-000000000001"
	for _, tc := range []struct {
		name string
		// moment is when the whole job runs; halted, when the job runs up to its history
		// step, held there until the disclosure has answered.
		moment, halted string
		unavailable    string
		// refusal is the disclosure's answer ("" for the package) and logged the log
		// entry's refusal ("" for a disclosure).
		refusal, logged domain.RefusalReason
		failed          bool
		notified        bool
	}{
		{name: "the job runs after the disclosure", moment: "after", notified: true},
		{name: "the job runs while the package is gathered", moment: "export",
			refusal: domain.RefusalOwnerRestricted, logged: domain.RefusalOwnerRestricted},
		{name: "the job runs between the last check and the log entry", moment: "status 2",
			refusal: domain.RefusalOwnerRestricted},
		{name: "the disclosure fails after its log entry, within the job", halted: "status 2", unavailable: "status 3",
			failed: true, notified: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, writer := servicetest.AuditedDB(t, "disclosure_race")
			repo := disclosuremongo.New(db)
			rcpt := domain.Recipient{ID: recipientID, Name: "Vakuutus", Kind: domain.KindInsurer, Country: "FI",
				Active: true, Categories: domain.DefaultCategories(domain.KindInsurer), CreatedAt: time.Now()}
			if _, err := repo.CreateRecipient(t.Context(), rcpt); err != nil {
				t.Fatal(err)
			}
			owner := &racingOwner{unavailable: tc.unavailable}
			svc, err := app.New(repo, app.Peers{Owners: owner, Consents: peers{}, History: racingHistory{owner}}, writer, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var historyEraser app.HistoryEraser = erasers{}
			halt := haltingHistoryEraser{reached: make(chan struct{}), release: make(chan struct{})}
			if tc.halted != "" {
				historyEraser = halt
			}
			e := app.NewErasure(app.ErasureDeps{
				Jobs: repo, Log: repo, Owner: owner, Consent: erasers{}, History: historyEraser,
				Credentials: jobCredentials{}, Auditor: writer,
			}, app.ErasureOptions{})
			now := time.Now().UTC().Truncate(time.Millisecond)
			j := domain.NewErasureJob("0190a0b0-0000-7000-8000-0000000000e1", domain.Receipt{
				OwnerID: ownerID, ReceivedAt: now, Channel: domain.ChannelLetter, Identification: domain.IdentifiedByDocument, IdentifiedBy: "staff-1",
			}, now)
			if _, err := repo.CreateErasureJob(t.Context(), j); err != nil {
				t.Fatal(err)
			}
			jobDone := make(chan struct{})
			runJob := func() {
				defer close(jobDone)
				e.RunDue(t.Context())
			}
			owner.meanwhile = map[string]func(){tc.moment: runJob}
			if tc.halted != "" {
				owner.meanwhile[tc.halted] = func() {
					go runJob()
					<-halt.reached
				}
			}

			ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "vet", Roles: []auth.Role{auth.RoleVeterinarian}})
			rec, err := svc.Disclose(ctx, domain.DisclosureRequest{
				RecipientID: recipientID, OwnerID: ownerID, Categories: []domain.Category{domain.CategoryVisitHistory}, CaseReference: "claim 1",
			})
			switch pe := (*apperr.PreconditionError)(nil); {
			case tc.failed:
				if err == nil {
					t.Fatalf("disclosed %s while the owner service was unavailable", rec.Payload)
				}
			case tc.refusal != "":
				if !errors.As(err, &pe) || pe.Reason != string(tc.refusal) || rec.Payload != nil {
					t.Fatalf("answered %v with %s, want %s and no package", err, rec.Payload, tc.refusal)
				}
			case err != nil || rec.Payload == nil:
				t.Fatalf("answered %v without the package", err)
			}
			close(halt.release)
			if tc.moment == "after" {
				runJob()
			}
			<-jobDone

			job, err := repo.ErasureJob(t.Context(), j.ID)
			if err != nil || job.State != domain.JobDone {
				t.Fatalf("erasure job: %v %v", job.State, err)
			}
			page, err := repo.OwnerRecords(t.Context(), ownerID, 10, "")
			if err != nil || len(page.Items) != 1 {
				t.Fatalf("log: %v %v", page, err)
			}
			logged, err := repo.Record(t.Context(), page.Items[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if logged.Payload != nil {
				t.Errorf("after the owner's erasure finished, the disclosure log still holds a package about them: %s", logged.Payload)
			}
			if got := refusalReason(logged); got != tc.logged {
				t.Errorf("logged refusal %q, want %q", got, tc.logged)
			}
			notified := slices.ContainsFunc(job.Notify, func(n domain.Notification) bool { return n.RecipientID == recipientID })
			if notified != tc.notified {
				t.Errorf("the insurer listed for notification: %v, want %v (%+v)", notified, tc.notified, job.Notify)
			}
		})
	}
}

func refusalReason(rec domain.Record) domain.RefusalReason {
	if rec.Refusal == nil {
		return ""
	}
	return rec.Refusal.Reason
}
