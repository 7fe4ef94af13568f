package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
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

// failingStore fails the next of its writes named by fail, once.
type failingStore struct {
	*disclosuremongo.Repository
	fail string
}

var errWriteFailed = errors.New("write failed")

func (s *failingStore) failing(write string) bool {
	if s.fail != write {
		return false
	}
	s.fail = ""
	return true
}

func (s *failingStore) ProposeAccessAnswer(ctx context.Context, id string, p domain.AnswerProposal, staleBefore time.Time) (domain.AccessRequest, error) {
	stored, err := s.Repository.ProposeAccessAnswer(ctx, id, p, staleBefore)
	if err == nil && s.failing("propose-reply") {
		return domain.AccessRequest{}, errWriteFailed
	}
	return stored, err
}

func (s *failingStore) AppendRecord(ctx context.Context, r domain.Record) (domain.Record, error) {
	if s.failing("log") {
		return domain.Record{}, errWriteFailed
	}
	stored, err := s.Repository.AppendRecord(ctx, r)
	if err == nil && s.failing("log-reply") {
		return domain.Record{}, errWriteFailed
	}
	return stored, err
}

func (s *failingStore) AnswerAccessRequest(ctx context.Context, id string, at time.Time) (domain.AccessRequest, error) {
	if s.failing("answer") {
		return domain.AccessRequest{}, errWriteFailed
	}
	return s.Repository.AnswerAccessRequest(ctx, id, at)
}

// failingAuditor fails the audit of the next copy given when fail is set, once.
type failingAuditor struct {
	*audit.Writer
	store *failingStore
}

func (a failingAuditor) RecordNow(ctx context.Context, events ...audit.Event) error {
	if slices.ContainsFunc(events, func(e audit.Event) bool { return e.Action == "access_request.report" }) && a.store.failing("audit") {
		return errWriteFailed
	}
	return a.Writer.RecordNow(ctx, events...)
}

// TestFailedReportCopyDoesNotAnswerTheRequest: a copy of an access report that fails
// at or after proposing its answer time (the proposal stored with its reply lost, its
// log entry, its audit record or the answer not stored, or the log entry stored with
// its reply lost) gives nothing, leaves the request received without an answer time or
// a proposal and the log without a copy given (its entry, if stored, refused
// NOT_COMPLETED), follows the access_request.report it may have stored with one denied
// NOT_COMPLETED, and the copy asked again states its own time, which the register then
// holds. On the old code the proposal whose reply was lost stayed, and the next copy
// stated its time; and a copy whose answer was not stored left its
// access_request.report (access report given) with nothing after it.
func TestFailedReportCopyDoesNotAnswerTheRequest(t *testing.T) {
	for _, tc := range []struct {
		write string
		log   []string
		// notCompleted: the copy's access_request.report is followed by one denied.
		notCompleted bool
	}{
		{write: "propose-reply"},
		{write: "log"},
		{write: "log-reply", log: []string{"refused NOT_COMPLETED"}},
		{write: "audit", log: []string{"refused NOT_COMPLETED"}, notCompleted: true},
		{write: "answer", log: []string{"refused NOT_COMPLETED"}, notCompleted: true},
	} {
		write := tc.write
		t.Run(write, func(t *testing.T) {
			db, writer := servicetest.AuditedDB(t, "disclosure_report_fail_"+write)
			store := &failingStore{Repository: disclosuremongo.New(db), fail: write}
			clock := &tickingClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			svc, err := app.New(store, app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}, failingAuditor{writer, store}, app.Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
			req := recordReportRequest(t, ctx, svc)
			failed, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
			if !errors.Is(err, errWriteFailed) || failed.Body != nil || failed.Disclosure.ID != "" {
				t.Fatalf("failed copy: %v, body %q, log entry %q", err, failed.Body, failed.Disclosure.ID)
			}
			stored, err := store.AccessRequest(t.Context(), req.ID)
			if err != nil || stored.Status != domain.AccessReceived || !stored.AnsweredAt.IsZero() || stored.Proposal != (domain.AnswerProposal{}) {
				t.Fatalf("after the failed copy the register holds %+v (%v), want received, unanswered", stored, err)
			}
			var logged, notCompleted []string
			for _, c := range ownerLog(t, store) {
				logged = append(logged, c.Outcome)
				if tc.notCompleted {
					notCompleted = append(notCompleted, notCompletedID(req.ID, c.ID))
				}
			}
			if !slices.Equal(logged, tc.log) {
				t.Errorf("after the failed copy the owner's log holds %q, want %q", logged, tc.log)
			}
			if got := notCompletedAudits(t, db, req.ID); !slices.Equal(got, notCompleted) {
				t.Errorf("after the failed copy access reports audited not completed: %q, want %q", got, notCompleted)
			}
			given, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
			if err != nil {
				t.Fatal(err)
			}
			stored, err = store.AccessRequest(t.Context(), req.ID)
			if err != nil || stored.Status != domain.AccessAnswered || !stored.AnsweredAt.Equal(given.Disclosure.CreatedAt) {
				t.Fatalf("after the copy given at %v the register holds %+v (%v)", given.Disclosure.CreatedAt, stored, err)
			}
			if got := statedAnswer(t, given); got.Status != "answered" || !got.AnsweredAt.Equal(stored.AnsweredAt) {
				t.Errorf("the copy given states the request %s at %v, the register holds %v", got.Status, got.AnsweredAt, stored.AnsweredAt)
			}
		})
	}
}

func recordReportRequest(t *testing.T, ctx context.Context, svc *app.Service) domain.AccessRequest {
	t.Helper()
	req, err := svc.RecordAccessRequest(ctx, "", domain.AccessRequest{
		OwnerID: racingOwnerID, ReceivedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Channel: domain.ChannelLetter,
		Identification: domain.IdentifiedRegisteredContact, IdentifiedBy: "staff-1", Language: domain.LanguageFinnish,
	})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

type statedRequest struct {
	Status     string
	AnsweredAt time.Time
}

// statedAnswer is the status and answer time a JSON copy states of its request.
func statedAnswer(t *testing.T, given app.GivenReport) statedRequest {
	t.Helper()
	var rep struct{ AccessRequests []statedRequest }
	if err := json.Unmarshal(given.Body, &rep); err != nil || len(rep.AccessRequests) != 1 {
		t.Fatalf("copy: %v %s", err, given.Body)
	}
	return rep.AccessRequests[0]
}

// interleavingStore makes a second copy of the report while the first is at one of its
// writes (propose, log or answer), before that write, and may then fail the first
// copy's log entry.
type interleavingStore struct {
	*disclosuremongo.Repository
	at     string
	second func()
	// failFirstLog fails the log entry of the copy the second one interrupted.
	failFirstLog, inSecond bool
}

// interrupt runs the second copy if the first is at write, once.
func (s *interleavingStore) interrupt(write string) {
	if s.at != write || s.second == nil {
		return
	}
	second := s.second
	s.second, s.inSecond = nil, true
	second()
	s.inSecond = false
}

func (s *interleavingStore) ProposeAccessAnswer(ctx context.Context, id string, p domain.AnswerProposal, staleBefore time.Time) (domain.AccessRequest, error) {
	s.interrupt("propose")
	return s.Repository.ProposeAccessAnswer(ctx, id, p, staleBefore)
}

func (s *interleavingStore) AppendRecord(ctx context.Context, r domain.Record) (domain.Record, error) {
	s.interrupt("log")
	if s.failFirstLog && !s.inSecond {
		return domain.Record{}, errWriteFailed
	}
	return s.Repository.AppendRecord(ctx, r)
}

func (s *interleavingStore) AnswerAccessRequest(ctx context.Context, id string, at time.Time) (domain.AccessRequest, error) {
	s.interrupt("answer")
	return s.Repository.AnswerAccessRequest(ctx, id, at)
}

// TestInterleavedReportCopiesStateTheStoredAnswerTime: whichever write of the first
// copy a second copy overlaps, and whether the first copy is then given or fails at its
// log entry, every copy given states the answer time the register holds, with the
// hash of exactly its bytes logged, a copy that failed gives nothing, and the request is
// answered because a copy was given.
func TestInterleavedReportCopiesStateTheStoredAnswerTime(t *testing.T) {
	for _, tc := range []struct {
		at        string
		firstFail bool
	}{
		{at: "propose"}, {at: "log"}, {at: "answer"},
		{at: "propose", firstFail: true}, {at: "log", firstFail: true},
	} {
		name := tc.at
		if tc.firstFail {
			name += " first fails"
		}
		t.Run(name, func(t *testing.T) {
			db, writer := servicetest.AuditedDB(t, "disclosure_report_interleave")
			store := &interleavingStore{Repository: disclosuremongo.New(db), at: tc.at}
			clock := &tickingClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			svc, err := app.New(store, app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}, writer, app.Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
			req := recordReportRequest(t, ctx, svc)
			var second app.GivenReport
			var secondErr error
			store.second = func() { second, secondErr = svc.AccessReport(ctx, req.ID, app.ReportJSON, "") }
			store.failFirstLog = tc.firstFail
			first, firstErr := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
			if secondErr != nil || (firstErr != nil) != tc.firstFail {
				t.Fatalf("copies: first %v, second %v", firstErr, secondErr)
			}
			stored, err := store.AccessRequest(t.Context(), req.ID)
			if err != nil || stored.Status != domain.AccessAnswered {
				t.Fatalf("stored request: %+v %v", stored, err)
			}
			given := map[string]app.GivenReport{"second": second, "first": first}
			if tc.firstFail {
				if first.Body != nil || first.Disclosure.ID != "" {
					t.Errorf("the failed copy returned %d bytes, log entry %q", len(first.Body), first.Disclosure.ID)
				}
				delete(given, "first")
			}
			for name, g := range given {
				if got := statedAnswer(t, g); got.Status != "answered" || !got.AnsweredAt.Equal(stored.AnsweredAt) {
					t.Errorf("%s copy states the request %s at %v, the register holds %v", name, got.Status, got.AnsweredAt, stored.AnsweredAt)
				}
				logged, err := store.Record(t.Context(), g.Disclosure.ID)
				sum := sha256.Sum256(g.Body)
				if err != nil || logged.PayloadSHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("%s copy logged with hash %q (%v), its bytes hash to %x", name, logged.PayloadSHA256, err, sum)
				}
			}
		})
	}
}

// TestReportCopyAfterACrashedCopy: a copy that died after proposing its answer time
// (the process crashed) leaves the request received; a copy made within answerLease
// states the dead copy's time, as a copy overlapping it would, and one made later its
// own.
func TestReportCopyAfterACrashedCopy(t *testing.T) {
	crashed := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  func(own time.Time) time.Time
	}{
		{"within the lease", time.Minute, func(time.Time) time.Time { return crashed }},
		{"after the lease", 3 * time.Minute, func(own time.Time) time.Time { return own }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, writer := servicetest.AuditedDB(t, "disclosure_report_crash")
			store := disclosuremongo.New(db)
			clock := &tickingClock{now: crashed.Add(-time.Second)}
			svc, err := app.New(store, app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}, writer, app.Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
			req := recordReportRequest(t, ctx, svc)
			if _, err := store.ProposeAccessAnswer(t.Context(), req.ID, domain.AnswerProposal{At: crashed, CopyID: "crashed-copy"}, crashed); err != nil {
				t.Fatal(err)
			}
			if stored, err := store.AccessRequest(t.Context(), req.ID); err != nil || stored.Status != domain.AccessReceived {
				t.Fatalf("after the crash the register holds %+v (%v), want received", stored, err)
			}
			clock.now = crashed.Add(tc.after)
			given, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
			if err != nil {
				t.Fatal(err)
			}
			stored, err := store.AccessRequest(t.Context(), req.ID)
			want := tc.want(given.Disclosure.CreatedAt)
			if err != nil || stored.Status != domain.AccessAnswered || !stored.AnsweredAt.Equal(want) {
				t.Fatalf("the register holds %+v (%v), want answered at %v", stored, err, want)
			}
			if got := statedAnswer(t, given); !got.AnsweredAt.Equal(want) {
				t.Errorf("the copy states answered at %v, want %v", got.AnsweredAt, want)
			}
		})
	}
}

// staleReadStore returns the request as a non-atomic propose could: received with no
// proposal, the proposal that refused this copy's having been withdrawn before the read.
type staleReadStore struct {
	*disclosuremongo.Repository
	other string
}

func (s *staleReadStore) ProposeAccessAnswer(ctx context.Context, id string, p domain.AnswerProposal, staleBefore time.Time) (domain.AccessRequest, error) {
	if _, err := s.Repository.ProposeAccessAnswer(ctx, id, p, staleBefore); err != nil {
		return domain.AccessRequest{}, err
	}
	if err := s.WithdrawAccessAnswer(ctx, id, s.other); err != nil {
		return domain.AccessRequest{}, err
	}
	return s.AccessRequest(ctx, id)
}

// TestReportCopyWithNoAnswerTimeIsNotGiven: a copy handed a received request with no
// proposal has no answer time to state; it gives nothing and leaves the request
// received, rather than stating and storing an answer in year 1.
func TestReportCopyWithNoAnswerTimeIsNotGiven(t *testing.T) {
	db, writer := servicetest.AuditedDB(t, "disclosure_report_no_time")
	store := &staleReadStore{Repository: disclosuremongo.New(db), other: "other-copy"}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := &tickingClock{now: start}
	svc, err := app.New(store, app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}, writer, app.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
	req := recordReportRequest(t, ctx, svc)
	if _, err := store.Repository.ProposeAccessAnswer(t.Context(), req.ID, domain.AnswerProposal{At: clock.Now(), CopyID: "other-copy"}, start); err != nil {
		t.Fatal(err)
	}
	given, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
	if err == nil || given.Body != nil {
		t.Errorf("copy with no answer time: %v, %d bytes", err, len(given.Body))
	}
	stored, err := store.AccessRequest(t.Context(), req.ID)
	if err != nil || stored.Status != domain.AccessReceived || !stored.AnsweredAt.IsZero() {
		t.Errorf("the register holds %s at %v (%v), want received", stored.Status, stored.AnsweredAt, err)
	}
}
