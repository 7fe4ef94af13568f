package history_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// namedStaff returns n people named by the recording caller.
func namedStaff(n int) []*historyv1.StaffMember {
	staff := make([]*historyv1.StaffMember, n)
	for i := range staff {
		staff[i] = &historyv1.StaffMember{Name: fmt.Sprintf("Student %d", i+1), Role: "student"}
	}
	return staff
}

// TestStaffLimitCountsTheRecordingCaller: a visit names at most 20 people, the
// recording caller, whom the service adds, among them; so 19 may be named when it is
// recorded, and a correction of the staff keeps to 20.
func TestStaffLimitCountsTheRecordingCaller(t *testing.T) {
	f := setup(t)
	vet := f.as(t, auth.RoleVeterinarian)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	record := func(named int) (*historyv1.Visit, error) {
		in := visit(time.Time{})
		in.Staff = namedStaff(named)
		res, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: in})
		return res.GetVisit(), err
	}
	full, err := record(19)
	if err != nil {
		t.Fatalf("a visit naming 19 people besides the caller: %v", err)
	}
	if n := len(full.GetStaff()); n != 20 {
		t.Errorf("recorded with %d staff, want 20", n)
	}
	_, err = record(20)
	if got := violations(t, err); !slices.Equal(got, []string{"visit.staff"}) {
		t.Errorf("a visit naming 20 people besides the caller: violations %v, want visit.staff", got)
	}
	_, err = f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{
		VisitId: full.GetId(), Version: 1, Reason: "one more student",
		Visit:      &historyv1.Visit{Staff: append(full.GetStaff(), namedStaff(1)...)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"staff"}},
	})
	if got := violations(t, err); !slices.Equal(got, []string{"visit.staff"}) {
		t.Errorf("a correction to 21 people: violations %v, want visit.staff", got)
	}
}

// TestCorrectionChecksOnlyTheFieldsItSets: a visit stored under older rules (21 people,
// the recording caller added to 20 named; findings holding an identity code, served
// with the code removed) can still be corrected in its other fields: billing records a
// payment, a veterinarian corrects a diagnosis, neither told to fix a field they did
// not send, which billing can neither see nor change.
func TestCorrectionChecksOnlyTheFieldsItSets(t *testing.T) {
	f := setup(t)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	db := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase)
	legacies := map[string]bson.M{
		"21 staff":                      {"$push": bson.M{"current.staff": bson.M{"name": "Student 20", "role": "student"}}},
		"identity code in the findings": {"$set": bson.M{"current.findings": "omistaja 131052-308T soitti"}},
	}
	corrections := map[string]struct {
		role auth.Role
		in   *historyv1.Visit
		path string
	}{
		"billing records a payment": {auth.RoleBilling, &historyv1.Visit{Invoices: []*historyv1.InvoiceReference{
			{Number: "2026-118", State: historyv1.InvoiceState_INVOICE_STATE_PAID},
		}}, "invoices"},
		"a veterinarian corrects the diagnosis": {auth.RoleVeterinarian, &historyv1.Visit{Diagnoses: []*historyv1.Diagnosis{{Text: "Tendinitis"}}}, "diagnoses"},
	}
	for legacy, update := range legacies {
		for name, c := range corrections {
			t.Run(legacy+"/"+name, func(t *testing.T) {
				in := visit(time.Time{})
				in.Staff = namedStaff(19)
				res, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: in})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Collection("visits").UpdateByID(t.Context(), res.GetVisit().GetId(), update); err != nil {
					t.Fatal(err)
				}
				_, err = f.history.AmendVisit(f.as(t, c.role), &historyv1.AmendVisitRequest{
					VisitId: res.GetVisit().GetId(), Version: 1, Reason: "corrected", Visit: c.in,
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{c.path}},
				})
				if err != nil {
					t.Errorf("correction of %s: %v", c.path, err)
				}
			})
		}
	}
}
