package history_test

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// TestOnlyCliniciansCorrectClinicalText: a token let into AmendVisit through billing
// corrects only invoices, whatever other roles it holds: reception, the clinic manager
// and the maintainer (with a purpose) read clinical text but do not rewrite it.
func TestOnlyCliniciansCorrectClinicalText(t *testing.T) {
	f := setup(t)
	v := f.recordVisit(t, f.newPatient(t, f.newOwner(t), "Nappi").GetId(), time.Time{})
	tests := []struct {
		name    string
		roles   []auth.Role
		purpose string
	}{
		{"billing and reception", []auth.Role{auth.RoleBilling, auth.RoleReception}, ""},
		{"billing and the clinic manager", []auth.Role{auth.RoleBilling, auth.RoleClinicManager}, ""},
		{"billing and the maintainer with a purpose", []auth.Role{auth.RoleBilling, auth.RoleMaintainer}, "support case 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := auth.WithOutgoingToken(t.Context(), f.env.Token(t, tt.roles...), tt.purpose)
			res, err := f.history.AmendVisit(ctx, &historyv1.AmendVisitRequest{
				VisitId: v.GetId(), Version: 1, Reason: "corrected",
				Visit:      &historyv1.Visit{Findings: "Nothing found"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}},
			})
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("corrected the findings: %v; author role %q", err, res.GetAmendment().GetAuthor().GetRole())
			}
		})
	}
}

// TestBillingWithAnotherRoleRecordsAPaymentOnARestrictedVisit: billing still records a
// payment on a visit an erasure restricted when its token holds another role too, and
// the correction names billing as its author's role.
func TestBillingWithAnotherRoleRecordsAPaymentOnARestrictedVisit(t *testing.T) {
	f := setup(t)
	_, v := f.restrictedVisit(t)
	cur := f.getVisit(t, v.GetId()).GetVisit()
	ctx := auth.WithOutgoingToken(t.Context(), f.env.Token(t, auth.RoleBilling, auth.RoleMaintainer), "support case 7")
	res, err := f.history.AmendVisit(ctx, payment(v.GetId(), cur.GetVersion()))
	if err != nil {
		t.Fatalf("the payment on the restricted visit: %v", err)
	}
	if got := res.GetAmendment().GetAuthor().GetRole(); got != string(auth.RoleBilling) {
		t.Errorf("the payment's author role %q, want billing", got)
	}
}

// TestRetryOfAVisitRecordedWithTwentyNamed: a visit recorded when 20 people could be
// named beside the caller (stored with 21) is still answered to its retry; only a new
// recording leaves room for the caller.
func TestRetryOfAVisitRecordedWithTwentyNamed(t *testing.T) {
	f := setup(t)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	vet := f.as(t, auth.RoleVeterinarian)
	in := visit(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	in.Staff = namedStaff(19)
	res, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), RequestId: "form-20", Visit: in})
	if err != nil {
		t.Fatal(err)
	}
	// What the rule before stored for 20 named: the caller and the 20.
	db := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase)
	if _, err := db.Collection("visits").UpdateByID(t.Context(), res.GetVisit().GetId(),
		bson.M{"$push": bson.M{"current.staff": bson.M{"name": "Student 20", "role": "student"}}}); err != nil {
		t.Fatal(err)
	}
	in.Staff = namedStaff(20)
	in.StartTime = timestamppb.New(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	again, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), RequestId: "form-20", Visit: in})
	if err != nil || again.GetVisit().GetId() != res.GetVisit().GetId() {
		t.Errorf("the retry of the recording with 20 named: %v", err)
	}
	_, err = f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), RequestId: "form-21", Visit: in})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("a new recording with 20 named: %v, want InvalidArgument", err)
	}
}

// TestRestrictedVisitSeenThroughBillingIsTheInvoiceView: a token holding billing and a
// role that may not read restricted visits (reception) sees a restricted visit as
// billing does, its invoices only, in every read and in the answer to its payment.
func TestRestrictedVisitSeenThroughBillingIsTheInvoiceView(t *testing.T) {
	f := setup(t)
	erased, v := f.restrictedVisit(t)
	ctx := f.as(t, auth.RoleBilling, auth.RoleReception)
	clinical := func(v *historyv1.Visit) bool {
		return v.GetFindings() != "" || v.GetReason() != "" || len(v.GetDiagnoses()) > 0 || len(v.GetMedications()) > 0
	}
	got, err := f.history.GetVisit(ctx, &historyv1.GetVisitRequest{VisitId: v.GetId()})
	if err != nil || clinical(got.GetVisit()) || clinical(got.GetOriginal()) {
		t.Errorf("GetVisit: %v, clinical text in %v", err, got)
	}
	list, err := f.history.ListPatientVisits(ctx, &historyv1.ListPatientVisitsRequest{PatientId: v.GetPatientId()})
	if err != nil || len(list.GetVisits()) != 1 || clinical(list.GetVisits()[0]) {
		t.Errorf("ListPatientVisits: %v, %v", err, list.GetVisits())
	}
	timeline, err := f.history.ListOwnerTimeline(ctx, &historyv1.ListOwnerTimelineRequest{OwnerId: erased})
	if err != nil || len(timeline.GetEntries()) != 1 || clinical(timeline.GetEntries()[0].GetVisit()) {
		t.Errorf("ListOwnerTimeline: %v, %v", err, timeline.GetEntries())
	}
	for _, roles := range [][]auth.Role{{auth.RoleBilling, auth.RoleReception}, {auth.RoleBilling, auth.RoleVeterinarian}} {
		visits, _ := f.export(t, f.as(t, roles...), erased, func(r *historyv1.VisitRecord) {
			if clinical(r.GetVisit()) || clinical(r.GetOriginal()) {
				t.Errorf("%v: the export holds the restricted visit's clinical text: %v", roles, r)
			}
		})
		if len(visits) != 1 {
			t.Errorf("%v: the export holds %d visits, want the restricted one as billing sees it", roles, len(visits))
		}
	}
	res, err := f.history.AmendVisit(ctx, payment(v.GetId(), got.GetVisit().GetVersion()))
	if err != nil || clinical(res.GetVisit()) {
		t.Errorf("the payment's answer: %v, %v", err, res.GetVisit())
	}
}

// TestClinicianWhoBillsRecordsAPaymentOnARestrictedVisit: a correction naming only
// invoices by a token holding billing is billing's, also when the token holds a
// clinician's role, who may not correct a restricted visit.
func TestClinicianWhoBillsRecordsAPaymentOnARestrictedVisit(t *testing.T) {
	f := setup(t)
	_, v := f.restrictedVisit(t)
	cur := f.getVisit(t, v.GetId()).GetVisit()
	res, err := f.history.AmendVisit(f.as(t, auth.RoleBilling, auth.RoleVeterinarian), payment(v.GetId(), cur.GetVersion()))
	if err != nil || res.GetAmendment().GetAuthor().GetRole() != string(auth.RoleBilling) {
		t.Errorf("the payment: %v, author %v", err, res.GetAmendment().GetAuthor())
	}
}

// TestRetriedCorrection: the author's retry of a correction is answered with it
// before the rule on who corrects what, so a correction accepted under an earlier rule
// (billing and reception correcting findings, before only clinicians could) is still
// answered; anyone else's retry under that request id is held to the rule, so billing
// cannot learn from the answer whether a guess of a clinician's correction is right.
func TestRetriedCorrection(t *testing.T) {
	f := setup(t)
	v := f.recordVisit(t, f.newPatient(t, f.newOwner(t), "Nappi").GetId(), time.Time{})
	in := &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 1, Reason: "corrected", RequestId: "fix-1",
		Visit:      &historyv1.Visit{Findings: "Nothing found"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}},
	}
	first, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), in)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.history.AmendVisit(f.as(t, auth.RoleBilling), in)
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("billing's retry of the veterinarian's correction: %v, want PermissionDenied", err)
	}
	// The correction as the earlier rule let billing and reception make it.
	db := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase)
	if _, err := db.Collection("visits").UpdateByID(t.Context(), v.GetId(), bson.M{"$set": bson.M{
		"amendments.0.author": bson.M{"subject": "test-billing+reception", "name": "Test billing reception", "role": "reception"},
	}}); err != nil {
		t.Fatal(err)
	}
	again, err := f.history.AmendVisit(f.as(t, auth.RoleBilling, auth.RoleReception), in)
	if err != nil || again.GetAmendment().GetVersion() != first.GetAmendment().GetVersion() {
		t.Errorf("the author's retry: %v, amendment %v, want %v", err, again.GetAmendment(), first.GetAmendment())
	}
}

// restrictedVisit records a visit of a new owner's patient and erases the owner, which
// restricts the visit (its open invoice keeps it); it returns the owner and the visit
// as recorded.
func (f *fixture) restrictedVisit(t *testing.T) (ownerID string, v *historyv1.Visit) {
	t.Helper()
	ownerID = f.newOwner(t)
	v = f.recordVisit(t, f.newPatient(t, ownerID, "Musti").GetId(), time.Time{})
	if _, err := f.history.EraseOwnerData(f.as(t, auth.RoleClinicManager), &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: jobOne}); err != nil {
		t.Fatal(err)
	}
	return ownerID, v
}

// payment is billing's correction recording the payment of the visit's invoice at
// version.
func payment(visitID string, version int64) *historyv1.AmendVisitRequest {
	return &historyv1.AmendVisitRequest{
		VisitId: visitID, Version: version, Reason: "paid",
		Visit:      &historyv1.Visit{Invoices: []*historyv1.InvoiceReference{{Number: "2026-118", State: historyv1.InvoiceState_INVOICE_STATE_PAID}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"invoices"}},
	}
}
