package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

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
// same request id. Whatever reached the insurer, or waits in the log for its partner to
// read, the manager's answer lists it, before the retry and after, and a retry hands out
// a package only when the answer before it listed the insurer: a first call that failed
// at its last check refused its entry NOT_COMPLETED, and one that stopped there (its
// entry pending, which the answer leaves out) is refused NOT_COMPLETED on retry rather
// than handing out the package gathered before the correction; a first call that
// disclosed is listed, and its retry hands out the same package, also when the call
// stopped right after the write that made its entry disclosed (the reviewer's case: the
// entry was left pending with a claim that a retry, or first the retention sweep, made
// disclosed later, after the correction's answer had left the insurer out).
func TestPendingDisclosureRetriedAfterACorrection(t *testing.T) {
	for _, tc := range []struct {
		name        string
		unavailable string
		// stopped: the first call stops at its failing read, its entry left pending;
		// stoppedAfterClaim: it stops right after its findAndModify on the log.
		stopped, stoppedAfterClaim bool
		// sweep runs the retention sweep, past the pending timeout, before the retry.
		sweep bool
		// first and retry are the first call's and the retry's refusals ("" for the
		// package; the first call's is checked only when it did not stop).
		first, retry domain.RefusalReason
	}{
		{name: "the first call fails at its last check", unavailable: "status 2",
			first: domain.RefusalNotCompleted, retry: domain.RefusalNotCompleted},
		{name: "the first call stops at its last check", unavailable: "status 2", stopped: true, retry: domain.RefusalNotCompleted},
		{name: "the first call stops right after its claim", stoppedAfterClaim: true},
		{name: "the first call stops right after its claim, then the sweep runs", stoppedAfterClaim: true, sweep: true},
		{name: "the first call discloses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := &racingOwner{unavailable: tc.unavailable}
			stop := &stopAfterClaim{}
			svc, repo, db, writer := monitoredStore(t, owner, stop.succeeded)
			ctx := vetContext()
			switch {
			case tc.stopped:
				ctx = owner.stoppingAt(tc.unavailable)
			case tc.stoppedAfterClaim:
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				stop.arm(cancel)
			}
			first, firstErr := svc.Disclose(ctx, racingRequest())
			switch {
			case tc.stoppedAfterClaim && firstErr == nil:
				t.Fatal("the first call answered although it stopped right after its claim")
			case !tc.stopped && !tc.stoppedAfterClaim:
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
			// listed checks the manager's answer against what reached the insurer or
			// waits for its partner, and answers whether it listed the insurer.
			listed := func(when string, handedOut bool) bool {
				t.Helper()
				r, err := e.RectificationRecipients(mgr, app.RectificationQuery{OwnerID: racingOwnerID, VisitID: "0190a0b0-0000-7000-8000-0000000000c1", Version: 2})
				if err != nil {
					t.Fatal(err)
				}
				readable := readableByPartner(t, svc, db)
				if got := len(r.Recipients) > 0; got != (handedOut || readable) {
					t.Errorf("%s: the insurer listed to be told of the correction: %v, yet a package reached it: %v, waits for its partner: %v",
						when, got, handedOut, readable)
				}
				return len(r.Recipients) > 0
			}
			handedOut := firstErr == nil && first.Payload != nil
			listedBefore := listed("before the retry", handedOut)
			if tc.sweep {
				later := func() time.Time { return time.Now().Add(app.PendingTimeout + time.Minute) }
				sweep, err := app.NewRetention(repo, writer, app.RetentionOptions{Now: later})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sweep.RunRetentionSweep(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if readableByPartner(t, svc, db) && !listedBefore {
				t.Error("the partner reads the package gathered before the correction, whose answer had not listed the insurer")
			}

			retry, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "the retry", retry, err, tc.retry)
			if tc.retry == "" && handedOut && string(retry.Payload) != string(first.Payload) {
				t.Errorf("the retry handed out another package than the first call: %s", retry.Payload)
			}
			if retry.Payload != nil && !listedBefore {
				t.Error("the retry handed out the package gathered before the correction, whose answer had not listed the insurer")
			}
			handedOut = handedOut || retry.Payload != nil
			listed("after the retry", handedOut)
			if n := auditedDisclosures(t, db, onlyEntry(t, repo).ID); (n > 0) != handedOut {
				t.Errorf("%d disclosures audited as handed out, yet a package reached the insurer: %v", n, handedOut)
			}
		})
	}
}

// readableByPartner reports whether the racing recipient's partner can read the log's
// one entry, when there is one.
func readableByPartner(t *testing.T, svc *app.Service, db *mongo.Database) bool {
	t.Helper()
	var doc struct {
		ID string `bson:"_id"`
	}
	err := db.Collection(disclosuremongo.DisclosuresCollection).FindOne(t.Context(), bson.M{}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return partnerSees(t, svc, doc.ID) > 0
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
