package app_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
)

// TestRetryAfterARestriction restricts the owner (Art. 18, no erasure) while a
// disclosure runs, and retries it under the same request id, as a caller whose answer
// was lost does. The retry answers as the log says and hands no package of the
// restricted owner to a recipient; the log keeps a refusal as a refusal, and what was
// disclosed as a disclosure with its package, which a restriction keeps.
func TestRetryAfterARestriction(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kind   domain.Kind
		moment string
		// first and retry are the answers' refusals ("" for the package); logged is the
		// log entry's, which keeps its package when disclosed.
		first, retry, logged domain.RefusalReason
		// successes is how many disclosures of the entry are audited as handed out.
		successes int64
	}{
		{name: "restricted before the last check", kind: domain.KindInsurer, moment: "status 1",
			first: domain.RefusalOwnerRestricted, retry: domain.RefusalOwnerRestricted, logged: domain.RefusalOwnerRestricted},
		{name: "restricted after the last check", kind: domain.KindInsurer, moment: "status 2",
			retry: domain.RefusalOwnerRestricted, successes: 1},
		{name: "the owner's own copy, restricted before the last check", kind: domain.KindDataSubject, moment: "status 1",
			successes: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := &racingOwner{}
			owner.meanwhile = map[string]func(){tc.moment: func() { owner.restricted.Store(true) }}
			svc, repo, db, _ := newRacingStore(t, tc.kind, owner)
			first, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "the first call", first, err, tc.first)
			retry, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "the retry", retry, err, tc.retry)
			if tc.retry == "" && string(retry.Payload) != string(first.Payload) {
				t.Errorf("the retry answered another package than the first call")
			}
			logged := onlyEntry(t, repo)
			if got := refusalReason(logged); got != tc.logged {
				t.Errorf("logged refusal %q, want %q", got, tc.logged)
			}
			if (logged.Payload != nil) != (tc.logged == "") {
				t.Errorf("the log entry keeps %d bytes of package, refusal %q", len(logged.Payload), tc.logged)
			}
			if n := auditedDisclosures(t, db, logged.ID); n != tc.successes {
				t.Errorf("%d disclosures of the entry audited as handed out, want %d", n, tc.successes)
			}
		})
	}
}

// TestRetryOfAPendingDisclosure leaves a disclosure's entry pending, its first call
// stopped at its last check of the owner's restriction or still running it. Until
// retried, the entry shows nowhere as a disclosure. The retry does not hand out the
// package gathered by the first call, which the data may have outgrown since, whatever
// the owner's restriction and the recipient: it refuses the entry NOT_COMPLETED, its
// package and hash removed, audited as a refusal, and says to disclose again under a
// new request id; a first call still running then answers that refusal, and so does a
// second retry.
func TestRetryOfAPendingDisclosure(t *testing.T) {
	for _, tc := range []struct {
		name       string
		kind       domain.Kind
		restricted bool
		// running retries while the first call is at its last check, which then
		// succeeds; otherwise that check fails and the retry comes after.
		running bool
	}{
		{name: "not restricted meanwhile", kind: domain.KindInsurer},
		{name: "restricted meanwhile", kind: domain.KindInsurer, restricted: true},
		{name: "the owner's own copy", kind: domain.KindDataSubject},
		{name: "the first call still running", kind: domain.KindInsurer, running: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := &racingOwner{}
			_, repo, db, writer := newRacingStore(t, tc.kind, owner)
			trail := &auditTrail{Writer: writer}
			svc, err := app.New(repo, app.Peers{Owners: owner, Consents: peers{}, History: racingHistory{owner}}, trail, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var retry domain.Record
			var retryErr error
			if tc.running {
				owner.meanwhile = map[string]func(){"status 2": func() {
					retry, retryErr = svc.Disclose(vetContext(), racingRequest())
				}}
				first, err := svc.Disclose(vetContext(), racingRequest())
				checkAnswer(t, "the first call", first, err, domain.RefusalNotCompleted)
			} else {
				owner.meanwhile = map[string]func(){"status 2": func() { owner.restricted.Store(tc.restricted) }}
				leavePending(t, svc, owner, racingRequest())
				id := pendingEntry(t, db)
				if page, err := repo.OwnerRecords(t.Context(), racingOwnerID, 10, ""); err != nil || len(page.Items) != 0 {
					t.Errorf("the owner's log lists %d entries while the disclosure is pending (%v)", len(page.Items), err)
				}
				if _, err := svc.Disclosure(vetContext(), id); !errors.Is(err, apperr.ErrNotFound) {
					t.Errorf("GetDisclosure of the pending entry: %v, want not found", err)
				}
				if got := partnerSees(t, svc, id); got != 0 {
					t.Errorf("the partner sees %d disclosures while the disclosure is pending", got)
				}
				retry, retryErr = svc.Disclose(vetContext(), racingRequest())
			}
			checkAnswer(t, "the retry", retry, retryErr, domain.RefusalNotCompleted)
			var pe *apperr.PreconditionError
			if errors.As(retryErr, &pe) && !strings.Contains(pe.Description, "new request id") {
				t.Errorf("the retry's refusal %q does not say to disclose again under a new request id", pe.Description)
			}
			again, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "a second retry", again, err, domain.RefusalNotCompleted)

			logged := onlyEntry(t, repo)
			if got := refusalReason(logged); got != domain.RefusalNotCompleted {
				t.Errorf("logged refusal %q, want NOT_COMPLETED", got)
			}
			if logged.Payload != nil || logged.PayloadSHA256 != "" {
				t.Errorf("the refused entry keeps a package (%d bytes) or its hash %q", len(logged.Payload), logged.PayloadSHA256)
			}
			if n := auditedDisclosures(t, db, logged.ID); n != 0 {
				t.Errorf("%d disclosures of the entry audited as handed out, want none", n)
			}
			if n := trail.refusals(logged.ID, domain.RefusalNotCompleted); n < 2 {
				t.Errorf("%d refusals of the entry audited, want one for each retry", n)
			}
			if tc.kind == domain.KindInsurer {
				if got := partnerSees(t, svc, logged.ID); got != 0 {
					t.Errorf("the partner sees %d disclosures of a refused entry", got)
				}
			}
		})
	}
}

// TestPartnerSeesNoPendingDisclosure has the partner look for the package between the
// disclosure's log entry and its last check, and the owner's whole erasure run then:
// the partner finds nothing, the disclosure is refused, and the finished erasure lists
// nobody to notify, since nothing reached anyone.
func TestPartnerSeesNoPendingDisclosure(t *testing.T) {
	owner := &racingOwner{}
	svc, repo, db, writer := newRacingStore(t, domain.KindInsurer, owner)
	e, jobID := newRacingErasure(t, repo, owner, erasers{}, writer)
	seen := -1
	owner.meanwhile = map[string]func(){"status 2": func() {
		seen = partnerSees(t, svc, pendingEntry(t, db))
		e.RunDue(t.Context())
	}}
	rec, err := svc.Disclose(vetContext(), racingRequest())
	checkAnswer(t, "the disclosure", rec, err, domain.RefusalOwnerRestricted)
	if seen != 0 {
		t.Errorf("the partner saw %d disclosures in the window", seen)
	}
	job, err := repo.ErasureJob(t.Context(), jobID)
	if err != nil || job.State != domain.JobDone {
		t.Fatalf("job: %v %v", job.State, err)
	}
	if len(job.Notify) != 0 {
		t.Errorf("the erasure lists recipients to notify of a disclosure that was refused: %+v", job.Notify)
	}
	if logged := onlyEntry(t, repo); refusalReason(logged) != domain.RefusalOwnerRestricted || logged.Payload != nil {
		t.Errorf("logged refusal %q with %d bytes of package, want OWNER_RESTRICTED and none", refusalReason(logged), len(logged.Payload))
	}
}

// auditTrail is the audit writer, keeping the events recorded through it, queued or
// not, so that a test can count them without waiting for the queue.
type auditTrail struct {
	*audit.Writer
	mu     sync.Mutex
	events []audit.Event
}

func (a *auditTrail) Record(ctx context.Context, events ...audit.Event) error {
	a.keep(events)
	return a.Writer.Record(ctx, events...)
}

func (a *auditTrail) RecordNow(ctx context.Context, events ...audit.Event) error {
	a.keep(events)
	return a.Writer.RecordNow(ctx, events...)
}

func (a *auditTrail) keep(events []audit.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, events...)
}

// refusals counts the disclosure.create events that record the entry id refused for
// reason.
func (a *auditTrail) refusals(id string, reason domain.RefusalReason) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if e.Action == "disclosure.create" && e.Resource == "disclosures/"+id && e.Outcome == audit.OutcomeDenied && e.Reason == string(reason) {
			n++
		}
	}
	return n
}

// checkAnswer checks a disclosure's answer: the package, or the refusal want and no
// package.
func checkAnswer(t *testing.T, what string, rec domain.Record, err error, want domain.RefusalReason) {
	t.Helper()
	var pe *apperr.PreconditionError
	switch {
	case want == "" && (err != nil || rec.Payload == nil):
		t.Errorf("%s answered %v with %d bytes, want the package", what, err, len(rec.Payload))
	case want != "" && (!errors.As(err, &pe) || pe.Reason != string(want) || rec.Payload != nil):
		t.Errorf("%s answered %v with %d bytes, want %s and no package", what, err, len(rec.Payload), want)
	}
}

// onlyEntry reads the log's one final entry about the racing owner, with its package.
func onlyEntry(t *testing.T, repo *disclosuremongo.Repository) domain.Record {
	t.Helper()
	page, err := repo.OwnerRecords(t.Context(), racingOwnerID, 10, "")
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("log: %d entries, %v", len(page.Items), err)
	}
	rec, err := repo.Record(t.Context(), page.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// leavePending runs a disclosure of req that stops at its last check, as when its
// caller gives up there, leaving its log entry pending.
func leavePending(t *testing.T, svc *app.Service, owner *racingOwner, req domain.DisclosureRequest) {
	t.Helper()
	owner.reads = 0
	if rec, err := svc.Disclose(owner.stoppingAt("status 2"), req); err == nil {
		t.Fatalf("disclosed %d bytes though the call stopped at its last check", len(rec.Payload))
	}
}

// pendingEntry finds the id of the log's one entry, which must be pending with its
// package, in the store.
func pendingEntry(t *testing.T, db *mongo.Database) string {
	t.Helper()
	var doc struct {
		ID      string `bson:"_id"`
		Outcome string `bson:"outcome"`
		Payload []byte `bson:"payload"`
	}
	if err := db.Collection(disclosuremongo.DisclosuresCollection).FindOne(t.Context(), bson.M{}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Outcome != "pending" || doc.Payload == nil {
		t.Fatalf("the log entry is %s with %d bytes of package, want pending with its package", doc.Outcome, len(doc.Payload))
	}
	return doc.ID
}

// partnerSees counts the disclosures the racing recipient's partner lists, and fails
// the test if it lists another than id or cannot read it.
func partnerSees(t *testing.T, svc *app.Service, id string) int {
	t.Helper()
	partner := auth.WithIdentity(context.Background(), auth.Identity{Subject: "insurer", Roles: []auth.Role{auth.RolePartner}, RecipientID: racingRecipientID})
	page, err := svc.PartnerDisclosures(partner, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	_, readErr := svc.PartnerDisclosure(partner, id)
	switch {
	case len(page.Items) == 0 && !errors.Is(readErr, apperr.ErrNotFound):
		t.Errorf("the partner reads disclosure %s it does not list: %v", id, readErr)
	case len(page.Items) > 0 && (page.Items[0].ID != id || readErr != nil):
		t.Errorf("the partner lists %s and reads %s: %v", page.Items[0].ID, id, readErr)
	}
	return len(page.Items)
}

// auditedDisclosures counts the audit events that record the entry id as handed out.
func auditedDisclosures(t *testing.T, db *mongo.Database, id string) int64 {
	t.Helper()
	n, err := db.Collection(audit.Collection).CountDocuments(t.Context(), bson.M{
		"action": "disclosure.create", "resource": "disclosures/" + id, "outcome": audit.OutcomeSuccess})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSweepRefusesAStalePendingDisclosure leaves a disclosure pending (its call stopped
// at its last check) and runs the retention sweep at the given times
// after it. Past PendingTimeout, in a sweep that has not looked within
// PendingPassEvery, the entry is refused NOT_COMPLETED without its package, audited,
// and a retry answers that refusal; otherwise it stays pending until its retry, which
// refuses it the same way.
func TestSweepRefusesAStalePendingDisclosure(t *testing.T) {
	within, past := app.PendingTimeout-time.Minute, app.PendingTimeout+time.Minute
	for _, tc := range []struct {
		name    string
		sweeps  []time.Duration
		refusal domain.RefusalReason
	}{
		{name: "within the timeout", sweeps: []time.Duration{within}},
		{name: "past the timeout", sweeps: []time.Duration{past}, refusal: domain.RefusalNotCompleted},
		{name: "past the timeout, looked for within the day", sweeps: []time.Duration{within, past}},
		{name: "past the timeout, looked for the day before", sweeps: []time.Duration{within, within + app.PendingPassEvery},
			refusal: domain.RefusalNotCompleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := &racingOwner{}
			svc, repo, db, writer := newRacingStore(t, domain.KindInsurer, owner)
			leavePending(t, svc, owner, racingRequest())
			id := pendingEntry(t, db)
			start := time.Now()
			for _, after := range tc.sweeps {
				sweep, err := app.NewRetention(repo, writer, app.RetentionOptions{Now: func() time.Time { return start.Add(after) }})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sweep.RunRetentionSweep(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if tc.refusal == "" {
				pendingEntry(t, db)
			} else {
				logged := onlyEntry(t, repo)
				if refusalReason(logged) != tc.refusal || logged.Payload != nil || logged.PayloadSHA256 != "" {
					t.Errorf("the swept entry reads refusal %q with %d bytes of package and hash %q, want %s and neither",
						refusalReason(logged), len(logged.Payload), logged.PayloadSHA256, tc.refusal)
				}
				n, err := db.Collection(audit.Collection).CountDocuments(t.Context(), bson.M{
					"action": "disclosure.create", "resource": "disclosures/" + id, "outcome": audit.OutcomeDenied, "reason": string(tc.refusal)})
				if err != nil || n != 1 {
					t.Errorf("%d refusals of the entry audited (%v), want 1", n, err)
				}
			}
			rec, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "the retry", rec, err, domain.RefusalNotCompleted)
		})
	}
}
