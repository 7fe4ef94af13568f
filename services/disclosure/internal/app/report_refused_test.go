package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// notCompletedID is the id of the event that follows the access_request.report of copy
// copyID of request requestID when the copy was not given.
func notCompletedID(requestID, copyID string) string {
	return "accessRequests/" + requestID + "/report/" + copyID + "/not_completed"
}

// notCompletedAudits are the ids of request requestID's access_request.report events
// denied NOT_COMPLETED, in id order.
func notCompletedAudits(t *testing.T, db *mongo.Database, requestID string) []string {
	t.Helper()
	cur, err := db.Collection(audit.Collection).Find(t.Context(), bson.M{
		"action": "access_request.report", "resource": "accessRequests/" + requestID,
		"outcome": audit.OutcomeDenied, "reason": string(domain.RefusalNotCompleted),
	}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var events []audit.Event
	if err := cur.All(t.Context(), &events); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	return ids
}

// refusingStore refuses the owner's pending log entries, as the owner's erasure does,
// once, at one of a copy's steps: right after its audit records are stored, or just
// before its answer write.
type refusingStore struct {
	*disclosuremongo.Repository
	at     string
	reason domain.RefusalReason
}

func (s *refusingStore) refuse(ctx context.Context, step string) error {
	if s.at != step {
		return nil
	}
	s.at = ""
	_, err := s.RefusePending(ctx, racingOwnerID, domain.Refusal{Reason: s.reason}, nil)
	return err
}

func (s *refusingStore) AnswerAccessRequest(ctx context.Context, id string, at time.Time) (domain.AccessRequest, error) {
	if err := s.refuse(ctx, "answer"); err != nil {
		return domain.AccessRequest{}, err
	}
	return s.Repository.AnswerAccessRequest(ctx, id, at)
}

type refusingAuditor struct {
	*audit.Writer
	store *refusingStore
}

func (a refusingAuditor) RecordNow(ctx context.Context, events ...audit.Event) error {
	if err := a.Writer.RecordNow(ctx, events...); err != nil {
		return err
	}
	return a.store.refuse(ctx, "audit")
}

// TestReportCopyWhoseEntryWasRefused: the owner's erasure refuses the copy's pending log
// entry while the copy is being made. The copy is answered FAILED_PRECONDITION
// OWNER_RESTRICTED with nothing (on the old code ABORTED, "send it again"), the
// log holds its entry refused OWNER_RESTRICTED, and its access_request.report is
// followed by one denied NOT_COMPLETED. Refused before the copy reads its entry again
// ahead of the answer, the request stays received with no proposal; refused during the
// answer write (the window DATA_PROTECTION names), the request is answered at the time
// the copy would have stated. On the old code the copy refused before the answer still
// answered the request, and no copy refused was audited not completed.
func TestReportCopyWhoseEntryWasRefused(t *testing.T) {
	for _, tc := range []struct {
		at       string
		reason   domain.RefusalReason
		answered bool
	}{
		{at: "audit", reason: domain.RefusalOwnerRestricted},
		{at: "answer", reason: domain.RefusalOwnerRestricted, answered: true},
		{at: "answer", reason: domain.RefusalNotCompleted, answered: true},
	} {
		t.Run(tc.at+" "+string(tc.reason), func(t *testing.T) {
			db, writer := servicetest.AuditedDB(t, "disclosure_report_refused")
			store := &refusingStore{Repository: disclosuremongo.New(db), at: tc.at, reason: tc.reason}
			clock := &tickingClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			svc, err := app.New(store, app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}, refusingAuditor{writer, store}, app.Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
			req := recordReportRequest(t, ctx, svc)
			given, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
			if given.Body != nil || given.Disclosure.ID != "" {
				t.Fatalf("copy whose entry was refused: %d bytes, log entry %q; want nothing", len(given.Body), given.Disclosure.ID)
			}
			// Refused by the owner's erasure, the client is told why, not to send it
			// again; closed by the retention sweep, to ask again.
			st := status.Convert(apperr.ToStatus(t.Context(), nil, err))
			want := "the report of access request " + req.ID + " was not given: its log entry was refused OWNER_RESTRICTED meanwhile"
			code := codes.FailedPrecondition
			if tc.reason == domain.RefusalNotCompleted {
				want = "the report of access request " + req.ID + " was not given: its log entry was closed meanwhile; ask for the report again"
				code = codes.Aborted
			}
			if st.Code() != code || st.Message() != want {
				t.Fatalf("copy whose entry was refused: %v; want %s %q", st, code, want)
			}
			if code == codes.FailedPrecondition && servicetest.ReasonOf(t, st.Err(), code) != string(tc.reason) {
				t.Fatalf("copy whose entry was refused: %v; want the reason %s", st, tc.reason)
			}
			log := ownerLog(t, store)
			if len(log) != 1 || log[0].Outcome != "refused "+string(tc.reason) {
				t.Fatalf("the owner's log holds %+v, want the copy refused %s", log, tc.reason)
			}
			if got, want := notCompletedAudits(t, db, req.ID), []string{notCompletedID(req.ID, log[0].ID)}; !slices.Equal(got, want) {
				t.Errorf("access reports audited not completed: %q, want %q", got, want)
			}
			stored, err := store.AccessRequest(t.Context(), req.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := stored.Status == domain.AccessAnswered; got != tc.answered {
				t.Errorf("the register holds the request %s at %v, answered %v; want answered %v", stored.Status, stored.AnsweredAt, got, tc.answered)
			}
			if !tc.answered && stored.Proposal != (domain.AnswerProposal{}) {
				t.Errorf("the register keeps the copy's proposal %+v", stored.Proposal)
			}
		})
	}
}
