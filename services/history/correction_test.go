package history_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
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

// TestUncorrectableFieldNamesBothForms: a mask naming a field no correction may set is
// told which may be, as gRPC's update_mask names them and as REST's updateMask does
// (by their JSON names, which the gateway turns into the proto names this service
// sees), each name one of the visit's fields.
func TestUncorrectableFieldNamesBothForms(t *testing.T) {
	f := setup(t)
	v := f.recordVisit(t, f.newPatient(t, f.newOwner(t), "Nappi").GetId(), time.Time{})
	_, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 1, Reason: "moved", Visit: &historyv1.Visit{PatientId: v.GetPatientId()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"patient_id"}},
	})
	st := wantCode(t, err, codes.InvalidArgument)
	var description string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 {
			description = br.GetFieldViolations()[0].GetDescription()
		}
	}
	fields := (&historyv1.Visit{}).ProtoReflect().Descriptor().Fields()
	for _, p := range append(slices.Clone(domain.AmendableFields), "owner_id") {
		field := fields.ByName(protoreflect.Name(p))
		if field == nil {
			t.Fatalf("%s is no field of the visit", p)
		}
		for _, name := range []string{p, field.JSONName()} {
			if !strings.Contains(description, name) {
				t.Errorf("the update_mask violation %q does not name %s", description, name)
			}
		}
	}
}

// TestIdempotencyKeyServesEveryRecord: the gateway's Idempotency-Key (metadata) is the
// request id of a correction and of a communication too, as the README says: a retry
// under it answers the first one.
func TestIdempotencyKeyServesEveryRecord(t *testing.T) {
	f := setup(t)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	v := f.recordVisit(t, pet.GetId(), time.Time{})
	keyed := metadata.AppendToOutgoingContext(f.as(t, auth.RoleVeterinarian), apperr.MetadataIdempotencyKey, "form-8")
	for name, call := range map[string]func() (string, error){
		"correction": func() (string, error) {
			res, err := f.history.AmendVisit(keyed, &historyv1.AmendVisitRequest{
				VisitId: v.GetId(), Version: 1, Reason: "typo", Visit: &historyv1.Visit{Reason: "Limping badly"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"reason"}},
			})
			return fmt.Sprint(res.GetAmendment().GetVersion()), err
		},
		"communication": func() (string, error) {
			res, err := f.history.RecordCommunication(keyed, &historyv1.RecordCommunicationRequest{OwnerId: pet.GetOwnerId(), Communication: &historyv1.Communication{
				Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: "Booking",
			}})
			return res.GetCommunication().GetId(), err
		},
	} {
		first, err := call()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		again, err := call()
		if err != nil || again != first {
			t.Errorf("%s retried under the key: %s (%v), want the first, %s", name, again, err, first)
		}
	}
}
