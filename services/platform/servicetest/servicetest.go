// Package servicetest gives component and end-to-end tests the real parts a service
// runs on: the embedded store, development TLS certificates, a token issuer served over
// HTTP, telemetry that keeps every span and log line in memory, and helpers to dial a
// service and call it as a given role.
package servicetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"

	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/embedded"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/service"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"

	// A test helper: the test command refuses a production binary that links one.
	_ "github.com/lillvet/register/services/platform/testonly"
)

// readyTimeout bounds how long a test waits for a service to report SERVING.
const readyTimeout = 30 * time.Second

// Env is one test's environment.
type Env struct {
	Store     *embedded.Store
	TLS       tlsconf.Files
	Issuer    *devauth.Issuer
	Auth      auth.Config
	Spans     *tracetest.InMemoryExporter
	Telemetry *telemetry.Telemetry
	logs      *LogBuffer
}

// New builds an environment whose parts are closed when the test ends.
func New(tb testing.TB) *Env {
	tb.Helper()
	dir := tb.TempDir()
	files, err := devpki.Ensure(dir)
	if err != nil {
		tb.Fatalf("dev PKI: %v", err)
	}
	issuer, err := devauth.LoadOrCreate(dir, "lillvet-test-issuer", "lillvet-register")
	if err != nil {
		tb.Fatalf("dev issuer: %v", err)
	}
	jwks := httptest.NewServer(issuer.JWKSHandler())
	tb.Cleanup(jwks.Close)
	spans := tracetest.NewInMemoryExporter()
	logs := &LogBuffer{}
	tel, err := telemetry.Setup(tb.Context(), telemetry.Options{ServiceName: "test", SpanExporter: spans, LogWriter: logs})
	if err != nil {
		tb.Fatalf("telemetry: %v", err)
	}
	tb.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	tb.Cleanup(func() { failOnRoomOverrun(tb, logs) })
	return &Env{
		Store:     embeddedtest.Start(tb),
		TLS:       files,
		Issuer:    issuer,
		Auth:      issuer.AuthConfig(jwks.URL),
		Spans:     spans,
		Telemetry: tel,
		logs:      logs,
	}
}

// failOnRoomOverrun fails tb when a service of the environment logged audit.RoomOverrun:
// one of its calls recorded audit events beyond the room it keeps, which a full queue or
// a failing store would refuse after the call's change is stored. It runs when the test
// ends, after the services stopped, so every component test checks each of its calls.
func failOnRoomOverrun(tb testing.TB, logs *LogBuffer) {
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, audit.RoomOverrun) {
			tb.Errorf("a call recorded audit events beyond its room (raise the room or record fewer): %s", line)
		}
	}
}

// Listen opens a loopback listener on a free port.
func Listen(tb testing.TB) net.Listener {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	return l
}

// RefusingAddr returns a loopback address that closes every connection at once: a
// service out of reach. It stays bound until the test ends, so that no other listener
// of the test, the process's own included, can be given its port (a port freed by
// closing a listener may come back from the next Listen, and a service would call
// itself).
func RefusingAddr(tb testing.TB) string {
	tb.Helper()
	l := Listen(tb)
	tb.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			_ = conn.Close()
		}
	}()
	return l.Addr().String()
}

// Service is a service running in the test.
type Service struct {
	// Conn is a client connection to it.
	Conn *grpc.ClientConn
	stop func()
}

// Stop stops the service and waits for its Run to return (it drains its audit queue
// on the way out); the test fails if Run returned an error. Stopping twice is fine.
func (s *Service) Stop() { s.stop() }

// Serve runs a service's Run function in the background until the test ends (or Stop)
// and returns once the server behind addr reports SERVING.
func (e *Env) Serve(tb testing.TB, addr string, run func(ctx context.Context) error) *Service {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
			if runErr != nil {
				tb.Errorf("service stopped with: %v", runErr)
			}
		})
	}
	tb.Cleanup(stop)
	conn := e.Dial(tb, addr)
	wctx, wcancel := context.WithTimeout(ctx, readyTimeout)
	defer wcancel()
	go func() {
		select {
		case <-done: // a service that fails to start ends the wait at once
			wcancel()
		case <-wctx.Done():
		}
	}()
	if err := grpcclient.WaitReady(wctx, conn); err != nil {
		tb.Fatalf("service at %s not ready: %v", addr, err)
	}
	return &Service{Conn: conn, stop: stop}
}

// Dial connects to a service over TLS with the environment's CA and client certificate.
func (e *Env) Dial(tb testing.TB, addr string) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpcclient.Dial(addr, e.TLS, e.Telemetry)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

// Token mints a bearer token for a staff member with the given roles.
func (e *Env) Token(tb testing.TB, roles ...auth.Role) string {
	tb.Helper()
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	tok, err := e.Issuer.Mint(devauth.Claims{
		Subject: "test-" + strings.Join(names, "+"), Name: "Test " + strings.Join(names, " "),
		Roles: roles, Clinic: "seinajoki",
	}, time.Hour)
	if err != nil {
		tb.Fatalf("mint token: %v", err)
	}
	return tok
}

// As returns a context that calls as a staff member with the given roles.
func (e *Env) As(tb testing.TB, roles ...auth.Role) context.Context {
	tb.Helper()
	return auth.WithOutgoingToken(tb.Context(), e.Token(tb, roles...), "")
}

// Logs returns every log line written so far.
func (e *Env) Logs() string { return e.logs.String() }

// LogBuffer is a bytes.Buffer safe for the concurrent writes of a running service, for
// tests that read what a service logged.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// GRPCConfig is a server configuration for l with the environment's TLS files.
func (e *Env) GRPCConfig(l net.Listener) grpcserver.Config {
	return grpcserver.Config{Addr: l.Addr().String(), TLS: e.TLS, MaxRecvMsgBytes: 1 << 20, MaxConcurrentStreams: 256}
}

// MongoConfig points a service at database on the environment's store.
func (e *Env) MongoConfig(database string) mongox.Config {
	return mongox.Config{URI: e.Store.URI(), Database: database}
}

// Base is what a service under test is configured with: l, its database on the
// environment's store, the test token issuer and the environment's telemetry.
func (e *Env) Base(l net.Listener, database string) service.Base {
	return service.Base{GRPC: e.GRPCConfig(l), Mongo: e.MongoConfig(database), Auth: e.Auth, Listener: l, Telemetry: e.Telemetry}
}

// RandomKey is a fresh 32-byte key in standard base64, as key variables take them.
func RandomKey(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}
