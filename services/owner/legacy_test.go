package owner_test

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestUpdateLeavesAValueStoredUnderLaxerRules rectifies an owner whose country was
// stored before the code "UK" was refused: rectifying another field works and keeps the
// country as stored; setting the country, or changing what it has to fit, is checked.
func TestUpdateLeavesAValueStoredUnderLaxerRules(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Smith")})
	raw := embeddedtest.Client(t, env.Store.URI())
	if _, err := raw.Database(testDatabase).Collection("owners").UpdateByID(t.Context(), o.GetId(), bson.M{"$set": bson.M{
		"address.street": "1 High St", "address.postal_code": "SW1A 1AA", "address.city": "London", "address.country": "UK",
	}}); err != nil {
		t.Fatal(err)
	}
	version := o.GetVersion()
	update := func(owner *ownerv1.Owner, paths ...string) (*ownerv1.Owner, error) {
		t.Helper()
		res, err := c.UpdateOwner(env.As(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
			OwnerId: o.GetId(), Owner: owner, Version: version, Reason: "customer called",
			UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
		})
		if err == nil {
			version = res.GetOwner().GetVersion()
		}
		return res.GetOwner(), err
	}

	got, err := update(&ownerv1.Owner{Phone: "040 765 4321"}, "phone")
	if err != nil {
		t.Fatalf("rectifying the phone of an owner stored with country UK: %v", err)
	}
	if got.GetPhone() != "+358407654321" || got.GetAddress().GetCountry() != "UK" || got.GetAddress().GetPostalCode() != "SW1A 1AA" {
		t.Fatalf("after rectifying the phone: phone %q, address %v", got.GetPhone(), got.GetAddress())
	}
	for _, tc := range []struct {
		name  string
		owner *ownerv1.Owner
		paths []string
		want  string
	}{
		{"the same retired code set again", &ownerv1.Owner{Address: &ownerv1.Address{Country: "UK"}}, []string{"address.country"}, "owner.address.country"},
		{"Finland, with the British postal code left as it is", &ownerv1.Owner{Address: &ownerv1.Address{Country: "FI"}}, []string{"address.country"}, "owner.address.postal_code"},
		{"a postal code too long beside it", &ownerv1.Owner{Address: &ownerv1.Address{PostalCode: strings.Repeat("9", 5000)}}, []string{"address.postal_code"}, "owner.address.postal_code"},
		{"a postal code with control characters beside it", &ownerv1.Owner{Address: &ownerv1.Address{PostalCode: "SW1A\x07\x1b[2J 1AA"}}, []string{"address.postal_code"}, "owner.address.postal_code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := update(tc.owner, tc.paths...)
			if f := violations(t, err); len(f) != 1 || f[0] != tc.want {
				t.Fatalf("violations %v, want %s", f, tc.want)
			}
		})
	}
	got, err = update(&ownerv1.Owner{Address: &ownerv1.Address{Country: "gb"}}, "address.country")
	if err != nil || got.GetAddress().GetCountry() != "GB" {
		t.Fatalf("correcting the country: %v, %v", got.GetAddress(), err)
	}
}

// TestChangesStoredWithAnIdentityCodeAreShownWithoutIt: a change reason or an actor's
// name stored before the service refused an identity code in one is shown without the
// code, in the owner's and the patient's histories and in the owner's own copy.
func TestChangesStoredWithAnIdentityCodeAreShownWithoutIt(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Lehtonen")})
	pet := registerPatient(t, env, c, o.GetId(), newPatient("Musti"))
	db := embeddedtest.Client(t, env.Store.URI()).Database(testDatabase)
	for coll, id := range map[string]string{"owners": o.GetId(), "patients": pet.GetId()} {
		var doc struct {
			Changes []bson.M `bson:"changes"`
		}
		if err := db.Collection(coll).FindOne(t.Context(), bson.M{"_id": id}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		for _, ch := range doc.Changes {
			ch["reason"], ch["actor_name"] = "asiakas 131052-308T soitti", "Reception (010190y123m)"
		}
		if _, err := db.Collection(coll).UpdateByID(t.Context(), id, bson.M{"$set": bson.M{"changes": doc.Changes}}); err != nil {
			t.Fatal(err)
		}
	}

	owners, err := c.ListOwnerChanges(env.As(t, auth.RoleReception), &ownerv1.ListOwnerChangesRequest{OwnerId: o.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	patients, err := c.ListPatientChanges(env.As(t, auth.RoleReception), &ownerv1.ListPatientChangesRequest{PatientId: pet.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	copied, err := c.ExportOwner(auth.WithOutgoingToken(t.Context(), env.Token(t, auth.RoleClinicManager), "access request 1"),
		&ownerv1.ExportOwnerRequest{OwnerId: o.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	for name, changes := range map[string][]*ownerv1.Change{
		"owner's changes": owners.GetChanges(), "patient's changes": patients.GetChanges(),
		"owner's copy": copied.GetOwnerChanges(), "patient's changes in the owner's copy": copied.GetPatientChanges()[0].GetChanges(),
	} {
		if len(changes) == 0 {
			t.Fatalf("%s: none", name)
		}
		for _, ch := range changes {
			if ch.GetReason() != "asiakas [identity code removed] soitti" || ch.GetActorName() != "Reception ([identity code removed])" {
				t.Errorf("%s: reason %q, actor %q; want both without the code", name, ch.GetReason(), ch.GetActorName())
			}
		}
	}
}

// storedBeforeDigests makes the document id of collection one stored before create
// digests were kept and changed since: no digest, and a version past the first, so that
// no start's backfill gives it one (the service's own may still be running). One update,
// so that the backfill never sees it without a digest at version 1.
func storedBeforeDigests(t *testing.T, env *servicetest.Env, collection, id string) {
	t.Helper()
	raw := embeddedtest.Client(t, env.Store.URI()).Database(testDatabase)
	update := bson.M{"$unset": bson.M{"create_digest": ""}, "$inc": bson.M{"version": 1}}
	if _, err := raw.Collection(collection).UpdateByID(t.Context(), id, update); err != nil {
		t.Fatal(err)
	}
}

// TestCreateStoredWithoutDigestComparedByNames: an owner or patient stored before the
// digest of its create was kept, and changed before a start could give it one, has none,
// and a create under its request id is compared as it was then: an owner by its names,
// a patient by its owner, name and species.
func TestCreateStoredWithoutDigestComparedByNames(t *testing.T) {
	env, c := setup(t)
	ctx := env.As(t, auth.RoleReception)
	forget := func(collection, id string) { storedBeforeDigests(t, env, collection, id) }
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{RequestId: "form-old", Owner: newOwner("Vanha")})
	forget("owners", o.GetId())
	pet, err := c.RegisterPatient(ctx, &ownerv1.RegisterPatientRequest{OwnerId: o.GetId(), RequestId: "pet-old", Patient: newPatient("Rex")})
	if err != nil {
		t.Fatal(err)
	}
	forget("patients", pet.GetPatient().GetId())

	namesake := newOwner("Vanha")
	namesake.Phone = "050 765 4321"
	older := newPatient("Rex")
	older.BirthDate = "2012-01-01"
	createOwner := func(o *ownerv1.Owner) (string, error) {
		res, err := c.CreateOwner(ctx, &ownerv1.CreateOwnerRequest{RequestId: "form-old", Owner: o})
		return res.GetOwner().GetId(), err
	}
	registerPatient := func(p *ownerv1.Patient) (string, error) {
		res, err := c.RegisterPatient(ctx, &ownerv1.RegisterPatientRequest{OwnerId: o.GetId(), RequestId: "pet-old", Patient: p})
		return res.GetPatient().GetId(), err
	}
	for _, tc := range []struct {
		name   string
		create func() (string, error)
		// want is the record answered; empty when the create is refused.
		want string
	}{
		{"an owner of the same names", func() (string, error) { return createOwner(namesake) }, o.GetId()},
		{"an owner of other names", func() (string, error) { return createOwner(newOwner("Uusi")) }, ""},
		{"a patient of the same owner, name and species", func() (string, error) { return registerPatient(older) }, pet.GetPatient().GetId()},
		{"a patient of another name", func() (string, error) { return registerPatient(newPatient("Musti")) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tc.create()
			if tc.want != "" {
				if err != nil || id != tc.want {
					t.Fatalf("answered %q, %v; want %s", id, err, tc.want)
				}
				return
			}
			if r := servicetest.Reason(t, err); r != "REQUEST_ID_REUSED" {
				t.Fatalf("refused with %s, want REQUEST_ID_REUSED", r)
			}
		})
	}
}

// TestRetryOfATransferredPatientsRegistration: a retry of a registration names the owner
// the patient was registered under. With the registration's digest, it still finds the
// patient after a transfer; without one (registered before digests were kept), the
// patient's owner now is compared, and the retry is refused.
func TestRetryOfATransferredPatientsRegistration(t *testing.T) {
	for _, tt := range []struct {
		name     string
		digest   bool
		answered bool
	}{
		{name: "registered with a digest", digest: true, answered: true},
		{name: "registered before digests were kept"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, c := setup(t)
			desk := env.As(t, auth.RoleReception)
			from := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Laine")})
			to := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Heikkinen")})
			register := func() (*ownerv1.RegisterPatientResponse, error) {
				return c.RegisterPatient(desk, &ownerv1.RegisterPatientRequest{OwnerId: from.GetId(), RequestId: "pet-1", Patient: newPatient("Musti")})
			}
			res, err := register()
			if err != nil {
				t.Fatal(err)
			}
			pet := res.GetPatient()
			if _, err := c.TransferPatient(desk, &ownerv1.TransferPatientRequest{
				PatientId: pet.GetId(), NewOwnerId: to.GetId(), Version: pet.GetVersion(), Reason: "sold",
			}); err != nil {
				t.Fatal(err)
			}
			if !tt.digest {
				storedBeforeDigests(t, env, "patients", pet.GetId())
			}
			again, err := register()
			if !tt.answered {
				if r := servicetest.Reason(t, err); r != "REQUEST_ID_REUSED" {
					t.Fatalf("the retry answered %v, %s; want REQUEST_ID_REUSED", again.GetPatient(), r)
				}
				return
			}
			if err != nil || again.GetPatient().GetId() != pet.GetId() {
				t.Fatalf("the retry answered %v, %v; want patient %s", again.GetPatient(), err, pet.GetId())
			}
		})
	}
}
