package history_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/owner/ownertest"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/protomap"
	"github.com/lillvet/register/services/platform/retention"
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/telemetry"
)

const (
	historyDatabase = "lillvet_history_test"
	ownerDatabase   = "lillvet_owner_test"
	// requestDigestKey is the history service's REQUEST_DIGEST_KEY: 32 bytes.
	requestDigestKey = "dGVzdC1yZXF1ZXN0LWRpZ2VzdC1rZXktMzItYnl0ZXM="
)

// fixture is the owner and history services running on one embedded store.
type fixture struct {
	env     *servicetest.Env
	owners  ownerv1.OwnerServiceClient
	history historyv1.HistoryServiceClient
	ownerSv *servicetest.Service
	histSv  *servicetest.Service
	// historyAddr is the history service's address, for clients of the benchmark.
	historyAddr string
	// clock is the history service's clock: the real time until a test sets it.
	clock *clock
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return setupWith(t, nil)
}

// setupWith starts both services with the given telemetry (nil: the test
// environment's in-memory one) and the history's configuration as opts change it.
func setupWith(t testing.TB, tel *telemetry.Telemetry, opts ...func(*history.Config)) *fixture {
	t.Helper()
	return setupServices(t, tel, nil, opts...)
}

// setupServices is setupWith with the owner service's configuration as ownerOpt changes
// it (nil: as ownertest starts it), given the clock the history service runs on.
func setupServices(t testing.TB, tel *telemetry.Telemetry, ownerOpt func(*owner.Config, *clock), opts ...func(*history.Config)) *fixture {
	t.Helper()
	env := servicetest.New(t)
	if tel == nil {
		tel = env.Telemetry
	}
	clk := &clock{}
	ownerSv, ownerAddr := ownertest.Start(t, env, ownerDatabase, func(c *owner.Config) {
		c.Telemetry = tel
		if ownerOpt != nil {
			ownerOpt(c, clk)
		}
	})
	historyL := servicetest.Listen(t)
	hc := history.Config{
		Base: env.Base(historyL, historyDatabase), OwnerTarget: ownerAddr, Now: clk.Now,
		// The tests run the sweep themselves, with the clock where they set it: no
		// periodic sweep.
		RequestDigestKey: requestDigestKey,
	}
	hc.Telemetry = tel
	for _, o := range opts {
		o(&hc)
	}
	histSv := env.Serve(t, historyL.Addr().String(), func(ctx context.Context) error { return history.Run(ctx, hc) })
	return &fixture{
		env: env, owners: ownerv1.NewOwnerServiceClient(ownerSv.Conn), history: historyv1.NewHistoryServiceClient(histSv.Conn),
		ownerSv: ownerSv, histSv: histSv, historyAddr: historyL.Addr().String(), clock: clk,
	}
}

func (f *fixture) as(t testing.TB, roles ...auth.Role) context.Context {
	t.Helper()
	return f.env.As(t, roles...)
}

// newOwner registers an owner and returns its id.
func (f *fixture) newOwner(t testing.TB) string {
	t.Helper()
	res, err := f.owners.CreateOwner(f.as(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: &ownerv1.Owner{
		GivenNames: "Aino", FamilyName: "Äijälä", Phone: "040 123 4567", HomeClinic: ownerv1.Clinic_CLINIC_SEINAJOKI,
		Address: &ownerv1.Address{Street: "Ruukintie 1", PostalCode: "60100", City: "Seinäjoki"},
	}})
	if err != nil {
		t.Fatalf("create owner: %v", err)
	}
	return res.GetOwner().GetId()
}

// newPatient registers a patient of ownerID, born before the earliest visit the tests
// record (a visit before the birth is refused), and returns it.
func (f *fixture) newPatient(t testing.TB, ownerID, name string) *ownerv1.Patient {
	t.Helper()
	res, err := f.owners.RegisterPatient(f.as(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{
		OwnerId: ownerID, Patient: &ownerv1.Patient{Name: name, Species: ownerv1.Species_SPECIES_DOG, BirthDate: "2012-05-01"},
	})
	if err != nil {
		t.Fatalf("register patient: %v", err)
	}
	return res.GetPatient()
}

func visit(start time.Time) *historyv1.Visit {
	v := &historyv1.Visit{
		Clinic: historyv1.Clinic_CLINIC_KANGASALA, Reason: "Limping", Anamnesis: "Lame on the left hind leg\nsince Monday.",
		Findings:    "Swollen hock.",
		Diagnoses:   []*historyv1.Diagnosis{{Text: "Sprain"}},
		Medications: []*historyv1.Medication{{Product: "Metacam", Dose: "0.1 mg/kg", Route: historyv1.Route_ROUTE_ORAL, Duration: "5 days"}},
		WeightGrams: 24500,
		Invoices:    []*historyv1.InvoiceReference{{Number: "2026-118", State: historyv1.InvoiceState_INVOICE_STATE_OPEN}},
	}
	if !start.IsZero() {
		v.StartTime = timestamppb.New(start)
	}
	return v
}

func (f *fixture) recordVisit(t *testing.T, patientID string, start time.Time) *historyv1.Visit {
	t.Helper()
	res, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{PatientId: patientID, Visit: visit(start)})
	if err != nil {
		t.Fatalf("record visit: %v", err)
	}
	return res.GetVisit()
}

// export reads the owner's whole export stream as the caller of ctx and returns the
// ids of the visits and the communications in it, each visit also handed to check.
func (f *fixture) export(t *testing.T, ctx context.Context, ownerID string, check func(*historyv1.VisitRecord)) (visits, communications []string) {
	t.Helper()
	stream, err := f.history.ExportOwnerHistory(ctx, &historyv1.ExportOwnerHistoryRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	for {
		item, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return visits, communications
		}
		if err != nil {
			t.Fatal(err)
		}
		if r := item.GetVisit(); r != nil {
			visits = append(visits, r.GetVisit().GetId())
			check(r)
		}
		if c := item.GetCommunication(); c != nil {
			communications = append(communications, c.GetId())
		}
	}
}

func wantCode(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != want {
		t.Fatalf("got %v (%v), want %v", st.Code(), err, want)
	}
	return st
}

// reason returns the machine reason of a FAILED_PRECONDITION.
func reason(t *testing.T, err error) string {
	t.Helper()
	st := wantCode(t, err, codes.FailedPrecondition)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	t.Fatalf("no reason in %v", err)
	return ""
}

// violations returns the fields of an INVALID_ARGUMENT's field violations.
func violations(t *testing.T, err error) []string {
	t.Helper()
	st := wantCode(t, err, codes.InvalidArgument)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

func TestRecordVisitNeedsALivingPatient(t *testing.T) {
	f := setup(t)
	vet := f.as(t, auth.RoleVeterinarian)
	ownerID := f.newOwner(t)

	_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: "0b6d4f3e-2c59-4f0a-9e57-8d1f3a6c2b74", Visit: visit(time.Time{})})
	if got := reason(t, err); got != "PATIENT_NOT_FOUND" {
		t.Errorf("unknown patient: reason %s", got)
	}

	pet := f.newPatient(t, ownerID, "Nappi")
	// Noon UTC, so that the death date written in UTC is the clinic's date of the
	// visit an hour before it (late in the UTC evening it is already the next day there).
	died := time.Now().UTC().AddDate(0, 0, -2).Truncate(24 * time.Hour).Add(12 * time.Hour)
	if _, err := f.owners.MarkPatientDeceased(f.as(t, auth.RoleVeterinarian), &ownerv1.MarkPatientDeceasedRequest{
		PatientId: pet.GetId(), DeathDate: died.Format(time.DateOnly), Version: 1, Reason: "euthanasia",
	}); err != nil {
		t.Fatal(err)
	}
	_, err = f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: visit(time.Time{})})
	if got := reason(t, err); got != "PATIENT_DECEASED" {
		t.Errorf("deceased patient: reason %s", got)
	}
	// The visit of the day it died can still be written up afterwards.
	late := f.recordVisit(t, pet.GetId(), died.Add(-time.Hour))
	if late.GetOwnerId() != ownerID || late.GetPatientId() != pet.GetId() || late.GetVersion() != 1 {
		t.Errorf("late visit: %v", late)
	}
	if staff := late.GetStaff(); len(staff) != 1 || staff[0].GetSubject() != "test-veterinarian" || staff[0].GetRole() != "veterinarian" {
		t.Errorf("the caller is not the attending staff: %v", staff)
	}
}

// TestVisitBeforeBirthIsRefused: a visit needs the patient born by its day, when the
// register knows the birth date, recorded or corrected; not registered by then, as
// clinics write up a history from before the registration.
func TestVisitBeforeBirthIsRefused(t *testing.T) {
	f := setup(t)
	vet := f.as(t, auth.RoleVeterinarian)
	ownerID := f.newOwner(t)
	register := func(birthDate string) string {
		res, err := f.owners.RegisterPatient(f.as(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{
			OwnerId: ownerID, Patient: &ownerv1.Patient{Name: "Nappi", Species: ownerv1.Species_SPECIES_DOG, BirthDate: birthDate},
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetPatient().GetId()
	}
	born, unknown := register("2020-05-01"), register("")
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name    string
		patient string
		start   time.Time
		want    string // the refusal's reason; "" for none
	}{
		{"years before the birth", born, day(2001, 3, 1), "VISIT_BEFORE_BIRTH"},
		{"the day before the birth", born, day(2020, 4, 30), "VISIT_BEFORE_BIRTH"},
		{"the day of the birth", born, day(2020, 5, 1), ""},
		{"before the registration", born, day(2021, 6, 1), ""},
		{"birth date unknown", unknown, day(2001, 3, 1), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: tc.patient, Visit: visit(tc.start)})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("recorded: %v", err)
			case tc.want != "" && reason(t, err) != tc.want:
				t.Errorf("recorded: %v, want %s", err, tc.want)
			}
		})
	}
	v := f.recordVisit(t, born, time.Time{})
	// Naming the visit's own owner moves nothing, and checks the day all the same.
	for _, paths := range [][]string{{"start_time"}, {"start_time", "owner_id"}} {
		_, err := f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{
			VisitId: v.GetId(), Version: 1, Reason: "wrong year",
			Visit:      &historyv1.Visit{StartTime: timestamppb.New(day(2001, 3, 1)), OwnerId: ownerID},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
		})
		if got := reason(t, err); got != "VISIT_BEFORE_BIRTH" {
			t.Errorf("%v: a correction to a day before the birth: reason %s", paths, got)
		}
	}
}

// TestVisitDatesAndStaffKeepToTheRecord: the day of a visit is the clinics' calendar
// day, also when an amendment moves it; a moved visit needs a time; and only the
// recording caller's entry names an account.
func TestVisitDatesAndStaffKeepToTheRecord(t *testing.T) {
	f := setup(t)
	vet := f.as(t, auth.RoleVeterinarian)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	helsinki, err := retention.ClinicLocation()
	if err != nil {
		t.Fatal(err)
	}
	died := time.Now().In(helsinki).AddDate(0, 0, -10)
	dayAfter := time.Date(died.Year(), died.Month(), died.Day()+1, 1, 0, 0, 0, helsinki) // the day before in UTC
	before := f.recordVisit(t, pet.GetId(), dayAfter.AddDate(0, 0, -5))
	if _, err := f.owners.MarkPatientDeceased(vet, &ownerv1.MarkPatientDeceasedRequest{
		PatientId: pet.GetId(), DeathDate: died.Format(time.DateOnly), Version: 1, Reason: "euthanasia",
	}); err != nil {
		t.Fatal(err)
	}
	_, err = f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: visit(dayAfter)})
	if got := reason(t, err); got != "PATIENT_DECEASED" {
		t.Errorf("a visit at 01:00 the day after the death: reason %s", got)
	}
	move := func(start *timestamppb.Timestamp) error {
		_, err := f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{
			VisitId: before.GetId(), Version: 1, Reason: "wrong day", Visit: &historyv1.Visit{StartTime: start},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"start_time"}},
		})
		return err
	}
	if got := reason(t, move(timestamppb.New(dayAfter))); got != "PATIENT_DECEASED" {
		t.Errorf("a visit moved past the death: reason %s", got)
	}
	if got := violations(t, move(nil)); !slices.Equal(got, []string{"visit.start_time"}) {
		t.Errorf("a visit moved without a time: violations %v", got)
	}

	named := visit(died.Add(-time.Hour))
	named.Staff = []*historyv1.StaffMember{{Subject: "test-nurse", Name: "Outi Hoitaja", Role: "nurse"}}
	res, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: named})
	if err != nil {
		t.Fatal(err)
	}
	if staff := res.GetVisit().GetStaff(); len(staff) != 2 || staff[0].GetSubject() != "test-veterinarian" || staff[1].GetSubject() != "" {
		t.Errorf("staff recorded as %v, want only the caller's entry naming an account", staff)
	}
	_, err = f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{
		VisitId: res.GetVisit().GetId(), Version: 1, Reason: "who was there",
		Visit:      &historyv1.Visit{Staff: []*historyv1.StaffMember{{Subject: "test-nurse", Name: "Outi Hoitaja"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"staff"}},
	})
	if got := violations(t, err); !slices.Equal(got, []string{"visit.staff[0].subject"}) {
		t.Errorf("an amendment naming a new account: violations %v", got)
	}
}

func TestOwnerServiceDownIsUnavailable(t *testing.T) {
	f := setup(t)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	f.ownerSv.Stop()
	_, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: visit(time.Time{})})
	wantCode(t, err, codes.Unavailable)
}

func TestRecordVisitIsIdempotent(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	pet, other := f.newPatient(t, ownerID, "Nappi"), f.newPatient(t, ownerID, "Musti")
	vet := f.as(t, auth.RoleVeterinarian)
	req := &historyv1.RecordVisitRequest{PatientId: pet.GetId(), RequestId: "form-7", Visit: visit(time.Time{})}
	first, err := f.history.RecordVisit(vet, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.history.RecordVisit(vet, req)
	if err != nil || again.GetVisit().GetId() != first.GetVisit().GetId() {
		t.Fatalf("retry: %v, %v", again, err)
	}
	list, err := f.history.ListPatientVisits(vet, &historyv1.ListPatientVisitsRequest{PatientId: pet.GetId()})
	if err != nil || len(list.GetVisits()) != 1 {
		t.Fatalf("after a retried record the patient has %d visits (%v)", len(list.GetVisits()), err)
	}
	// The same request id for another patient is another visit.
	req.PatientId = other.GetId()
	third, err := f.history.RecordVisit(vet, req)
	if err != nil || third.GetVisit().GetId() == first.GetVisit().GetId() || third.GetVisit().GetPatientId() != other.GetId() {
		t.Fatalf("same request id, other patient: %v, %v", third, err)
	}
}

// TestReusedRequestIDIsRefused sends a create, its retry written differently but stored
// the same (padded text, the time left to the server, the id as the REST
// Idempotency-Key), and then another record under the same request id: the retry is
// answered with the first record, the other refused with REQUEST_ID_REUSED (answered
// with the first, the caller would take it as recorded), and only the first is stored.
func TestReusedRequestIDIsRefused(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	nappi, musti := f.newPatient(t, ownerID, "Nappi"), f.newPatient(t, ownerID, "Musti")
	vet := f.as(t, auth.RoleVeterinarian)
	keyed := metadata.AppendToOutgoingContext(vet, apperr.MetadataIdempotencyKey, "form-7")
	recordVisit := func(ctx context.Context, requestID string, v *historyv1.Visit) (string, error) {
		res, err := f.history.RecordVisit(ctx, &historyv1.RecordVisitRequest{PatientId: nappi.GetId(), RequestId: requestID, Visit: v})
		return res.GetVisit().GetId(), err
	}
	recordCommunication := func(ctx context.Context, requestID, subject string) (string, error) {
		res, err := f.history.RecordCommunication(ctx, &historyv1.RecordCommunicationRequest{OwnerId: ownerID, RequestId: requestID, Communication: &historyv1.Communication{
			Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: subject,
		}})
		return res.GetCommunication().GetId(), err
	}
	amended := f.recordVisit(t, musti.GetId(), time.Time{})
	amend := func(ctx context.Context, requestID string, version int64, reason, field string, v *historyv1.Visit) (string, error) {
		res, err := f.history.AmendVisit(ctx, &historyv1.AmendVisitRequest{VisitId: amended.GetId(), RequestId: requestID, Version: version,
			Reason: reason, Visit: v, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{field}}})
		return fmt.Sprint(res.GetAmendment().GetVersion()), err
	}
	padded := visit(time.Time{})
	padded.Reason = "  Limping "
	vaccination := visit(time.Time{})
	vaccination.Reason, vaccination.Findings = "Vaccination", "Healthy."
	for _, tc := range []struct {
		name                string
		first, retry, other func() (string, error)
		stored              func() ([]string, error)
		want                []string
	}{
		{
			name:  "visit",
			first: func() (string, error) { return recordVisit(vet, "form-7", visit(time.Time{})) },
			retry: func() (string, error) { return recordVisit(keyed, "", padded) },
			other: func() (string, error) { return recordVisit(keyed, "", vaccination) },
			stored: func() ([]string, error) {
				res, err := f.history.ListPatientVisits(vet, &historyv1.ListPatientVisitsRequest{PatientId: nappi.GetId()})
				var reasons []string
				for _, v := range res.GetVisits() {
					reasons = append(reasons, v.GetReason())
				}
				return reasons, err
			},
			want: []string{"Limping"},
		},
		{
			name:  "communication",
			first: func() (string, error) { return recordCommunication(vet, "call-3", "Asks about invoice") },
			retry: func() (string, error) { return recordCommunication(vet, "call-3", "Asks about invoice ") },
			other: func() (string, error) { return recordCommunication(vet, "call-3", "Complaint about treatment") },
			stored: func() ([]string, error) {
				res, err := f.history.ListOwnerCommunications(vet, &historyv1.ListOwnerCommunicationsRequest{OwnerId: ownerID})
				var subjects []string
				for _, c := range res.GetCommunications() {
					subjects = append(subjects, c.GetSubject())
				}
				return subjects, err
			},
			want: []string{"Asks about invoice"},
		},
		{
			name: "amendment",
			first: func() (string, error) {
				return amend(vet, "fix-1", 1, "typo", "reason", &historyv1.Visit{Reason: "Limping badly"})
			},
			retry: func() (string, error) {
				return amend(vet, "fix-1", 1, "typo", "reason", &historyv1.Visit{Reason: "Limping badly "})
			},
			other: func() (string, error) {
				return amend(vet, "fix-1", 2, "wrong dose", "findings", &historyv1.Visit{Findings: "Fracture on X-ray."})
			},
			stored: func() ([]string, error) {
				res, err := f.history.GetVisit(vet, &historyv1.GetVisitRequest{VisitId: amended.GetId()})
				out := []string{res.GetVisit().GetFindings()}
				for _, a := range res.GetAmendments() {
					out = append(out, strings.Join(a.GetFields(), ","))
				}
				return out, err
			},
			want: []string{"Swollen hock.", "reason"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, err := tc.first()
			if err != nil {
				t.Fatal(err)
			}
			if again, err := tc.retry(); err != nil || again != first {
				t.Errorf("the retry: %q, %v; want the first, %q", again, err, first)
			}
			_, err = tc.other()
			if got := reason(t, err); got != "REQUEST_ID_REUSED" {
				t.Errorf("another %s under the same request id: reason %s", tc.name, got)
			}
			if got, err := tc.stored(); err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("stored %q (%v), want %q only", got, err, tc.want)
			}
		})
	}
}

// TestGenuineRetriesGoThrough retries each create written as another client would:
// a start time with nanoseconds, sent by another staff member, after someone else's
// amendment, with staff named with subjects and a mask in another order with a path
// twice. Each is answered as the first call, not refused as a reused request id.
func TestGenuineRetriesGoThrough(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	pet := f.newPatient(t, ownerID, "Nappi")
	vet, nurse := f.as(t, auth.RoleVeterinarian), f.as(t, auth.RoleNurse)
	start := f.clock.Now().Add(-90*time.Minute + 123456789*time.Nanosecond)
	v := visit(start)
	v.Staff = []*historyv1.StaffMember{{Subject: "someone", Name: " Nurse Niina ", Role: "nurse"}}
	req := &historyv1.RecordVisitRequest{PatientId: pet.GetId(), RequestId: "form-9", Visit: v}
	first, err := f.history.RecordVisit(vet, req)
	if err != nil {
		t.Fatal(err)
	}
	fix := func(ctx context.Context, paths ...string) error {
		_, err := f.history.AmendVisit(ctx, &historyv1.AmendVisitRequest{VisitId: first.GetVisit().GetId(), RequestId: "fix-9", Version: 1, Reason: "typo",
			Visit: &historyv1.Visit{Findings: "x", StartTime: timestamppb.New(start.Add(777 * time.Nanosecond))}, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
		return err
	}
	if err := fix(nurse, "findings", "start_time"); err != nil {
		t.Fatal(err)
	}
	c := &historyv1.RecordCommunicationRequest{OwnerId: ownerID, RequestId: "call-9", Communication: &historyv1.Communication{
		Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: "s", Time: timestamppb.New(start), PatientId: pet.GetId()}}
	if _, err := f.history.RecordCommunication(vet, c); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		retry func() error
	}{
		{"visit", func() error { _, err := f.history.RecordVisit(nurse, req); return err }},
		{"amendment", func() error { return fix(vet, "start_time", "findings", "findings") }},
		{"communication", func() error { _, err := f.history.RecordCommunication(nurse, c); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.retry(); err != nil {
				t.Errorf("retry: %v", err)
			}
		})
	}
}

// TestCommunicationRetryAfterThePatientMoved retries a communication about a patient
// after the patient moved to another owner: the retry is answered with the first
// communication, as a visit's retry is, while a new communication about the patient
// under the old owner is refused, and so is another one under the used request id.
func TestCommunicationRetryAfterThePatientMoved(t *testing.T) {
	f := setup(t)
	ownerID, newOwnerID := f.newOwner(t), f.newOwner(t)
	pet := f.newPatient(t, ownerID, "Nappi")
	vet := f.as(t, auth.RoleVeterinarian)
	record := func(requestID, subject string) (*historyv1.RecordCommunicationResponse, error) {
		return f.history.RecordCommunication(vet, &historyv1.RecordCommunicationRequest{OwnerId: ownerID, RequestId: requestID, Communication: &historyv1.Communication{
			Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: subject, PatientId: pet.GetId(),
		}})
	}
	first, err := record("call-3", "Asks about the X-ray")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.owners.TransferPatient(f.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: pet.GetId(), NewOwnerId: newOwnerID, Version: pet.GetVersion(), Reason: "sold",
	}); err != nil {
		t.Fatal(err)
	}
	if again, err := record("call-3", "Asks about the X-ray"); err != nil || again.GetCommunication().GetId() != first.GetCommunication().GetId() {
		t.Errorf("the retry: %v, %v; want the first communication", again, err)
	}
	for _, tc := range []struct {
		name, requestID, subject, want string
	}{
		{"a new one about the moved patient", "call-4", "Asks about the X-ray", "PATIENT_OF_ANOTHER_OWNER"},
		{"another one under the used request id", "call-3", "Complaint about treatment", "REQUEST_ID_REUSED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := record(tc.requestID, tc.subject)
			if got := reason(t, err); got != tc.want {
				t.Errorf("reason %s, want %s", got, tc.want)
			}
		})
	}
	res, err := f.history.ListOwnerCommunications(vet, &historyv1.ListOwnerCommunicationsRequest{OwnerId: ownerID})
	if err != nil || len(res.GetCommunications()) != 1 || res.GetCommunications()[0].GetId() != first.GetCommunication().GetId() {
		t.Errorf("stored %v (%v), want the first communication only", res.GetCommunications(), err)
	}
}

func TestBadInputIsFieldViolations(t *testing.T) {
	f := setup(t)
	vet := f.as(t, auth.RoleVeterinarian)
	bad := visit(time.Now().Add(48 * time.Hour))
	bad.Clinic = historyv1.Clinic_CLINIC_UNSPECIFIED
	bad.Reason = ""
	bad.Medications[0].Route = historyv1.Route_ROUTE_UNSPECIFIED
	bad.WeightGrams = -5
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	for _, tc := range []struct {
		name string
		call func() error
		want []string
	}{
		{"visit", func() error {
			_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: bad})
			return err
		}, []string{"visit.clinic", "visit.start_time", "visit.reason", "visit.medications[0].route", "visit.weight_grams"}},
		{"invalid times", func() error {
			v := visit(time.Time{})
			v.StartTime = &timestamppb.Timestamp{Seconds: time.Now().Unix(), Nanos: -5}
			_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: v})
			return err
		}, []string{"visit.start_time"}},
		{"time past 9999", func() error {
			_, err := f.history.RecordCommunication(vet, &historyv1.RecordCommunicationRequest{OwnerId: pet.GetOwnerId(), Communication: &historyv1.Communication{
				Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: "Booking",
				Time: &timestamppb.Timestamp{Seconds: 253402300800},
			}})
			return err
		}, []string{"communication.time"}},
		{"amended time", func() error {
			_, err := f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{VisitId: pet.GetId(), Version: 1, Reason: "typo",
				Visit: &historyv1.Visit{StartTime: &timestamppb.Timestamp{Nanos: 1e9}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"start_time"}}})
			return err
		}, []string{"visit.start_time"}},
		{"patient id", func() error {
			_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: "nappi", Visit: visit(time.Time{})})
			return err
		}, []string{"patient_id"}},
		{"no visit", func() error {
			_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId()})
			return err
		}, []string{"visit"}},
		{"amendment", func() error {
			_, err := f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{VisitId: pet.GetId(), UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"patient_id"}}})
			return err
		}, []string{"update_mask", "version", "reason"}},
		{"paging", func() error {
			_, err := f.history.ListPatientVisits(vet, &historyv1.ListPatientVisitsRequest{
				PatientId: pet.GetId(), PageSize: -1, PageToken: "garbage",
				StartTime: timestamppb.New(time.Now()), EndTime: timestamppb.New(time.Now().Add(-time.Hour)),
			})
			return err
		}, []string{"page_size", "end_time"}},
		{"token", func() error {
			_, err := f.history.ListOwnerTimeline(vet, &historyv1.ListOwnerTimelineRequest{OwnerId: pet.GetOwnerId(), PageToken: "garbage"})
			return err
		}, []string{"page_token"}},
		{"communication", func() error {
			_, err := f.history.RecordCommunication(vet, &historyv1.RecordCommunicationRequest{OwnerId: pet.GetOwnerId(), Communication: &historyv1.Communication{
				VisitId: "x", Summary: "a\x00",
			}})
			return err
		}, []string{"communication.visit_id"}},
		{"communication fields", func() error {
			_, err := f.history.RecordCommunication(vet, &historyv1.RecordCommunicationRequest{OwnerId: pet.GetOwnerId(), Communication: &historyv1.Communication{Summary: "a\x00"}})
			return err
		}, []string{"communication.channel", "communication.direction", "communication.subject", "communication.summary"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := violations(t, tc.call())
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("violations %v lack %s", got, w)
				}
			}
		})
	}
}

func TestAmendmentKeepsTheOriginal(t *testing.T) {
	f := setup(t)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	recorded := f.recordVisit(t, pet.GetId(), time.Time{})
	nurse := f.as(t, auth.RoleNurse)
	amend := &historyv1.AmendVisitRequest{
		VisitId: recorded.GetId(), Version: 1, Reason: "X-ray read again",
		Visit:      &historyv1.Visit{Findings: "Hairline fracture.", Diagnoses: []*historyv1.Diagnosis{{Text: "Fracture", Code: "VeNom:42"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings", "diagnoses"}},
	}
	res, err := f.history.AmendVisit(nurse, amend)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetVisit().GetVersion() != 2 || res.GetVisit().GetFindings() != "Hairline fracture." || res.GetVisit().GetReason() != "Limping" {
		t.Errorf("amended view: %v", res.GetVisit())
	}
	_, err = f.history.AmendVisit(nurse, amend)
	if got := servicetest.ReasonOf(t, err, codes.Aborted); got != apperr.ReasonVersionMismatch {
		t.Errorf("an amendment at a stale version has the reason %q, want %s", got, apperr.ReasonVersionMismatch)
	}
	if want := "version 1 is not the current version of visit " + recorded.GetId() + "; read it again"; status.Convert(err).Message() != want {
		t.Errorf("an amendment at a stale version is answered %q, want %q", status.Convert(err).Message(), want)
	}

	got, err := f.history.GetVisit(f.as(t, auth.RoleVeterinarian), &historyv1.GetVisitRequest{VisitId: recorded.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetOriginal().GetFindings() != "Swollen hock." || got.GetOriginal().GetDiagnoses()[0].GetText() != "Sprain" || got.GetOriginal().GetVersion() != 1 {
		t.Errorf("original changed: %v", got.GetOriginal())
	}
	if got.GetVisit().GetDiagnoses()[0].GetCode() != "VeNom:42" || got.GetVisit().GetVersion() != 2 {
		t.Errorf("current view: %v", got.GetVisit())
	}
	a := got.GetAmendments()
	if len(a) != 1 || a[0].GetVersion() != 2 || a[0].GetReason() != "X-ray read again" || a[0].GetAuthor().GetRole() != "nurse" ||
		!slices.Equal(a[0].GetFields(), []string{"diagnoses", "findings"}) || a[0].GetCorrected().GetFindings() != "Hairline fracture." ||
		a[0].GetCorrected().GetReason() != "" || a[0].GetTime() == nil {
		t.Errorf("amendment trail: %v", a)
	}
}

// TestConcurrentAmendmentsLoseNothing: of amendments racing at one version exactly one
// applies and the others are told to re-read (VERSION_MISMATCH, whether the version
// moved before their read or before their write); none vanishes silently.
func TestConcurrentAmendmentsLoseNothing(t *testing.T) {
	f := setup(t)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	recorded := f.recordVisit(t, pet.GetId(), time.Time{})
	const racers = 6
	codesSeen := make([]codes.Code, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			_, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
				VisitId: recorded.GetId(), Version: 1, Reason: fmt.Sprintf("racer %d", i),
				Visit: &historyv1.Visit{FollowUp: fmt.Sprintf("check %d", i)}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"follow_up"}},
			})
			codesSeen[i], errs[i] = status.Code(err), err
		})
	}
	wg.Wait()
	won := 0
	for i, c := range codesSeen {
		switch c {
		case codes.OK:
			won++
		case codes.Aborted:
			if got := servicetest.ReasonOf(t, errs[i], codes.Aborted); got != apperr.ReasonVersionMismatch {
				t.Errorf("racer %d told to re-read with the reason %q, want %s", i, got, apperr.ReasonVersionMismatch)
			}
		default:
			t.Errorf("racer got %v", c)
		}
	}
	got, err := f.history.GetVisit(f.as(t, auth.RoleVeterinarian), &historyv1.GetVisitRequest{VisitId: recorded.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if won != 1 || len(got.GetAmendments()) != 1 || got.GetVisit().GetVersion() != 2 ||
		got.GetVisit().GetFollowUp() != got.GetAmendments()[0].GetCorrected().GetFollowUp() {
		t.Errorf("%d winners, trail %v, view %v", won, got.GetAmendments(), got.GetVisit())
	}
}

// TestPagingUnderConcurrentInserts pages through a patient's visits while others are
// recorded: every visit that existed before comes exactly once, in order.
func TestPagingUnderConcurrentInserts(t *testing.T) {
	f := setup(t)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	base := time.Now().UTC().Add(-1000 * time.Hour).Truncate(time.Millisecond)
	existing := map[string]bool{}
	for i := range 60 {
		// Pairs share a start time, so the id breaks ties.
		existing[f.recordVisit(t, pet.GetId(), base.Add(time.Duration(i/2)*time.Hour)).GetId()] = true
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		vet := f.as(t, auth.RoleVeterinarian)
		for i := range 10 {
			// Newer than every page, older than every page, and between two of them.
			for _, at := range []time.Time{time.Now(), base.Add(-time.Duration(i+1) * time.Hour), base.Add(time.Duration(3*i)*time.Hour + time.Minute)} {
				if _, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: visit(at)}); err != nil {
					t.Errorf("concurrent record: %v", err)
				}
			}
		}
	})
	seen := map[string]bool{}
	var last *historyv1.Visit
	token := ""
	reception := f.as(t, auth.RoleReception)
	for page := 0; ; page++ {
		res, err := f.history.ListPatientVisits(reception, &historyv1.ListPatientVisitsRequest{PatientId: pet.GetId(), PageSize: 7, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range res.GetVisits() {
			if seen[v.GetId()] {
				t.Fatalf("visit listed twice on page %d", page)
			}
			seen[v.GetId()] = true
			if last != nil && !newerFirst(last, v) {
				t.Fatalf("page %d out of order: %v then %v", page, last.GetStartTime().AsTime(), v.GetStartTime().AsTime())
			}
			last = v
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	wg.Wait()
	for id := range existing {
		if !seen[id] {
			t.Errorf("visit %s was skipped", id)
		}
	}
}

func newerFirst(a, b *historyv1.Visit) bool {
	at, bt := a.GetStartTime().AsTime(), b.GetStartTime().AsTime()
	return at.After(bt) || at.Equal(bt) && a.GetId() > b.GetId()
}

// TestTimelineCommunicationsAndExport follows one owner with two patients through
// visits, communications, the merged timeline and the export.
func TestTimelineCommunicationsAndExport(t *testing.T) {
	f := setup(t)
	ownerID, otherOwner := f.newOwner(t), f.newOwner(t)
	nappi, musti := f.newPatient(t, ownerID, "Nappi"), f.newPatient(t, ownerID, "Musti")
	stranger := f.newPatient(t, otherOwner, "Vieras")
	base := time.Now().UTC().Add(-100 * time.Hour).Truncate(time.Millisecond)
	v1 := f.recordVisit(t, nappi.GetId(), base)
	v2 := f.recordVisit(t, musti.GetId(), base.Add(2*time.Hour))
	f.recordVisit(t, stranger.GetId(), base.Add(3*time.Hour))
	reception := f.as(t, auth.RoleReception)
	comm := func(at time.Time, about *historyv1.Communication) *historyv1.Communication {
		t.Helper()
		c := &historyv1.Communication{
			Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND,
			Time: timestamppb.New(at), Subject: "Follow-up call", Summary: "Owner reports\nimprovement.",
			PatientId: about.GetPatientId(), VisitId: about.GetVisitId(),
		}
		res, err := f.history.RecordCommunication(reception, &historyv1.RecordCommunicationRequest{OwnerId: ownerID, Communication: c})
		if err != nil {
			t.Fatalf("record communication: %v", err)
		}
		return res.GetCommunication()
	}
	c1 := comm(base.Add(time.Hour), &historyv1.Communication{PatientId: nappi.GetId(), VisitId: v1.GetId()})
	c2 := comm(base.Add(2*time.Hour), &historyv1.Communication{}) // the same instant as v2
	if c1.GetStaff().GetRole() != "reception" || c1.GetOwnerId() != ownerID {
		t.Errorf("communication: %v", c1)
	}

	for _, tc := range []struct {
		name  string
		about *historyv1.Communication
		want  string
	}{
		{"another owner's patient", &historyv1.Communication{PatientId: stranger.GetId()}, "PATIENT_OF_ANOTHER_OWNER"},
		{"unknown visit", &historyv1.Communication{VisitId: nappi.GetId()}, "VISIT_NOT_FOUND"},
		{"visit of another patient", &historyv1.Communication{PatientId: musti.GetId(), VisitId: v1.GetId()}, "VISIT_OF_ANOTHER_PATIENT"},
	} {
		_, err := f.history.RecordCommunication(reception, &historyv1.RecordCommunicationRequest{OwnerId: ownerID, Communication: &historyv1.Communication{
			Channel: historyv1.Channel_CHANNEL_SMS, Direction: historyv1.Direction_DIRECTION_OUTBOUND, Subject: "x",
			PatientId: tc.about.GetPatientId(), VisitId: tc.about.GetVisitId(),
		}})
		if got := reason(t, err); got != tc.want {
			t.Errorf("%s: reason %s, want %s", tc.name, got, tc.want)
		}
	}
	_, err := f.history.RecordCommunication(reception, &historyv1.RecordCommunicationRequest{OwnerId: nappi.GetId(), Communication: &historyv1.Communication{
		Channel: historyv1.Channel_CHANNEL_SMS, Direction: historyv1.Direction_DIRECTION_OUTBOUND, Subject: "x",
	}})
	if got := reason(t, err); got != "OWNER_NOT_FOUND" {
		t.Errorf("unknown owner: reason %s", got)
	}

	comms, err := f.history.ListOwnerCommunications(reception, &historyv1.ListOwnerCommunicationsRequest{OwnerId: ownerID})
	if err != nil || len(comms.GetCommunications()) != 2 || comms.GetCommunications()[0].GetId() != c2.GetId() {
		t.Fatalf("communications: %v, %v", comms, err)
	}

	// Newest first, a visit before a communication at the same instant; pages of two.
	want := []string{v2.GetId(), c2.GetId(), c1.GetId(), v1.GetId()}
	var got []string
	token := ""
	for {
		res, err := f.history.ListOwnerTimeline(reception, &historyv1.ListOwnerTimelineRequest{OwnerId: ownerID, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.GetEntries() {
			got = append(got, e.GetVisit().GetId()+e.GetCommunication().GetId())
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("timeline %v, want %v", got, want)
	}
	ranged, err := f.history.ListOwnerTimeline(reception, &historyv1.ListOwnerTimelineRequest{
		OwnerId: ownerID, StartTime: timestamppb.New(base.Add(time.Hour)), EndTime: timestamppb.New(base.Add(2 * time.Hour)),
	})
	if err != nil || len(ranged.GetEntries()) != 1 || ranged.GetEntries()[0].GetCommunication().GetId() != c1.GetId() {
		t.Errorf("timeline in a range: %v, %v", ranged, err)
	}

	if _, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
		VisitId: v1.GetId(), Version: 1, Reason: "typo", Visit: &historyv1.Visit{Reason: "Limping badly"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"reason"}},
	}); err != nil {
		t.Fatal(err)
	}
	visits, communications := f.export(t, f.as(t, auth.RoleClinicManager), ownerID, func(r *historyv1.VisitRecord) {
		if r.GetVisit().GetId() == v1.GetId() && (len(r.GetAmendments()) != 1 || r.GetOriginal().GetReason() != "Limping") {
			t.Errorf("exported visit lacks its trail: %v", r)
		}
	})
	if !slices.Equal(visits, []string{v1.GetId(), v2.GetId()}) || !slices.Equal(communications, []string{c1.GetId(), c2.GetId()}) {
		t.Errorf("export: visits %v, communications %v", visits, communications)
	}
}

// TestPermissions drives every RPC as every role through the real server.
func TestPermissions(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	pet := f.newPatient(t, ownerID, "Nappi")
	v := f.recordVisit(t, pet.GetId(), time.Time{})
	version := int64(1)
	calls := map[string]func(ctx context.Context) error{
		"RecordVisit": func(ctx context.Context) error {
			_, err := f.history.RecordVisit(ctx, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: visit(time.Time{})})
			return err
		},
		"ListPatientVisits": func(ctx context.Context) error {
			_, err := f.history.ListPatientVisits(ctx, &historyv1.ListPatientVisitsRequest{PatientId: pet.GetId()})
			return err
		},
		"GetVisit": func(ctx context.Context) error {
			_, err := f.history.GetVisit(ctx, &historyv1.GetVisitRequest{VisitId: v.GetId()})
			return err
		},
		"AmendVisit": func(ctx context.Context) error {
			_, err := f.history.AmendVisit(ctx, payment(v.GetId(), version))
			if err == nil {
				version++
			}
			return err
		},
		"RecordCommunication": func(ctx context.Context) error {
			_, err := f.history.RecordCommunication(ctx, &historyv1.RecordCommunicationRequest{OwnerId: ownerID, Communication: &historyv1.Communication{
				Channel: historyv1.Channel_CHANNEL_EMAIL, Direction: historyv1.Direction_DIRECTION_OUTBOUND, Subject: "Reminder",
			}})
			return err
		},
		"ListOwnerCommunications": func(ctx context.Context) error {
			_, err := f.history.ListOwnerCommunications(ctx, &historyv1.ListOwnerCommunicationsRequest{OwnerId: ownerID})
			return err
		},
		"ListOwnerTimeline": func(ctx context.Context) error {
			_, err := f.history.ListOwnerTimeline(ctx, &historyv1.ListOwnerTimelineRequest{OwnerId: ownerID})
			return err
		},
		"ExportOwnerHistory": func(ctx context.Context) error {
			s, err := f.history.ExportOwnerHistory(ctx, &historyv1.ExportOwnerHistoryRequest{OwnerId: ownerID})
			if err != nil {
				return err
			}
			for {
				if _, err := s.Recv(); err != nil {
					if errors.Is(err, io.EOF) {
						return nil
					}
					return err
				}
			}
		},
	}
	const (
		vet = auth.RoleVeterinarian
		nur = auth.RoleNurse
		rec = auth.RoleReception
		bil = auth.RoleBilling
		mgr = auth.RoleClinicManager
	)
	allowed := map[string][]auth.Role{
		"RecordVisit":             {vet, nur},
		"ListPatientVisits":       {vet, nur, rec, mgr, bil},
		"GetVisit":                {vet, nur, rec, mgr, bil},
		"AmendVisit":              {vet, nur, bil},
		"RecordCommunication":     {vet, nur, rec, mgr},
		"ListOwnerCommunications": {vet, nur, rec, mgr},
		"ListOwnerTimeline":       {vet, nur, rec, mgr, bil},
		"ExportOwnerHistory":      {vet, nur, rec, mgr},
	}
	// The maintainer reads, with a stated purpose only, and writes nothing.
	maintainerReads := []string{"ListPatientVisits", "GetVisit", "ListOwnerCommunications", "ListOwnerTimeline", "ExportOwnerHistory"}
	for rpc, call := range calls {
		for _, role := range auth.Roles() {
			tok := f.env.Token(t, role)
			want := codes.PermissionDenied
			if slices.Contains(allowed[rpc], role) {
				want = codes.OK
			}
			if got := status.Code(call(auth.WithOutgoingToken(t.Context(), tok, ""))); got != want {
				t.Errorf("%s as %s: %v, want %v", rpc, role, got, want)
			}
			if role == auth.RoleMaintainer && slices.Contains(maintainerReads, rpc) {
				if got := status.Code(call(auth.WithOutgoingToken(t.Context(), tok, "support case 7"))); got != codes.OK {
					t.Errorf("%s as maintainer with a purpose: %v", rpc, got)
				}
			}
		}
	}
}

// TestDeniedReadNamesTheOwner: a read the policy refuses is audited about the owner its
// request names, unary or streamed, so that the owner's access report shows the attempt.
func TestDeniedReadNamesTheOwner(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	partner := f.as(t, auth.RolePartner)
	for name, call := range map[string]func() error{
		"timeline": func() error {
			_, err := f.history.ListOwnerTimeline(partner, &historyv1.ListOwnerTimelineRequest{OwnerId: ownerID})
			return err
		},
		"export": func() error {
			stream, err := f.history.ExportOwnerHistory(partner, &historyv1.ExportOwnerHistoryRequest{OwnerId: ownerID})
			if err == nil {
				_, err = stream.Recv()
			}
			return err
		},
	} {
		if err := call(); status.Code(err) != codes.PermissionDenied {
			t.Fatalf("partner's %s: %v, want PERMISSION_DENIED", name, err)
		}
	}
	f.histSv.Stop()
	events := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase).Collection("audit_events")
	denied, err := events.CountDocuments(t.Context(), bson.M{"outcome": "denied"})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := events.CountDocuments(t.Context(), bson.M{"outcome": "denied", "subject_owner_id": ownerID})
	if err != nil {
		t.Fatal(err)
	}
	if denied != 2 || mine != 2 {
		t.Errorf("denied events: %d, of them about the owner: %d; want 2 and 2", denied, mine)
	}
}

// TestBillingSeesInvoicesOnly: billing reads invoice references and their state, no
// clinical text, and may correct invoices but nothing else.
func TestBillingSeesInvoicesOnly(t *testing.T) {
	f := setup(t)
	pet := f.newPatient(t, f.newOwner(t), "Nappi")
	v := f.recordVisit(t, pet.GetId(), time.Time{})
	billing := f.as(t, auth.RoleBilling)
	_, err := f.history.AmendVisit(billing, &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 1, Reason: "x", Visit: &historyv1.Visit{Findings: "x"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings", "invoices"}},
	})
	wantCode(t, err, codes.PermissionDenied)
	if _, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 1, Reason: "wrong leg", Visit: &historyv1.Visit{Findings: "Right hock."},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}},
	}); err != nil {
		t.Fatal(err)
	}
	paid, err := f.history.AmendVisit(billing, &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 2, Reason: "paid at the desk",
		Visit:      &historyv1.Visit{Invoices: []*historyv1.InvoiceReference{{Number: "2026-118", State: historyv1.InvoiceState_INVOICE_STATE_PAID}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"invoices"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if paid.GetVisit().GetFindings() != "" || paid.GetVisit().GetInvoices()[0].GetState() != historyv1.InvoiceState_INVOICE_STATE_PAID {
		t.Errorf("billing's answer: %v", paid.GetVisit())
	}
	got, err := f.history.GetVisit(billing, &historyv1.GetVisitRequest{VisitId: v.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	for _, view := range []*historyv1.Visit{got.GetVisit(), got.GetOriginal()} {
		if view.GetFindings() != "" || view.GetReason() != "" || view.GetDiagnoses() != nil || view.GetMedications() != nil || view.GetStaff() != nil {
			t.Errorf("clinical data in billing's view: %v", view)
		}
	}
	if len(got.GetAmendments()) != 1 || got.GetAmendments()[0].GetVersion() != 3 || got.GetAmendments()[0].GetReason() != "" {
		t.Errorf("billing's trail: %v", got.GetAmendments())
	}
	list, err := f.history.ListOwnerTimeline(billing, &historyv1.ListOwnerTimelineRequest{OwnerId: pet.GetOwnerId()})
	if err != nil || len(list.GetEntries()) != 1 || list.GetEntries()[0].GetVisit().GetFindings() != "" ||
		len(list.GetEntries()[0].GetVisit().GetInvoices()) != 1 {
		t.Errorf("billing's timeline: %v, %v", list, err)
	}
}

// TestReadsAndWritesAreAudited: each read says who read which owner's history and why.
func TestReadsAndWritesAreAudited(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	pet := f.newPatient(t, ownerID, "Nappi")
	v := f.recordVisit(t, pet.GetId(), time.Time{})
	maint := auth.WithOutgoingToken(t.Context(), f.env.Token(t, auth.RoleMaintainer), "support case 7")
	if _, err := f.history.GetVisit(maint, &historyv1.GetVisitRequest{VisitId: v.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.history.ListPatientVisits(f.as(t, auth.RoleReception), &historyv1.ListPatientVisitsRequest{PatientId: pet.GetId()}); err != nil {
		t.Fatal(err)
	}
	f.histSv.Stop() // drains the audit queue
	got := f.auditEvents(t, ownerID, func(e bson.M) string {
		return fmt.Sprintf("%v %v %v %v", e["action"], e["resource"], e["actor_subject"], e["purpose"])
	})
	for _, want := range []string{
		"visit.create visits/" + v.GetId() + " test-veterinarian <nil>",
		"visit.read visits/" + v.GetId() + " test-maintainer support case 7",
		"visit.list patients/" + pet.GetId() + "/visits test-reception <nil>",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("audit events %q lack %q", got, want)
		}
	}
}

// TestTimelinePagingUnderConcurrentInserts pages through an owner's timeline and
// communications while visits and communications are recorded: every entry that
// existed before comes exactly once, in the timeline's order (a visit before a
// communication at the same instant).
func TestTimelinePagingUnderConcurrentInserts(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	pet := f.newPatient(t, ownerID, "Nappi")
	reception := f.as(t, auth.RoleReception)
	base := time.Now().UTC().Add(-500 * time.Hour).Truncate(time.Millisecond)
	record := func(ctx context.Context, at time.Time) (string, error) {
		res, err := f.history.RecordCommunication(ctx, &historyv1.RecordCommunicationRequest{OwnerId: ownerID, Communication: &historyv1.Communication{
			Channel: historyv1.Channel_CHANNEL_LETTER, Direction: historyv1.Direction_DIRECTION_OUTBOUND, Subject: "Reminder", Time: timestamppb.New(at),
		}})
		return res.GetCommunication().GetId(), err
	}
	existing, comms := map[string]bool{}, map[string]bool{}
	for i := range 12 {
		at := base.Add(time.Duration(i/2) * time.Hour) // two entries of each kind per instant
		existing[f.recordVisit(t, pet.GetId(), at).GetId()] = true
		id, err := record(reception, at)
		if err != nil {
			t.Fatal(err)
		}
		existing[id], comms[id] = true, true
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 6 {
			at := base.Add(time.Duration(i)*time.Hour + time.Duration(i%2)*time.Minute)
			if _, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: visit(at)}); err != nil {
				t.Errorf("concurrent visit: %v", err)
			}
			if _, err := record(reception, at); err != nil {
				t.Errorf("concurrent communication: %v", err)
			}
		}
	})
	seen := map[string]bool{}
	var last *key
	for token, page := "", 0; ; page++ {
		res, err := f.history.ListOwnerTimeline(reception, &historyv1.ListOwnerTimelineRequest{OwnerId: ownerID, PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.GetEntries() {
			k := key{kind: 1, id: e.GetCommunication().GetId()}
			if v := e.GetVisit(); v != nil {
				k = key{at: v.GetStartTime().AsTime(), id: v.GetId()}
			} else {
				k.at = e.GetCommunication().GetTime().AsTime()
			}
			if seen[k.id] {
				t.Fatalf("entry listed twice on page %d", page)
			}
			seen[k.id] = true
			if last != nil && !last.before(k) {
				t.Fatalf("page %d out of order: %+v then %+v", page, *last, k)
			}
			last = &k
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	var pagedComms []string
	for token := ""; ; {
		res, err := f.history.ListOwnerCommunications(reception, &historyv1.ListOwnerCommunicationsRequest{OwnerId: ownerID, PageSize: 4, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.GetCommunications() {
			pagedComms = append(pagedComms, c.GetId())
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	wg.Wait()
	for id := range existing {
		if !seen[id] {
			t.Errorf("timeline entry %s was skipped", id)
		}
	}
	for id := range comms {
		if !slices.Contains(pagedComms, id) {
			t.Errorf("communication %s was skipped", id)
		}
	}
	slices.Sort(pagedComms)
	if len(slices.Compact(pagedComms)) != len(pagedComms) {
		t.Error("a communication was listed twice")
	}
}

// key is a timeline entry's place in the order: newest first, a visit (kind 0) before a
// communication (kind 1) at the same instant, then by id descending.
type key struct {
	at   time.Time
	kind int
	id   string
}

func (a key) before(b key) bool {
	if !a.at.Equal(b.at) {
		return a.at.After(b.at)
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.id > b.id
}

// auditEvents reads the owner's audit events from the store, each as format puts it.
func (f *fixture) auditEvents(t *testing.T, ownerID string, format func(bson.M) string) []string {
	t.Helper()
	c := embeddedtest.Client(t, f.env.Store.URI())
	cur, err := c.Database(historyDatabase).Collection("audit_events").Find(t.Context(), bson.M{"subject_owner_id": ownerID})
	if err != nil {
		t.Fatal(err)
	}
	var events []bson.M
	if err := cur.All(t.Context(), &events); err != nil {
		t.Fatal(err)
	}
	return protomap.All(events, format)
}
