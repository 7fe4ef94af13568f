package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// overlappingStore makes a second copy of the report (a client's retry, or the HTML
// copy asked for with the JSON one) while the first copy answers the request: its
// first AnswerAccessRequest runs second before it writes.
type overlappingStore struct {
	*disclosuremongo.Repository
	// second runs once; the copies share one goroutine, the second inside the first.
	second func()
}

func (s *overlappingStore) AnswerAccessRequest(ctx context.Context, id string, at time.Time) (domain.AccessRequest, error) {
	if second := s.second; second != nil {
		s.second = nil
		second()
	}
	return s.Repository.AnswerAccessRequest(ctx, id, at)
}

// TestOverlappingReportCopiesStateTheStoredAnswerTime: two copies of an access report
// made at once each state the answer time the register holds for the request (the
// first answer's), not the time each copy was made (the clock moves on at each read),
// and each is logged with the hash of exactly the bytes given.
func TestOverlappingReportCopiesStateTheStoredAnswerTime(t *testing.T) {
	db, writer := servicetest.AuditedDB(t, "disclosure_report_answer")
	store := &overlappingStore{Repository: disclosuremongo.New(db)}
	clock := &tickingClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc, err := app.New(store, app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}, writer, app.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
	req, err := svc.RecordAccessRequest(ctx, "", domain.AccessRequest{
		OwnerID: racingOwnerID, ReceivedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Channel: domain.ChannelLetter,
		Identification: domain.IdentifiedRegisteredContact, IdentifiedBy: "staff-1", Language: domain.LanguageFinnish,
	})
	if err != nil {
		t.Fatal(err)
	}
	var second app.GivenReport
	var secondErr error
	store.second = func() { second, secondErr = svc.AccessReport(ctx, req.ID, app.ReportJSON, "") }
	first, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
	if err != nil || secondErr != nil {
		t.Fatalf("copies: %v, %v", err, secondErr)
	}
	stored, err := store.AccessRequest(t.Context(), req.ID)
	if err != nil || stored.AnsweredAt.IsZero() {
		t.Fatalf("stored request: %+v %v", stored, err)
	}
	for name, given := range map[string]app.GivenReport{"first": first, "second": second} {
		var rep struct {
			AccessRequests []struct {
				ID         string
				Status     string
				AnsweredAt time.Time
			}
		}
		if err := json.Unmarshal(given.Body, &rep); err != nil || len(rep.AccessRequests) != 1 {
			t.Fatalf("%s copy: %v %s", name, err, given.Body)
		}
		if got := rep.AccessRequests[0]; got.Status != "answered" || !got.AnsweredAt.Equal(stored.AnsweredAt) {
			t.Errorf("%s copy states the request %s at %v, the register holds answered at %v", name, got.Status, got.AnsweredAt, stored.AnsweredAt)
		}
		logged, err := store.Record(t.Context(), given.Disclosure.ID)
		sum := sha256.Sum256(given.Body)
		if err != nil || logged.PayloadSHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s copy logged with hash %q (%v), its bytes hash to %x", name, logged.PayloadSHA256, err, sum)
		}
	}
}
