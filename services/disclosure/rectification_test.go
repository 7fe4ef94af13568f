package disclosure_test

import (
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// rectify changes the owner's fields at version, and returns the new version.
func (s *system) rectify(t *testing.T, ownerID string, version int64, o *ownerv1.Owner, paths ...string) int64 {
	t.Helper()
	res, err := s.owners.UpdateOwner(s.as(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
		OwnerId: ownerID, Owner: o, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}, Version: version, Reason: "customer asked",
	})
	if err != nil {
		t.Fatalf("rectify %v: %v", paths, err)
	}
	return res.GetOwner().GetVersion()
}

// TestRectificationRecipients: the insurer got the owner's name before the name was
// corrected, so it is to be told (GDPR Art. 19); a later phone change touches nothing it
// got; a disclosure after the correction does not count for it.
func TestRectificationRecipients(t *testing.T) {
	s := start(t)
	ownerID, patientID := s.customer(t, "Äijälä")
	ins := s.register(t, insurer("LähiTapiola", "FI"))
	s.agree(t, ownerID, ins.GetId())
	sent, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(ins.GetId(), ownerID, ownerName, patientBasics))
	if err != nil {
		t.Fatalf("disclose: %v", err)
	}
	renamed := s.rectify(t, ownerID, 1, &ownerv1.Owner{FamilyName: "Äijälä-Virtanen"}, "family_name")
	rephoned := s.rectify(t, ownerID, renamed, &ownerv1.Owner{Phone: "040 765 4321"}, "phone")
	if _, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(ins.GetId(), ownerID, ownerName)); err != nil {
		t.Fatalf("disclose again: %v", err)
	}
	patientChange := func(p *ownerv1.Patient, version int64, path string) int64 {
		t.Helper()
		res, err := s.owners.UpdatePatient(s.as(t, auth.RoleReception), &ownerv1.UpdatePatientRequest{
			PatientId: patientID, Patient: p, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}}, Version: version, Reason: "typo",
		})
		if err != nil {
			t.Fatalf("update patient %s: %v", path, err)
		}
		return res.GetPatient().GetVersion()
	}
	dogRenamed := patientChange(&ownerv1.Patient{Name: "Musti II"}, 1, "name")
	dogColoured := patientChange(&ownerv1.Patient{Colour: "black"}, dogRenamed, "colour")
	list := func(version int64, patient ...string) *disclosurev1.ListRectificationRecipientsResponse {
		t.Helper()
		req := &disclosurev1.ListRectificationRecipientsRequest{OwnerId: ownerID, ChangeVersion: version}
		if len(patient) > 0 {
			req.PatientId = patient[0]
		}
		res, err := s.disclosure.ListRectificationRecipients(s.as(t, auth.RoleClinicManager), req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	t.Run("the name change", func(t *testing.T) {
		res := list(renamed)
		if !slices.Equal(res.GetChangedCategories(), []disclosurev1.DataCategory{ownerName}) || res.GetChangeTime() == nil {
			t.Fatalf("changed %v at %v", res.GetChangedCategories(), res.GetChangeTime())
		}
		if len(res.GetRecipients()) != 1 {
			t.Fatalf("recipients %v, want the insurer", res.GetRecipients())
		}
		r := res.GetRecipients()[0]
		if r.GetRecipientId() != ins.GetId() || !slices.Equal(r.GetCategories(), []disclosurev1.DataCategory{ownerName}) ||
			!slices.Equal(r.GetDisclosureIds(), []string{sent.GetDisclosure().GetId()}) || r.GetContact().GetEmail() == "" {
			t.Errorf("recipient %v", r)
		}
	})
	t.Run("the phone change touched nothing disclosed", func(t *testing.T) {
		res := list(rephoned)
		if !slices.Equal(res.GetChangedCategories(), []disclosurev1.DataCategory{ownerContact}) || len(res.GetRecipients()) != 0 {
			t.Errorf("phone change: %v", res)
		}
	})
	t.Run("the dog's name", func(t *testing.T) {
		res := list(dogRenamed, patientID)
		if !slices.Equal(res.GetChangedCategories(), []disclosurev1.DataCategory{patientBasics}) || len(res.GetRecipients()) != 1 ||
			!slices.Equal(res.GetRecipients()[0].GetCategories(), []disclosurev1.DataCategory{patientBasics}) {
			t.Errorf("the dog's rename: %v", res)
		}
	})
	t.Run("the dog's colour was never disclosed", func(t *testing.T) {
		if res := list(dogColoured, patientID); len(res.GetChangedCategories()) != 0 || len(res.GetRecipients()) != 0 {
			t.Errorf("the dog's colour: %v", res)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		_, err := s.disclosure.ListRectificationRecipients(s.as(t, auth.RoleClinicManager),
			&disclosurev1.ListRectificationRecipientsRequest{OwnerId: ownerID, ChangeVersion: 99})
		wantCode(t, err, codes.NotFound)
		_, err = s.disclosure.ListRectificationRecipients(s.as(t, auth.RoleClinicManager),
			&disclosurev1.ListRectificationRecipientsRequest{OwnerId: "x"})
		if got := violations(t, err); !slices.Equal(got, []string{"owner_id", "change_version"}) {
			t.Errorf("violations %v", got)
		}
		_, err = s.disclosure.ListRectificationRecipients(s.as(t, auth.RoleReception),
			&disclosurev1.ListRectificationRecipientsRequest{OwnerId: ownerID, ChangeVersion: renamed})
		wantCode(t, err, codes.PermissionDenied)
	})
}

// TestRectificationOfATransferredPet: the first owner's insurer received the dog's
// basics; the dog moves to a new owner, whose insurer gets them too, and then the
// new owner's receptionist corrects the dog's name. Both insurers got the wrong name and
// must be told (Art. 19); the clinic manager asks under the owner the dog has now. Asked
// under the first owner the answer stays that owner's own disclosures, and an owner who
// never had the dog hears of none. Every owner whose disclosures are listed is audited
// as a subject of the reading.
func TestRectificationOfATransferredPet(t *testing.T) {
	s := start(t)
	firstOwner, patientID := s.customer(t, "Äijälä")
	newOwner, _ := s.customer(t, "Korhonen")
	stranger, _ := s.customer(t, "Virtanen")
	first := s.register(t, insurer("LähiTapiola", "FI"))
	second := s.register(t, insurer("If", "FI"))
	s.agree(t, firstOwner, first.GetId())
	s.agree(t, newOwner, second.GetId())
	disclose := func(recipientID, ownerID string) string {
		t.Helper()
		res, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(recipientID, ownerID, ownerName, patientBasics))
		if err != nil {
			t.Fatalf("disclose: %v", err)
		}
		return res.GetDisclosure().GetId()
	}
	firstSent := disclose(first.GetId(), firstOwner)
	moved, err := s.owners.TransferPatient(s.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: patientID, NewOwnerId: newOwner, Version: 1, Reason: "sold",
	})
	if err != nil {
		t.Fatal(err)
	}
	secondSent := disclose(second.GetId(), newOwner)
	res, err := s.owners.UpdatePatient(s.as(t, auth.RoleReception), &ownerv1.UpdatePatientRequest{
		PatientId: patientID, Patient: &ownerv1.Patient{Name: "Musta"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
		Version: moved.GetPatient().GetVersion(), Reason: "the name was always Musta",
	})
	if err != nil {
		t.Fatal(err)
	}
	renamed := res.GetPatient().GetVersion()
	for _, tc := range []struct {
		name, owner string
		// want is each recipient to tell, with the disclosures that sent the old name.
		want map[string][]string
	}{
		{"the owner the dog has now", newOwner, map[string][]string{first.GetId(): {firstSent}, second.GetId(): {secondSent}}},
		{"the first owner", firstOwner, map[string][]string{first.GetId(): {firstSent}}},
		{"an owner who never had the dog", stranger, map[string][]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := s.disclosure.ListRectificationRecipients(s.as(t, auth.RoleClinicManager), &disclosurev1.ListRectificationRecipientsRequest{
				OwnerId: tc.owner, PatientId: patientID, ChangeVersion: renamed,
			})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, r := range list.GetRecipients() {
				got[r.GetRecipientId()] = r.GetDisclosureIds()
			}
			if len(got) != len(tc.want) {
				t.Fatalf("recipients to tell of the dog's corrected name = %v, want %v", got, tc.want)
			}
			for id, sent := range tc.want {
				if !slices.Equal(got[id], sent) {
					t.Errorf("recipient %s: disclosures %v, want %v", id, got[id], sent)
				}
			}
		})
	}
	// The first owner was read twice: under the new owner and under their own name.
	s.stopDisclosure()
	for owner, want := range map[string]int64{firstOwner: 2, newOwner: 1, stranger: 1} {
		n, err := s.raw.Database(disclosureDatabase).Collection("audit_events").CountDocuments(t.Context(), bson.M{
			"action": "disclosure.list_rectification_recipients", "subject_owner_id": owner, "resource": "owners/" + owner + "/disclosures",
		})
		if err != nil || n != want {
			t.Errorf("readings audited with owner %s as the subject: %d (%v), want %d", owner, n, err, want)
		}
	}
}
