package app_test

import (
	"context"
	"testing"
	"time"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
)

// TestJobRefusalOfAPendingDisclosureIsAudited: a disclosure fails at its last check
// (pending) and is never retried; the owner's erasure job refuses it OWNER_RESTRICTED
// and audits the refusal once, as the sweep does the pending entries it refuses: their
// caller never had one audited.
func TestJobRefusalOfAPendingDisclosureIsAudited(t *testing.T) {
	owner := &racingOwner{unavailable: "status 2"}
	svc, repo, db, writer := newRacingStore(t, domain.KindInsurer, owner)
	e, _ := newRacingErasure(t, repo, owner, erasers{}, writer)
	if _, err := svc.Disclose(vetContext(), racingRequest()); err == nil {
		t.Fatal("disclosed while the owner service was unavailable")
	}
	id := pendingEntry(t, db)
	e.RunDue(t.Context())
	if logged := onlyEntry(t, repo); refusalReason(logged) != domain.RefusalOwnerRestricted {
		t.Fatalf("logged %q", refusalReason(logged))
	}
	n, err := db.Collection("audit_events").CountDocuments(t.Context(), map[string]any{
		"action": "disclosure.create", "resource": "disclosures/" + id, "outcome": "denied"})
	if err != nil || n != 1 {
		t.Errorf("%d refusals of the entry audited (%v), want 1", n, err)
	}
}

// hookedStore runs hook once, after StalePending has answered and before the caller
// refuses the entries it found.
type hookedStore struct {
	*disclosuremongo.Repository
	hook func()
}

func (s *hookedStore) StalePending(ctx context.Context, before time.Time, limit int) ([]domain.Expired, error) {
	out, err := s.Repository.StalePending(ctx, before, limit)
	if h := s.hook; h != nil {
		s.hook = nil
		h()
	}
	return out, err
}

// TestTwoSweepsAuditARefusalOnce: two sweeps (two replicas' hourly sweeps, or an
// operator's RunRetentionSweep beside the periodic one) find the same stale pending
// entry; only the one that refused it audits the refusal.
func TestTwoSweepsAuditARefusalOnce(t *testing.T) {
	owner := &racingOwner{unavailable: "status 2"}
	svc, repo, db, writer := newRacingStore(t, domain.KindInsurer, owner)
	if _, err := svc.Disclose(vetContext(), racingRequest()); err == nil {
		t.Fatal("disclosed while the owner service was unavailable")
	}
	id := pendingEntry(t, db)
	later := func() time.Time { return time.Now().Add(app.PendingTimeout + time.Minute) }
	other, err := app.NewRetention(repo, writer, app.RetentionOptions{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	store := &hookedStore{Repository: repo, hook: func() {
		if _, err := other.RunRetentionSweep(t.Context()); err != nil {
			t.Error(err)
		}
	}}
	sweep, err := app.NewRetention(store, writer, app.RetentionOptions{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.RunRetentionSweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, err := db.Collection(audit.Collection).CountDocuments(t.Context(), map[string]any{
		"action": "disclosure.create", "resource": "disclosures/" + id, "outcome": audit.OutcomeDenied})
	if err != nil || n != 1 {
		t.Errorf("%d refusals of the one entry audited (%v), want 1", n, err)
	}
}
