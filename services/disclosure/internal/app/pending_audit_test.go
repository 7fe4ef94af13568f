package app_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// stopAfterClaim cancels the context it holds once a findAndModify on the log has
// succeeded: the process stopping (or the sweep's context ending) between
// FinalizeRecord's claim and its apply.
type stopAfterClaim struct {
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (s *stopAfterClaim) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
	if e.CommandName != "findAndModify" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
}

func (s *stopAfterClaim) arm(cancel context.CancelFunc) {
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
}

// monitoredStore is newPeersStore on a client whose command successes succeeded sees.
func monitoredStore(t *testing.T, owner *racingOwner, succeeded func(context.Context, *event.CommandSucceededEvent)) (*app.Service, *disclosuremongo.Repository, *mongo.Database, *audit.Writer) {
	t.Helper()
	store := embeddedtest.Start(t)
	client, err := mongo.Connect(options.Client().ApplyURI(store.URI()).
		SetMonitor(&event.CommandMonitor{Succeeded: succeeded}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	db := client.Database("disclosure_race")
	writer := audit.NewWriter(db, slog.New(slog.DiscardHandler))
	actx, astop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- writer.Run(actx) }()
	t.Cleanup(func() {
		astop()
		if err := <-done; err != nil {
			t.Errorf("audit writer: %v", err)
		}
	})
	repo := disclosuremongo.New(db)
	rcpt := domain.Recipient{ID: racingRecipientID, Name: "Vakuutus", Kind: domain.KindInsurer, Country: "FI",
		Active: true, Categories: domain.DefaultCategories(domain.KindInsurer), CreatedAt: time.Now()}
	if _, err := repo.CreateRecipient(t.Context(), rcpt); err != nil {
		t.Fatal(err)
	}
	svc, err := app.New(repo, app.Peers{Owners: owner, Consents: peers{}, History: racingHistory{owner}}, writer, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, repo, db, writer
}

func deniedAudits(t *testing.T, db *mongo.Database, id string) int64 {
	t.Helper()
	n, err := db.Collection(audit.Collection).CountDocuments(t.Context(), bson.M{
		"action": "disclosure.create", "resource": "disclosures/" + id, "outcome": audit.OutcomeDenied})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSweepStoppedBetweenClaimAndApplyStillAudits: the sweep's context ends
// (the service stopping) right after FinalizeRecord's claim; the next sweep makes the
// entry refused as the first claimed. The refusal must be audited once: its caller
// never had it audited, and neither sweep did.
func TestSweepStoppedBetweenClaimAndApplyStillAudits(t *testing.T) {
	stop := &stopAfterClaim{}
	owner := &racingOwner{}
	svc, repo, db, writer := monitoredStore(t, owner, stop.succeeded)
	leavePending(t, svc, owner, racingRequest())
	id := pendingEntry(t, db)
	later := func() time.Time { return time.Now().Add(app.PendingTimeout + time.Minute) }
	sweep, err := app.NewRetention(repo, writer, app.RetentionOptions{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stop.arm(cancel)
	if _, err := sweep.RunRetentionSweep(ctx); err == nil {
		t.Fatal("the first sweep went through although its context ended after the claim")
	}
	if _, err := sweep.RunRetentionSweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if logged := onlyEntry(t, repo); refusalReason(logged) != domain.RefusalNotCompleted {
		t.Fatalf("logged %q, want NOT_COMPLETED", refusalReason(logged))
	}
	if n := deniedAudits(t, db, id); n != 1 {
		t.Errorf("%d refusals of the entry audited, want 1", n)
	}
}

// failingFinalize fails the nth FinalizeRecord (1-based), once.
type failingFinalize struct {
	*disclosuremongo.Repository
	mu    sync.Mutex
	calls int
	nth   int
}

func (s *failingFinalize) FinalizeRecord(ctx context.Context, id string, decided domain.Outcome, refused func(domain.Record) error) (domain.Record, bool, error) {
	s.mu.Lock()
	s.calls++
	fail := s.calls == s.nth
	s.mu.Unlock()
	if fail {
		return domain.Record{}, false, errors.New("the store is unavailable")
	}
	return s.Repository.FinalizeRecord(ctx, id, decided, refused)
}

// TestSweepFailingMidBatchAuditsWhatItRefused: two stale pending entries; the
// sweep refuses the first and fails on the second (a store error, the context ending).
// The first, refused by that sweep, is never found again; its refusal must still be
// audited, as the erasure job audits what it refused before an error.
func TestSweepFailingMidBatchAuditsWhatItRefused(t *testing.T) {
	owner := &racingOwner{}
	svc, repo, db, writer := newRacingStore(t, domain.KindInsurer, owner)
	leavePending(t, svc, owner, racingRequest())
	second := racingRequest()
	second.RequestID = "claim-2-request"
	leavePending(t, svc, owner, second)
	cur, err := db.Collection(disclosuremongo.DisclosuresCollection).Find(t.Context(), bson.M{"outcome": "pending"})
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(t.Context(), &docs); err != nil || len(docs) != 2 {
		t.Fatalf("%d pending entries (%v), want 2", len(docs), err)
	}
	later := func() time.Time { return time.Now().Add(app.PendingTimeout + time.Minute) }
	failing, err := app.NewRetention(&failingFinalize{Repository: repo, nth: 2}, writer, app.RetentionOptions{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := failing.RunRetentionSweep(t.Context()); err == nil {
		t.Fatal("the sweep went through although its second finalize failed")
	}
	sweep, err := app.NewRetention(repo, writer, app.RetentionOptions{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.RunRetentionSweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		rec, err := repo.Record(t.Context(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if refusalReason(rec) != domain.RefusalNotCompleted {
			t.Errorf("%s logged %q, want NOT_COMPLETED", d.ID, refusalReason(rec))
		}
		if n := deniedAudits(t, db, d.ID); n != 1 {
			t.Errorf("%d refusals of %s audited, want 1", n, d.ID)
		}
	}
}

// failingRefusalAudit is an audit log that fails to store the first refused
// disclosure.create handed to RecordNow.
type failingRefusalAudit struct {
	*audit.Writer
	mu     sync.Mutex
	failed bool
}

func (a *failingRefusalAudit) RecordNow(ctx context.Context, events ...audit.Event) error {
	a.mu.Lock()
	fail := !a.failed && slices.ContainsFunc(events, func(e audit.Event) bool {
		return e.Action == "disclosure.create" && e.Outcome == audit.OutcomeDenied
	})
	a.failed = a.failed || fail
	a.mu.Unlock()
	if fail {
		return errors.New("the audit log is unavailable")
	}
	return a.Writer.RecordNow(ctx, events...)
}

// TestJobFailingToAuditARefusalAuditsItOnTheRetriedStep: the erasure job refuses a
// pending disclosure but cannot store the audit event of the refusal; its step fails
// and is retried, and the retried step, which must find the entry still to be
// refused, audits it once.
func TestJobFailingToAuditARefusalAuditsItOnTheRetriedStep(t *testing.T) {
	owner := &racingOwner{}
	svc, repo, db, writer := newRacingStore(t, domain.KindInsurer, owner)
	var later atomic.Bool
	e, jobID := newRacingErasureWith(t, repo, app.ErasureDeps{
		Owner: owner, History: erasers{}, Auditor: &failingRefusalAudit{Writer: writer},
		Now: func() time.Time {
			if later.Load() {
				return time.Now().Add(2 * time.Hour)
			}
			return time.Now()
		},
	})
	leavePending(t, svc, owner, racingRequest())
	id := pendingEntry(t, db)
	e.RunDue(t.Context())
	if got, err := repo.ErasureJob(t.Context(), jobID); err != nil || got.State == domain.JobDone {
		t.Fatalf("the job is %v (%v) although the refusal's audit failed", got.State, err)
	}
	later.Store(true)
	e.RunDue(t.Context())
	if got, err := repo.ErasureJob(t.Context(), jobID); err != nil || got.State != domain.JobDone {
		t.Fatalf("the retried job is %v (%v), want done", got.State, err)
	}
	if logged := onlyEntry(t, repo); refusalReason(logged) != domain.RefusalOwnerRestricted {
		t.Fatalf("logged %q, want OWNER_RESTRICTED", refusalReason(logged))
	}
	if n := deniedAudits(t, db, id); n != 1 {
		t.Errorf("%d refusals of the entry audited, want 1", n)
	}
}
