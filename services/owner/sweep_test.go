package owner_test

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
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

	clk.set(helsinki(t, "2027-02-01"))
	_, err := c.RunRetentionSweep(env.As(t, auth.RoleClinicManager), &ownerv1.RunRetentionSweepRequest{})
	wantCode(t, err, codes.NotFound)
	if got := getOwner(t, env, c, kept.GetId()); got.GetFamilyName() != "" {
		t.Fatalf("the owner due after the broken one kept its name %q", got.GetFamilyName())
	}
}
