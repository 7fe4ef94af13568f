package disclosure_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
)

const (
	medications    = disclosurev1.DataCategory_DATA_CATEGORY_MEDICATIONS
	invoices       = disclosurev1.DataCategory_DATA_CATEGORY_INVOICES
	communications = disclosurev1.DataCategory_DATA_CATEGORY_COMMUNICATIONS
)

// pet registers another animal of the owner.
func (s *system) pet(t *testing.T, ownerID, name string) string {
	t.Helper()
	p, err := s.owners.RegisterPatient(s.as(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: ownerID, Patient: &ownerv1.Patient{
		Name: name, Species: ownerv1.Species_SPECIES_CAT,
	}})
	if err != nil {
		t.Fatalf("register patient: %v", err)
	}
	return p.GetPatient().GetId()
}

// visit records a visit of the patient days ago, with a medication and an invoice.
func (s *system) visit(t *testing.T, patientID, reason string, daysAgo int) *historyv1.Visit {
	t.Helper()
	res, err := s.history.RecordVisit(s.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{PatientId: patientID, Visit: &historyv1.Visit{
		Clinic: historyv1.Clinic_CLINIC_SEINAJOKI, StartTime: timestamppb.New(time.Now().AddDate(0, 0, -daysAgo)),
		Reason: reason, Findings: "Healthy.", Diagnoses: []*historyv1.Diagnosis{{Text: "Otitis externa"}},
		Medications: []*historyv1.Medication{{Product: "Otomax", Dose: "5 drops", Route: historyv1.Route_ROUTE_OTIC}},
		Invoices:    []*historyv1.InvoiceReference{{Number: "2026-" + reason, State: historyv1.InvoiceState_INVOICE_STATE_OPEN}},
	}})
	if err != nil {
		t.Fatalf("record visit: %v", err)
	}
	return res.GetVisit()
}

// communicate records a call with the owner, about a patient or none.
func (s *system) communicate(t *testing.T, ownerID, patientID, subject string) {
	t.Helper()
	if _, err := s.history.RecordCommunication(s.as(t, auth.RoleReception), &historyv1.RecordCommunicationRequest{
		OwnerId: ownerID, Communication: &historyv1.Communication{
			PatientId: patientID, Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND,
			Subject: subject,
		},
	}); err != nil {
		t.Fatalf("record communication: %v", err)
	}
}

// historyPackage is the part of a package the history categories fill.
type historyPackage struct {
	Visits []struct {
		ID          string
		PatientID   string
		StartTime   time.Time
		Reason      string
		Findings    string
		Diagnoses   []map[string]string
		Medications []map[string]string
		Invoices    []map[string]string
		Original    any
		Amendments  any
	}
	Communications []struct {
		PatientID string
		Subject   string
	}
}

// TestHistoryCategories: the visit history, medications, invoices and communications
// come from the patient-history service with the discloser's token, only for the
// patients asked about and only the parts each category covers, as the visit reads now.
func TestHistoryCategories(t *testing.T) {
	s := start(t)
	ownerID, musti := s.customer(t, "Laine")
	mirri := s.pet(t, ownerID, "Mirri")
	first := s.visit(t, musti, "ears", 3)
	s.visit(t, mirri, "vaccination", 2)
	if _, err := s.history.AmendVisit(s.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
		VisitId: first.GetId(), Version: 1, Reason: "mistyped", Visit: &historyv1.Visit{Findings: "Red ear canals."},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}},
	}); err != nil {
		t.Fatal(err)
	}
	s.communicate(t, ownerID, musti, "Ear drops")
	s.communicate(t, ownerID, mirri, "Booster date")
	s.communicate(t, ownerID, "", "New phone number")
	ins := s.register(t, insurer("Fennia", "FI"))
	s.agree(t, ownerID, ins.GetId())

	disclose := func(role auth.Role, r *disclosurev1.CreateDisclosureRequest) (*disclosurev1.Disclosure, historyPackage) {
		t.Helper()
		res, err := s.disclosure.CreateDisclosure(s.as(t, role), r)
		if err != nil {
			t.Fatalf("disclose: %v", err)
		}
		var p historyPackage
		if err := json.Unmarshal(res.GetContents().GetPayload(), &p); err != nil {
			t.Fatal(err)
		}
		return res.GetDisclosure(), p
	}

	// The insurer's claim about Musti: the visit as amended, its medicine, no invoice,
	// nothing about Mirri, no earlier versions.
	req := claim(ins.GetId(), ownerID, visits, medications)
	req.PatientIds = []string{musti}
	d, p := disclose(auth.RoleReception, req)
	if !slices.Equal(d.GetPatientIds(), []string{musti}) || len(p.Visits) != 1 || len(p.Communications) != 0 {
		t.Fatalf("disclosure %v, package %+v", d, p)
	}
	v := p.Visits[0]
	if v.ID != first.GetId() || v.PatientID != musti || v.Findings != "Red ear canals." || v.Reason != "ears" ||
		len(v.Diagnoses) != 1 || len(v.Medications) != 1 || v.Medications[0]["route"] != "otic" || v.Invoices != nil ||
		v.Original != nil || v.Amendments != nil || v.StartTime.IsZero() {
		t.Fatalf("visit %+v", v)
	}

	// Invoices alone: the references, no clinical text; every patient of the owner.
	_, p = disclose(auth.RoleVeterinarian, claim(ins.GetId(), ownerID, invoices))
	if len(p.Visits) != 2 {
		t.Fatalf("invoices of both patients: %+v", p)
	}
	for _, v := range p.Visits {
		if len(v.Invoices) != 1 || v.Invoices[0]["state"] != "open" || v.Findings != "" || v.Reason != "" || v.Medications != nil {
			t.Fatalf("invoice view %+v", v)
		}
	}

	// Communications go to a subcontractor (the clinic manager's decision): about the
	// named patient only, or all of them.
	lab := s.register(t, &disclosurev1.Recipient{
		Name: "Tekstiviestipalvelu Oy", Kind: disclosurev1.RecipientKind_RECIPIENT_KIND_SUBCONTRACTOR, BusinessId: "2923530-5",
		Country: "FI", Contact: &disclosurev1.Contact{Email: "dpo@example.fi"}, AgreementRef: "DPA-2026-3",
	})
	req = claim(lab.GetId(), ownerID, communications)
	req.PatientIds = []string{mirri}
	if _, p = disclose(auth.RoleClinicManager, req); len(p.Communications) != 1 || p.Communications[0].Subject != "Booster date" || p.Visits != nil {
		t.Fatalf("about Mirri: %+v", p)
	}
	_, p = disclose(auth.RoleClinicManager, claim(lab.GetId(), ownerID, communications))
	var subjects []string
	for _, c := range p.Communications {
		subjects = append(subjects, c.Subject)
	}
	if slices.Sort(subjects); !slices.Equal(subjects, []string{"Booster date", "Ear drops", "New phone number"}) {
		t.Fatalf("all communications: %v", subjects)
	}

	// Mirri moves to another owner; her visits stay in this owner's history, and a
	// package of that history names her in the log too (Art. 19 finds its recipient).
	other, _ := s.customer(t, "Salo")
	pet, err := s.owners.GetPatient(s.as(t, auth.RoleReception), &ownerv1.GetPatientRequest{PatientId: mirri})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.owners.TransferPatient(s.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: mirri, NewOwnerId: other, Version: pet.GetPatient().GetVersion(), Reason: "sold",
	}); err != nil {
		t.Fatal(err)
	}
	if d, p := disclose(auth.RoleVeterinarian, claim(ins.GetId(), ownerID, invoices)); len(p.Visits) != 2 || !slices.Contains(d.GetPatientIds(), mirri) {
		t.Errorf("after the transfer: log names %v, package %d visits; want Mirri named", d.GetPatientIds(), len(p.Visits))
	}

	// The history service audited each export as the staff member who disclosed.
	n, err := s.raw.Database(historyDatabase).Collection("audit_events").CountDocuments(t.Context(),
		map[string]any{"subject_owner_id": ownerID, "actor_subject": "test-reception", "action": "history.export"})
	if err != nil || n != 1 {
		t.Fatalf("export audit events by reception: %d, %v", n, err)
	}
	if log := s.ownerLog(t, ownerID); len(log) != 5 || !strings.HasPrefix(log[4].GetRequestedBy(), "test-reception") {
		t.Fatalf("log %v", log)
	}
}
