package app_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/audit/audittest"
)

// afterCheckConsent is the consent service, which runs after once its nth check has
// answered, before the answer reaches the disclosure.
type afterCheckConsent struct {
	peers
	calls *atomic.Int32
	n     int32
	after func()
}

func (c afterCheckConsent) Check(ctx context.Context, owner string, chk domain.ConsentCheck) (domain.ConsentVerdict, error) {
	v, err := c.peers.Check(ctx, owner, chk)
	if c.calls.Add(1) == c.n {
		c.after()
	}
	return v, err
}

// TestDeactivationRefusesPendingDisclosures: the clinic manager deactivates the insurer
// (proto: nothing is disclosed to it from now on) while a disclosure to it is pending:
// right after the disclosure's last check has read the insurer active (the reviewer's
// case), or after a call stopped at its last check. Once the deactivation has answered,
// the entry is refused RECIPIENT_INACTIVE without its package, the refusal audited
// once, as the vet's who asked (the owner's access report shows who asked for their
// data, not who deactivated the recipient), and nothing audited as handed out.
func TestDeactivationRefusesPendingDisclosures(t *testing.T) {
	for _, tc := range []struct {
		name string
		// stopped: the disclosure stops at its last check and the deactivation comes
		// after; otherwise it comes right after the disclosure's second (last) check.
		stopped bool
	}{
		{name: "deactivated right after the last check"},
		{name: "deactivated while a stopped call's entry is pending", stopped: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &racingOwner{}
			cons := afterCheckConsent{calls: &atomic.Int32{}, n: 2}
			svc, repo, db, _ := newPeersStore(t, domain.KindInsurer, app.Peers{Owners: ro, Consents: &cons, History: racingHistory{ro}})
			mgr := managerContext()
			deactivate := func() {
				if _, err := svc.DeactivateRecipient(mgr, racingRecipientID); err != nil {
					t.Error(err)
				}
			}
			if tc.stopped {
				cons.n = 0
				leavePending(t, svc, ro, racingRequest())
				deactivate()
			} else {
				cons.after = deactivate
				rec, err := svc.Disclose(vetContext(), racingRequest())
				checkAnswer(t, "the disclosure", rec, err, domain.RefusalRecipientInactive)
			}
			logged := onlyEntry(t, repo)
			if refusalReason(logged) != domain.RefusalRecipientInactive || logged.Payload != nil {
				t.Errorf("logged refusal %q with %d bytes of package, want %s and none", refusalReason(logged), len(logged.Payload), domain.RefusalRecipientInactive)
			}
			if n := auditedDisclosures(t, db, logged.ID); n != 0 {
				t.Errorf("%d disclosures audited as handed out to a recipient deactivated before the answer", n)
			}
			if n := deniedAudits(t, db, logged.ID); n != 1 {
				t.Errorf("%d refusals of the entry audited, want 1", n)
			}
			if who, want := deniedBy(t, db, logged.ID), vetAsked; who != want {
				t.Errorf("the refusal is audited as asked by %s, want the vet who asked: %s", who, want)
			}
		})
	}
}

// deniedBy is the actor (subject, name and roles) and stated purpose of the audited
// refusal of log entry id.
func deniedBy(t *testing.T, db *mongo.Database, id string) string {
	t.Helper()
	var ev audit.Event
	err := db.Collection(audit.Collection).FindOne(t.Context(), bson.M{
		"action": "disclosure.create", "resource": "disclosures/" + id, "outcome": audit.OutcomeDenied}).Decode(&ev)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s (%s) %v for %q", ev.ActorSubject, ev.ActorName, ev.Roles, ev.Purpose)
}

// vetAsked is deniedBy of a refusal audited as the veterinarian's of vetContext, by
// name and with their purpose, whichever call stored it.
var vetAsked = fmt.Sprintf("vet (Anna Virtanen) [veterinarian] for %q", vetPurpose)

// auditDownNow is the audit log taking queued events but failing those to be stored at
// once, as the refusals of pending disclosures are.
type auditDownNow struct{ audittest.Recorder }

func (a *auditDownNow) RecordNow(context.Context, ...audit.Event) error {
	return errors.New("audit store unavailable")
}

// TestDeactivationAuditedWhenRefusingPendingFails: the clinic manager deactivates the
// insurer while a disclosure to it is pending, and the refusal of that disclosure
// cannot be audited. The manager is answered an error, but the insurer is inactive
// from then on: its deactivation is audited all the same, as the manager's, and their
// retry refuses the entry.
func TestDeactivationAuditedWhenRefusingPendingFails(t *testing.T) {
	ro := &racingOwner{}
	p := app.Peers{Owners: ro, Consents: peers{}, History: racingHistory{ro}}
	svc, repo, db, _ := newPeersStore(t, domain.KindInsurer, p)
	leavePending(t, svc, ro, racingRequest())
	down := &auditDownNow{}
	failing, err := app.New(repo, p, down, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mgr := managerContext()
	if _, err := failing.DeactivateRecipient(mgr, racingRecipientID); err == nil {
		t.Fatal("the deactivation answered success although the refusal of its pending disclosure was not audited")
	}
	if r, err := repo.Recipient(t.Context(), racingRecipientID); err != nil || r.Active {
		t.Fatalf("recipient after the failed deactivation: active %t, %v; want inactive", r.Active, err)
	}
	var audited []string
	for _, e := range down.Events() {
		audited = append(audited, e.Action+" "+e.Resource)
	}
	if want := "recipient.deactivate recipients/" + racingRecipientID; !slices.Contains(audited, want) {
		t.Errorf("audited %q, want %q: the recipient is inactive and nobody is recorded as having deactivated it", audited, want)
	}
	if _, err := svc.DeactivateRecipient(mgr, racingRecipientID); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if logged := onlyEntry(t, repo); refusalReason(logged) != domain.RefusalRecipientInactive {
		t.Errorf("after the retry the entry is refused %q, want %s", refusalReason(logged), domain.RefusalRecipientInactive)
	}
	if who, want := deniedBy(t, db, onlyEntry(t, repo).ID), vetAsked; who != want {
		t.Errorf("the refusal is audited as asked by %s, want %s", who, want)
	}
}
