package history_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// TestServiceRefusalsAreAudited: a call the policy lets in and a rule of the service
// then refuses is audited as denied about the owner of the record it reached, as the
// policy's own refusals are, so that the owner's access report shows the attempt:
// billing correcting clinical text, a request id reused for another visit, correction
// or communication, a restricted visit read or corrected by someone it is not kept for.
func TestServiceRefusalsAreAudited(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	pet := f.newPatient(t, ownerID, "Nappi")
	vet, billing := f.as(t, auth.RoleVeterinarian), f.as(t, auth.RoleBilling)
	record := func(requestID, reason string) (*historyv1.Visit, error) {
		v := visit(time.Time{})
		v.Reason = reason
		res, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), RequestId: requestID, Visit: v})
		return res.GetVisit(), err
	}
	v, err := record("form-7", "Limping")
	if err != nil {
		t.Fatal(err)
	}
	amend := func(ctx context.Context, requestID, path string, in *historyv1.Visit) error {
		_, err := f.history.AmendVisit(ctx, &historyv1.AmendVisitRequest{
			VisitId: v.GetId(), RequestId: requestID, Version: f.getVisit(t, v.GetId()).GetVisit().GetVersion(), Reason: "corrected", Visit: in,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}},
		})
		return err
	}
	communicate := func(subject string) error {
		_, err := f.history.RecordCommunication(vet, &historyv1.RecordCommunicationRequest{OwnerId: ownerID, RequestId: "call-3", Communication: &historyv1.Communication{
			Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: subject,
		}})
		return err
	}
	if err := amend(vet, "fix-1", "reason", &historyv1.Visit{Reason: "Limping badly"}); err != nil {
		t.Fatal(err)
	}
	if err := communicate("Asks about invoice"); err != nil {
		t.Fatal(err)
	}
	visitRes, patientVisits := "visits/"+v.GetId(), "patients/"+pet.GetId()+"/visits"
	steps := []struct {
		name  string
		call  func() error
		code  codes.Code
		event string
	}{
		{"billing corrects the findings", func() error { return amend(billing, "", "findings", &historyv1.Visit{Findings: "x"}) },
			codes.PermissionDenied, "visit.amend " + visitRes + " test-billing billing may correct only invoices"},
		{"a visit's request id reused", func() error { _, err := record("form-7", "Vaccination"); return err },
			codes.FailedPrecondition, "visit.create " + patientVisits + " test-veterinarian REQUEST_ID_REUSED"},
		{"a correction's request id reused", func() error { return amend(vet, "fix-1", "reason", &historyv1.Visit{Reason: "Lame"}) },
			codes.FailedPrecondition, "visit.amend " + visitRes + " test-veterinarian REQUEST_ID_REUSED"},
		{"a communication's request id reused", func() error { return communicate("Complaint") },
			codes.FailedPrecondition, "communication.create owners/" + ownerID + "/communications test-veterinarian REQUEST_ID_REUSED"},
		{"the owner's data erased", func() error {
			_, err := f.history.EraseOwnerData(f.as(t, auth.RoleClinicManager), &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: jobOne})
			return err
		}, codes.OK, ""},
		{"reception reads the restricted visit", func() error {
			_, err := f.history.GetVisit(f.as(t, auth.RoleReception), &historyv1.GetVisitRequest{VisitId: v.GetId()})
			return err
		}, codes.FailedPrecondition, "visit.read " + visitRes + " test-reception VISIT_RESTRICTED"},
		{"a veterinarian corrects the restricted visit", func() error { return amend(vet, "", "diagnoses", &historyv1.Visit{}) },
			codes.FailedPrecondition, "visit.amend " + visitRes + " test-veterinarian VISIT_RESTRICTED"},
	}
	var want []string
	for _, s := range steps {
		if got := status.Code(s.call()); got != s.code {
			t.Fatalf("%s: %v, want %v", s.name, got, s.code)
		}
		if s.event != "" {
			want = append(want, s.event)
		}
	}
	f.histSv.Stop() // drains the audit queue
	denied := slices.DeleteFunc(f.auditEvents(t, ownerID, func(e bson.M) string {
		if e["outcome"] != "denied" {
			return ""
		}
		return fmt.Sprintf("%v %v %v %v", e["action"], e["resource"], e["actor_subject"], e["reason"])
	}), func(s string) bool { return s == "" })
	slices.Sort(denied)
	slices.Sort(want)
	if !slices.Equal(denied, want) {
		t.Errorf("denied events about the owner:\n%q\nwant\n%q", denied, want)
	}
}
