package owner_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
)

// helsinki is noon of a day in the clinics' zone.
func helsinki(t *testing.T, day string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	d, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		t.Fatal(err)
	}
	return d.Add(12 * time.Hour)
}

// jobOne, jobTwo and jobThree are erasure requests' ids, UUIDs as the disclosure
// service's erasure job makes them.
const (
	jobOne   = "0199a0b0-0000-7000-8000-000000000011"
	jobTwo   = "0199a0b0-0000-7000-8000-000000000012"
	jobThree = "0199a0b0-0000-7000-8000-000000000013"
)

// setupAt runs an owner service whose clock starts at noon of day (Helsinki time).
func setupAt(t *testing.T, day string) (*servicetest.Env, ownerv1.OwnerServiceClient, *servicetest.Clock) {
	t.Helper()
	env, svc, clk := serveAt(t, day)
	return env, ownerv1.NewOwnerServiceClient(svc.Conn), clk
}

// serveAt is setupAt answering the service, for a test that stops it.
func serveAt(t *testing.T, day string) (*servicetest.Env, *servicetest.Service, *servicetest.Clock) {
	t.Helper()
	env := servicetest.New(t)
	clk := servicetest.NewClock(helsinki(t, day))
	return env, runOwner(t, env, newKeys(t, "k1"), func(c *owner.Config) { c.Now = clk.Now }), clk
}

func getOwner(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, id string) *ownerv1.Owner {
	t.Helper()
	res, err := c.GetOwner(env.As(t, auth.RoleClinicManager), &ownerv1.GetOwnerRequest{OwnerId: id})
	if err != nil {
		t.Fatalf("get owner: %v", err)
	}
	return res.GetOwner()
}

func ownerChanges(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, id string) []*ownerv1.Change {
	t.Helper()
	res, err := c.ListOwnerChanges(env.As(t, auth.RoleClinicManager), &ownerv1.ListOwnerChangesRequest{OwnerId: id})
	if err != nil {
		t.Fatalf("owner changes: %v", err)
	}
	return res.GetChanges()
}

// deniedAbout returns the action, actor and reason of each denied event about the
// owner, the attempts their access report shows.
func deniedAbout(t *testing.T, env *servicetest.Env, ownerID string) []string {
	t.Helper()
	var out []string
	for _, e := range auditEvents(t, env, bson.M{"subject_owner_id": ownerID, "outcome": "denied", "resource": "owners/" + ownerID}) {
		out = append(out, fmt.Sprintf("%v %v: %v", e["action"], e["actor_subject"], e["reason"]))
	}
	return out
}

func restrict(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, id string, restricted bool) *ownerv1.Owner {
	t.Helper()
	res, err := c.SetOwnerRestriction(env.As(t, auth.RoleClinicManager), &ownerv1.SetOwnerRestrictionRequest{
		OwnerId: id, Restricted: restricted, Reason: "erasure request " + jobOne,
	})
	if err != nil {
		t.Fatalf("set restriction %v: %v", restricted, err)
	}
	return res.GetOwner()
}

func erase(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, req *ownerv1.EraseOwnerDataRequest) []*ownerv1.RecordDisposition {
	t.Helper()
	res, err := c.EraseOwnerData(env.As(t, auth.RoleClinicManager), req)
	if err != nil {
		t.Fatalf("erase owner data: %v", err)
	}
	return res.GetDispositions()
}

func TestSetOwnerRestriction(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Rajala"), IdentityCode: "131052-308T"})
	desk := env.As(t, auth.RoleReception)
	found := func() int {
		t.Helper()
		res, err := c.ListOwners(desk, &ownerv1.ListOwnersRequest{Name: "rajala"})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.GetOwners())
	}

	restricted := restrict(t, env, c, o.GetId(), true)
	if !restricted.GetRestricted() || restricted.GetVersion() != 2 || restricted.GetErased() {
		t.Fatalf("restricted owner = %v", restricted)
	}
	if n := found(); n != 0 {
		t.Fatalf("a restricted owner is found by name (%d)", n)
	}
	// Staff still read the owner by id: the record is kept, only its use is limited.
	if got := getOwner(t, env, c, o.GetId()); !got.GetRestricted() || got.GetFamilyName() != "Rajala" {
		t.Fatalf("restricted owner read by id = %v", got)
	}
	changes := ownerChanges(t, env, c, o.GetId())
	last := changes[len(changes)-1]
	if len(changes) != 2 || last.GetFields()[0] != "restricted" || last.GetReason() != "erasure request "+jobOne ||
		last.GetActorSubject() != "test-clinic_manager" {
		t.Fatalf("change history after restriction = %v", changes)
	}

	// Setting it again is a retry: nothing changes.
	if again := restrict(t, env, c, o.GetId(), true); again.GetVersion() != 2 {
		t.Fatalf("a repeated restriction moved the version to %d", again.GetVersion())
	}
	if n := len(ownerChanges(t, env, c, o.GetId())); n != 2 {
		t.Fatalf("a repeated restriction added a history entry (%d)", n)
	}

	// The erasure job restricts and erases; only the clinic manager lifts.
	_, err := c.SetOwnerRestriction(env.As(t, auth.RoleErasureJob), &ownerv1.SetOwnerRestrictionRequest{
		OwnerId: o.GetId(), Restricted: false, Reason: "customer stays",
	})
	wantCode(t, err, codes.PermissionDenied)
	if got := getOwner(t, env, c, o.GetId()); !got.GetRestricted() || got.GetVersion() != 2 {
		t.Fatalf("the owner after the erasure job's lift = %v, want it restricted as before", got)
	}
	// An owner id written another way a UUID may be is refused the same.
	for _, written := range []string{strings.ToUpper(o.GetId()), "{" + o.GetId() + "}", "urn:uuid:" + o.GetId()} {
		_, err := c.SetOwnerRestriction(env.As(t, auth.RoleErasureJob), &ownerv1.SetOwnerRestrictionRequest{
			OwnerId: written, Restricted: false, Reason: "customer stays",
		})
		wantCode(t, err, codes.PermissionDenied)
	}
	_, err = c.SetOwnerRestriction(env.As(t, auth.RoleClinicManager), &ownerv1.SetOwnerRestrictionRequest{
		OwnerId: strings.ToUpper(o.GetId()), Restricted: true, Reason: "erasure request " + jobOne, ErasureRequestId: jobOne,
	})
	wantCode(t, err, codes.PermissionDenied)
	// The policy let the callers in, so the service audits each refusal, about the
	// owner as issued, for the owner's access report.
	lift := "owner.restriction.lift test-erasure_job: only the clinic manager lifts a restriction"
	start := "owner.restriction.set test-clinic_manager: only the erasure job starts an erasure request"
	if got, want := deniedAbout(t, env, o.GetId()), []string{lift, lift, lift, lift, start}; !slices.Equal(got, want) {
		t.Fatalf("denied events about the owner: %q, want %q", got, want)
	}

	lifted := restrict(t, env, c, o.GetId(), false)
	if lifted.GetRestricted() || lifted.GetVersion() != 3 || found() != 1 {
		t.Fatalf("lifted owner = %v, found %d", lifted, found())
	}

	// The erasure job's restriction starts an erasure request, which cannot be
	// cancelled: it is repeated as any restriction is, and no lift undoes it.
	const jobID = "0199a0b0-0000-7000-8000-000000000002"
	manager, erasureJob := env.As(t, auth.RoleClinicManager), env.As(t, auth.RoleErasureJob)
	for range 2 {
		res, err := c.SetOwnerRestriction(erasureJob, &ownerv1.SetOwnerRestrictionRequest{
			OwnerId: o.GetId(), Restricted: true, Reason: "erasure request " + jobID, ErasureRequestId: jobID,
		})
		if err != nil || !res.GetOwner().GetRestricted() || res.GetOwner().GetVersion() != 4 {
			t.Fatalf("the erasure request's restriction = %v (%v)", res.GetOwner(), err)
		}
	}
	_, err = c.SetOwnerRestriction(manager, &ownerv1.SetOwnerRestrictionRequest{OwnerId: o.GetId(), Restricted: false, Reason: "customer stays"})
	if r := servicetest.Reason(t, err); r != "ERASURE_IN_PROGRESS" {
		t.Fatalf("lifting an owner whose erasure started: %s", r)
	}
	if got := getOwner(t, env, c, o.GetId()); !got.GetRestricted() || got.GetVersion() != 4 || found() != 0 {
		t.Fatalf("the owner after the refused lift = %v", got)
	}

	for _, tc := range []struct {
		name string
		req  *ownerv1.SetOwnerRestrictionRequest
		want string
	}{
		{"no reason", &ownerv1.SetOwnerRestrictionRequest{OwnerId: o.GetId(), Restricted: true, Reason: "  "}, "reason"},
		{"bad id", &ownerv1.SetOwnerRestrictionRequest{OwnerId: "x", Restricted: true, Reason: "r"}, "owner_id"},
		{"erasure request on a lift", &ownerv1.SetOwnerRestrictionRequest{OwnerId: o.GetId(), Reason: "r", ErasureRequestId: jobID}, "erasure_request_id"},
		{"erasure request not a job's id", &ownerv1.SetOwnerRestrictionRequest{
			OwnerId: o.GetId(), Restricted: true, Reason: "erasure request", ErasureRequestId: "Aino Laine phoned 040 123 4567",
		}, "erasure_request_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Both roles, so that a lift naming an erasure request passes both roles'
			// checks and meets the validation.
			_, err := c.SetOwnerRestriction(env.As(t, auth.RoleErasureJob, auth.RoleClinicManager), tc.req)
			if f := violations(t, err); f[0] != tc.want {
				t.Fatalf("violations %v, want %s", f, tc.want)
			}
		})
	}
	// Only the erasure job starts an erasure request: one named by staff would be
	// completed by no job, and the owner could never be lifted.
	free := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Virta")})
	for _, id := range []string{jobID, "Aino Laine phoned 040 123 4567"} {
		_, err := c.SetOwnerRestriction(manager, &ownerv1.SetOwnerRestrictionRequest{
			OwnerId: free.GetId(), Restricted: true, Reason: "erasure request", ErasureRequestId: id,
		})
		wantCode(t, err, codes.PermissionDenied)
	}
	if got := getOwner(t, env, c, free.GetId()); got.GetRestricted() || got.GetVersion() != 1 {
		t.Fatalf("the owner after the refused restrictions = %v", got)
	}
	refused := "owner.restriction.set test-clinic_manager: only the erasure job starts an erasure request"
	if got, want := deniedAbout(t, env, free.GetId()), []string{refused, refused}; !slices.Equal(got, want) {
		t.Fatalf("denied events about the owner: %q, want %q", got, want)
	}
	_, err = c.SetOwnerRestriction(env.As(t, auth.RoleClinicManager), &ownerv1.SetOwnerRestrictionRequest{
		OwnerId: "0199a0b0-0000-7000-8000-000000000000", Restricted: true, Reason: "r",
	})
	wantCode(t, err, codes.NotFound)
}

// TestRestrictionAuditedAsSetOrLifted: a restriction lifted, or asked to be lifted
// when it is not set, is audited as a lift, so that the owner's access log does not
// read it as their processing restricted; a restriction set, by staff or by the erasure
// job, is audited as one.
func TestRestrictionAuditedAsSetOrLifted(t *testing.T) {
	env := servicetest.New(t)
	svc := runOwner(t, env, newKeys(t, "k1"))
	c := ownerv1.NewOwnerServiceClient(svc.Conn)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Rajala")})
	for _, restricted := range []bool{true, false, false} {
		restrict(t, env, c, o.GetId(), restricted)
	}
	const jobID = "0199a0b0-0000-7000-8000-000000000002"
	if _, err := c.SetOwnerRestriction(env.As(t, auth.RoleErasureJob), &ownerv1.SetOwnerRestrictionRequest{
		OwnerId: o.GetId(), Restricted: true, Reason: "erasure request " + jobID, ErasureRequestId: jobID,
	}); err != nil {
		t.Fatal(err)
	}
	svc.Stop()
	for _, want := range []struct {
		action string
		n      int
	}{
		{"owner.restriction.set", 2},
		{"owner.restriction.lift", 2},
	} {
		if got := auditEvents(t, env, bson.M{"action": want.action, "subject_owner_id": o.GetId()}); len(got) != want.n {
			t.Errorf("%d %s events, want %d: %v", len(got), want.action, want.n, got)
		}
	}
}

// TestEraseOwnerData checks exactly what staff see of an erased owner and its patients,
// with and without the days the history service asks to keep things until.
func TestEraseOwnerData(t *testing.T) {
	const today = "2026-11-25"
	tests := []struct {
		name                  string
		nameUntil, identUntil string
		want                  []*ownerv1.RecordDisposition
	}{
		{
			name: "nothing needs the owner any more",
			want: []*ownerv1.RecordDisposition{
				{RecordClass: "contact_details", Count: 1},
				{RecordClass: "owner_name_address", Count: 1},
				{RecordClass: "patients", Count: 2},
				{RecordClass: "identity_code", Count: 1},
			},
		},
		{
			name: "patient records and an unpaid invoice keep them", nameUntil: "2029-11-25", identUntil: "2032-12-31",
			want: []*ownerv1.RecordDisposition{
				{RecordClass: "contact_details", Count: 1},
				{RecordClass: "owner_name_address", Kept: true, LegalBasis: "basis.veterinary_records", KeptUntil: "2029-11-25", Count: 1},
				{RecordClass: "patients", Kept: true, LegalBasis: "basis.veterinary_records", KeptUntil: "2029-11-25", Count: 2},
				{RecordClass: "identity_code", Kept: true, LegalBasis: "basis.unpaid_invoice", KeptUntil: "2032-12-31", Count: 1},
			},
		},
		{
			name: "days already past keep nothing", nameUntil: "2026-11-24", identUntil: "2026-01-01",
			want: []*ownerv1.RecordDisposition{
				{RecordClass: "contact_details", Count: 1},
				{RecordClass: "owner_name_address", Count: 1},
				{RecordClass: "patients", Count: 2},
				{RecordClass: "identity_code", Count: 1},
			},
		},
		{
			name: "the last day itself still keeps", nameUntil: today,
			want: []*ownerv1.RecordDisposition{
				{RecordClass: "contact_details", Count: 1},
				{RecordClass: "owner_name_address", Kept: true, LegalBasis: "basis.veterinary_records", KeptUntil: today, Count: 1},
				{RecordClass: "patients", Kept: true, LegalBasis: "basis.veterinary_records", KeptUntil: today, Count: 2},
				{RecordClass: "identity_code", Count: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, c, _ := setupAt(t, today)
			o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Poistettava"), IdentityCode: "131052-308T"})
			chipped := newPatient("Rekku")
			chipped.Microchip = "246098100777777"
			pets := []*ownerv1.Patient{registerPatient(t, env, c, o.GetId(), chipped), registerPatient(t, env, c, o.GetId(), newPatient("Mirri"))}
			restrict(t, env, c, o.GetId(), true)

			got := erase(t, env, c, &ownerv1.EraseOwnerDataRequest{
				OwnerId: o.GetId(), RequestId: jobOne, NameKeptUntil: tt.nameUntil, IdentityCodeKeptUntil: tt.identUntil,
			})
			servicetest.EqualMessages(t, got, tt.want)
			namesKept, identityKept := tt.want[1].GetKept(), tt.want[3].GetKept()

			erased := getOwner(t, env, c, o.GetId())
			if !erased.GetErased() || !erased.GetRestricted() || !erased.GetEraseTime().AsTime().Equal(helsinki(t, today)) {
				t.Fatalf("erased owner flags: erased %v restricted %v at %v", erased.GetErased(), erased.GetRestricted(), erased.GetEraseTime())
			}
			if erased.GetPhone() != "" || erased.GetEmail() != "" || erased.GetPreferredLanguage() != ownerv1.Language_LANGUAGE_UNSPECIFIED {
				t.Errorf("contact details left: %q %q %v", erased.GetPhone(), erased.GetEmail(), erased.GetPreferredLanguage())
			}
			if namesKept {
				if erased.GetFamilyName() != "Poistettava" || erased.GetAddress().GetCity() != "Seinäjoki" {
					t.Errorf("kept name and address shown as %q %v", erased.GetFamilyName(), erased.GetAddress())
				}
			} else if erased.GetGivenNames() != "" || erased.GetFamilyName() != "" || erased.GetAddress() != nil {
				t.Errorf("anonymised owner still shows %q %q %v", erased.GetGivenNames(), erased.GetFamilyName(), erased.GetAddress())
			}
			if masked := erased.GetIdentityCodeMasked(); (masked != "") != identityKept {
				t.Errorf("identity code shown as %q, kept %v", masked, identityKept)
			}
			// The create's digest would still answer whether a guessed person was the
			// one erased: it goes with the contact details, whatever is kept.
			if _, ok := rawDocument(t, env, "owners", o.GetId())["create_digest"]; ok {
				t.Errorf("the erased owner keeps the digest of its create")
			}
			billing := env.As(t, auth.RoleBilling)
			_, err := c.RevealIdentityCode(billing, &ownerv1.RevealIdentityCodeRequest{OwnerId: o.GetId(), Purpose: "invoice 2026-118 to collection"})
			if identityKept && err != nil {
				t.Errorf("a kept identity code cannot be revealed to collect the invoice: %v", err)
			}
			if !identityKept {
				wantCode(t, err, codes.NotFound)
				// The blind index is gone with the code: the same person registers anew.
				createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Palannut"), IdentityCode: "131052-308T"})
			}
			_, err = c.FindOwnerByIdentityCode(billing, &ownerv1.FindOwnerByIdentityCodeRequest{IdentityCode: "131052-308T"})
			if identityKept {
				wantCode(t, err, codes.NotFound) // restricted: out of every search
			} else if err != nil {
				t.Fatalf("the code registered anew is not found: %v", err)
			}

			nurse := env.As(t, auth.RoleNurse)
			for _, pet := range pets {
				res, err := c.GetPatient(nurse, &ownerv1.GetPatientRequest{PatientId: pet.GetId()})
				if err != nil {
					t.Fatal(err)
				}
				p := res.GetPatient()
				if p.GetCustomerNumber() != pet.GetCustomerNumber() || p.GetSpecies() != pet.GetSpecies() {
					t.Errorf("patient lost its number or species: %v", p)
				}
				if (p.GetName() != "") != namesKept || (p.GetBirthDate() != "") != namesKept {
					t.Errorf("patient details %q %q, kept %v", p.GetName(), p.GetBirthDate(), namesKept)
				}
				if _, ok := rawDocument(t, env, "patients", pet.GetId())["create_digest"]; ok != namesKept {
					t.Errorf("patient keeps the digest of its registration: %v, its details kept: %v", ok, namesKept)
				}
				_, err = c.FindPatientByCustomerNumber(nurse, &ownerv1.FindPatientByCustomerNumberRequest{CustomerNumber: pet.GetCustomerNumber()})
				if namesKept && err != nil {
					t.Errorf("a kept patient is not found by its customer number: %v", err)
				} else if !namesKept {
					wantCode(t, err, codes.NotFound)
				}
				_, err = c.UpdatePatient(nurse, &ownerv1.UpdatePatientRequest{
					PatientId: pet.GetId(), Patient: &ownerv1.Patient{Colour: "black"}, Version: p.GetVersion(),
					Reason: "test", UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}},
				})
				if r := servicetest.Reason(t, err); r != "OWNER_ERASED" {
					t.Errorf("updating an erased owner's patient: %s", r)
				}
			}
			if !namesKept {
				// The microchip claim went with the chip: another animal may carry it.
				other := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Toinen")})
				registerPatient(t, env, c, other.GetId(), chipped)
			}

			changes := ownerChanges(t, env, c, o.GetId())
			last := changes[len(changes)-1]
			if last.GetReason() != "erasure request "+jobOne || len(last.GetFields()) == 0 {
				t.Fatalf("erasure's history entry = %v", last)
			}
		})
	}
}

// TestErasureScrubsChangeReasons gives the owner and its patient changes whose reasons,
// typed by staff, name the owner and the number the erasure removes; after the erasure
// neither is left in the stored history (the raw documents, read with the driver) nor
// anywhere in the documents beyond what the erasure keeps, while the history still shows
// who changed which fields when.
func TestErasureScrubsChangeReasons(t *testing.T) {
	const (
		family = "Mäkinen"
		jobRes = "erasure request " + jobOne
	)
	tests := []struct {
		name      string
		nameUntil string
		// keptInFields are the words the erasure keeps, restricted, in the record's own
		// fields (the names it keeps for the patient records); never in the history.
		keptInFields []string
	}{
		{name: "names anonymised now"},
		{name: "names kept for the patient records", nameUntil: "2029-11-25", keptInFields: []string{family, "makinen"}},
	}
	// The name as typed and as the search keys fold it, and the new phone number as
	// typed and as stored.
	needles := []string{family, "makinen", "765 4321", "7654321"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, c, _ := setupAt(t, "2026-11-25")
			manager, nurse := env.As(t, auth.RoleClinicManager), env.As(t, auth.RoleNurse)
			o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner(family), IdentityCode: "131052-308T"})
			pet := registerPatient(t, env, c, o.GetId(), newPatient("Rekku"))
			if _, err := c.UpdateOwner(env.As(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
				OwnerId: o.GetId(), Owner: &ownerv1.Owner{Phone: "040 765 4321"}, Version: o.GetVersion(),
				Reason: "Aino " + family + " called: new number 040 765 4321", UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone"}},
			}); err != nil {
				t.Fatal(err)
			}
			for _, r := range []struct {
				on     bool
				reason string
			}{{true, family + " objects to everything, by phone"}, {false, family + " took the objection back"}} {
				if _, err := c.SetOwnerRestriction(manager, &ownerv1.SetOwnerRestrictionRequest{OwnerId: o.GetId(), Restricted: r.on, Reason: r.reason}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.UpdatePatient(nurse, &ownerv1.UpdatePatientRequest{
				PatientId: pet.GetId(), Patient: &ownerv1.Patient{Colour: "black"}, Version: pet.GetVersion(),
				Reason: "Aino " + family + " says Rekku is black", UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}},
			}); err != nil {
				t.Fatal(err)
			}
			restrict(t, env, c, o.GetId(), true) // the erasure job's restriction, its reason naming jobOne
			ownerBefore, petBefore := ownerChanges(t, env, c, o.GetId()), patientChanges(t, env, c, pet.GetId())
			stored := func() []bson.M {
				return []bson.M{rawDocument(t, env, "owners", o.GetId()), rawDocument(t, env, "patients", pet.GetId())}
			}
			if !strings.Contains(extJSON(t, stored()[0]["changes"]), family) {
				t.Fatalf("the stored history does not show the name before the erasure: the search below would prove nothing")
			}

			erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobOne, NameKeptUntil: tt.nameUntil, IdentityCodeKeptUntil: "2032-12-31"})

			for _, doc := range stored() {
				history := extJSON(t, doc["changes"])
				delete(doc, "changes")
				fields := extJSON(t, doc)
				for _, n := range needles {
					if strings.Contains(history, n) {
						t.Errorf("%s: %q left in the stored history: %s", doc["_id"], n, history)
					}
					if strings.Contains(fields, n) && !slices.Contains(tt.keptInFields, n) {
						t.Errorf("%s: %q left in the stored document: %s", doc["_id"], n, fields)
					}
				}
			}
			// Staff see every change as before (who, when, which fields), the reasons
			// typed about the person replaced, those the service wrote as they were.
			checkScrubbed := func(what string, before, after []*ownerv1.Change) {
				t.Helper()
				if len(after) != len(before)+1 || after[len(after)-1].GetReason() != jobRes {
					t.Fatalf("%s history after the erasure = %v", what, after)
				}
				for i, b := range before {
					want := proto.Clone(b).(*ownerv1.Change)
					if r := want.GetReason(); r != jobRes && r != "registered" {
						want.Reason = "(erased)"
					}
					if !proto.Equal(after[i], want) {
						t.Errorf("%s change %d after the erasure\n got %v\nwant %v", what, i, after[i], want)
					}
				}
			}
			checkScrubbed("owner", ownerBefore, ownerChanges(t, env, c, o.GetId()))
			checkScrubbed("patient", petBefore, patientChanges(t, env, c, pet.GetId()))
			if r := ownerBefore[len(ownerBefore)-1].GetReason(); r != jobRes {
				t.Fatalf("the job's restriction was recorded as %q", r)
			}
		})
	}
}

// TestErasureScrubsOnlyTheErasedOwnersTime transfers a patient from one owner to
// another, each having had reasons typed about them in its history, and erases one of
// them: the reasons of the erased owner's time (the transfer's included, which may
// name either) are scrubbed whether the patient is theirs now or was transferred away,
// those of the other owner's time stay, and a retry changes nothing more. The
// patient's data do not change when a former owner is erased, so neither does its
// version.
func TestErasureScrubsOnlyTheErasedOwnersTime(t *testing.T) {
	tests := []struct {
		name  string
		erase string // "first" or "second" owner
		// scrubbed are the indexes of the history's changes whose reasons the erasure
		// replaces; appended is the number of change records it adds.
		scrubbed []int
		appended int
	}{
		{name: "the owner who transferred the patient away", erase: "first", scrubbed: []int{1, 2}},
		{name: "the owner the patient was transferred to", erase: "second", scrubbed: []int{2, 3}, appended: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, c, _ := setupAt(t, "2026-11-25")
			first, second, pet := handedOverPet(t, env, c)
			before, versionBefore := patientChanges(t, env, c, pet.GetId()), getPatient(t, env, c, pet.GetId()).GetVersion()
			erased := map[string]string{"first": first.GetId(), "second": second.GetId()}[tt.erase]
			req := &ownerv1.EraseOwnerDataRequest{OwnerId: erased, RequestId: jobOne, NameKeptUntil: "2029-11-25"}

			erase(t, env, c, req)

			after := patientChanges(t, env, c, pet.GetId())
			if len(after) != len(before)+tt.appended {
				t.Fatalf("history after the erasure has %d changes, want %d: %v", len(after), len(before)+tt.appended, after)
			}
			for i, b := range before {
				want := proto.Clone(b).(*ownerv1.Change)
				if slices.Contains(tt.scrubbed, i) {
					want.Reason = "(erased)"
				}
				if !proto.Equal(after[i], want) {
					t.Errorf("change %d after the erasure\n got %v\nwant %v", i, after[i], want)
				}
			}
			if v := getPatient(t, env, c, pet.GetId()).GetVersion(); tt.appended == 0 && v != versionBefore {
				t.Errorf("a former owner's erasure moved the patient from version %d to %d", versionBefore, v)
			}
			erase(t, env, c, req)
			if again := patientChanges(t, env, c, pet.GetId()); !slices.EqualFunc(again, after, func(a, b *ownerv1.Change) bool { return proto.Equal(a, b) }) {
				t.Errorf("a retry of the erasure changed the history\n got %v\nwant %v", again, after)
			}
		})
	}
}

func getPatient(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, id string) *ownerv1.Patient {
	t.Helper()
	res, err := c.GetPatient(env.As(t, auth.RoleClinicManager), &ownerv1.GetPatientRequest{PatientId: id})
	if err != nil {
		t.Fatalf("get patient: %v", err)
	}
	return res.GetPatient()
}

func patientChanges(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, id string) []*ownerv1.Change {
	t.Helper()
	res, err := c.ListPatientChanges(env.As(t, auth.RoleClinicManager), &ownerv1.ListPatientChangesRequest{PatientId: id})
	if err != nil {
		t.Fatalf("patient changes: %v", err)
	}
	return res.GetChanges()
}

// rawDocument reads a document of the owner database as stored, past the service.
func rawDocument(t *testing.T, env *servicetest.Env, collection, id string) bson.M {
	t.Helper()
	docs := rawDocuments(t, env, collection, bson.M{"_id": id})
	if len(docs) != 1 {
		t.Fatalf("%s %s: %d documents", collection, id, len(docs))
	}
	return docs[0]
}

// rawDocuments reads the documents of the owner database that match filter, as stored.
func rawDocuments(t *testing.T, env *servicetest.Env, collection string, filter bson.M) []bson.M {
	t.Helper()
	client := embeddedtest.Client(t, env.Store.URI())
	cur, err := client.Database(testDatabase).Collection(collection).Find(t.Context(), filter)
	if err != nil {
		t.Fatalf("read %s: %v", collection, err)
	}
	var docs []bson.M
	if err := cur.All(t.Context(), &docs); err != nil {
		t.Fatalf("read %s: %v", collection, err)
	}
	return docs
}

// extJSON is v as relaxed extended JSON, every string in it as written.
func extJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := bson.MarshalExtJSON(bson.M{"v": v}, false, false)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEraseOwnerDataRetryAndSecondRequest(t *testing.T) {
	env, c, _ := setupAt(t, "2026-11-25")
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Toistuva"), IdentityCode: "131052-308T"})
	registerPatient(t, env, c, o.GetId(), newPatient("Nappi"))
	first := &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobOne, NameKeptUntil: "2029-11-25", IdentityCodeKeptUntil: "2032-12-31"}
	answer := erase(t, env, c, first)
	before := getOwner(t, env, c, o.GetId())
	history := len(ownerChanges(t, env, c, o.GetId()))

	// The same request again (the job retried after a lost answer) answers the same and
	// changes nothing, even with other days (the job sends what it stored).
	retry := proto.Clone(first).(*ownerv1.EraseOwnerDataRequest)
	retry.NameKeptUntil = ""
	servicetest.EqualMessages(t, erase(t, env, c, retry), answer)
	if after := getOwner(t, env, c, o.GetId()); after.GetVersion() != before.GetVersion() || after.GetFamilyName() == "" {
		t.Fatalf("a retry changed the owner: version %d → %d", before.GetVersion(), after.GetVersion())
	}
	if n := len(ownerChanges(t, env, c, o.GetId())); n != history {
		t.Fatalf("a retry added %d history entries", n-history)
	}

	// A new request on the erased owner answers what is left, and applies its days:
	// the history service now needs nothing.
	servicetest.EqualMessages(t, erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobTwo}),
		[]*ownerv1.RecordDisposition{
			{RecordClass: "owner_name_address", Count: 1},
			{RecordClass: "patients", Count: 1},
			{RecordClass: "identity_code", Count: 1},
		})
	servicetest.EqualMessages(t, erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobThree}), nil)
	if o := getOwner(t, env, c, o.GetId()); o.GetFamilyName() != "" || o.GetIdentityCodeMasked() != "" {
		t.Fatalf("after the second request the owner shows %q %q", o.GetFamilyName(), o.GetIdentityCodeMasked())
	}

	// An erased owner stays restricted and cannot be rectified back.
	_, err := c.SetOwnerRestriction(env.As(t, auth.RoleClinicManager), &ownerv1.SetOwnerRestrictionRequest{
		OwnerId: o.GetId(), Restricted: false, Reason: "customer asked",
	})
	if r := servicetest.Reason(t, err); r != "OWNER_ERASED" {
		t.Fatalf("lifting an erased owner: %s", r)
	}
	_, err = c.UpdateOwner(env.As(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
		OwnerId: o.GetId(), Owner: &ownerv1.Owner{Phone: "040 123 4567"}, Version: getOwner(t, env, c, o.GetId()).GetVersion(),
		Reason: "customer called", UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone"}},
	})
	if r := servicetest.Reason(t, err); r != "OWNER_ERASED" {
		t.Fatalf("updating an erased owner: %s", r)
	}
}

// TestErasureRequestIDInAnyUUIDForm: a clinic manager may paste the request's id in
// upper case or braces. It is kept as the register writes ids, so that the reason in
// the owner's history ("erasure request <id>") is translated in the owner's access
// report, and the same id in another form is the same request, not a second one.
func TestErasureRequestIDInAnyUUIDForm(t *testing.T) {
	env, c, _ := setupAt(t, "2026-11-25")
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Muotoilu")})
	pasted := "{" + strings.ToUpper(jobOne) + "}"
	answer := erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: pasted})
	changes := ownerChanges(t, env, c, o.GetId())
	if got, want := changes[len(changes)-1].GetReason(), "erasure request "+jobOne; got != want {
		t.Fatalf("the erasure's reason in the history = %q, want %q", got, want)
	}
	servicetest.EqualMessages(t, erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobOne}), answer)
	if n := len(ownerChanges(t, env, c, o.GetId())); n != len(changes) {
		t.Fatalf("the id in its usual form erased again: %d history entries, want %d", n, len(changes))
	}
}

func TestEraseOwnerDataValidation(t *testing.T) {
	env, c, _ := setupAt(t, "2026-11-25")
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Virheellinen")})
	for _, tc := range []struct {
		name string
		req  *ownerv1.EraseOwnerDataRequest
		want string
	}{
		{"no request id", &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId()}, "request_id"},
		{"not a day", &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobOne, NameKeptUntil: "25.11.2029"}, "name_kept_until"},
		{"no such day", &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobOne, IdentityCodeKeptUntil: "2029-02-30"}, "identity_code_kept_until"},
		{"a century ahead", &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobOne, NameKeptUntil: "2126-01-01"}, "name_kept_until"},
		{"bad owner id", &ownerv1.EraseOwnerDataRequest{OwnerId: "nope", RequestId: jobOne}, "owner_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.EraseOwnerData(env.As(t, auth.RoleClinicManager), tc.req)
			if f := violations(t, err); f[0] != tc.want {
				t.Fatalf("violations %v, want %s", f, tc.want)
			}
		})
	}
	if got := getOwner(t, env, c, o.GetId()); got.GetErased() || got.GetPhone() == "" {
		t.Fatalf("a refused erasure changed the owner: %v", got)
	}
	_, err := c.EraseOwnerData(env.As(t, auth.RoleClinicManager), &ownerv1.EraseOwnerDataRequest{
		OwnerId: "0199a0b0-0000-7000-8000-000000000000", RequestId: jobOne,
	})
	wantCode(t, err, codes.NotFound)
	_, err = c.EraseOwnerData(env.As(t, auth.RoleReception), &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobOne})
	wantCode(t, err, codes.PermissionDenied)
}

// TestEraseOwnerDataRefusesFreeTextRequestID: the request's id is kept in the owner's
// and its patients' histories after the erasure ("erasure request <id>"), so a clinic
// manager's free text there is refused before anything is written, and not repeated.
func TestEraseOwnerDataRefusesFreeTextRequestID(t *testing.T) {
	const text = "Aino Laine phoned 040 123 4567"
	env := servicetest.New(t)
	svc := runOwner(t, env, newKeys(t, "k1"))
	c := ownerv1.NewOwnerServiceClient(svc.Conn)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Laine"), IdentityCode: "131052-308T"})
	pet := registerPatient(t, env, c, o.GetId(), newPatient("Rekku"))
	var calls []servicetest.Refusal
	for _, id := range []string{text, "letter from Aino Laine", "job-1"} {
		calls = append(calls, servicetest.Refusal{Name: id, Field: "request_id", Call: func() error {
			_, err := c.EraseOwnerData(env.As(t, auth.RoleClinicManager), &ownerv1.EraseOwnerDataRequest{
				OwnerId: o.GetId(), RequestId: id, NameKeptUntil: "2029-11-25",
			})
			return err
		}})
	}
	servicetest.Refused(t, text, calls)

	if got := getOwner(t, env, c, o.GetId()); got.GetVersion() != o.GetVersion() || got.GetRestricted() || got.GetErased() {
		t.Fatalf("the owner after the refused erasures: %v; want it unchanged", got)
	}
	if n := len(ownerChanges(t, env, c, o.GetId())); n != 1 {
		t.Fatalf("the owner's history has %d changes after the refused erasures, want its registration only", n)
	}
	if got := patientChanges(t, env, c, pet.GetId()); len(got) != 1 {
		t.Fatalf("the patient's history after the refused erasures = %v, want its registration only", got)
	}
	svc.Stop()
	servicetest.NotStored(t, env, "Laine phoned", testDatabase)
}

// TestReturningCustomerAfterErasure registers again, as a new customer, a person whose
// earlier record is out of use and still holds the identity code: an erased owner whose
// code an unpaid invoice keeps gives way (reception cannot find that record, and its
// code stays revealable to billing on it), an owner only restricted (an erasure or
// objection pending, which may be lifted) does not. Either way the code stays unique
// among the owners in use.
func TestReturningCustomerAfterErasure(t *testing.T) {
	const code = "131052-308T"
	tests := []struct {
		name string
		// withdraw takes the first owner out of use.
		withdraw       func(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, id string)
		registersAgain bool
	}{
		{
			name: "erased, the code kept for an unpaid invoice",
			withdraw: func(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, id string) {
				erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: id, RequestId: jobOne, IdentityCodeKeptUntil: "2032-12-31"})
			},
			registersAgain: true,
		},
		{
			name: "restricted, an erasure pending",
			withdraw: func(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, id string) {
				restrict(t, env, c, id, true)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, c, _ := setupAt(t, "2026-11-25")
			desk, billing := env.As(t, auth.RoleReception), env.As(t, auth.RoleBilling)
			first := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Ensimmäinen"), IdentityCode: code})
			tt.withdraw(t, env, c, first.GetId())

			again, err := c.CreateOwner(desk, &ownerv1.CreateOwnerRequest{Owner: newOwner("Palannut"), IdentityCode: code})
			if !tt.registersAgain {
				if st := wantCode(t, err, codes.AlreadyExists); strings.Contains(st.Message(), first.GetId()) {
					t.Errorf("the refusal names the restricted owner: %v", st)
				}
				restrict(t, env, c, first.GetId(), false)
				found, err := c.FindOwnerByIdentityCode(billing, &ownerv1.FindOwnerByIdentityCodeRequest{IdentityCode: code})
				if err != nil || found.GetOwner().GetId() != first.GetId() {
					t.Fatalf("the owner back in use is not found by its code: %v (%v)", found.GetOwner(), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("the returning customer cannot be registered: %v", err)
			}
			found, err := c.FindOwnerByIdentityCode(billing, &ownerv1.FindOwnerByIdentityCodeRequest{IdentityCode: code})
			if err != nil || found.GetOwner().GetId() != again.GetOwner().GetId() {
				t.Fatalf("a search by the code finds %v (%v), want the new owner only", found.GetOwner(), err)
			}
			_, err = c.CreateOwner(desk, &ownerv1.CreateOwnerRequest{Owner: newOwner("Kolmas"), IdentityCode: code})
			wantCode(t, err, codes.AlreadyExists)
			// Billing still collects the invoice on the erased record, with its own copy.
			for _, id := range []string{first.GetId(), again.GetOwner().GetId()} {
				res, err := c.RevealIdentityCode(billing, &ownerv1.RevealIdentityCodeRequest{OwnerId: id, Purpose: "invoice 2026-118"})
				if err != nil || res.GetIdentityCode() != code {
					t.Errorf("revealing the code of %s: %v", id, err)
				}
			}
		})
	}
}

// TestSweepLeavesTheReturningCustomersClaim drops, when the unpaid invoice no longer
// needs it, the identity code an erasure kept, after the same person has been
// registered again: the new owner keeps the code, its claim and its uniqueness.
func TestSweepLeavesTheReturningCustomersClaim(t *testing.T) {
	const code = "131052-308T"
	env, c, clk := setupAt(t, "2026-11-25")
	desk, billing := env.As(t, auth.RoleReception), env.As(t, auth.RoleBilling)
	first := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Ensimmäinen"), IdentityCode: code})
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: first.GetId(), RequestId: jobOne, IdentityCodeKeptUntil: "2027-12-31"})
	again := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Palannut"), IdentityCode: code})

	clk.Set(helsinki(t, "2028-01-01"))
	res, err := c.RunRetentionSweep(env.As(t, auth.RoleClinicManager), &ownerv1.RunRetentionSweepRequest{})
	if err != nil {
		t.Fatal(err)
	}
	servicetest.EqualMessages(t, res.GetRemoved(), []*ownerv1.RecordDisposition{{RecordClass: "identity_code", Count: 1}})
	if masked := getOwner(t, env, c, first.GetId()).GetIdentityCodeMasked(); masked != "" {
		t.Fatalf("the erased owner still shows the code %q", masked)
	}
	_, err = c.RevealIdentityCode(billing, &ownerv1.RevealIdentityCodeRequest{OwnerId: first.GetId(), Purpose: "invoice 2026-118"})
	wantCode(t, err, codes.NotFound)

	if got := getOwner(t, env, c, again.GetId()).GetIdentityCodeMasked(); got == "" {
		t.Fatal("the new owner lost its code")
	}
	found, err := c.FindOwnerByIdentityCode(billing, &ownerv1.FindOwnerByIdentityCodeRequest{IdentityCode: code})
	if err != nil || found.GetOwner().GetId() != again.GetId() {
		t.Fatalf("a search by the code after the sweep finds %v (%v), want the new owner", found.GetOwner(), err)
	}
	_, err = c.CreateOwner(desk, &ownerv1.CreateOwnerRequest{Owner: newOwner("Kolmas"), IdentityCode: code})
	wantCode(t, err, codes.AlreadyExists)
	claims := rawDocuments(t, env, "claims", bson.M{"ref": again.GetId()})
	if len(claims) != 1 || !strings.HasPrefix(claims[0]["_id"].(string), "identity:") {
		t.Fatalf("the new owner's claims after the sweep: %v", claims)
	}
}

// TestReturningAnimalAfterErasure registers again, under its returning owner, an animal
// whose record the owner's erasure kept: the kept record yields its microchip, the chip
// stays unique among the animals in use, and the sweep that later anonymises the kept
// record leaves the new one's claim alone.
func TestReturningAnimalAfterErasure(t *testing.T) {
	const chip = "246098100123456"
	env, c, clk := setupAt(t, "2026-11-25")
	desk := env.As(t, auth.RoleReception)
	first := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Ensimmäinen")})
	pet := newPatient("Haukku")
	pet.Microchip = chip
	kept := registerPatient(t, env, c, first.GetId(), pet)
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: first.GetId(), RequestId: jobOne, NameKeptUntil: "2029-11-25"})

	again := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Palannut")})
	res, err := c.RegisterPatient(env.As(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: again.GetId(), Patient: pet})
	if err != nil {
		t.Fatalf("the returning animal cannot be registered: %v", err)
	}
	back := res.GetPatient()
	if back.GetCustomerNumber() == kept.GetCustomerNumber() {
		t.Fatalf("the new record reuses the customer number %s", back.GetCustomerNumber())
	}
	findsOnly := func(when string) {
		t.Helper()
		found, err := c.ListOwners(desk, &ownerv1.ListOwnersRequest{Microchip: chip})
		if err != nil || len(found.GetOwners()) != 1 || found.GetOwners()[0].GetId() != again.GetId() {
			t.Fatalf("%s a search by the chip finds %v (%v), want the returning owner only", when, found.GetOwners(), err)
		}
		other := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Kolmas")})
		_, err = c.RegisterPatient(env.As(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: other.GetId(), Patient: pet})
		wantCode(t, err, codes.AlreadyExists)
	}
	findsOnly("after the registration")

	clk.Set(helsinki(t, "2029-11-26"))
	if _, err := c.RunRetentionSweep(env.As(t, auth.RoleClinicManager), &ownerv1.RunRetentionSweepRequest{}); err != nil {
		t.Fatal(err)
	}
	old, err := c.GetPatient(env.As(t, auth.RoleNurse), &ownerv1.GetPatientRequest{PatientId: kept.GetId()})
	if err != nil || old.GetPatient().GetMicrochip() != "" {
		t.Fatalf("the sweep left the kept record %v (%v)", old.GetPatient(), err)
	}
	findsOnly("after the sweep")
	claims := rawDocuments(t, env, "claims", bson.M{"ref": back.GetId()})
	if len(claims) != 1 || claims[0]["_id"] != "microchip:"+chip {
		t.Fatalf("the returning animal's claims after the sweep: %v", claims)
	}
}

func TestRetentionSweep(t *testing.T) {
	env, c, clk := setupAt(t, "2026-11-25")
	sweep := func(role auth.Role) []*ownerv1.RecordDisposition {
		t.Helper()
		res, err := c.RunRetentionSweep(env.As(t, role), &ownerv1.RunRetentionSweepRequest{})
		if err != nil {
			t.Fatalf("sweep: %v", err)
		}
		return res.GetRemoved()
	}
	kept := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Säilytetty"), IdentityCode: "131052-308T"})
	pet := registerPatient(t, env, c, kept.GetId(), newPatient("Haukku"))
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{
		OwnerId: kept.GetId(), RequestId: jobOne, NameKeptUntil: "2029-11-25", IdentityCodeKeptUntil: "2027-12-31",
	})
	untouched := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Asiakas")})

	steps := []struct {
		day         string
		want        []*ownerv1.RecordDisposition
		namesKept   bool
		identKept   bool
		sweeperRole auth.Role
	}{
		{"2026-11-25", nil, true, true, auth.RoleClinicManager},
		{"2027-12-31", nil, true, true, auth.RoleMaintainer},
		{"2028-01-01", []*ownerv1.RecordDisposition{{RecordClass: "identity_code", Count: 1}}, true, false, auth.RoleMaintainer},
		{"2029-11-25", nil, true, false, auth.RoleClinicManager},
		{"2029-11-26", []*ownerv1.RecordDisposition{
			{RecordClass: "owner_name_address", Count: 1}, {RecordClass: "patients", Count: 1},
		}, false, false, auth.RoleClinicManager},
		{"2040-01-01", nil, false, false, auth.RoleClinicManager},
	}
	for _, s := range steps {
		t.Run(s.day, func(t *testing.T) {
			clk.Set(helsinki(t, s.day))
			servicetest.EqualMessages(t, sweep(s.sweeperRole), s.want)
			got := getOwner(t, env, c, kept.GetId())
			if (got.GetFamilyName() != "") != s.namesKept || (got.GetIdentityCodeMasked() != "") != s.identKept {
				t.Fatalf("owner shows %q %q, want names kept %v, identity kept %v",
					got.GetFamilyName(), got.GetIdentityCodeMasked(), s.namesKept, s.identKept)
			}
			p, err := c.GetPatient(env.As(t, auth.RoleNurse), &ownerv1.GetPatientRequest{PatientId: pet.GetId()})
			if err != nil || (p.GetPatient().GetName() != "") != s.namesKept {
				t.Fatalf("patient %v (%v), want kept %v", p.GetPatient(), err, s.namesKept)
			}
		})
	}
	if got := getOwner(t, env, c, untouched.GetId()); got.GetFamilyName() != "Asiakas" || got.GetVersion() != 1 {
		t.Fatalf("the sweep touched an owner never erased: %v", got)
	}
	changes := ownerChanges(t, env, c, kept.GetId())
	if last := changes[len(changes)-1]; last.GetReason() != "retention period ended" {
		t.Fatalf("the sweep's history entry = %v", last)
	}
	_, err := c.RunRetentionSweep(env.As(t, auth.RoleReception), &ownerv1.RunRetentionSweepRequest{})
	wantCode(t, err, codes.PermissionDenied)
}
