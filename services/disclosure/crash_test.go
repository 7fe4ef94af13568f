package disclosure_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/servicetest"
)

// process is the disclosure service running as its own operating-system process, as
// production runs it.
type process struct {
	cmd    *exec.Cmd
	addr   string
	client disclosurev1.DisclosureServiceClient
	out    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// buildDisclosure builds cmd/disclosure into a temporary folder.
func buildDisclosure(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "disclosure")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./cmd/disclosure").CombinedOutput() //nolint:gosec // builds this module's command into the test's temp folder
	if err != nil {
		t.Fatalf("go build ./cmd/disclosure: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l := servicetest.Listen(t)
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// runProcess starts the binary on the system's store and peers, configured from the
// environment as cmd/disclosure is, with historyAddr as its history service, and
// waits until it reports SERVING. The test's end stops it.
func (s *system) runProcess(t *testing.T, bin, historyAddr string) *process {
	t.Helper()
	c := s.cfg
	addr := freeAddr(t)
	tls := func(prefix string) []string {
		return []string{
			prefix + "TLS_CERT_FILE=" + s.env.TLS.CertFile, prefix + "TLS_KEY_FILE=" + s.env.TLS.KeyFile,
			prefix + "TLS_CA_FILE=" + s.env.TLS.CAFile,
		}
	}
	env := append(os.Environ(),
		"GRPC_ADDR="+addr, "MONGO_URI="+c.Mongo.URI, "MONGO_DATABASE="+c.Mongo.Database,
		"AUTH_JWKS_URL="+c.Auth.JWKSURL, "AUTH_ISSUER="+c.Auth.Issuer, "AUTH_AUDIENCE="+c.Auth.Audience,
		"OWNER_GRPC_TARGET="+c.OwnerAddr, "CONSENT_GRPC_TARGET="+c.ConsentAddr, "HISTORY_GRPC_TARGET="+historyAddr,
		"DISCLOSURE_JOB_TOKEN_FILE="+s.jobTokenFile, "DISCLOSURE_JOB_POLL_INTERVAL=100ms",
		"DISCLOSURE_JOB_CALL_TIMEOUT=2s", "DISCLOSURE_JOB_LEASE=3s", "OTEL_TRACES_EXPORTER=none",
	)
	env = append(env, tls("")...)
	for _, peer := range []string{"OWNER_", "CONSENT_", "HISTORY_"} {
		env = append(env, tls(peer)...)
	}
	p := &process{cmd: exec.Command(bin), addr: addr, out: &syncBuffer{}}
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start the disclosure service: %v", err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		if t.Failed() {
			t.Logf("disclosure service output:\n%s", p.out.String())
		}
	})
	conn := s.env.Dial(t, addr)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := grpcclient.WaitReady(ctx, conn); err != nil {
		t.Fatalf("the disclosure service process: %v\n%s", err, p.out.String())
	}
	p.client = disclosurev1.NewDisclosureServiceClient(conn)
	return p
}

// kill ends the process with SIGKILL: no graceful stop, nothing flushed.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

func stepDone(i int) func(*disclosurev1.ErasureRequest) bool {
	return func(r *disclosurev1.ErasureRequest) bool {
		return r.GetSteps()[i].GetState() == disclosurev1.ErasureStepState_ERASURE_STEP_STATE_DONE
	}
}

// TestErasureSurvivesAKilledService is the crash test of issue 5. The disclosure
// service runs as its own process, built from cmd/disclosure. In its first life the
// history service is out of its reach: the job restricts the owner in the owner and
// consent services, then keeps failing the history's erasure. The process is killed
// (SIGKILL) there, in the middle of the job, possibly while it holds a step. Started
// again with the history service reachable, it resumes the job from the store and
// finishes it; every step's effect is there exactly once.
func TestErasureSurvivesAKilledService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the service binary")
	}
	// The in-process replica has no job credentials: it serves reads and runs no job,
	// so the process alone runs it.
	s := start(t, func(c *disclosure.Config) { c.Job.TokenFile = "" })
	bin := buildDisclosure(t)
	ownerID, patientID := s.customer(t, "Äijälä")
	s.erasureHistory(t, ownerID, patientID)
	s.object(t, ownerID)

	first := s.runProcess(t, bin, servicetest.RefusingAddr(t))
	res, err := first.client.CreateErasureRequest(s.as(t, auth.RoleClinicManager),
		&disclosurev1.CreateErasureRequestRequest{RequestId: "letter-2026-5", ErasureRequest: erasureRequest(ownerID)})
	if err != nil {
		t.Fatalf("create erasure request: %v", err)
	}
	id := res.GetErasureRequest().GetId()
	hist := slices.Index(wantSteps, [2]string{"history", "erase"})
	s.waitErasure(t, id, func(r *disclosurev1.ErasureRequest) bool {
		return stepDone(hist-1)(r) && r.GetSteps()[hist].GetAttempts() >= 2
	})
	first.kill(t)

	mid := s.waitErasure(t, id, func(*disclosurev1.ErasureRequest) bool { return true })
	if mid.GetState() != disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_RUNNING || stepDone(hist)(mid) {
		t.Fatalf("killed at %v", mid.GetSteps())
	}
	if e := mid.GetSteps()[hist].GetLastError(); e != "UNAVAILABLE" && e != "DEADLINE_EXCEEDED" {
		t.Errorf("the history's erasure failed with %q, want the service out of reach", e)
	}
	s.runProcess(t, bin, s.cfg.HistoryAddr)
	done := s.waitErasure(t, id, inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_DONE))

	t.Run("each step once", func(t *testing.T) {
		for i, st := range done.GetSteps() {
			want := int32(1)
			if i == hist {
				want = mid.GetSteps()[hist].GetAttempts()
			}
			// The history's step may have been taken once more by the first process
			// between the read above and the kill, or held when it died.
			if got := st.GetAttempts(); got < want || (i != hist && got != 1) {
				t.Errorf("step %v: %d attempts, want %d", wantSteps[i], got, want)
			}
		}
	})
	t.Run("one restriction in the owner's history", func(t *testing.T) {
		if n := restrictionChanges(t, s, ownerID); n != 1 {
			t.Errorf("%d restriction changes, want 1", n)
		}
	})
	t.Run("one erasure stored in each service", func(t *testing.T) {
		for _, db := range []string{ownerDatabase, consentDatabase, historyDatabase} {
			if n := s.storedErasures(t, db, id); n != 1 {
				t.Errorf("%s holds %d answers to erasure %s, want 1", db, n, id)
			}
		}
	})
	t.Run("the job's events name its subject", func(t *testing.T) {
		if n := s.finishEvents(t, id, jobSubject); n != 1 {
			t.Errorf("%d finish events by %s, want 1", n, jobSubject)
		}
	})
}

// storedErasures counts the answers to erasure id that database holds: each service
// stores its first answer to an erasure request under the request's id (as a
// request_id anywhere in its documents), and a retry must not add another.
func (s *system) storedErasures(t *testing.T, database, id string) int {
	t.Helper()
	db := s.raw.Database(database)
	names, err := db.ListCollectionNames(t.Context(), bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range names {
		if c == audit.Collection {
			continue
		}
		cur, err := db.Collection(c).Find(t.Context(), bson.M{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.M
		if err := cur.All(t.Context(), &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			n += countRequestID(d, id)
		}
	}
	return n
}

// countRequestID counts the request_id fields equal to id in v, at any depth.
func countRequestID(v any, id string) int {
	n := 0
	switch v := v.(type) {
	case bson.M:
		for k, x := range v {
			if k == "request_id" && x == id {
				n++
			}
			n += countRequestID(x, id)
		}
	case bson.D:
		for _, e := range v {
			if e.Key == "request_id" && e.Value == id {
				n++
			}
			n += countRequestID(e.Value, id)
		}
	case bson.A:
		for _, x := range v {
			n += countRequestID(x, id)
		}
	}
	return n
}
