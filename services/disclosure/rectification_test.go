package disclosure_test

import (
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
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

// dogToMove registers a dog with its first owner, the owner it is to move to and an
// owner who never has it.
func (s *system) dogToMove(t *testing.T) (firstOwner, dog, newOwner, stranger string) {
	t.Helper()
	firstOwner, dog = s.customer(t, "Äijälä")
	newOwner, _ = s.customer(t, "Korhonen")
	stranger, _ = s.customer(t, "Virtanen")
	return firstOwner, dog, newOwner, stranger
}

// move transfers the dog, at its first version, to newOwner and returns its version.
func (s *system) move(t *testing.T, dog, newOwner string) int64 {
	t.Helper()
	res, err := s.owners.TransferPatient(s.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: dog, NewOwnerId: newOwner, Version: 1, Reason: "sold",
	})
	if err != nil {
		t.Fatalf("transfer: %v", err)
	}
	return res.GetPatient().GetVersion()
}

// insured registers a Finnish insurer and records the owner's agreement with it.
func (s *system) insured(t *testing.T, ownerID, name string) *disclosurev1.Recipient {
	t.Helper()
	ins := s.register(t, insurer(name, "FI"))
	s.agree(t, ownerID, ins.GetId())
	return ins
}

// renameDog corrects the dog's name, from its version, and returns the version the
// correction produced.
func (s *system) renameDog(t *testing.T, dog string, version int64) int64 {
	t.Helper()
	res, err := s.owners.UpdatePatient(s.as(t, auth.RoleReception), &ownerv1.UpdatePatientRequest{
		PatientId: dog, Patient: &ownerv1.Patient{Name: "Musta"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
		Version: version, Reason: "the name was always Musta",
	})
	if err != nil {
		t.Fatalf("rename the dog: %v", err)
	}
	return res.GetPatient().GetVersion()
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
	t.Run("the ids in capitals", func(t *testing.T) {
		res, err := s.disclosure.ListRectificationRecipients(s.as(t, auth.RoleClinicManager), &disclosurev1.ListRectificationRecipientsRequest{
			OwnerId: strings.ToUpper(ownerID), PatientId: strings.ToUpper(patientID), ChangeVersion: dogRenamed,
		})
		if err != nil || len(res.GetRecipients()) != 1 || res.GetRecipients()[0].GetRecipientId() != ins.GetId() {
			t.Errorf("the dog's rename asked with the ids in capitals: %v, %v; want the insurer", res, err)
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
	firstOwner, patientID, newOwner, stranger := s.dogToMove(t)
	first := s.insured(t, firstOwner, "LähiTapiola")
	second := s.insured(t, newOwner, "If")
	disclose := func(recipientID, ownerID string) string {
		t.Helper()
		res, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(recipientID, ownerID, ownerName, patientBasics))
		if err != nil {
			t.Fatalf("disclose: %v", err)
		}
		return res.GetDisclosure().GetId()
	}
	firstSent := disclose(first.GetId(), firstOwner)
	moved := s.move(t, patientID, newOwner)
	secondSent := disclose(second.GetId(), newOwner)
	renamed := s.renameDog(t, patientID, moved)
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

// TestTransferredDogsNameNotSentByTheFirstOwnersLaterDisclosure: after the dog moved
// to the new owner, the first owner's insurer got the first owner's animals' basics
// (a cat's, or none: the dog is no longer theirs) and the first owner's visit history,
// which still holds the dog's visit. The package never carried the dog's name, so the
// name's correction under the new owner lists nobody.
func TestTransferredDogsNameNotSentByTheFirstOwnersLaterDisclosure(t *testing.T) {
	s := start(t)
	for _, tc := range []struct {
		name string
		cat  bool
	}{{"with a cat of their own", true}, {"with no animal left", false}} {
		t.Run(tc.name, func(t *testing.T) {
			firstOwner, dog, newOwner, _ := s.dogToMove(t)
			if tc.cat {
				if _, err := s.owners.RegisterPatient(s.as(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: firstOwner, Patient: &ownerv1.Patient{
					Name: "Mirri", Species: ownerv1.Species_SPECIES_CAT, Sex: ownerv1.Sex_SEX_FEMALE, BirthDate: "2021-05-01",
				}}); err != nil {
					t.Fatal(err)
				}
			}
			s.visit(t, dog, "ears", 3)
			ins := s.insured(t, firstOwner, "LähiTapiola")
			moved := s.move(t, dog, newOwner)
			res, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(ins.GetId(), firstOwner, patientBasics, visits))
			if err != nil {
				t.Fatal(err)
			}
			if pkg := res.GetContents().String(); strings.Contains(pkg, "Musti") || strings.Contains(pkg, "Mirri") != tc.cat || !strings.Contains(pkg, "ears") {
				t.Fatalf("package: %s", pkg)
			}
			list, err := s.disclosure.ListRectificationRecipients(s.as(t, auth.RoleClinicManager), &disclosurev1.ListRectificationRecipientsRequest{
				OwnerId: newOwner, PatientId: dog, ChangeVersion: s.renameDog(t, dog, moved),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.GetRecipients()) != 0 {
				t.Errorf("recipients to tell of the dog's corrected name = %v; the package %s never carried it", list.GetRecipients(), res.GetDisclosure().GetId())
			}
		})
	}
}

// TestCorrectionUnderTheMiddleOwnerOfADogTransferredTwice: the dog's name was wrong
// from its registration with A, whose insurer got it; the dog moved to B, whose
// receptionist corrected the name, and B's insurer had got the wrong name too. Asked
// under B, whose correction it was, both insurers are listed, and still after the dog
// moves on to C: who received the wrong name does not change with who has the dog now.
func TestCorrectionUnderTheMiddleOwnerOfADogTransferredTwice(t *testing.T) {
	s := start(t)
	a, dog, b, c := s.dogToMove(t)
	insA := s.insured(t, a, "LähiTapiola")
	insB := s.insured(t, b, "If")
	if _, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(insA.GetId(), a, patientBasics)); err != nil {
		t.Fatal(err)
	}
	version := s.move(t, dog, b)
	if _, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(insB.GetId(), b, patientBasics)); err != nil {
		t.Fatal(err)
	}
	renamed := s.renameDog(t, dog, version)
	ask := func() []string {
		t.Helper()
		list, err := s.disclosure.ListRectificationRecipients(s.as(t, auth.RoleClinicManager), &disclosurev1.ListRectificationRecipientsRequest{
			OwnerId: b, PatientId: dog, ChangeVersion: renamed,
		})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range list.GetRecipients() {
			ids = append(ids, r.GetName())
		}
		return ids
	}
	before := ask()
	if len(before) != 2 {
		t.Fatalf("asked under B while the dog is B's: %v, want both insurers", before)
	}
	if _, err := s.owners.TransferPatient(s.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: dog, NewOwnerId: c, Version: renamed, Reason: "sold again",
	}); err != nil {
		t.Fatal(err)
	}
	if after := ask(); !slices.Equal(after, before) {
		t.Errorf("the same correction asked under B after the dog moved on to C: %v, before: %v", after, before)
	}
}

// TestRectificationOfAnAmendedVisit: a vet corrects a visit whose record already went
// to an insurer. The recipients to tell are those that got the amended part of that
// visit: sent after the visit was recorded and before the amendment, under a category
// the amended fields belong to. The owner the dog has since moved to may ask too; an
// owner who never had it may not.
func TestRectificationOfAnAmendedVisit(t *testing.T) {
	s := start(t)
	ownerID, musti, newOwner, stranger := s.dogToMove(t)
	early := s.insured(t, ownerID, "LähiTapiola")
	ins := s.insured(t, ownerID, "Fennia")
	disclose := func(recipientID string, cats ...disclosurev1.DataCategory) string {
		t.Helper()
		req := claim(recipientID, ownerID, cats...)
		req.PatientIds = []string{musti}
		res, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), req)
		if err != nil {
			t.Fatalf("disclose: %v", err)
		}
		return res.GetDisclosure().GetId()
	}
	// Sent before the visit was recorded: it did not carry the visit.
	disclose(early.GetId(), visits, medications, invoices)
	v := s.visit(t, musti, "ears", 3)
	sent := disclose(ins.GetId(), visits, medications)
	version := v.GetVersion()
	amend := func(corrected *historyv1.Visit, paths ...string) int64 {
		t.Helper()
		res, err := s.history.AmendVisit(s.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
			VisitId: v.GetId(), Version: version, Reason: "mistyped", Visit: corrected,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
		})
		if err != nil {
			t.Fatalf("amend %v: %v", paths, err)
		}
		version = res.GetVisit().GetVersion()
		return version
	}
	diagnosis := amend(&historyv1.Visit{Diagnoses: []*historyv1.Diagnosis{{Text: "Otitis media"}}}, "diagnoses")
	invoice := amend(&historyv1.Visit{Invoices: []*historyv1.InvoiceReference{{Number: "2026-9", State: historyv1.InvoiceState_INVOICE_STATE_OPEN}}}, "invoices")
	medicine := amend(&historyv1.Visit{Medications: []*historyv1.Medication{{Product: "Surolan", Dose: "5 drops", Route: historyv1.Route_ROUTE_OTIC}}}, "medications")
	clinic := amend(&historyv1.Visit{Clinic: historyv1.Clinic_CLINIC_KANGASALA}, "clinic")
	// Sent after every amendment: it carried the corrected record.
	disclose(early.GetId(), visits, medications, invoices)
	s.move(t, musti, newOwner)

	for _, tc := range []struct {
		name    string
		owner   string
		version int64
		changed []disclosurev1.DataCategory
		// told is the categories the insurer is told of; nil: nobody is told.
		told []disclosurev1.DataCategory
	}{
		{"a corrected diagnosis", ownerID, diagnosis, []disclosurev1.DataCategory{visits}, []disclosurev1.DataCategory{visits}},
		{"an invoice the insurer never got", ownerID, invoice, []disclosurev1.DataCategory{invoices}, nil},
		{"a corrected medicine", ownerID, medicine, []disclosurev1.DataCategory{medications}, []disclosurev1.DataCategory{medications}},
		{"the clinic every disclosed visit names", ownerID, clinic, []disclosurev1.DataCategory{visits, medications, invoices}, []disclosurev1.DataCategory{visits, medications}},
		{"asked under the owner the dog has now", newOwner, diagnosis, []disclosurev1.DataCategory{visits}, []disclosurev1.DataCategory{visits}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.disclosure.ListRectificationRecipients(s.as(t, auth.RoleClinicManager), &disclosurev1.ListRectificationRecipientsRequest{
				OwnerId: tc.owner, VisitId: v.GetId(), ChangeVersion: tc.version,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.GetChangedCategories(), tc.changed) || res.GetChangeTime() == nil {
				t.Errorf("changed %v at %v, want %v", res.GetChangedCategories(), res.GetChangeTime(), tc.changed)
			}
			if tc.told == nil {
				if len(res.GetRecipients()) != 0 {
					t.Errorf("recipients %v, want none", res.GetRecipients())
				}
				return
			}
			if len(res.GetRecipients()) != 1 {
				t.Fatalf("recipients %v, want the insurer", res.GetRecipients())
			}
			r := res.GetRecipients()[0]
			if r.GetRecipientId() != ins.GetId() || !slices.Equal(r.GetCategories(), tc.told) || !slices.Equal(r.GetDisclosureIds(), []string{sent}) {
				t.Errorf("recipient %v, want the insurer told of %v by disclosure %s", r, tc.told, sent)
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			role    auth.Role
			owner   string
			visit   string
			version int64
			code    codes.Code
		}{
			{"an owner who never had the dog", auth.RoleClinicManager, stranger, v.GetId(), diagnosis, codes.NotFound},
			{"the recording is no amendment", auth.RoleClinicManager, ownerID, v.GetId(), 1, codes.NotFound},
			{"an unknown amendment", auth.RoleClinicManager, ownerID, v.GetId(), 99, codes.NotFound},
			{"an unknown visit", auth.RoleClinicManager, ownerID, stranger, 2, codes.NotFound},
			{"not the clinic manager", auth.RoleVeterinarian, ownerID, v.GetId(), diagnosis, codes.PermissionDenied},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.disclosure.ListRectificationRecipients(s.as(t, tc.role), &disclosurev1.ListRectificationRecipientsRequest{
					OwnerId: tc.owner, VisitId: tc.visit, ChangeVersion: tc.version,
				})
				wantCode(t, err, tc.code)
			})
		}
		for _, tc := range []struct {
			req  *disclosurev1.ListRectificationRecipientsRequest
			want []string
		}{
			{&disclosurev1.ListRectificationRecipientsRequest{OwnerId: ownerID, VisitId: "x", ChangeVersion: 2}, []string{"visit_id"}},
			{&disclosurev1.ListRectificationRecipientsRequest{OwnerId: ownerID, VisitId: v.GetId(), PatientId: musti, ChangeVersion: 2}, []string{"visit_id"}},
		} {
			_, err := s.disclosure.ListRectificationRecipients(s.as(t, auth.RoleClinicManager), tc.req)
			if got := violations(t, err); !slices.Equal(got, tc.want) {
				t.Errorf("%v: violations %v, want %v", tc.req, got, tc.want)
			}
		}
	})
}
