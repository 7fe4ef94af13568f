package app_test

import (
	"context"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
)

// runAfterClaim runs f once, synchronously, after the next findAndModify (a
// FinalizeRecord claim) succeeds once armed: another call coming between a claim and
// its apply.
type runAfterClaim struct {
	mu sync.Mutex
	f  func()
}

func (r *runAfterClaim) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
	if e.CommandName != "findAndModify" {
		return
	}
	r.mu.Lock()
	f := r.f
	r.f = nil
	r.mu.Unlock()
	if f != nil {
		f()
	}
}

// storedAtOnce stores the events the service queues before the call answers, so that
// a test counts them without waiting for the writer's batch.
type storedAtOnce struct{ *audit.Writer }

func (a storedAtOnce) Record(ctx context.Context, events ...audit.Event) error {
	return a.RecordNow(ctx, events...)
}

// TestDisclosureRefusalRacingTheJobIsAuditedOnce: a disclosure racing the owner's
// erasure reads the owner restricted at its last check and claims its entry refused
// OWNER_RESTRICTED; the erasure job's erase step finds the entry still pending (between
// the disclosure's claim and its apply) and, the first claim refusing, audits the
// refusal as unanswered. The disclosure then answers the refusal and audits it under
// the same id, so the access report shows one refused disclosure, not two.
func TestDisclosureRefusalRacingTheJobIsAuditedOnce(t *testing.T) {
	hook := &runAfterClaim{}
	owner := &racingOwner{}
	_, repo, db, writer := monitoredStore(t, owner, hook.succeeded)
	svc, err := app.New(repo, app.Peers{Owners: owner, Consents: peers{}, History: racingHistory{owner}},
		storedAtOnce{writer}, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := newRacingErasure(t, repo, owner, erasers{}, writer)
	owner.meanwhile = map[string]func(){
		// The job's restriction lands after the first read, so the last one sees it.
		"status 1": func() { owner.restricted.Store(true) },
		"status 2": func() {
			hook.mu.Lock()
			hook.f = func() { e.RunDue(context.Background()) }
			hook.mu.Unlock()
		},
	}
	rec, err := svc.Disclose(vetContext(), racingRequest())
	checkAnswer(t, "the disclosure", rec, err, domain.RefusalOwnerRestricted)
	hook.mu.Lock()
	missed := hook.f != nil
	hook.mu.Unlock()
	if missed {
		t.Fatal("the erasure job never ran between the disclosure's claim and its apply")
	}
	logged := onlyEntry(t, repo)
	if refusalReason(logged) != domain.RefusalOwnerRestricted {
		t.Fatalf("logged %q, want OWNER_RESTRICTED", refusalReason(logged))
	}
	if n := deniedAudits(t, db, logged.ID); n != 1 {
		t.Errorf("%d refusals of the one entry audited, want 1", n)
	}
}
