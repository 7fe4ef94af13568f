package history_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
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

// TestVisitGoesToTheOwnerOfItsDay: a visit is written up afterwards; one from before the
// animal was sold is the former owner's (their timeline and export, not the buyer's),
// one from after the buyer's.
func TestVisitGoesToTheOwnerOfItsDay(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(sold) time.Time
		owner func(sold) string
	}{
		{"before the sale, written up after it", func(s sold) time.Time { return s.before }, func(s sold) string { return s.first }},
		{"at the sale", func(s sold) time.Time { return s.after }, func(s sold) string { return s.second }},
		{"now", func(sold) time.Time { return time.Time{} }, func(s sold) string { return s.second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			s := f.sell(t, false)
			v := f.recordVisit(t, s.pet.GetId(), tc.start(s))
			want, other := tc.owner(s), s.first
			if want == s.first {
				other = s.second
			}
			if v.GetOwnerId() != want {
				t.Errorf("visit recorded under %v, want %v", v.GetOwnerId(), want)
			}
			if got := f.timeline(t, want); !slices.Equal(got, []string{v.GetId()}) {
				t.Errorf("the owner of the day's timeline: %v, want the visit", got)
			}
			if got := f.timeline(t, other); len(got) != 0 {
				t.Errorf("the other owner's timeline: %v, want nothing", got)
			}
			visits, _ := f.export(t, f.as(t, auth.RoleClinicManager), want, func(*historyv1.VisitRecord) {})
			if !slices.Equal(visits, []string{v.GetId()}) {
				t.Errorf("the owner of the day's export: %v, want the visit", visits)
			}
		})
	}
}

// TestCorrectedStartTimeMovesTheVisit: a start time corrected to the other side of the
// sale moves the visit to the owner of that day, and the correction is in both owners'
// access reports; corrected back, it returns.
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
			Visit:      &historyv1.Visit{StartTime: timestamppb.New(step.start)},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"start_time"}},
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
// a visit from their days with the animal, written up or moved there after the sale, is
// refused as any addition to an erased owner's history is.
func TestNothingIsAddedForAnErasedOwnerOfTheDay(t *testing.T) {
	f := setup(t)
	s := f.sell(t, true)
	vet := f.as(t, auth.RoleVeterinarian)
	_, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: s.pet.GetId(), Visit: visit(s.before)})
	if got := reason(t, err); got != "OWNER_ERASED" {
		t.Errorf("a visit of the erased owner's day: reason %s, want OWNER_ERASED", got)
	}
	v := f.recordVisit(t, s.pet.GetId(), time.Time{})
	_, err = f.history.AmendVisit(vet, &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 1, Reason: "wrong day",
		Visit:      &historyv1.Visit{StartTime: timestamppb.New(s.before)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"start_time"}},
	})
	if got := reason(t, err); got != "OWNER_ERASED" {
		t.Errorf("a visit moved to the erased owner's day: reason %s, want OWNER_ERASED", got)
	}
	if got := f.timeline(t, s.second); !slices.Equal(got, []string{v.GetId()}) {
		t.Errorf("the buyer's timeline: %v, want the visit, unmoved", got)
	}
}
