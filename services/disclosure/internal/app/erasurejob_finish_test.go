package app_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// erasers stand in for the other services' erasure parts, which all succeed.
type erasers struct{}

func (erasers) RestrictOwner(context.Context, string, string) error { return nil }

func (erasers) EraseOwner(context.Context, string, string, string, string) ([]domain.Disposition, error) {
	return nil, nil
}

func (erasers) RestrictConsent(context.Context, string, string) error { return nil }

func (erasers) EraseConsent(context.Context, string, string) ([]domain.Disposition, error) {
	return nil, nil
}

func (erasers) EraseHistory(context.Context, string, string) (domain.StepResult, error) {
	return domain.StepResult{}, nil
}

type jobCredentials struct{}

func (jobCredentials) Context(ctx context.Context) (context.Context, error) {
	return auth.WithIdentity(ctx, auth.Identity{Subject: "service:erasure", Roles: []auth.Role{auth.RoleErasureJob}}), nil
}

// dyingAuditor is the audit log of a worker that dies while it stores the event of a
// job's finish, after the job was stored as done: before the event reached the store,
// or after (stored).
type dyingAuditor struct {
	*audit.Writer
	stored bool
	died   bool
}

func (a *dyingAuditor) RecordNow(ctx context.Context, events ...audit.Event) error {
	finish := slices.ContainsFunc(events, func(e audit.Event) bool { return e.Action == "erasure_request.finish" })
	if !finish || a.died {
		return a.Writer.RecordNow(ctx, events...)
	}
	a.died = true
	if a.stored {
		if err := a.Writer.RecordNow(ctx, events...); err != nil {
			return err
		}
	}
	return errors.New("the worker died")
}

// TestErasureFinishEventSurvivesTheWorker runs a job to its end with a worker that dies
// around the finish event: the job is done, and the next pass of a worker (a restart,
// another replica) stores the event, once, whether or not the first got to store it.
func TestErasureFinishEventSurvivesTheWorker(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stored bool
	}{
		{"died before storing the event", false},
		{"died after storing the event", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, writer := servicetest.AuditedDB(t, "erasure_finish")
			repo := disclosuremongo.New(db)
			auditor := &dyingAuditor{Writer: writer, stored: tc.stored}
			e := app.NewErasure(app.ErasureDeps{
				Jobs: repo, Log: repo, Owner: erasers{}, Consent: erasers{}, History: erasers{},
				Credentials: jobCredentials{}, Auditor: auditor,
			}, app.ErasureOptions{})
			j := createJob(t, repo, "0190a0b0-0000-7000-8000-0000000000e1", "0190a0b0-0000-7000-8000-0000000000a1")
			e.RunDue(t.Context())
			if got, err := repo.ErasureJob(t.Context(), j.ID); err != nil || got.State != domain.JobDone || !auditor.died {
				t.Fatalf("after the first pass: %v %v (died %v)", got.State, err, auditor.died)
			}
			// The next passes: the first takes the job up again, the second finds nothing.
			e.RunDue(t.Context())
			e.RunDue(t.Context())
			filter := bson.M{"action": "erasure_request.finish", "resource": "erasureRequests/" + j.ID, "actor_subject": "service:erasure"}
			if n, err := db.Collection(audit.Collection).CountDocuments(t.Context(), filter); err != nil || n != 1 {
				t.Fatalf("%d finish events, %v; want 1", n, err)
			}
			if got, err := repo.ErasureJob(t.Context(), j.ID); err != nil || got.FinishEventPending {
				t.Fatalf("the job still waits for its finish event: %v, %v", got.FinishEventPending, err)
			}
		})
	}
}

// createJob stores a new erasure job of owner's, received by letter now.
func createJob(t *testing.T, repo *disclosuremongo.Repository, id, owner string) domain.ErasureJob {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	j := domain.NewErasureJob(id, domain.Receipt{
		OwnerID: owner, ReceivedAt: now,
		Channel: domain.ChannelLetter, Identification: domain.IdentifiedByDocument, IdentifiedBy: "staff-1",
	}, now)
	if _, err := repo.CreateErasureJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

// noCredentials are the job's while its token cannot be read or verified.
type noCredentials struct{}

func (noCredentials) Context(context.Context) (context.Context, error) {
	return nil, errors.New("the job token file is empty")
}

// storingAuditor stores every event before it returns, so that a test reads them at once.
type storingAuditor struct{ *audit.Writer }

func (a storingAuditor) Record(ctx context.Context, events ...audit.Event) error {
	return a.RecordNow(ctx, events...)
}

// TestErasureStepWithoutCredentialsIsTheSystems: a step the job could not take for
// want of a token is audited as the service's own work, which the owner's access report
// names the system, not as an actor with no name.
func TestErasureStepWithoutCredentialsIsTheSystems(t *testing.T) {
	db, writer := servicetest.AuditedDB(t, "erasure_no_credentials")
	repo := disclosuremongo.New(db)
	e := app.NewErasure(app.ErasureDeps{
		Jobs: repo, Log: repo, Owner: erasers{}, Consent: erasers{}, History: erasers{},
		Credentials: noCredentials{}, Auditor: storingAuditor{writer},
	}, app.ErasureOptions{})
	j := createJob(t, repo, "0190a0b0-0000-7000-8000-0000000000e2", "0190a0b0-0000-7000-8000-0000000000a2")
	e.RunDue(t.Context())
	var got audit.Event
	filter := bson.M{"action": "erasure_request.step", "subject_owner_id": j.OwnerID, "reason": app.CodeNoCredentials}
	if err := db.Collection(audit.Collection).FindOne(t.Context(), filter).Decode(&got); err != nil {
		t.Fatalf("the failed step's event: %v", err)
	}
	if !got.System || got.ActorSubject != "service:disclosure" {
		t.Errorf("the failed step is audited as %q, system %v; want the service's own", got.ActorSubject, got.System)
	}
}
