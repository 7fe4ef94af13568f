package owner_test

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// identityCode is a valid identity code of someone born on 1 January 1990 with the
// individual number n (2–899).
func identityCode(t *testing.T, n int) string {
	t.Helper()
	digits := fmt.Sprintf("010190%03d", n)
	v, err := strconv.Atoi(digits)
	if err != nil {
		t.Fatal(err)
	}
	return digits[:6] + "-" + digits[6:] + string("0123456789ABCDEFHJKLMNPRSTUVWXY"[v%31])
}

// wantRequestIDReused checks that err refuses a create whose request id made the record
// resource (of owner ownerID): REQUEST_ID_REUSED with a field violation on request_id,
// the first record not named, and the refusal in the owner's access report.
func wantRequestIDReused(t *testing.T, env *servicetest.Env, err error, action, resource, ownerID string) {
	t.Helper()
	st := wantCode(t, err, codes.FailedPrecondition)
	var reason string
	var fields []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if reason != "REQUEST_ID_REUSED" || len(fields) != 1 || fields[0] != "request_id" {
		t.Errorf("refused with reason %q and field violations on %q, want REQUEST_ID_REUSED on request_id", reason, fields)
	}
	if strings.Contains(st.Message(), path.Base(resource)) || strings.Contains(st.Message(), ownerID) {
		t.Errorf("the refusal names the first record: %q", st.Message())
	}
	refusals := auditEvents(t, env, bson.M{"action": action, "resource": resource, "subject_owner_id": ownerID, "outcome": "denied"})
	if len(refusals) != 1 || refusals[0]["reason"] != "REQUEST_ID_REUSED" {
		t.Errorf("refusal audited as %v, want one denied %s about owner %s", refusals, action, ownerID)
	}
}

// TestOwnerRequestIDReusedForAnotherRequest: a create whose request id already made an
// owner is answered with that owner only when it is the same request, however the
// client writes it and whatever was rectified since; anything else, a namesake first
// (two partner systems both numbering their forms "form-1"), is refused rather than
// answered with someone else's record as if this person were registered.
func TestOwnerRequestIDReusedForAnotherRequest(t *testing.T) {
	env, c := setup(t)
	reception := env.As(t, auth.RoleReception)
	matti := func() *ownerv1.Owner {
		o := newOwner("Virtanen")
		o.GivenNames = "Matti"
		return o
	}
	tests := []struct {
		name string
		// rectify, when set, changes the first owner before the second request.
		rectify *ownerv1.UpdateOwnerRequest
		// second changes the first request into the second; other is an identity code
		// no one has.
		second func(r *ownerv1.CreateOwnerRequest, other string)
		same   bool
	}{
		{name: "a namesake with another identity code, phone, address and e-mail", second: func(r *ownerv1.CreateOwnerRequest, other string) {
			r.Owner.Phone, r.Owner.Email = "+358 50 765 4321", "matti.other@example.fi"
			r.Owner.Address = &ownerv1.Address{Street: "Kuohunharjuntie 9", PostalCode: "36200", City: "Kangasala"}
			r.IdentityCode = other
		}},
		{name: "the same person with another phone", second: func(r *ownerv1.CreateOwnerRequest, _ string) { r.Owner.Phone = "050 765 4321" }},
		{name: "the same person with another identity code", second: func(r *ownerv1.CreateOwnerRequest, other string) { r.IdentityCode = other }},
		{name: "the same person without the identity code", second: func(r *ownerv1.CreateOwnerRequest, _ string) { r.IdentityCode = "" }},
		{name: "the same person at another home clinic", second: func(r *ownerv1.CreateOwnerRequest, _ string) {
			r.Owner.HomeClinic = ownerv1.Clinic_CLINIC_KANGASALA
		}},
		{name: "the same request written as another client writes it", same: true, second: func(r *ownerv1.CreateOwnerRequest, _ string) {
			r.Owner.GivenNames, r.Owner.Phone = " Matti ", "+358 40 1234567"
			r.Owner.Address.PostalCode, r.Owner.Address.Country = " 60100", "fi"
			r.IdentityCode = strings.ToLower(r.IdentityCode)
		}},
		{name: "the same request after the owner was rectified", same: true, rectify: &ownerv1.UpdateOwnerRequest{
			Owner: &ownerv1.Owner{Phone: "050 765 4321"}, Version: 1, Reason: "moved",
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone", "identity_code"}},
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requestID := fmt.Sprintf("form-%d", i)
			code, other := identityCode(t, 100+2*i), identityCode(t, 101+2*i)
			first := func() *ownerv1.CreateOwnerRequest {
				return &ownerv1.CreateOwnerRequest{RequestId: requestID, Owner: matti(), IdentityCode: code}
			}
			created := createOwner(t, env, c, first())
			if tt.rectify != nil {
				tt.rectify.OwnerId, tt.rectify.IdentityCode = created.GetId(), other
				if _, err := c.UpdateOwner(reception, tt.rectify); err != nil {
					t.Fatal(err)
				}
			}
			second := first()
			if tt.second != nil {
				tt.second(second, other)
			}
			res, err := c.CreateOwner(reception, second)
			if tt.same {
				if err != nil || res.GetOwner().GetId() != created.GetId() {
					t.Fatalf("a retry of the create answered %v, %v; want owner %s", res, err, created.GetId())
				}
				return
			}
			if err == nil {
				o := res.GetOwner()
				t.Fatalf("another request under a used request id answered with owner %s (phone %s, code %s); want it refused",
					o.GetId(), o.GetPhone(), o.GetIdentityCodeMasked())
			}
			wantRequestIDReused(t, env, err, "owner.create", "owners/"+created.GetId(), created.GetId())
		})
	}
}

// TestPatientRequestIDReusedForAnotherRegistration: RegisterPatient's request id, as
// CreateOwner's, answers only a retry of the same registration, even after the patient
// was rectified.
func TestPatientRequestIDReusedForAnotherRegistration(t *testing.T) {
	env, c := setup(t)
	nurse := env.As(t, auth.RoleNurse)
	owner := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Mäkinen")})
	other := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Virtanen")})
	tests := []struct {
		name    string
		rectify *ownerv1.UpdatePatientRequest
		ownerID string
		patient func(*ownerv1.Patient)
		same    bool
	}{
		{name: "another animal of the same name and species", ownerID: owner.GetId(), patient: func(p *ownerv1.Patient) {
			p.BirthDate, p.Sex, p.Breed = "2016-03-12", ownerv1.Sex_SEX_MALE, "Suomenlapinkoira"
		}},
		{name: "the same animal with another microchip", ownerID: owner.GetId(), patient: func(p *ownerv1.Patient) {
			p.Microchip = "246098100123456"
		}},
		{name: "the same animal under another owner", ownerID: other.GetId()},
		{name: "the same registration retried", ownerID: owner.GetId(), same: true},
		{name: "the same registration after the patient was rectified", ownerID: owner.GetId(), same: true,
			rectify: &ownerv1.UpdatePatientRequest{
				Patient: &ownerv1.Patient{Colour: "black"}, Version: 1, Reason: "colour noted",
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}},
			}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requestID := fmt.Sprintf("pet-%d", i)
			res, err := c.RegisterPatient(nurse, &ownerv1.RegisterPatientRequest{OwnerId: owner.GetId(), RequestId: requestID, Patient: newPatient("Rex")})
			if err != nil {
				t.Fatal(err)
			}
			registered := res.GetPatient()
			if tt.rectify != nil {
				tt.rectify.PatientId = registered.GetId()
				if _, err := c.UpdatePatient(env.As(t, auth.RoleReception), tt.rectify); err != nil {
					t.Fatal(err)
				}
			}
			p := newPatient("Rex")
			if tt.patient != nil {
				tt.patient(p)
			}
			again, err := c.RegisterPatient(nurse, &ownerv1.RegisterPatientRequest{OwnerId: tt.ownerID, RequestId: requestID, Patient: p})
			if tt.same {
				if err != nil || again.GetPatient().GetId() != registered.GetId() {
					t.Fatalf("a retried registration answered %v, %v; want patient %s", again, err, registered.GetId())
				}
				return
			}
			if err == nil {
				t.Fatalf("another registration under a used request id answered with %v; want it refused", again.GetPatient())
			}
			wantRequestIDReused(t, env, err, "patient.create", "patients/"+registered.GetId(), owner.GetId())
		})
	}
}

// TestRequestIDOfAnErasedOwnerAnswersNoOne: the erasure drops the digest of the owner's
// create, and may keep its names for the veterinary records. A create under the erased
// owner's request id is refused, whatever it sends: compared by the names kept, another
// person of the same name was answered with the erased, restricted record as if they
// had been registered. Every such create, the erased owner's own retry as a namesake's,
// is told the same: that the request id cannot be used again. Told that it was used for
// another owner and to send a new one, the owner's own retry would register the erased
// person again.
func TestRequestIDOfAnErasedOwnerAnswersNoOne(t *testing.T) {
	const usedUp = "the request id was used before and cannot be used again"
	tests := []struct {
		name, nameKeptUntil string
		// second changes the first request into the second.
		second func(*ownerv1.CreateOwnerRequest)
	}{
		{name: "a namesake, the names kept", nameKeptUntil: "2029-11-25", second: func(r *ownerv1.CreateOwnerRequest) {
			r.Owner.Phone, r.IdentityCode = "050 765 4321", identityCode(t, 301)
		}},
		{name: "the same request, the names kept", nameKeptUntil: "2029-11-25", second: func(*ownerv1.CreateOwnerRequest) {}},
		{name: "a namesake, nothing kept", second: func(r *ownerv1.CreateOwnerRequest) { r.Owner.Phone = "050 765 4321" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, c, _ := setupAt(t, "2026-11-25")
			first := func() *ownerv1.CreateOwnerRequest {
				return &ownerv1.CreateOwnerRequest{RequestId: "form-1", Owner: newOwner("Virtanen"), IdentityCode: identityCode(t, 300)}
			}
			erased := createOwner(t, env, c, first())
			erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: erased.GetId(), RequestId: jobOne, NameKeptUntil: tt.nameKeptUntil})

			second := first()
			tt.second(second)
			res, err := c.CreateOwner(env.As(t, auth.RoleReception), second)
			if err == nil {
				o := res.GetOwner()
				t.Fatalf("a create under an erased owner's request id answered with owner %s (%s %s, erased %v); want it refused",
					o.GetId(), o.GetGivenNames(), o.GetFamilyName(), o.GetErased())
			}
			wantRequestIDReused(t, env, err, "owner.create", "owners/"+erased.GetId(), erased.GetId())
			if got := status.Convert(err).Message(); got != usedUp {
				t.Errorf("refused with %q, want %q", got, usedUp)
			}
		})
	}
}
