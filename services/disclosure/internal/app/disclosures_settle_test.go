package app_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
)

// switchConsent is the consent service; once withdrawn is set, the grant is withdrawn,
// and once down is set (unless nil), the service is out of reach.
type switchConsent struct {
	peers
	withdrawn, down *atomic.Bool
}

func (c switchConsent) Check(ctx context.Context, owner string, chk domain.ConsentCheck) (domain.ConsentVerdict, error) {
	if c.down != nil && c.down.Load() {
		return domain.ConsentVerdict{}, fmt.Errorf("check consent: %w", status.Error(codes.Unavailable, "connection refused"))
	}
	if c.withdrawn.Load() {
		return domain.ConsentVerdict{Allowed: false, Reason: "withdrawal", EntryID: "withdrawal-1"}, nil
	}
	return c.peers.Check(ctx, owner, chk)
}

// TestRetryOfAPendingDisclosureAfterTheBasisEnded: a disclosure stops at its last
// check (pending, nothing handed out). Before the retry, the insurer agreement (the
// legal basis) is withdrawn, or the recipient deactivated: a fresh request is refused
// for it (DESIGN rules 4 and 5: a withdrawal is effective immediately; every disclosure
// checks the basis at that moment), and the retry of the pending one is refused
// NOT_COMPLETED, as any retry of a pending disclosure is, so nothing is audited as
// handed out. The pending entry may wait a day for the sweep, so the window is not
// seconds.
func TestRetryOfAPendingDisclosureAfterTheBasisEnded(t *testing.T) {
	for _, tc := range []struct {
		name string
		want domain.RefusalReason
	}{
		{"consent withdrawn", domain.RefusalNoLegalBasis},
		{"recipient deactivated", domain.RefusalRecipientInactive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &racingOwner{}
			withdrawn := &atomic.Bool{}
			svc, repo, db, _ := newPeersStore(t, domain.KindInsurer, app.Peers{Owners: ro, Consents: switchConsent{withdrawn: withdrawn}, History: racingHistory{ro}})
			leavePending(t, svc, ro, racingRequest())
			id := pendingEntry(t, db)
			if tc.want == domain.RefusalNoLegalBasis {
				withdrawn.Store(true)
			} else if _, err := repo.DeactivateRecipient(t.Context(), racingRecipientID, time.Now()); err != nil {
				t.Fatal(err)
			}
			// A fresh request (new request id) is refused now:
			fresh := racingRequest()
			fresh.RequestID = "claim-1-other"
			_, ferr := svc.Disclose(vetContext(), fresh)
			checkAnswer(t, "a fresh request", domain.Record{}, ferr, tc.want)
			// ...and so is the retry of the pending one, which never handed anything out.
			rec, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "the retry of the pending disclosure", rec, err, domain.RefusalNotCompleted)
			if n := auditedDisclosures(t, db, id); n != 0 {
				t.Errorf("%d disclosures audited as handed out after the basis ended", n)
			}
		})
	}
}

// TestBasisEndingWhileThePackageIsGathered: a disclosure's consent check allows it, and
// while its package is gathered (the owner's visit history, which may take seconds) the
// owner withdraws the insurer agreement, or the insurer is deactivated. The package must
// not go out on the check made before (DESIGN rule 5): the disclosure is refused for the
// reason it has now, its entry logged refused without its package, and nothing audited
// as handed out; when the consent service cannot be asked again, the entry is refused
// NOT_COMPLETED.
func TestBasisEndingWhileThePackageIsGathered(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, repo *disclosuremongo.Repository, withdrawn, down *atomic.Bool)
		want domain.RefusalReason
	}{
		{"consent withdrawn", func(_ *testing.T, _ *disclosuremongo.Repository, withdrawn, _ *atomic.Bool) {
			withdrawn.Store(true)
		}, domain.RefusalNoLegalBasis},
		{"recipient deactivated", func(t *testing.T, repo *disclosuremongo.Repository, _, _ *atomic.Bool) {
			if _, err := repo.DeactivateRecipient(t.Context(), racingRecipientID, time.Now()); err != nil {
				t.Error(err)
			}
		}, domain.RefusalRecipientInactive},
		{"consent service out of reach", func(_ *testing.T, _ *disclosuremongo.Repository, _, down *atomic.Bool) {
			down.Store(true)
		}, domain.RefusalNotCompleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &racingOwner{}
			withdrawn, down := &atomic.Bool{}, &atomic.Bool{}
			svc, repo, db, _ := newPeersStore(t, domain.KindInsurer, app.Peers{
				Owners: ro, Consents: switchConsent{withdrawn: withdrawn, down: down}, History: racingHistory{ro},
			})
			ro.meanwhile = map[string]func(){"export": func() { tc.end(t, repo, withdrawn, down) }}
			rec, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "the disclosure", rec, err, tc.want)
			logged := onlyEntry(t, repo)
			if refusalReason(logged) != tc.want || logged.Payload != nil {
				t.Errorf("logged refusal %q with %d bytes of package, want %s and none", refusalReason(logged), len(logged.Payload), tc.want)
			}
			if n := auditedDisclosures(t, db, logged.ID); n != 0 {
				t.Errorf("%d disclosures audited as handed out after the basis ended", n)
			}
		})
	}
}

// TestJobRefusalOfAPendingDisclosureIsAudited: a disclosure stops at its last check
// (pending) and is never retried; the owner's erasure job refuses it OWNER_RESTRICTED
// and audits the refusal once, as the sweep does the pending entries it refuses: their
// caller never had one audited. So it does when an earlier attempt of the job stopped
// between its claim of the refusal and the entry becoming refused.
func TestJobRefusalOfAPendingDisclosureIsAudited(t *testing.T) {
	for _, tc := range []struct {
		name    string
		claimed bool
	}{
		{name: "pending"},
		{name: "claimed by an attempt that stopped", claimed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := &racingOwner{}
			svc, repo, db, writer := newRacingStore(t, domain.KindInsurer, owner)
			e, _ := newRacingErasure(t, repo, owner, erasers{}, writer)
			leavePending(t, svc, owner, racingRequest())
			id := pendingEntry(t, db)
			if tc.claimed {
				if _, err := db.Collection(disclosuremongo.DisclosuresCollection).UpdateOne(t.Context(), bson.M{"_id": id},
					bson.M{"$push": bson.M{"claims": bson.M{"outcome": "refused", "refusal_reason": string(domain.RefusalOwnerRestricted)}}}); err != nil {
					t.Fatal(err)
				}
			}
			e.RunDue(t.Context())
			if logged := onlyEntry(t, repo); refusalReason(logged) != domain.RefusalOwnerRestricted {
				t.Fatalf("logged %q", refusalReason(logged))
			}
			if n := deniedAudits(t, db, id); n != 1 {
				t.Errorf("%d refusals of the entry audited, want 1", n)
			}
		})
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
	owner := &racingOwner{}
	svc, repo, db, writer := newRacingStore(t, domain.KindInsurer, owner)
	leavePending(t, svc, owner, racingRequest())
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
