package app_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/status"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// loggedCopy is an entry of the owner's disclosure log as the access report shows it.
type loggedCopy struct {
	ID      string
	Outcome string
}

// ownerLog is the owner's final log entries, newest first: what the owner's next copy
// of the report lists.
func ownerLog(t *testing.T, store domain.Repository) []loggedCopy {
	t.Helper()
	page, err := store.OwnerRecords(t.Context(), racingOwnerID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	out := []loggedCopy{}
	for _, r := range page.Items {
		c := loggedCopy{ID: r.ID, Outcome: "disclosed"}
		if r.Refusal != nil {
			c.Outcome = "refused " + string(r.Refusal.Reason)
		}
		out = append(out, c)
	}
	return out
}

// leavingStore ends the caller's context at one of a copy's writes (log, answer or
// final), before or after the write.
type leavingStore struct {
	*disclosuremongo.Repository
	at     string
	after  bool
	leave  context.CancelFunc
	copyID string
}

func (s *leavingStore) around(write string, do func() error) error {
	if s.at != write {
		return do()
	}
	if !s.after {
		s.leave()
	}
	err := do()
	s.leave()
	return err
}

func (s *leavingStore) AppendRecord(ctx context.Context, r domain.Record) (domain.Record, error) {
	var stored domain.Record
	s.copyID = r.ID
	err := s.around("log", func() (err error) {
		stored, err = s.Repository.AppendRecord(ctx, r)
		return err
	})
	return stored, err
}

func (s *leavingStore) AnswerAccessRequest(ctx context.Context, id string, at time.Time) (domain.AccessRequest, error) {
	var stored domain.AccessRequest
	err := s.around("answer", func() (err error) {
		stored, err = s.Repository.AnswerAccessRequest(ctx, id, at)
		return err
	})
	return stored, err
}

func (s *leavingStore) FinalizeRecord(ctx context.Context, id string, decided domain.Outcome, refused func(domain.Record) error) (domain.Record, bool, error) {
	var final domain.Record
	var won bool
	err := s.around("final", func() (err error) {
		final, won, err = s.Repository.FinalizeRecord(ctx, id, decided, refused)
		return err
	})
	return final, won, err
}

// leavingAuditor ends the caller's context just before the copy's audit records are
// stored, when the store's write is "audit".
type leavingAuditor struct {
	*audit.Writer
	store *leavingStore
}

func (a leavingAuditor) RecordNow(ctx context.Context, events ...audit.Event) error {
	if a.store.at == "audit" {
		a.store.leave()
	}
	return a.Writer.RecordNow(ctx, events...)
}

// TestReportCopyOnceLoggedDoesNotDependOnItsCaller: the client leaves (cancels, or its
// deadline passes) at one of a copy's writes. Before the copy's log entry is stored, or
// right after, the copy is not given: the register holds the request received with no
// proposal, and the log no copy, or the copy refused NOT_COMPLETED. From its audit
// records on, the copy is seen through: logged as disclosed, the request answered at
// the time it states. On the old code the answer write ran on the client's context:
// the request stayed received though its copy was logged as given.
func TestReportCopyOnceLoggedDoesNotDependOnItsCaller(t *testing.T) {
	for _, tc := range []struct {
		name  string
		at    string
		after bool
		given bool
		log   []string
	}{
		{name: "during the log write", at: "log", log: []string{}},
		{name: "after the log write", at: "log", after: true, log: []string{"refused NOT_COMPLETED"}},
		{name: "during the audit", at: "audit", given: true, log: []string{"disclosed"}},
		{name: "during the answer write", at: "answer", given: true, log: []string{"disclosed"}},
		{name: "after the answer write", at: "answer", after: true, given: true, log: []string{"disclosed"}},
		{name: "during the final write", at: "final", given: true, log: []string{"disclosed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, writer := servicetest.AuditedDB(t, "disclosure_report_leave")
			base := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
			ctx, leave := context.WithCancel(base)
			defer leave()
			store := &leavingStore{Repository: disclosuremongo.New(db), at: tc.at, after: tc.after, leave: leave}
			clock := &tickingClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			svc, err := app.New(store, app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}, leavingAuditor{writer, store}, app.Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			req := recordReportRequest(t, base, svc)
			given, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
			stored, rerr := store.AccessRequest(t.Context(), req.ID)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if tc.given {
				if err != nil || given.Disclosure.ID != store.copyID {
					t.Fatalf("copy: %v, log entry %q", err, given.Disclosure.ID)
				}
				if got := statedAnswer(t, given); stored.Status != domain.AccessAnswered || !stored.AnsweredAt.Equal(got.AnsweredAt) {
					t.Errorf("the copy given states answered at %v, the register holds %s at %v", got.AnsweredAt, stored.Status, stored.AnsweredAt)
				}
			} else {
				if err == nil || given.Body != nil {
					t.Fatalf("copy for a caller gone: %v, %d bytes", err, len(given.Body))
				}
				if stored.Status != domain.AccessReceived || stored.Proposal != (domain.AnswerProposal{}) {
					t.Errorf("the register holds %s at %v, proposal %+v; want received with none", stored.Status, stored.AnsweredAt, stored.Proposal)
				}
			}
			var got []string
			for _, c := range ownerLog(t, store) {
				got = append(got, c.Outcome)
			}
			if !slices.Equal(got, tc.log) {
				t.Errorf("the owner's log holds %q, want %q", got, tc.log)
			}
		})
	}
}

// TestReportCopyWhoseAnswerTimeWasReplaced: a copy logged and audited finds, at its
// answer write, its proposed time replaced by another replica's (whose clock runs
// ahead, so that the first proposal reads stale to it). The first copy is answered
// ABORTED with nothing, and the log says so: its entry refused NOT_COMPLETED, the
// refusal audited, never a disclosure the client did not get. The request is answered
// at the time of the copy that was given, or stays received with the other's proposal
// while that copy is being made. On the old code the first copy's entry stayed
// disclosed.
func TestReportCopyWhoseAnswerTimeWasReplaced(t *testing.T) {
	for _, tc := range []struct {
		name       string
		otherGiven bool
		// message is what the replaced copy's client is told, by what the request became.
		message string
	}{
		{name: "the other copy given", otherGiven: true, message: "access request %s was answered at another time meanwhile; ask for the report again"},
		{name: "the other copy being made", message: "another copy of the report of access request %s is being made at another time; ask for the report again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, writer := servicetest.AuditedDB(t, "disclosure_report_replaced")
			store := &overlappingStore{Repository: disclosuremongo.New(db)}
			peersOf := app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}
			clock := &tickingClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			ahead := &tickingClock{now: clock.now.Add(3 * time.Minute)}
			svc, err := app.New(store, peersOf, writer, app.Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			other, err := app.New(store.Repository, peersOf, writer, app.Options{Now: ahead.Now})
			if err != nil {
				t.Fatal(err)
			}
			ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
			req := recordReportRequest(t, ctx, svc)
			var second app.GivenReport
			var secondErr error
			otherAt := domain.AnswerProposal{At: ahead.Now(), CopyID: "other-copy"}
			// At the first copy's answer write, another replica, whose clock runs
			// answerLease and more ahead, proposes its own time or makes a whole copy.
			store.second = func() {
				if tc.otherGiven {
					second, secondErr = other.AccessReport(ctx, req.ID, app.ReportJSON, "")
					return
				}
				_, secondErr = store.ProposeAccessAnswer(ctx, req.ID, otherAt, otherAt.At.Add(-2*time.Minute))
			}
			first, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
			if secondErr != nil {
				t.Fatal(secondErr)
			}
			if !errors.Is(err, apperr.ErrConflict) || first.Body != nil {
				t.Fatalf("the replaced copy: %v, %d bytes; want ErrConflict and nothing", err, len(first.Body))
			}
			if got, want := status.Convert(apperr.ToStatus(t.Context(), nil, err)).Message(), fmt.Sprintf(tc.message, req.ID); got != want {
				t.Errorf("the replaced copy's client is told %q, want %q", got, want)
			}
			stored, err := store.AccessRequest(t.Context(), req.ID)
			if err != nil {
				t.Fatal(err)
			}
			log := ownerLog(t, store)
			refused := log[len(log)-1]
			if refused.Outcome != "refused NOT_COMPLETED" || deniedAudits(t, db, refused.ID) != 1 {
				t.Errorf("the replaced copy is logged %s with %d refusals audited, want refused NOT_COMPLETED, audited once",
					refused.Outcome, deniedAudits(t, db, refused.ID))
			}
			if !tc.otherGiven {
				if len(log) != 1 || stored.Status != domain.AccessReceived || stored.Proposal != otherAt {
					t.Errorf("the register holds %s with proposal %+v, log %+v; want received with %+v", stored.Status, stored.Proposal, log, otherAt)
				}
				return
			}
			if len(log) != 2 || log[0] != (loggedCopy{ID: second.Disclosure.ID, Outcome: "disclosed"}) {
				t.Errorf("the owner's log holds %+v, want the other copy %s disclosed first", log, second.Disclosure.ID)
			}
			if got := statedAnswer(t, second); stored.Status != domain.AccessAnswered || !stored.AnsweredAt.Equal(got.AnsweredAt) {
				t.Errorf("the copy given states answered at %v, the register holds %s at %v", got.AnsweredAt, stored.Status, stored.AnsweredAt)
			}
		})
	}
}

// lastWritesStore fails one of a copy's writes after the log entry: the answer's reply
// lost (the write stored), then the next reads of the request readBacks times, the
// final write's reply lost, or the final write not stored finals times.
type lastWritesStore struct {
	*disclosuremongo.Repository
	fail      string
	finals    int
	readBacks int
	failReads int
}

func (s *lastWritesStore) AccessRequest(ctx context.Context, id string) (domain.AccessRequest, error) {
	if s.failReads > 0 {
		s.failReads--
		return domain.AccessRequest{}, errWriteFailed
	}
	return s.Repository.AccessRequest(ctx, id)
}

func (s *lastWritesStore) AnswerAccessRequest(ctx context.Context, id string, at time.Time) (domain.AccessRequest, error) {
	stored, err := s.Repository.AnswerAccessRequest(ctx, id, at)
	if s.fail == "answer reply" && err == nil {
		s.fail, s.failReads = "", s.readBacks
		return domain.AccessRequest{}, errWriteFailed
	}
	return stored, err
}

func (s *lastWritesStore) FinalizeRecord(ctx context.Context, id string, decided domain.Outcome, refused func(domain.Record) error) (domain.Record, bool, error) {
	if decided.Refusal != nil || s.finals == 0 {
		return s.Repository.FinalizeRecord(ctx, id, decided, refused)
	}
	s.finals--
	if s.fail == "final reply" {
		if _, _, err := s.Repository.FinalizeRecord(ctx, id, decided, refused); err != nil {
			return domain.Record{}, false, err
		}
	}
	return domain.Record{}, false, errWriteFailed
}

// TestReportCopyAfterItsAnswerWrite: a copy whose answer write was stored but whose
// reply was lost is given (the request read back answered at its time, read twice when
// the first read back fails), not left answered with its entry refused; so is one whose
// final write was stored with its reply lost (the second write finds the entry
// disclosed), and one whose final write failed once (made final once more). One whose
// answer could not be read back twice gives nothing and refuses its entry, the request
// staying answered at the time it stated. One whose entry cannot be made final after the
// answer, twice, gives nothing, follows its audited report with a denied NOT_COMPLETED,
// and leaves the entry out of the owner's log (pending, for the sweep to refuse); the
// request stays answered at the time it stated, and the copy asked again states that
// time and is given. On the old code the copy whose final write failed once or lost its
// reply gave nothing, the second logged disclosed though the client had nothing.
func TestReportCopyAfterItsAnswerWrite(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      string
		finals    int
		readBacks int
		given     bool
		// refusedLog: the copy not given refused its own entry NOT_COMPLETED, which the
		// owner's log then shows, rather than leaving it pending for the sweep.
		refusedLog bool
	}{
		{name: "answer reply", fail: "answer reply", given: true},
		{name: "answer reply, read back failing once", fail: "answer reply", readBacks: 1, given: true},
		{name: "answer reply, read back failing twice", fail: "answer reply", readBacks: 2, refusedLog: true},
		{name: "final reply", fail: "final reply", finals: 1, given: true},
		{name: "final once", fail: "final", finals: 1, given: true},
		{name: "final twice", fail: "final", finals: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, writer := servicetest.AuditedDB(t, "disclosure_report_last_writes")
			store := &lastWritesStore{Repository: disclosuremongo.New(db), fail: tc.fail, finals: tc.finals, readBacks: tc.readBacks}
			clock := &tickingClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			svc, err := app.New(store, app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}, writer, app.Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
			req := recordReportRequest(t, ctx, svc)
			given, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
			if (err == nil) != tc.given || (given.Body != nil) != tc.given {
				t.Fatalf("copy: %v, %d bytes; want given %v", err, len(given.Body), tc.given)
			}
			answered, err := store.AccessRequest(t.Context(), req.ID)
			if err != nil || answered.Status != domain.AccessAnswered {
				t.Fatalf("the register holds %+v (%v), want answered", answered, err)
			}
			if got := notCompletedAudits(t, db, req.ID); len(got) != 0 && tc.given || len(got) != 1 && !tc.given {
				t.Errorf("denied NOT_COMPLETED report events %v; want one only for a copy not given", got)
			}
			var kept []loggedCopy
			if !tc.given {
				kept = ownerLog(t, store)
				if len(kept) != 0 && !tc.refusedLog || tc.refusedLog && (len(kept) != 1 || kept[0].Outcome != "refused NOT_COMPLETED") {
					t.Errorf("the owner's log holds %+v for a copy not given, want it refused NOT_COMPLETED: %v", kept, tc.refusedLog)
				}
				if given, err = svc.AccessReport(ctx, req.ID, app.ReportJSON, ""); err != nil {
					t.Fatal(err)
				}
			}
			if got := statedAnswer(t, given); !got.AnsweredAt.Equal(answered.AnsweredAt) {
				t.Errorf("the copy given states answered at %v, the register holds %v", got.AnsweredAt, answered.AnsweredAt)
			}
			want := append([]loggedCopy{{ID: given.Disclosure.ID, Outcome: "disclosed"}}, kept...)
			if log := ownerLog(t, store); !slices.Equal(log, want) {
				t.Errorf("the owner's log holds %+v, want the copy given %s disclosed, then %+v", log, given.Disclosure.ID, kept)
			}
		})
	}
}
