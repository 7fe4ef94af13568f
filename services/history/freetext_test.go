package history_test

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestFreeTextRefusesIdentityCodes: an identity code typed into a visit's text, its
// diagnosis and procedure codes or invoice numbers (whose character sets allow one, and
// whose invoices outlive an owner's erasure), an amendment's reason or update mask, a
// communication or
// the stated purpose is refused on that field,
// never stored (visits, amendments, communications or audit log) and not repeated in
// the error.
func TestFreeTextRefusesIdentityCodes(t *testing.T) {
	f := setup(t)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	recorded := f.recordVisit(t, pet.GetId(), time.Time{})
	vet := f.as(t, auth.RoleVeterinarian)
	const text = "omistaja (hetu 131052-308T) soitti"
	withText := func(edit func(*historyv1.Visit)) *historyv1.Visit {
		v := visit(time.Time{})
		edit(v)
		return v
	}
	communication := func(summary string) *historyv1.Communication {
		return &historyv1.Communication{
			Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: "Booking", Summary: summary,
		}
	}
	servicetest.Refused(t, "131052", []servicetest.Refusal{
		{Name: "visit reason", Field: "visit.reason", Call: func() error {
			_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: withText(func(v *historyv1.Visit) { v.Reason = text })})
			return err
		}},
		{Name: "anamnesis on its second line", Field: "visit.anamnesis", Call: func() error {
			_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(),
				Visit: withText(func(v *historyv1.Visit) { v.Anamnesis = "Limping.\n131052-308t" })})
			return err
		}},
		{Name: "diagnosis code", Field: "visit.diagnoses[0].code", Call: func() error {
			_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(),
				Visit: withText(func(v *historyv1.Visit) { v.Diagnoses[0].Code = "131052-308T" })})
			return err
		}},
		{Name: "procedure code in lower case", Field: "visit.procedures[0].code", Call: func() error {
			_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(),
				Visit: withText(func(v *historyv1.Visit) {
					v.Procedures = []*historyv1.Procedure{{Description: "X-ray", Code: "131052-308t"}}
				})})
			return err
		}},
		{Name: "invoice number", Field: "visit.invoices[0].number", Call: func() error {
			_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(),
				Visit: withText(func(v *historyv1.Visit) { v.Invoices[0].Number = "131052-308T" })})
			return err
		}},
		{Name: "invoice number amended", Field: "visit.invoices[0].number", Call: func() error {
			_, err := f.history.AmendVisit(f.as(t, auth.RoleBilling), &historyv1.AmendVisitRequest{
				VisitId: recorded.GetId(), Version: recorded.GetVersion(), Reason: "invoice number corrected",
				Visit:      &historyv1.Visit{Invoices: []*historyv1.InvoiceReference{invoice("131052-308T", paid)}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"invoices"}},
			})
			return err
		}},
		{Name: "amendment reason", Field: "reason", Call: func() error {
			_, err := f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{
				VisitId: recorded.GetId(), Version: recorded.GetVersion(), Reason: text,
				Visit: &historyv1.Visit{Findings: "Swollen hock, warm."}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}},
			})
			return err
		}},
		{Name: "amendment's update mask path", Field: "update_mask", Call: func() error {
			_, err := f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{
				VisitId: recorded.GetId(), Version: recorded.GetVersion(), Reason: "wrong leg",
				Visit: &historyv1.Visit{Findings: "Swollen hock, warm."}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"131052-308T"}},
			})
			return err
		}},
		{Name: "communication summary", Field: "communication.summary", Call: func() error {
			_, err := f.history.RecordCommunication(vet, &historyv1.RecordCommunicationRequest{OwnerId: pet.GetOwnerId(), Communication: communication(text)})
			return err
		}},
		{Name: "stated purpose", Field: "purpose", Call: func() error {
			ctx := auth.WithOutgoingToken(t.Context(), f.env.Token(t, auth.RoleMaintainer), text)
			_, err := f.history.ListPatientVisits(ctx, &historyv1.ListPatientVisitsRequest{PatientId: pet.GetId()})
			return err
		}},
	})
	got, err := f.history.GetVisit(vet, &historyv1.GetVisitRequest{VisitId: recorded.GetId()})
	if err != nil || got.GetVisit().GetVersion() != recorded.GetVersion() {
		t.Fatalf("the visit after a refused amendment: %v, %v; want it unchanged", got.GetVisit(), err)
	}
	f.histSv.Stop()
	f.ownerSv.Stop()
	servicetest.NotStored(t, f.env, "131052-308", historyDatabase, ownerDatabase)
}

// TestAmendmentReasonStoredWithAnIdentityCodeIsShownWithoutIt: an amendment's reason
// stored before the service refused an identity code in one is shown without the
// code, when the visit is read and in the owner's export.
func TestAmendmentReasonStoredWithAnIdentityCodeIsShownWithoutIt(t *testing.T) {
	f := setup(t)
	pet, recorded := f.amendedVisit(t)
	visits := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase).Collection("visits")
	if _, err := visits.UpdateByID(t.Context(), recorded.GetId(), bson.M{"$set": bson.M{"amendments.0.reason": "omistaja 131052-308T soitti"}}); err != nil {
		t.Fatal(err)
	}
	const want = "omistaja [identity code removed] soitti"
	got := f.getVisit(t, recorded.GetId())
	if a := got.GetAmendments(); len(a) != 1 || a[0].GetReason() != want {
		t.Errorf("amendments read %v, want the reason %q", a, want)
	}
	f.export(t, f.as(t, auth.RoleClinicManager), pet.GetOwnerId(), func(r *historyv1.VisitRecord) {
		if a := r.GetAmendments(); len(a) != 1 || a[0].GetReason() != want {
			t.Errorf("amendments exported %v, want the reason %q", a, want)
		}
	})
}

// TestVisitTextStoredWithAnIdentityCodeIsShownWithoutIt: what staff typed into a
// visit or a communication, stored before the service refused an identity code in it
// (here a soft hyphen for the hyphen, which the checks saw only later), is shown
// without the code: the visit's findings and staff, the original and an amendment's
// corrected copy, a communication's summary, read and exported.
func TestVisitTextStoredWithAnIdentityCodeIsShownWithoutIt(t *testing.T) {
	f := setup(t)
	pet, recorded := f.amendedVisit(t)
	vet := f.as(t, auth.RoleVeterinarian)
	comm, err := f.history.RecordCommunication(vet, &historyv1.RecordCommunicationRequest{OwnerId: pet.GetOwnerId(), Communication: &historyv1.Communication{
		Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: "Booking", Summary: "Booked.",
	}})
	if err != nil {
		t.Fatal(err)
	}
	const legacy, want = "omistaja 131052\u00ad308T soitti", "omistaja [identity code removed] soitti"
	db := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase)
	if _, err := db.Collection("visits").UpdateByID(t.Context(), recorded.GetId(), bson.M{"$set": bson.M{
		"current.findings": legacy, "current.staff.0.name": legacy, "original.anamnesis": legacy, "amendments.0.corrected.findings": legacy,
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("communications").UpdateByID(t.Context(), comm.GetCommunication().GetId(), bson.M{"$set": bson.M{"summary": legacy}}); err != nil {
		t.Fatal(err)
	}
	check := func(how string, r *historyv1.VisitRecord) {
		t.Helper()
		for name, got := range map[string]string{
			"findings":                   r.GetVisit().GetFindings(),
			"staff name":                 r.GetVisit().GetStaff()[0].GetName(),
			"original anamnesis":         r.GetOriginal().GetAnamnesis(),
			"amendment's corrected copy": r.GetAmendments()[0].GetCorrected().GetFindings(),
		} {
			if got != want {
				t.Errorf("%s: %s = %q, want %q", how, name, got, want)
			}
		}
	}
	got := f.getVisit(t, recorded.GetId())
	check("read", &historyv1.VisitRecord{Visit: got.GetVisit(), Original: got.GetOriginal(), Amendments: got.GetAmendments()})
	f.export(t, f.as(t, auth.RoleClinicManager), pet.GetOwnerId(), func(r *historyv1.VisitRecord) { check("exported", r) })
	comms, err := f.history.ListOwnerCommunications(vet, &historyv1.ListOwnerCommunicationsRequest{OwnerId: pet.GetOwnerId()})
	if err != nil || len(comms.GetCommunications()) != 1 || comms.GetCommunications()[0].GetSummary() != want {
		t.Errorf("communications %v (%v), want the summary %q", comms.GetCommunications(), err, want)
	}
}

// amendedVisit records a visit of a new patient and amends its findings once.
func (f *fixture) amendedVisit(t *testing.T) (*ownerv1.Patient, *historyv1.Visit) {
	t.Helper()
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	recorded := f.recordVisit(t, pet.GetId(), time.Time{})
	if _, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
		VisitId: recorded.GetId(), Version: recorded.GetVersion(), Reason: "wrong leg",
		Visit: &historyv1.Visit{Findings: "Swollen right hock."}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}},
	}); err != nil {
		t.Fatal(err)
	}
	return pet, recorded
}
