package app_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
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
			mgr := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
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
			if who := deniedBy(t, db, logged.ID); who != "vet [veterinarian]" {
				t.Errorf("the refusal is audited as asked by %s, want the vet who asked: vet [veterinarian]", who)
			}
		})
	}
}

// deniedBy is the actor and roles of the audited refusal of log entry id.
func deniedBy(t *testing.T, db *mongo.Database, id string) string {
	t.Helper()
	var ev audit.Event
	err := db.Collection(audit.Collection).FindOne(t.Context(), bson.M{
		"action": "disclosure.create", "resource": "disclosures/" + id, "outcome": audit.OutcomeDenied}).Decode(&ev)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s %v", ev.ActorSubject, ev.Roles)
}
