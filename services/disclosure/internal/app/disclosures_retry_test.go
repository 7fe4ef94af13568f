package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// visitCorrection is the diagnosis correction of the racing owner's visit, made at at.
type visitCorrection struct{ at time.Time }

func (c visitCorrection) Amendment(context.Context, string, int64) (app.VisitAmendment, error) {
	return app.VisitAmendment{
		OwnerID: racingOwnerID, PatientID: "0190a0b0-0000-7000-8000-0000000000b1",
		Recorded: c.at.Add(-24 * time.Hour), Time: c.at, Fields: []string{"reason"},
	}, nil
}

// TestPendingDisclosureRetriedAfterACorrection: reception discloses the visit history
// to an insurer; the vet then corrects the visit ("Limping" was wrong), and the clinic
// manager asks whom to tell (Art. 19); then reception retries the disclosure under the
// same request id. Whatever reached the insurer, the manager's answer lists it, before
// the retry and after: a first call that failed at its last check refused its entry
// NOT_COMPLETED, and one that stopped there (its entry pending, which the answer leaves
// out) is refused NOT_COMPLETED on retry rather than handing out the package gathered
// before the correction (the reviewer's case); a first call that disclosed is listed,
// and its retry hands out the same package.
func TestPendingDisclosureRetriedAfterACorrection(t *testing.T) {
	for _, tc := range []struct {
		name        string
		unavailable string
		// stopped: the first call stops at its failing read, its entry left pending.
		stopped bool
		// first and retry are the first call's and the retry's refusals ("" for the
		// package; the first call's is checked only when it did not stop).
		first, retry domain.RefusalReason
	}{
		{name: "the first call fails at its last check", unavailable: "status 2",
			first: domain.RefusalNotCompleted, retry: domain.RefusalNotCompleted},
		{name: "the first call stops at its last check", unavailable: "status 2", stopped: true, retry: domain.RefusalNotCompleted},
		{name: "the first call discloses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := &racingOwner{unavailable: tc.unavailable}
			svc, repo, db, writer := newRacingStore(t, domain.KindInsurer, owner)
			ctx := vetContext()
			if tc.stopped {
				ctx = owner.stoppingAt(tc.unavailable)
			}
			first, firstErr := svc.Disclose(ctx, racingRequest())
			if !tc.stopped {
				checkAnswer(t, "the first call", first, firstErr, tc.first)
			}
			// The correction comes a minute after the disclosure began, on the
			// amendment's own clock rather than after a sleep.
			corrected := time.Now().UTC().Add(time.Minute).Truncate(time.Millisecond)
			e := app.NewErasure(app.ErasureDeps{
				Jobs: repo, Log: repo, Owner: owner, Consent: erasers{}, History: erasers{}, Visits: visitCorrection{corrected},
				Credentials: jobCredentials{}, Auditor: writer,
			}, app.ErasureOptions{})
			mgr := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
			listed := func(when string, handedOut bool) {
				t.Helper()
				r, err := e.RectificationRecipients(mgr, app.RectificationQuery{OwnerID: racingOwnerID, VisitID: "0190a0b0-0000-7000-8000-0000000000c1", Version: 2})
				if err != nil {
					t.Fatal(err)
				}
				if got := len(r.Recipients) > 0; got != handedOut {
					t.Errorf("%s: the insurer listed to be told of the correction: %v, yet a package reached it: %v", when, got, handedOut)
				}
			}
			handedOut := firstErr == nil && first.Payload != nil
			listed("before the retry", handedOut)

			retry, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "the retry", retry, err, tc.retry)
			if tc.retry == "" && string(retry.Payload) != string(first.Payload) {
				t.Errorf("the retry handed out another package than the first call: %s", retry.Payload)
			}
			handedOut = handedOut || retry.Payload != nil
			listed("after the retry", handedOut)
			if n := auditedDisclosures(t, db, onlyEntry(t, repo).ID); (n > 0) != handedOut {
				t.Errorf("%d disclosures audited as handed out, yet a package reached the insurer: %v", n, handedOut)
			}
		})
	}
}

// pausingStore holds the first call that reads a pending log entry (a retry) right
// after its read, until release is closed, and closes read when it does.
type pausingStore struct {
	*disclosuremongo.Repository
	read, release chan struct{}
	once          sync.Once
}

func (s *pausingStore) Record(ctx context.Context, id string) (domain.Record, error) {
	rec, err := s.Repository.Record(ctx, id)
	if err == nil && rec.Pending {
		s.once.Do(func() {
			close(s.read)
			<-s.release
		})
	}
	return rec, err
}

// TestRetryLosingTheFinalize: a retry reads the entry pending while the first call is
// at its last check; the first call makes the entry final before the retry can refuse
// it, and then the owner may be restricted (Art. 18) or the whole erasure job run.
// The retry, having lost, answers as a retry of what the entry became: the package
// again, or OWNER_RESTRICTED once the owner is restricted, never NOT_COMPLETED for an
// entry that went out, and each package handed out is audited once.
func TestRetryLosingTheFinalize(t *testing.T) {
	for _, tc := range []struct {
		name string
		// restrictFirst restricts the owner while the first call gathers the package.
		restrictFirst bool
		// then runs after the first call has answered, before the retry goes on:
		// "restrict" or "job".
		then string
		// first and retry are the answers' refusals ("" for the package).
		first, retry domain.RefusalReason
		successes    int64
	}{
		{name: "the first call discloses", successes: 2},
		{name: "the first call discloses, then the owner is restricted", then: "restrict",
			retry: domain.RefusalOwnerRestricted, successes: 1},
		{name: "the first call discloses, then the whole erasure job runs", then: "job",
			retry: domain.RefusalOwnerRestricted, successes: 1},
		{name: "the first call finds the owner restricted", restrictFirst: true,
			first: domain.RefusalOwnerRestricted, retry: domain.RefusalOwnerRestricted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := &racingOwner{}
			db, writer := servicetest.AuditedDB(t, "disclosure_retry")
			repo := disclosuremongo.New(db)
			if _, err := repo.CreateRecipient(t.Context(), domain.Recipient{ID: racingRecipientID, Name: "Vakuutus", Kind: domain.KindInsurer,
				Country: "FI", Active: true, Categories: domain.DefaultCategories(domain.KindInsurer), CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			store := &pausingStore{Repository: repo, read: make(chan struct{}), release: make(chan struct{})}
			svc, err := app.New(store, app.Peers{Owners: owner, Consents: peers{}, History: racingHistory{owner}}, writer, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			e, _ := newRacingErasure(t, repo, owner, erasers{}, writer)

			var retry domain.Record
			var retryErr error
			retried := make(chan struct{})
			owner.meanwhile = map[string]func(){
				"export": func() { owner.restricted.Store(tc.restrictFirst) },
				// The first call has logged the entry pending and read the owner's
				// status; the retry reads the entry before the first call finalizes it.
				"status 2": func() {
					go func() {
						defer close(retried)
						retry, retryErr = svc.Disclose(vetContext(), racingRequest())
					}()
					<-store.read
				},
			}
			first, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "the first call", first, err, tc.first)
			switch tc.then {
			case "restrict":
				owner.restricted.Store(true)
			case "job":
				e.RunDue(t.Context())
			}
			close(store.release)
			<-retried
			checkAnswer(t, "the retry", retry, retryErr, tc.retry)
			if tc.retry == "" && string(retry.Payload) != string(first.Payload) {
				t.Errorf("the retry handed out another package than the first call: %s", retry.Payload)
			}
			if n := auditedDisclosures(t, db, onlyEntry(t, repo).ID); n != tc.successes {
				t.Errorf("%d disclosures of the entry audited as handed out, want %d", n, tc.successes)
			}
		})
	}
}
