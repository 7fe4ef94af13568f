package owner_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestFreeTextRefusesIdentityCodes: an identity code typed into a reason, a purpose, a
// name, an e-mail address, a policy number, an update mask's path or a request id (hidden behind an invisible
// character too) is refused on that field, not stored (in the owner, the patient, their
// histories or the audit log) and not repeated in the error; the purpose is refused
// whether it comes in the request or as the call's x-purpose metadata.
func TestFreeTextRefusesIdentityCodes(t *testing.T) {
	env := servicetest.New(t)
	svc := runOwner(t, env, newKeys(t, "k1"))
	c := ownerv1.NewOwnerServiceClient(svc.Conn)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Lehtonen")})
	to := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Nieminen")})
	pet := registerPatient(t, env, c, o.GetId(), newPatient("Musti"))
	const text = "asiakas soitti, hetu 131052-308t"
	withPurpose := func(role auth.Role, purpose string) context.Context {
		return auth.WithOutgoingToken(t.Context(), env.Token(t, role), purpose)
	}
	phone := &fieldmaskpb.FieldMask{Paths: []string{"phone"}}

	servicetest.Refused(t, "131052", []servicetest.Refusal{
		{Name: "owner change reason", Field: "reason", Call: func() error {
			_, err := c.UpdateOwner(env.As(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
				OwnerId: o.GetId(), Owner: &ownerv1.Owner{Phone: "0407654321"}, Version: o.GetVersion(), Reason: text, UpdateMask: phone,
			})
			return err
		}},
		{Name: "family name", Field: "owner.family_name", Call: func() error {
			_, err := c.UpdateOwner(env.As(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
				OwnerId: o.GetId(), Owner: &ownerv1.Owner{FamilyName: "Lehtonen 131052-308T"}, Version: o.GetVersion(), Reason: "typo",
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"family_name"}},
			})
			return err
		}},
		{Name: "street of a new owner", Field: "owner.address.street", Call: func() error {
			newcomer := newOwner("Virta")
			newcomer.Address.Street = "Ruukintie 1 (131052-308T)"
			_, err := c.CreateOwner(env.As(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: newcomer})
			return err
		}},
		{Name: "e-mail address", Field: "owner.email", Call: func() error {
			_, err := c.UpdateOwner(env.As(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
				OwnerId: o.GetId(), Owner: &ownerv1.Owner{Email: "131052-308T@example.fi"}, Version: o.GetVersion(), Reason: "new address",
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email"}},
			})
			return err
		}},
		{Name: "e-mail address of a new owner", Field: "owner.email", Call: func() error {
			newcomer := newOwner("Virta")
			newcomer.Email = "virta.131052-308t@example.fi"
			_, err := c.CreateOwner(env.As(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: newcomer})
			return err
		}},
		{Name: "request id of a new owner", Field: "request_id", Call: func() error {
			_, err := c.CreateOwner(env.As(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: newOwner("Virta"), RequestId: "131052-308T"})
			return err
		}},
		{Name: "reason with a soft hyphen inside the code", Field: "reason", Call: func() error {
			_, err := c.UpdateOwner(env.As(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
				OwnerId: o.GetId(), Owner: &ownerv1.Owner{Phone: "0407654321"}, Version: o.GetVersion(), Reason: "asiakas 131052\u00ad-308T soitti", UpdateMask: phone,
			})
			return err
		}},
		{Name: "policy number", Field: "patient.insurance.policy_number", Call: func() error {
			_, err := c.UpdatePatient(env.As(t, auth.RoleReception), &ownerv1.UpdatePatientRequest{
				PatientId: pet.GetId(), Patient: &ownerv1.Patient{Insurance: &ownerv1.Insurance{Insurer: "If", PolicyNumber: "131052-308T"}},
				Version: pet.GetVersion(), Reason: "new policy", UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"insurance"}},
			})
			return err
		}},
		{Name: "owner update mask path", Field: "update_mask", Call: func() error {
			_, err := c.UpdateOwner(env.As(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
				OwnerId: o.GetId(), Owner: &ownerv1.Owner{Phone: "0407654321"}, Version: o.GetVersion(), Reason: "new number",
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone", "131052-308T"}},
			})
			return err
		}},
		{Name: "patient update mask path", Field: "update_mask", Call: func() error {
			_, err := c.UpdatePatient(env.As(t, auth.RoleNurse), &ownerv1.UpdatePatientRequest{
				PatientId: pet.GetId(), Patient: &ownerv1.Patient{Colour: "black"}, Version: pet.GetVersion(), Reason: "colour",
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"131052-308T"}},
			})
			return err
		}},
		{Name: "patient change reason", Field: "reason", Call: func() error {
			_, err := c.UpdatePatient(env.As(t, auth.RoleNurse), &ownerv1.UpdatePatientRequest{
				PatientId: pet.GetId(), Patient: &ownerv1.Patient{Colour: "black"}, Version: pet.GetVersion(), Reason: text,
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}},
			})
			return err
		}},
		{Name: "transfer reason", Field: "reason", Call: func() error {
			_, err := c.TransferPatient(env.As(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
				PatientId: pet.GetId(), NewOwnerId: to.GetId(), Version: pet.GetVersion(), Reason: text,
			})
			return err
		}},
		{Name: "reason of a death", Field: "reason", Call: func() error {
			_, err := c.MarkPatientDeceased(env.As(t, auth.RoleVeterinarian), &ownerv1.MarkPatientDeceasedRequest{
				PatientId: pet.GetId(), DeathDate: "2026-11-01", Version: pet.GetVersion(), Reason: text,
			})
			return err
		}},
		{Name: "restriction reason", Field: "reason", Call: func() error {
			_, err := c.SetOwnerRestriction(env.As(t, auth.RoleClinicManager), &ownerv1.SetOwnerRestrictionRequest{
				OwnerId: o.GetId(), Restricted: true, Reason: text,
			})
			return err
		}},
		{Name: "purpose of a reveal", Field: "purpose", Call: func() error {
			_, err := c.RevealIdentityCode(env.As(t, auth.RoleBilling), &ownerv1.RevealIdentityCodeRequest{OwnerId: o.GetId(), Purpose: text})
			return err
		}},
		{Name: "stated purpose of a maintainer", Field: "purpose", Call: func() error {
			_, err := c.GetOwner(withPurpose(auth.RoleMaintainer, text), &ownerv1.GetOwnerRequest{OwnerId: o.GetId()})
			return err
		}},
		{Name: "stated purpose of a role that needs none", Field: "purpose", Call: func() error {
			_, err := c.ListOwnerChanges(withPurpose(auth.RoleReception, text), &ownerv1.ListOwnerChangesRequest{OwnerId: o.GetId()})
			return err
		}},
	})

	got, err := c.GetOwner(env.As(t, auth.RoleReception), &ownerv1.GetOwnerRequest{OwnerId: o.GetId()})
	if err != nil || got.GetOwner().GetVersion() != o.GetVersion() || got.GetOwner().GetRestricted() {
		t.Fatalf("the owner after the refused calls: %v, %v; want it unchanged", got.GetOwner(), err)
	}
	p, err := c.GetPatient(env.As(t, auth.RoleReception), &ownerv1.GetPatientRequest{PatientId: pet.GetId()})
	if err != nil || p.GetPatient().GetVersion() != pet.GetVersion() || p.GetPatient().GetOwnerId() != o.GetId() {
		t.Fatalf("the patient after the refused calls: %v, %v; want it unchanged", p.GetPatient(), err)
	}
	svc.Stop()
	servicetest.NotStored(t, env, "131052-308", testDatabase)
}

// TestIdentityCodeInPhoneIsRefused: a henkilötunnus typed into the phone field (or a
// partner's fields mapped wrong) is refused on that field rather than read as a number:
// the phone library reads "131052-308T" as the Finnish number +358 131052308, which
// would be stored, shown unmasked in every response and handed to every recipient of
// contact data, the check character following from the digits it keeps. Written without
// its hyphen, or with a space for it or before its check character, the code is not
// found as one, and is refused for its letter; a code whose check character is a digit,
// in two groups of six and four digits however they are set apart (a space, dot, slash,
// a spaced hyphen, a country code in front), is refused for its shape (the library reads
// "040190 0120" as the mobile number +358 40 190 0120). A phone search refuses it the
// same way.
func TestIdentityCodeInPhoneIsRefused(t *testing.T) {
	env := servicetest.New(t)
	svc := runOwner(t, env, newKeys(t, "k1"))
	c := ownerv1.NewOwnerServiceClient(svc.Conn)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Puhelin")})
	// stored is how the number the library reads would be stored.
	codes := []struct{ code, date, stored string }{
		{"131052-308T", "131052", "131052308"},
		{"010190Y123M", "010190", "010190123"},
		{"asiakkaan hetu 131052-308t", "131052", "131052308"},
		{"131052308T", "131052", "131052308"},
		{"131052 308T", "131052", "131052308"},
		{"131052-308 T", "131052", "131052308"},
		{"040190 0120", "040190", "401900120"},
		{"040190.0120", "040190", "401900120"},
		{"040190/0120", "040190", "401900120"},
		{"040190 - 0120", "040190", "401900120"},
		{"040190  0120", "040190", "401900120"},
		{"+358 040190 0120", "040190", "401900120"},
	}
	for _, tc := range codes {
		servicetest.Refused(t, tc.date, []servicetest.Refusal{
			{Name: "phone of a new owner " + tc.code, Field: "owner.phone", Call: func() error {
				newcomer := newOwner("Puhelin")
				newcomer.Phone = tc.code
				_, err := c.CreateOwner(env.As(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: newcomer})
				return err
			}},
			{Name: "phone update " + tc.code, Field: "owner.phone", Call: func() error {
				_, err := c.UpdateOwner(env.As(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
					OwnerId: o.GetId(), Owner: &ownerv1.Owner{Phone: tc.code}, Version: o.GetVersion(), Reason: "new number",
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone"}},
				})
				return err
			}},
			{Name: "phone search " + tc.code, Field: "phone", Call: func() error {
				_, err := c.ListOwners(env.As(t, auth.RoleReception), &ownerv1.ListOwnersRequest{Phone: tc.code})
				return err
			}},
		})
	}
	svc.Stop()
	for _, tc := range codes {
		servicetest.NotStored(t, env, tc.stored, testDatabase)
	}
}
