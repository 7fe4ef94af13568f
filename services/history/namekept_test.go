package history_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
)

// ownerGate relays the history service's connections to the owner service, and can
// hold them: while held, the connections open are cut and new ones are accepted but
// wait, so that the owner service looks stuck (a call ends at its deadline); let go,
// the waiting ones go through.
type ownerGate struct {
	l      net.Listener
	target string

	mu      sync.Mutex
	release chan struct{} // nil while open
	conns   []net.Conn
}

func newOwnerGate(t testing.TB, target string) *ownerGate {
	t.Helper()
	g := &ownerGate{l: servicetest.Listen(t), target: target}
	t.Cleanup(func() {
		_ = g.l.Close()
		g.let()
		g.cut()
	})
	go func() {
		for {
			c, err := g.l.Accept()
			if err != nil {
				return
			}
			go g.relay(c)
		}
	}()
	return g
}

func (g *ownerGate) addr() string { return g.l.Addr().String() }

func (g *ownerGate) relay(c net.Conn) {
	g.mu.Lock()
	wait := g.release
	g.conns = append(g.conns, c)
	g.mu.Unlock()
	if wait != nil {
		<-wait
	}
	up, err := net.Dial("tcp", g.target)
	if err != nil {
		_ = c.Close()
		return
	}
	g.mu.Lock()
	g.conns = append(g.conns, up)
	g.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
	_, _ = io.Copy(c, up)
	_ = c.Close()
}

// hold cuts the connections open and keeps new ones waiting.
func (g *ownerGate) hold() {
	g.mu.Lock()
	if g.release == nil {
		g.release = make(chan struct{})
	}
	g.mu.Unlock()
	g.cut()
}

// let lets the waiting connections, and new ones, through.
func (g *ownerGate) let() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release != nil {
		close(g.release)
		g.release = nil
	}
}

func (g *ownerGate) cut() {
	g.mu.Lock()
	conns := g.conns
	g.conns = nil
	g.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// namesFixture is the owner and history services with the history service's name
// retention job run by the test (runJob), its calls to the owner service through a
// gate, with a token of the roles given in its token file.
type namesFixture struct {
	*fixture
	gate *ownerGate
	runs chan chan struct{}
}

func setupNames(t *testing.T, roles ...auth.Role) *namesFixture {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	nf := &namesFixture{runs: make(chan chan struct{})}
	nf.fixture = setupServices(t, nil, func(c *owner.Config, clk *clock) { c.Now = clk.Now }, func(c *history.Config) {
		nf.gate = newOwnerGate(t, c.OwnerTarget)
		c.OwnerTarget = nf.gate.addr()
		c.NameRetention = history.NameRetentionConfig{TokenFile: tokenFile, CallTimeout: 300 * time.Millisecond, Runs: nf.runs}
	})
	claims := devauth.NameRetentionJob()
	if len(roles) > 0 {
		claims.Roles = roles
	}
	tok, err := nf.env.Issuer.Mint(claims, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return nf
}

// runJob runs the name retention job once and waits for it to end.
func (f *namesFixture) runJob(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	f.runs <- done
	<-done
}

// erasedSeller is an owner who sold their animal on 1 June 2024 and then asked for
// erasure: its visit of 20 May 2024 keeps the clinical record, and so the owner's names, to 20 May 2027 as
// both services answered the erasure on 25 November 2026.
type erasedSeller struct {
	id  string
	pet *ownerv1.Patient
}

func (f *fixture) erasedSeller(t *testing.T) erasedSeller {
	t.Helper()
	s := f.sellerErasedInHistory(t)
	f.ownerErases(t, s)
	return s
}

// sellerErasedInHistory is erasedSeller with the erasure's step in the owner service
// still to come (ownerErases).
func (f *fixture) sellerErasedInHistory(t *testing.T) erasedSeller {
	t.Helper()
	s := erasedSeller{id: f.newOwner(t)}
	buyer := f.newOwner(t)
	s.pet = f.newPatient(t, s.id, "Nappi")
	f.clock.Set(at(2024, 5, 20))
	if _, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{
		PatientId: s.pet.GetId(), Visit: erasureVisit(at(2024, 5, 20), false),
	}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(at(2024, 6, 1)) // the owner service runs on the same clock
	res, err := f.owners.TransferPatient(f.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: s.pet.GetId(), NewOwnerId: buyer, Version: s.pet.GetVersion(), Reason: "sold",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.pet = res.GetPatient()
	f.eraseOn(t, at(2026, 11, 25), s.id, jobOne, &historyv1.EraseOwnerDataResponse{
		Dispositions:    []*historyv1.RecordDisposition{disposition("patient_records", true, "basis.veterinary_records", "2027-05-20", 1)},
		OwnerNamedUntil: "2027-05-20",
	})
	return s
}

// ownerErases is the erasure job's step in the owner service, with the history
// service's answer.
func (f *fixture) ownerErases(t *testing.T, s erasedSeller) {
	t.Helper()
	if _, err := f.owners.EraseOwnerData(f.as(t, auth.RoleClinicManager), &ownerv1.EraseOwnerDataRequest{
		OwnerId: s.id, RequestId: jobOne, NameKeptUntil: "2027-05-20",
	}); err != nil {
		t.Fatal(err)
	}
}

// buyersVisit records the animal's visit by its next owner on 10 January 2027, after the
// erasure was answered: it keeps the seller's clinical record to 10 January 2030. The
// clock is left an hour later, past the write's bound, after which a job run clears
// the marks it told.
func (f *fixture) buyersVisit(t *testing.T, s erasedSeller) {
	t.Helper()
	f.clock.Set(at(2027, 1, 10))
	if _, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{
		PatientId: s.pet.GetId(), Visit: erasureVisit(at(2027, 1, 10), false),
	}); err != nil {
		t.Fatalf("the buyer's visit: %v", err)
	}
	f.clock.Set(at(2027, 1, 10).Add(time.Hour))
}

// ownerSweepOn runs the owner service's sweep on the day and answers the owner's family
// name after it ("" once anonymised).
func (f *fixture) ownerSweepOn(t *testing.T, day time.Time, ownerID string) string {
	t.Helper()
	f.clock.Set(day)
	if _, err := f.owners.RunRetentionSweep(f.as(t, auth.RoleClinicManager), &ownerv1.RunRetentionSweepRequest{}); err != nil {
		t.Fatal(err)
	}
	res, err := f.owners.GetOwner(f.as(t, auth.RoleClinicManager), &ownerv1.GetOwnerRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	return res.GetOwner().GetFamilyName()
}

// extensions lists the owner's changes "retention period extended", each as
// "<fields> <actor subject>".
func (f *fixture) extensions(t *testing.T, ownerID string) []string {
	t.Helper()
	res, err := f.owners.ListOwnerChanges(f.as(t, auth.RoleClinicManager), &ownerv1.ListOwnerChangesRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range res.GetChanges() {
		if c.GetReason() == "retention period extended" {
			out = append(out, strings.Join(c.GetFields(), ",")+" "+c.GetActorSubject())
		}
	}
	return out
}

// storedNotice is the owner's names notice as stored: the day told and the marks.
type storedNotice struct {
	Told   string `bson:"told"`
	Checks int64  `bson:"checks"`
}

func (f *fixture) notice(t *testing.T, ownerID string) storedNotice {
	t.Helper()
	var d storedNotice
	if err := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase).Collection("name_notices").
		FindOne(t.Context(), bson.M{"_id": ownerID}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// errorLines are the lines logged at ERROR that contain s.
func (f *fixture) errorLines(s string) []string { return f.linesAt("ERROR", s) }

// linesAt are the lines logged at level that contain s.
func (f *fixture) linesAt(level, s string) []string {
	var out []string
	for line := range strings.Lines(f.env.Logs()) {
		if strings.Contains(line, `"level":"`+level+`"`) && strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// wantToldCleanly fails unless the owner's notice holds day as told, with no mark left,
// and the job logged no error.
func (f *fixture) wantToldCleanly(t *testing.T, ownerID, day string) {
	t.Helper()
	if n := f.notice(t, ownerID); n.Told != day || n.Checks != 0 {
		t.Errorf("the notice is %+v, want told %s with no mark", n, day)
	}
	if lines := f.errorLines("name retention"); len(lines) > 0 {
		t.Errorf("errors logged: %q", lines)
	}
}

const jobExtension = "name_kept_until service:history-name-retention"

// TestNextOwnersVisitKeepsTheErasedOwnersNames: the seller's names were to go after 20
// May 2027; the buyer's visit of 10 January 2027, recorded after the erasure answered,
// keeps the seller's clinical record to 10 January 2030, and the history service's job
// tells the owner service, which keeps the names as long (its sweep of 21 May 2027
// leaves them, that of 11 January 2030 removes them). Told once: the run after it
// changes nothing more.
func TestNextOwnersVisitKeepsTheErasedOwnersNames(t *testing.T) {
	f := setupNames(t)
	s := f.erasedSeller(t)
	f.runJob(t) // the erasure's own mark: nothing later than its answer to tell
	if got := f.extensions(t, s.id); len(got) != 0 {
		t.Fatalf("told before any later visit: %q", got)
	}
	f.buyersVisit(t, s)
	f.runJob(t)
	f.runJob(t)
	if got := f.extensions(t, s.id); !slices.Equal(got, []string{jobExtension}) {
		t.Errorf("the owner's extensions are %q, want one by the job", got)
	}
	if got := f.ownerSweepOn(t, at(2027, 5, 21), s.id); got != "Äijälä" {
		t.Errorf("the owner sweep after the erasure's day left the family name %q, want it kept", got)
	}
	if got := f.ownerSweepOn(t, at(2030, 1, 10), s.id); got != "Äijälä" {
		t.Errorf("the owner sweep on the record's new day left the family name %q", got)
	}
	if got := f.ownerSweepOn(t, at(2030, 1, 11), s.id); got != "" {
		t.Errorf("the owner sweep after the record's new day kept the family name %q", got)
	}
	f.wantToldCleanly(t, s.id, "2030-01-10")
}

// TestNamesJobWhenTheOwnerServiceDoesNotAnswer: a stuck owner service ends the job's
// call at its deadline, and the run stops there rather than wait out a deadline per
// owner: of two sellers marked, one is tried, logged at ERROR by id, and the run's count
// says one was left. Both stay marked, the history writes answered OK, and the next run,
// the owner service back, tells both.
func TestNamesJobWhenTheOwnerServiceDoesNotAnswer(t *testing.T) {
	f := setupNames(t)
	sellers := []erasedSeller{f.erasedSeller(t), f.erasedSeller(t)}
	for _, s := range sellers {
		f.buyersVisit(t, s)
	}
	f.gate.hold()
	f.runJob(t)
	f.runJob(t)
	for _, s := range sellers {
		if got := f.extensions(t, s.id); len(got) != 0 {
			t.Fatalf("told through a held gate: %q", got)
		}
		if n := f.notice(t, s.id); n.Checks == 0 {
			t.Errorf("the mark was cleared though the owner service was not told: %v", n)
		}
	}
	failed := f.errorLines("was not told how long an erased owner's names are needed")
	if len(failed) != 2 || !strings.Contains(failed[0], sellers[0].id) && !strings.Contains(failed[0], sellers[1].id) {
		t.Errorf("logged %q, want one owner not told at ERROR in each run, by id", failed)
	}
	if counts := f.errorLines(`"failed":1`); len(counts) != 2 || !strings.Contains(counts[0], "the run stopped") || !strings.Contains(counts[0], `"left":1`) {
		t.Errorf("logged %q, want each run's count of owners not told, stopped with one left", counts)
	}
	f.gate.let()
	f.runJob(t)
	for _, s := range sellers {
		if got := f.extensions(t, s.id); !slices.Equal(got, []string{jobExtension}) {
			t.Errorf("after the owner service came back the extensions are %q, want one by the job", got)
		}
	}
}

// TestNamesJobBeforeTheOwnerServiceErased: the history service answered the erasure,
// and the buyer's visit moved the seller's day, before the erasure job's step in the
// owner service ran (OWNER_NOT_ERASED): an ordinary wait, logged at INFO, not ERROR, the
// owner kept marked and not asked again for an hour, each refusal being audited in the
// owner's access report (a run a minute later asks nothing); once the owner service
// erased the owner, the first run after the hour tells it.
func TestNamesJobBeforeTheOwnerServiceErased(t *testing.T) {
	f := setupNames(t)
	s := f.sellerErasedInHistory(t)
	f.buyersVisit(t, s)
	f.runJob(t)
	f.clock.Set(at(2027, 1, 10).Add(time.Hour + time.Minute))
	f.runJob(t)
	if lines := f.errorLines(s.id); len(lines) > 0 {
		t.Errorf("logged at ERROR %q, want the wait at INFO", lines)
	}
	if lines := f.linesAt("INFO", "has not erased an erased owner yet"); len(lines) != 1 || !strings.Contains(lines[0], s.id) {
		t.Errorf("logged %q, want the wait at INFO, by id", lines)
	}
	if n := f.notice(t, s.id); n.Checks == 0 {
		t.Errorf("the mark was cleared before the owner service was told: %v", n)
	}
	f.ownerErases(t, s)
	f.clock.Set(at(2027, 1, 10).Add(2 * time.Hour))
	f.runJob(t)
	if got := f.extensions(t, s.id); !slices.Equal(got, []string{jobExtension}) {
		t.Errorf("the owner's extensions are %q, want one by the job", got)
	}
	f.wantToldCleanly(t, s.id, "2030-01-10")
}

// TestNamesJobWhenTheNamesAreGone: the owner service's sweep ran after the names' day
// before the job told it (the window that remains): the job's call is refused for good,
// logged at ERROR for the operator, and the mark cleared.
func TestNamesJobWhenTheNamesAreGone(t *testing.T) {
	f := setupNames(t)
	s := f.erasedSeller(t)
	f.buyersVisit(t, s)
	if got := f.ownerSweepOn(t, at(2027, 5, 21), s.id); got != "" {
		t.Fatalf("the owner sweep kept the family name %q before the job ran", got)
	}
	f.runJob(t)
	if gone := f.errorLines("had removed an erased owner's names"); len(gone) != 1 || !strings.Contains(gone[0], s.id) {
		t.Errorf("logged %q, want the names gone at ERROR, by id", gone)
	}
	if n := f.notice(t, s.id); n.Checks != 0 {
		t.Errorf("the notice is %v, want the mark cleared", n)
	}
	f.runJob(t)
	if gone := f.errorLines("had removed an erased owner's names"); len(gone) != 1 {
		t.Errorf("the cleared mark was told again: %q", gone)
	}
}

// TestNamesJobResendsAfterItsRecordWasLost: a job that died after the owner service
// answered, before it stored the day told, tells it again: the owner service answers
// OK and changes nothing.
func TestNamesJobResendsAfterItsRecordWasLost(t *testing.T) {
	f := setupNames(t)
	s := f.erasedSeller(t)
	f.buyersVisit(t, s)
	f.runJob(t)
	if _, err := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase).Collection("name_notices").UpdateOne(t.Context(),
		bson.M{"_id": s.id}, bson.M{"$unset": bson.M{"told": "", "told_requests": ""}, "$set": bson.M{"checks": 1}}); err != nil {
		t.Fatal(err)
	}
	f.runJob(t)
	if got := f.extensions(t, s.id); !slices.Equal(got, []string{jobExtension}) {
		t.Errorf("the owner's extensions are %q, want the one", got)
	}
	f.wantToldCleanly(t, s.id, "2030-01-10")
}

// TestNamesJobWithAnotherRolesToken: the owner service refuses the call with any token
// but the job's role (here the erasure job's); the visit that moved the day was answered
// OK all the same, and the owner stays marked.
func TestNamesJobWithAnotherRolesToken(t *testing.T) {
	f := setupNames(t, auth.RoleErasureJob)
	s := f.erasedSeller(t)
	f.buyersVisit(t, s)
	f.runJob(t)
	if got := f.extensions(t, s.id); len(got) != 0 {
		t.Fatalf("told with the erasure job's token: %q", got)
	}
	if failed := f.errorLines("PermissionDenied"); len(failed) != 1 || !strings.Contains(failed[0], s.id) {
		t.Errorf("logged %q, want the refusal at ERROR, by id", failed)
	}
	if n := f.notice(t, s.id); n.Checks == 0 {
		t.Errorf("the mark was cleared though the owner service refused: %v", n)
	}
}

// TestNamesJobFollowsTheAnimalsLastVisit: each way the animal's last visit after the
// erasure comes to hold the seller's clinical record longer reaches the owner service:
// the visit recorded, its start time corrected later, a visit of an animal whose
// erasure was applied before the animals were noted (the job's first run notes them),
// and the history service's own sweep keeping the record past the erasure's day (here
// for a visit whose mark was lost, as one recorded by a version of the service before
// the marks).
func TestNamesJobFollowsTheAnimalsLastVisit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		moved func(t *testing.T, f *namesFixture, s erasedSeller)
		told  []string // the days told, in turn
	}{{
		name:  "the next owner's visit recorded",
		moved: func(t *testing.T, f *namesFixture, s erasedSeller) { f.buyersVisit(t, s) },
		told:  []string{"2030-01-10"},
	}, {
		name: "its start time corrected later",
		moved: func(t *testing.T, f *namesFixture, s erasedSeller) {
			f.clock.Set(at(2026, 12, 1))
			res, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{
				PatientId: s.pet.GetId(), Visit: erasureVisit(at(2026, 12, 1), false),
			})
			if err != nil {
				t.Fatal(err)
			}
			f.runJob(t)
			f.clock.Set(at(2027, 1, 10))
			if _, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
				VisitId: res.GetVisit().GetId(), Version: 1, Reason: "wrong day", Visit: &historyv1.Visit{StartTime: timestamppb.New(at(2027, 1, 10))},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"start_time"}},
			}); err != nil {
				t.Fatal(err)
			}
			f.clock.Set(at(2027, 1, 10).Add(time.Hour)) // past the correction's bound
		},
		told: []string{"2029-12-01", "2030-01-10"},
	}, {
		name: "an erasure applied before the animals were noted",
		moved: func(t *testing.T, f *namesFixture, s erasedSeller) {
			db := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase)
			if _, err := db.Collection("erased_patients").DeleteMany(t.Context(), bson.M{"owners": s.id}); err != nil {
				t.Fatal(err)
			}
			for _, coll := range []string{"name_notices", "noted_erasures"} {
				if _, err := db.Collection(coll).DeleteOne(t.Context(), bson.M{"_id": s.id}); err != nil {
					t.Fatal(err)
				}
			}
			f.buyersVisit(t, s)
		},
		told: []string{"2030-01-10"},
	}, {
		name: "kept by the history sweep",
		moved: func(t *testing.T, f *namesFixture, s erasedSeller) {
			f.runJob(t) // its first run, which notes the animals and checks every owner
			f.buyersVisit(t, s)
			if _, err := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase).Collection("name_notices").
				DeleteOne(t.Context(), bson.M{"_id": s.id}); err != nil {
				t.Fatal(err)
			}
			f.runJob(t)
			if got := f.extensions(t, s.id); len(got) != 0 {
				t.Fatalf("told without a mark: %q", got)
			}
			f.sweepOn(t, at(2027, 5, 21))
		},
		told: []string{"2030-01-10"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := setupNames(t)
			s := f.erasedSeller(t)
			tc.moved(t, f, s)
			f.runJob(t)
			if n := f.notice(t, s.id); n.Told != tc.told[len(tc.told)-1] || n.Checks != 0 {
				t.Errorf("the notice is %+v, want told %s with no mark", n, tc.told[len(tc.told)-1])
			}
			want := slices.Repeat([]string{jobExtension}, len(tc.told))
			if got := f.extensions(t, s.id); !slices.Equal(got, want) {
				t.Errorf("the owner's extensions are %q, want %q", got, want)
			}
			if got := f.ownerSweepOn(t, at(2027, 5, 21), s.id); got != "Äijälä" {
				t.Errorf("the owner sweep after the erasure's day left the family name %q, want it kept", got)
			}
		})
	}
}

// TestNamesJobNotesAnErasureAppliedAfterItsFirstRun: an erasure an old replica of a
// rolling upgrade applied after the new process's first job run (no notes, no mark)
// is noted by a run an hour later, not only at the next start: the buyer's visit
// recorded before that marks nobody, and that run tells the later day. Before, only
// the first run of a process noted erasures.
func TestNamesJobNotesAnErasureAppliedAfterItsFirstRun(t *testing.T) {
	f := setupNames(t)
	s := f.erasedSeller(t)
	f.clock.Set(at(2027, 1, 10).Add(30 * time.Minute))
	f.runJob(t) // the process's first run
	db := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase)
	if _, err := db.Collection("erased_patients").DeleteMany(t.Context(), bson.M{"owners": s.id}); err != nil {
		t.Fatal(err)
	}
	for _, coll := range []string{"name_notices", "noted_erasures"} {
		if _, err := db.Collection(coll).DeleteOne(t.Context(), bson.M{"_id": s.id}); err != nil {
			t.Fatal(err)
		}
	}
	f.buyersVisit(t, s) // leaves the clock at 13:00
	f.runJob(t)
	if got := f.extensions(t, s.id); len(got) != 0 {
		t.Fatalf("told before the erasure was noted: %q", got)
	}
	f.clock.Set(at(2027, 1, 10).Add(time.Hour + 31*time.Minute))
	f.runJob(t)
	if got := f.extensions(t, s.id); !slices.Equal(got, []string{jobExtension}) {
		t.Errorf("the owner's extensions are %q, want one by the job", got)
	}
	f.wantToldCleanly(t, s.id, "2030-01-10")
}
