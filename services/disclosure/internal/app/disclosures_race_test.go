package app_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// racingOwner is the owner service during an erasure: the job's restriction shows in
// the status the disclosure reads. meanwhile runs at a named moment of the disclosure
// ("status 1": after its first status read, whose answer is then on its way; "status 2":
// the same of its read once the entry is logged pending; "export": while the history
// export is gathered), and the status read named unavailable fails; with stop, it ends
// the call's context first (see stoppingAt).
type racingOwner struct {
	peers
	restricted  atomic.Bool
	reads       int
	meanwhile   map[string]func()
	unavailable string
	stop        context.CancelFunc
}

func (o *racingOwner) Status(ctx context.Context, _ string) (app.OwnerStatus, error) {
	o.reads++
	st := app.OwnerStatus{Exists: true, Restricted: o.restricted.Load()}
	moment := fmt.Sprintf("status %d", o.reads)
	o.run(moment)
	if moment == o.unavailable {
		if o.stop != nil {
			o.stop()
			return app.OwnerStatus{}, fmt.Errorf("ask the owner service: %w", ctx.Err())
		}
		return app.OwnerStatus{}, fmt.Errorf("ask the owner service: %w", status.Error(codes.Unavailable, "connection refused"))
	}
	return st, nil
}

// stoppingAt answers a vet's context that ends at the status read named moment, which
// then fails, as when the caller gives up there: the disclosure's writes after it fail
// too, so its log entry stays pending.
func (o *racingOwner) stoppingAt(moment string) context.Context {
	ctx, stop := context.WithCancel(vetContext())
	o.unavailable, o.stop = moment, stop
	return ctx
}

func (o *racingOwner) run(moment string) {
	if f := o.meanwhile[moment]; f != nil {
		f()
	}
}

func (o *racingOwner) RestrictOwner(context.Context, string, string) error {
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
// about the owner, and a recipient the package reached is listed for notification
// (GDPR Art. 19); one it did not reach is refused, its refusal logged, whether the
// disclosure found the owner restricted or the job found the entry pending.
func TestDisclosureRacingAnErasureLeavesNoPackage(t *testing.T) {
	for _, tc := range []struct {
		name string
		// moment is when the whole job runs; halted, when the job runs up to its history
		// step, held there until the disclosure has answered.
		moment, halted string
		// unavailable is the status read that fails; stopped, the one the call stops at.
		unavailable, stopped string
		// refusal is the disclosure's answer ("" for the package) and logged the log
		// entry's refusal ("" for a disclosure).
		refusal, logged domain.RefusalReason
		failed          bool
		notified        bool
	}{
		{name: "the job runs after the disclosure", moment: "after", notified: true},
		{name: "the job runs while the package is gathered", moment: "export",
			refusal: domain.RefusalOwnerRestricted, logged: domain.RefusalOwnerRestricted},
		{name: "the job runs between the last check and the entry's finalizing", moment: "status 2",
			refusal: domain.RefusalOwnerRestricted, logged: domain.RefusalOwnerRestricted},
		{name: "the disclosure stops at its last check, the job's erase step refuses the entry", halted: "status 2", stopped: "status 2",
			failed: true, logged: domain.RefusalOwnerRestricted},
		{name: "the disclosure stops at its last check after the job's erase step, the job's last step refuses the entry",
			halted: "export", stopped: "status 2", failed: true, logged: domain.RefusalOwnerRestricted},
		{name: "the disclosure fails at its last check after the job's erase step and refuses the entry itself",
			halted: "export", unavailable: "status 2", refusal: domain.RefusalNotCompleted, logged: domain.RefusalNotCompleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := &racingOwner{unavailable: tc.unavailable}
			ctx := vetContext()
			if tc.stopped != "" {
				ctx = owner.stoppingAt(tc.stopped)
			}
			svc, repo, writer := newRacingService(t, domain.KindInsurer, owner)
			var historyEraser app.HistoryEraser = erasers{}
			halt := haltingHistoryEraser{reached: make(chan struct{}), release: make(chan struct{})}
			if tc.halted != "" {
				historyEraser = halt
			}
			e, jobID := newRacingErasure(t, repo, owner, historyEraser, writer)
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

			req := racingRequest()
			req.RequestID = ""
			rec, err := svc.Disclose(ctx, req)
			switch pe := (*apperr.PreconditionError)(nil); {
			case tc.failed:
				if err == nil {
					t.Fatalf("disclosed %s though the call stopped", rec.Payload)
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

			job, err := repo.ErasureJob(t.Context(), jobID)
			if err != nil || job.State != domain.JobDone {
				t.Fatalf("erasure job: %v %v", job.State, err)
			}
			page, err := repo.OwnerRecords(t.Context(), racingOwnerID, 10, "")
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
			notified := slices.ContainsFunc(job.Notify, func(n domain.Notification) bool { return n.RecipientID == racingRecipientID })
			if notified != tc.notified {
				t.Errorf("the insurer listed for notification: %v, want %v (%+v)", notified, tc.notified, job.Notify)
			}
		})
	}
}

// The owner and the recipient of the racing tests.
const racingOwnerID, racingRecipientID = "0190a0b0-0000-7000-8000-0000000000a1", "0190a0b0-0000-7000-8000-000000000001"

// newRacingService is the disclosure service on its own store, with one recipient of
// kind, and the owner and history services of owner; it answers the store too.
func newRacingService(t *testing.T, kind domain.Kind, owner *racingOwner) (*app.Service, *disclosuremongo.Repository, *audit.Writer) {
	t.Helper()
	svc, repo, _, writer := newRacingStore(t, kind, owner)
	return svc, repo, writer
}

// newRacingStore is newRacingService with its database.
func newRacingStore(t *testing.T, kind domain.Kind, owner *racingOwner) (*app.Service, *disclosuremongo.Repository, *mongo.Database, *audit.Writer) {
	t.Helper()
	return newPeersStore(t, kind, app.Peers{Owners: owner, Consents: peers{}, History: racingHistory{owner}})
}

// newPeersStore is newRacingStore with the other services given.
func newPeersStore(t *testing.T, kind domain.Kind, p app.Peers) (*app.Service, *disclosuremongo.Repository, *mongo.Database, *audit.Writer) {
	t.Helper()
	db, writer := servicetest.AuditedDB(t, "disclosure_race")
	repo := disclosuremongo.New(db)
	rcpt := domain.Recipient{ID: racingRecipientID, Name: "Vakuutus", Kind: kind, Country: "FI",
		Active: true, Categories: domain.DefaultCategories(kind), CreatedAt: time.Now()}
	if _, err := repo.CreateRecipient(t.Context(), rcpt); err != nil {
		t.Fatal(err)
	}
	svc, err := app.New(repo, p, writer, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, repo, db, writer
}

// newRacingErasure is the erasure job of the racing owner, stored and due, and its
// worker.
func newRacingErasure(t *testing.T, repo *disclosuremongo.Repository, owner *racingOwner, history app.HistoryEraser, writer *audit.Writer) (*app.Erasure, string) {
	t.Helper()
	return newRacingErasureWith(t, repo, app.ErasureDeps{Owner: owner, History: history, Auditor: writer})
}

// newRacingErasureWith is newRacingErasure with the owner and history services, the
// audit log and the clock of deps.
func newRacingErasureWith(t *testing.T, repo *disclosuremongo.Repository, deps app.ErasureDeps) (*app.Erasure, string) {
	t.Helper()
	deps.Jobs, deps.Log, deps.Consent, deps.Credentials = repo, repo, erasers{}, jobCredentials{}
	e := app.NewErasure(deps, app.ErasureOptions{})
	now := time.Now().UTC().Truncate(time.Millisecond)
	j := domain.NewErasureJob("0190a0b0-0000-7000-8000-0000000000e1", domain.Receipt{
		OwnerID: racingOwnerID, ReceivedAt: now, Channel: domain.ChannelLetter, Identification: domain.IdentifiedByDocument, IdentifiedBy: "staff-1",
	}, now)
	if _, err := repo.CreateErasureJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	return e, j.ID
}

// racingRequest is a request for the racing owner's visits, under a request id.
func racingRequest() domain.DisclosureRequest {
	return domain.DisclosureRequest{RecipientID: racingRecipientID, OwnerID: racingOwnerID,
		Categories: []domain.Category{domain.CategoryVisitHistory}, CaseReference: "claim 1", RequestID: "claim-1-request"}
}

// vetContext is the veterinarian's call, by name and with a stated purpose, as a
// token and the client give them.
func vetContext() context.Context {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(auth.MetadataPurpose, vetPurpose))
	return auth.WithIdentity(ctx, auth.Identity{Subject: "vet", Name: "Anna Virtanen", Roles: []auth.Role{auth.RoleVeterinarian}})
}

const vetPurpose = "insurance claim"

// managerContext is the clinic manager's call, stating a purpose of their own.
func managerContext() context.Context {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(auth.MetadataPurpose, "recipient contract ended"))
	return auth.WithIdentity(ctx, auth.Identity{Subject: "manager", Name: "Maija Manageri", Roles: []auth.Role{auth.RoleClinicManager}})
}

func refusalReason(rec domain.Record) domain.RefusalReason {
	if rec.Refusal == nil {
		return ""
	}
	return rec.Refusal.Reason
}
