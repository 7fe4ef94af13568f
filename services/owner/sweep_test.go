package owner_test

import (
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
)

// An owner the sweep cannot finish must not keep the owners due after it from being
// swept: the sweep goes on, and still reports the failure.
func TestRetentionSweepGoesOnPastAnOwnerItCannotFinish(t *testing.T) {
	env, c, clk := setupAt(t, "2026-11-25")
	kept := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Säilytetty")})
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: kept.GetId(), RequestId: jobOne, NameKeptUntil: "2027-01-31"})

	// A schedule entry due earlier than the erased owner's, for an owner whose record is
	// gone (removed by hand from the store): the sweep meets it first, and every run fails
	// on it.
	raw := embeddedtest.Client(t, env.Store.URI())
	if _, err := raw.Database(testDatabase).Collection("retention").InsertOne(t.Context(),
		bson.M{"_id": "0199a0b0-0000-7000-8000-000000000001", "due": "2027-01-01"}); err != nil {
		t.Fatal(err)
	}

	clk.Set(helsinki(t, "2027-02-01"))
	_, err := c.RunRetentionSweep(env.As(t, auth.RoleClinicManager), &ownerv1.RunRetentionSweepRequest{})
	wantCode(t, err, codes.NotFound)
	if got := getOwner(t, env, c, kept.GetId()); got.GetFamilyName() != "" {
		t.Fatalf("the owner due after the broken one kept its name %q", got.GetFamilyName())
	}
}

// TestPeriodicSweepActsAsTheSystem: the sweep the service runs by itself records its
// change and its audit event as the system's work, flagged so that the owner's access
// report names it the system; the same sweep run by a person's call is theirs, and a
// token that names the service as its subject, with a person's name and no role, is not
// the system either (its refused call is audited about the owner all the same).
func TestPeriodicSweepActsAsTheSystem(t *testing.T) {
	env := servicetest.New(t)
	clk := servicetest.NewClock(helsinki(t, "2026-11-25"))
	svc := runOwner(t, env, newKeys(t, "k1"), func(c *owner.Config) { c.Now, c.Sweep.Interval = clk.Now, 20*time.Millisecond })
	c := ownerv1.NewOwnerServiceClient(svc.Conn)
	kept := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Säilytetty")})
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: kept.GetId(), RequestId: jobOne, NameKeptUntil: "2027-01-31"})
	forged, err := env.Issuer.Mint(devauth.Claims{Subject: "service:owner", Name: "retention sweep"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetOwner(auth.WithOutgoingToken(t.Context(), forged, ""), &ownerv1.GetOwnerRequest{OwnerId: kept.GetId()})
	wantCode(t, err, codes.PermissionDenied)
	clk.Set(helsinki(t, "2027-02-01"))

	// The events are queued and written in batches, after the sweep.
	var events []bson.M
	for deadline := time.Now().Add(time.Minute); len(events) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the periodic sweep audited nothing")
		}
		events = auditEvents(t, env, bson.M{"action": "owner.retention_sweep", "subject_owner_id": kept.GetId()})
	}
	all := auditEvents(t, env, bson.M{"subject_owner_id": kept.GetId()})
	if !slices.ContainsFunc(all, func(e bson.M) bool { return e["action"] == "rpc.denied" }) {
		t.Error("the forged token's refused call is not audited about the owner")
	}
	for _, e := range all {
		if want := e["action"] == "owner.retention_sweep"; (e["system"] == true) != want {
			t.Errorf("%s by %v %v: system %v, want %v", e["action"], e["actor_subject"], e["actor_name"], e["system"], want)
		}
	}
	for _, ch := range ownerChanges(t, env, c, kept.GetId()) {
		if want := ch.GetReason() == "retention period ended"; ch.GetActorSystem() != want {
			t.Errorf("change %d (%s) by %q: system %v, want %v", ch.GetVersion(), ch.GetReason(), ch.GetActorSubject(), ch.GetActorSystem(), want)
		}
	}
}
