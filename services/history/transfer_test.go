package history_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// sold is a patient registered under its first owner and then sold to a second.
type sold struct {
	first, second string
	pet           *ownerv1.Patient
	// before is an instant the first owner had the patient (its registration), after
	// one the second has it (the sale's).
	before, after time.Time
}

// sell registers a patient under a new owner and transfers it to another one. erasedFirst
// erases the first owner's history before the sale.
func (f *fixture) sell(t *testing.T, erasedFirst bool) sold {
	t.Helper()
	s := sold{first: f.newOwner(t), second: f.newOwner(t)}
	s.pet = f.newPatient(t, s.first, "Nappi")
	if erasedFirst {
		if _, err := f.history.EraseOwnerData(f.as(t, auth.RoleClinicManager), &historyv1.EraseOwnerDataRequest{OwnerId: s.first, RequestId: jobOne}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.owners.TransferPatient(f.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: s.pet.GetId(), NewOwnerId: s.second, Version: s.pet.GetVersion(), Reason: "sold",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.before, s.after = s.pet.GetCreateTime().AsTime(), res.GetPatient().GetUpdateTime().AsTime()
	if !s.after.After(s.before) {
		t.Fatalf("the sale at %v is not after the registration at %v", s.after, s.before)
	}
	return s
}

// timeline returns the ids of the visits on the owner's timeline.
func (f *fixture) timeline(t *testing.T, ownerID string) []string {
	t.Helper()
	res, err := f.history.ListOwnerTimeline(f.as(t, auth.RoleClinicManager), &historyv1.ListOwnerTimelineRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range res.GetEntries() {
		if v := e.GetVisit(); v != nil {
			ids = append(ids, v.GetId())
		}
	}
	return ids
}

// recordFor records a visit starting at start (now if zero) filed under owner ("" to
// leave it to the service).
func (f *fixture) recordFor(t *testing.T, patientID string, start time.Time, owner string) (*historyv1.Visit, error) {
	t.Helper()
	in := visit(start)
	in.OwnerId = owner
	res, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{PatientId: patientID, Visit: in})
	return res.GetVisit(), err
}

// refusedForOwner checks that err is FAILED_PRECONDITION OWNER_CHANGED_SINCE_VISIT
// about visit.owner_id.
func refusedForOwner(t *testing.T, err error) {
	t.Helper()
	if got := reason(t, err); got != "OWNER_CHANGED_SINCE_VISIT" {
		t.Errorf("reason %s, want OWNER_CHANGED_SINCE_VISIT", got)
	}
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && slices.ContainsFunc(br.GetFieldViolations(), func(v *errdetails.BadRequest_FieldViolation) bool {
			return v.GetField() == "visit.owner_id"
		}) {
			return
		}
	}
	t.Errorf("the refusal names no visit.owner_id violation: %v", st.Details())
}

// TestVisitAfterATransferNamesItsOwner: a transfer is dated when reception records it,
// which may be after the sale (the buyer at the desk, the visit written up with the
// appointment's start, before it). A visit whose start has another owner by the
// transfers than the patient has now is not guessed: the caller names one of the two;
// without a transfer since, nothing changes (owner_id may be left out, or name the
// owner now).
func TestVisitAfterATransferNamesItsOwner(t *testing.T) {
	f := setup(t)
	s := f.sell(t, false)
	third := f.newOwner(t)
	for _, tc := range []struct {
		name    string
		start   time.Time
		named   string
		want    string // the owner it is filed under; "" when refused
		invalid bool   // refused INVALID_ARGUMENT, else FAILED_PRECONDITION
	}{
		{"no transfer since, owner left out", s.after, "", s.second, false},
		{"no transfer since, the owner now named", time.Time{}, s.second, s.second, false},
		{"no transfer since, the former owner named", time.Time{}, s.first, "", true},
		{"the desk: before the sale's record, owner left out", s.before, "", "", false},
		{"the desk: the buyer named", s.before, s.second, s.second, false},
		{"written up after the sale: the seller named", s.before, s.first, s.first, false},
		{"before the sale, another owner named", s.before, third, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := f.recordFor(t, s.pet.GetId(), tc.start, tc.named)
			switch {
			case tc.want == "" && tc.invalid:
				if got := violations(t, err); !slices.Equal(got, []string{"visit.owner_id"}) {
					t.Errorf("violations %v, want visit.owner_id", got)
				}
				return
			case tc.want == "":
				refusedForOwner(t, err)
				return
			case err != nil:
				t.Fatalf("refused: %v", err)
			}
			if v.GetOwnerId() != tc.want {
				t.Errorf("filed under %v, want %v", v.GetOwnerId(), tc.want)
			}
			other := map[string]string{s.first: s.second, s.second: s.first}[tc.want]
			if got := f.timeline(t, tc.want); !slices.Contains(got, v.GetId()) {
				t.Errorf("the owner's timeline %v lacks the visit", got)
			}
			if visits, _ := f.export(t, f.as(t, auth.RoleClinicManager), other, func(*historyv1.VisitRecord) {}); slices.Contains(visits, v.GetId()) {
				t.Errorf("the other owner's export holds the visit")
			}
		})
	}
	// The refusals wrote nothing: each owner has only the visits filed under them.
	if got := len(f.timeline(t, s.first)); got != 1 {
		t.Errorf("the seller's timeline has %d visits, want the one named theirs", got)
	}
	if got := len(f.timeline(t, third)); got != 0 {
		t.Errorf("the third owner's timeline has %d visits, want none", got)
	}
}

// unnameTransfer makes the patient's transfer at changes[i] one recorded before the change
// history named the owners of a transfer.
func (f *fixture) unnameTransfer(t *testing.T, patientID string, i int) {
	t.Helper()
	c := embeddedtest.Client(t, f.env.Store.URI())
	if _, err := c.Database(ownerDatabase).Collection("patients").UpdateOne(t.Context(),
		bson.M{"_id": patientID}, bson.M{"$unset": bson.M{fmt.Sprintf("changes.%d.values", i): ""}}); err != nil {
		t.Fatal(err)
	}
}

// TestUnnamedTransfer: a transfer recorded before the change history named its owners
// lies after the visit's start: whose the visit was cannot be told, and the caller names
// the owner now (the former one cannot be checked). A correction of a visit recorded
// before it that crosses no transfer keeps its owner.
func TestUnnamedTransfer(t *testing.T) {
	f := setup(t)
	seller, buyer := f.newOwner(t), f.newOwner(t)
	pet := f.newPatient(t, seller, "Nappi")
	start := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Millisecond)
	earlier := f.recordVisit(t, pet.GetId(), start)
	if _, err := f.owners.TransferPatient(f.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: pet.GetId(), NewOwnerId: buyer, Version: pet.GetVersion(), Reason: "sold",
	}); err != nil {
		t.Fatal(err)
	}
	f.unnameTransfer(t, pet.GetId(), 1)

	_, err := f.recordFor(t, pet.GetId(), start, "")
	refusedForOwner(t, err)
	_, err = f.recordFor(t, pet.GetId(), start, seller)
	if got := violations(t, err); !slices.Equal(got, []string{"visit.owner_id"}) {
		t.Errorf("the seller named: violations %v, want visit.owner_id", got)
	}
	v, err := f.recordFor(t, pet.GetId(), start, buyer)
	if err != nil || v.GetOwnerId() != buyer {
		t.Errorf("the buyer named: %v under %v, want the buyer's visit", err, v.GetOwnerId())
	}

	res, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
		VisitId: earlier.GetId(), Version: 1, Reason: "started ten minutes earlier",
		Visit:      &historyv1.Visit{StartTime: timestamppb.New(start.Add(-10 * time.Minute))},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"start_time"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.GetVisit().GetOwnerId(); got != seller {
		t.Errorf("the seller's visit, its time corrected, is under %v, want the seller", got)
	}
}

// TestCorrectedStartTimeMovesTheVisit: a start time corrected to the other side of the
// sale, naming the owner of that day, moves the visit to them, and the correction is in
// both owners' access reports; corrected back, it returns.
func TestCorrectedStartTimeMovesTheVisit(t *testing.T) {
	f := setup(t)
	s := f.sell(t, false)
	v := f.recordVisit(t, s.pet.GetId(), time.Time{})
	vet := f.as(t, auth.RoleVeterinarian)
	for i, step := range []struct {
		start       time.Time
		owner, left string
	}{
		{s.before, s.first, s.second},
		{s.after, s.second, s.first},
	} {
		res, err := f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{
			VisitId: v.GetId(), Version: int64(i + 1), Reason: "wrong day",
			Visit:      &historyv1.Visit{StartTime: timestamppb.New(step.start), OwnerId: step.owner},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"start_time", "owner_id"}},
		})
		if err != nil {
			t.Fatalf("correction %d: %v", i+1, err)
		}
		if got := res.GetVisit().GetOwnerId(); got != step.owner {
			t.Errorf("correction %d: visit under %v, want %v", i+1, got, step.owner)
		}
		if got := f.timeline(t, step.owner); !slices.Equal(got, []string{v.GetId()}) {
			t.Errorf("correction %d: the owner of the new day's timeline: %v, want the visit", i+1, got)
		}
		if got := f.timeline(t, step.left); len(got) != 0 {
			t.Errorf("correction %d: the timeline of the owner it left: %v, want nothing", i+1, got)
		}
	}
	f.histSv.Stop() // drains the audit queue
	for _, owner := range []string{s.first, s.second} {
		amends := f.auditEvents(t, owner, func(e bson.M) string { return fmt.Sprint(e["action"], " ", e["outcome"]) })
		if n := len(slices.DeleteFunc(amends, func(a string) bool { return a != "visit.amend success" })); n != 2 {
			t.Errorf("owner %s: %d visit.amend events, want both corrections", owner, n)
		}
	}
}

// TestCorrectionAcrossATransferNamesTheOwner: a start time corrected to the other side
// of the sale never moves the visit by itself: without owner_id it is refused, naming
// the owner of either side it is filed under them.
func TestCorrectionAcrossATransferNamesTheOwner(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
		named func(sold) string
		want  func(sold) string // "" when refused
	}{
		{"owner left out", []string{"start_time"}, func(sold) string { return "" }, func(sold) string { return "" }},
		{"the seller named", []string{"start_time", "owner_id"}, func(s sold) string { return s.first }, func(s sold) string { return s.first }},
		{"the buyer named", []string{"start_time", "owner_id"}, func(s sold) string { return s.second }, func(s sold) string { return s.second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			s := f.sell(t, false)
			v := f.recordVisit(t, s.pet.GetId(), time.Time{})
			res, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
				VisitId: v.GetId(), Version: 1, Reason: "wrong day",
				Visit:      &historyv1.Visit{StartTime: timestamppb.New(s.before), OwnerId: tc.named(s)},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: tc.paths},
			})
			want := tc.want(s)
			if want == "" {
				refusedForOwner(t, err)
				if got := f.timeline(t, s.second); !slices.Equal(got, []string{v.GetId()}) {
					t.Errorf("the buyer's timeline %v, want the visit, unmoved", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.GetVisit().GetOwnerId(); got != want || !res.GetVisit().GetStartTime().AsTime().Equal(s.before) {
				t.Errorf("corrected to %v under %v, want %v under %v", res.GetVisit().GetStartTime().AsTime(), got, s.before, want)
			}
			if got := f.timeline(t, want); !slices.Equal(got, []string{v.GetId()}) {
				t.Errorf("the named owner's timeline %v, want the visit", got)
			}
		})
	}
}

// TestInvalidStartTimeIsRefusedBeforeItsOwner: a start time corrected into the future is
// invalid whoever would have owned the animal then, an erased owner too: no owner is
// looked up, and no refusal is audited about anyone.
func TestInvalidStartTimeIsRefusedBeforeItsOwner(t *testing.T) {
	f := setup(t)
	s := f.sell(t, false)
	v, err := f.recordFor(t, s.pet.GetId(), s.before, s.first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.history.EraseOwnerData(f.as(t, auth.RoleClinicManager), &historyv1.EraseOwnerDataRequest{OwnerId: s.second, RequestId: jobOne}); err != nil {
		t.Fatal(err)
	}
	for _, paths := range [][]string{{"start_time"}, {"start_time", "owner_id"}} {
		_, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
			VisitId: v.GetId(), Version: 1, Reason: "typo",
			Visit:      &historyv1.Visit{StartTime: timestamppb.New(time.Now().Add(24 * time.Hour)), OwnerId: s.second},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
		})
		if got := violations(t, err); !slices.Equal(got, []string{"visit.start_time"}) {
			t.Errorf("%v: violations %v, want visit.start_time", paths, got)
		}
	}
	f.histSv.Stop() // drains the audit queue
	for _, owner := range []string{s.first, s.second} {
		amends := f.auditEvents(t, owner, func(e bson.M) string { return fmt.Sprint(e["action"]) })
		if slices.Contains(amends, "visit.amend") {
			t.Errorf("owner %s: a visit.amend event about the invalid correction", owner)
		}
	}
}

// TestCommunicationAboutTheFormerPet: a call with the former owner about their animal,
// made before the sale and written up after it, is theirs; one made after is refused.
func TestCommunicationAboutTheFormerPet(t *testing.T) {
	f := setup(t)
	s := f.sell(t, false)
	for _, tc := range []struct {
		name   string
		at     time.Time
		reason string
	}{
		{"made before the sale", s.before, ""},
		{"made after it", time.Time{}, "PATIENT_OF_ANOTHER_OWNER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &historyv1.Communication{
				Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND,
				Subject: "Asks about the X-ray", PatientId: s.pet.GetId(),
			}
			if !tc.at.IsZero() {
				c.Time = timestamppb.New(tc.at)
			}
			_, err := f.history.RecordCommunication(f.as(t, auth.RoleReception), &historyv1.RecordCommunicationRequest{OwnerId: s.first, Communication: c})
			switch {
			case tc.reason == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.reason != "":
				if got := reason(t, err); got != tc.reason {
					t.Errorf("reason %s, want %s", got, tc.reason)
				}
			}
		})
	}
}

// TestNothingIsAddedForAnErasedOwnerOfTheDay: the first owner's history was erased;
// a visit from their days with the animal, written up or moved there after the sale
// under their name, is refused as any addition to an erased owner's history is.
func TestNothingIsAddedForAnErasedOwnerOfTheDay(t *testing.T) {
	f := setup(t)
	s := f.sell(t, true)
	vet := f.as(t, auth.RoleVeterinarian)
	_, err := f.recordFor(t, s.pet.GetId(), s.before, s.first)
	if got := reason(t, err); got != "OWNER_ERASED" {
		t.Errorf("a visit of the erased owner's day: reason %s, want OWNER_ERASED", got)
	}
	v := f.recordVisit(t, s.pet.GetId(), time.Time{})
	_, err = f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 1, Reason: "wrong day",
		Visit:      &historyv1.Visit{StartTime: timestamppb.New(s.before), OwnerId: s.first},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"start_time", "owner_id"}},
	})
	if got := reason(t, err); got != "OWNER_ERASED" {
		t.Errorf("a visit moved to the erased owner's day: reason %s, want OWNER_ERASED", got)
	}
	if got := f.timeline(t, s.second); !slices.Equal(got, []string{v.GetId()}) {
		t.Errorf("the buyer's timeline: %v, want the visit, unmoved", got)
	}
}

// TestRetryNamingAnotherOwnerIsRefused: a visit recorded under the buyer, its request
// retried naming the seller, is not that retry's visit (answered with it, the caller
// would take the seller's visit as recorded); retried naming the buyer or no one, it is.
func TestRetryNamingAnotherOwnerIsRefused(t *testing.T) {
	f := setup(t)
	s := f.sell(t, false)
	record := func(owner string) (*historyv1.Visit, error) {
		in := visit(s.before)
		in.OwnerId = owner
		res, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{PatientId: s.pet.GetId(), RequestId: "desk-1", Visit: in})
		return res.GetVisit(), err
	}
	first, err := record(s.second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, owner string
		reused      bool
	}{
		{"the buyer again", s.second, false},
		{"no one", "", false},
		{"the seller", s.first, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := record(tc.owner)
			if tc.reused {
				if got := reason(t, err); got != "REQUEST_ID_REUSED" {
					t.Errorf("reason %s, want REQUEST_ID_REUSED", got)
				}
				return
			}
			if err != nil || v.GetId() != first.GetId() || v.GetOwnerId() != s.second {
				t.Errorf("retry answered %v (%v), want the buyer's visit %s", v.GetId(), err, first.GetId())
			}
		})
	}
}

// TestOwnerCorrectedAlone: a visit filed under the seller that was the buyer's (the
// desk flow, filed wrongly) is moved by a correction naming owner_id alone, in both
// owners' timelines accordingly; an owner the patient never had at the visit's start
// nor has now is refused.
func TestOwnerCorrectedAlone(t *testing.T) {
	f := setup(t)
	s := f.sell(t, false)
	third := f.newOwner(t)
	v, err := f.recordFor(t, s.pet.GetId(), s.before, s.first)
	if err != nil {
		t.Fatal(err)
	}
	correct := func(owner string) (*historyv1.AmendVisitResponse, error) {
		return f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
			VisitId: v.GetId(), Version: 1, Reason: "the buyer's first visit",
			Visit: &historyv1.Visit{OwnerId: owner}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"owner_id"}},
		})
	}
	_, err = correct(third)
	if got := violations(t, err); !slices.Equal(got, []string{"visit.owner_id"}) {
		t.Errorf("a third owner: violations %v, want visit.owner_id", got)
	}
	res, err := correct(s.second)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.GetVisit().GetOwnerId(); got != s.second {
		t.Errorf("filed under %v, want the buyer", got)
	}
	if got := f.timeline(t, s.second); !slices.Equal(got, []string{v.GetId()}) {
		t.Errorf("the buyer's timeline %v, want the visit", got)
	}
	if got := f.timeline(t, s.first); len(got) != 0 {
		t.Errorf("the seller's timeline %v, want nothing", got)
	}
}

// TestRetriedMoveNamingAnotherOwnerIsRefused: a correction's retry (its request id)
// naming another owner than the correction did is another correction, refused as
// REQUEST_ID_REUSED, as RecordVisit refuses one; so is one naming no owner, which
// without the request id is INVALID_ARGUMENT. Naming the same owner it is answered with
// the first, which shows the owner it named and the one the visit left.
func TestRetriedMoveNamingAnotherOwnerIsRefused(t *testing.T) {
	f := setup(t)
	s := f.sell(t, false)
	v, err := f.recordFor(t, s.pet.GetId(), s.before, s.first)
	if err != nil {
		t.Fatal(err)
	}
	move := func(owner string) (*historyv1.AmendVisitResponse, error) {
		return f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
			VisitId: v.GetId(), Version: 1, Reason: "the buyer's first visit", RequestId: "move-1",
			Visit: &historyv1.Visit{OwnerId: owner}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"owner_id"}},
		})
	}
	if _, err := move(s.second); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, owner string
		reused      bool
	}{
		{"the buyer again", s.second, false},
		{"the seller", s.first, true},
		{"no owner", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := move(tc.owner)
			if tc.reused {
				if got := reason(t, err); got != "REQUEST_ID_REUSED" {
					t.Errorf("reason %s, want REQUEST_ID_REUSED", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := res.GetAmendment()
			if a.GetVersion() != 2 || a.GetCorrected().GetOwnerId() != s.second || a.GetMovedFromOwnerId() != s.first {
				t.Errorf("answered amendment %d moving from the seller=%v to the buyer=%v, want the first, from the seller to the buyer",
					a.GetVersion(), a.GetMovedFromOwnerId() == s.first, a.GetCorrected().GetOwnerId() == s.second)
			}
		})
	}
}
