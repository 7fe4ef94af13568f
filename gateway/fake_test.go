package gateway_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lillvet/register/gateway"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

// fakeOwner stands in for the owner service. These tests are about the
// gateway's HTTP↔gRPC mapping (routes, metadata, errors, limits, health,
// telemetry), so a fake that records what reached it over real gRPC with
// mutual TLS is enough; the real service behind the gateway is covered by
// the end-to-end test.
type fakeOwner struct {
	ownerv1.UnimplementedOwnerServiceServer

	mu    sync.Mutex
	calls []call
	err   error
	// hung: calls wait until their caller gives up, as on a service that hangs.
	hung bool
}

type call struct {
	method string
	req    proto.Message
	md     metadata.MD
}

// fail makes every following call return err (nil: succeed).
func (f *fakeOwner) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// hang makes every following call wait until its caller gives up (false: answer).
func (f *fakeOwner) hang(hung bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hung = hung
}

func (f *fakeOwner) record(ctx context.Context, method string, req proto.Message) error {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.calls = append(f.calls, call{method: method, req: proto.Clone(req), md: md.Copy()})
	err, hung := f.err, f.hung
	f.mu.Unlock()
	if hung {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	return err
}

// received returns the calls made so far.
func (f *fakeOwner) received() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeOwner) last(t *testing.T) call {
	t.Helper()
	calls := f.received()
	if len(calls) == 0 {
		t.Fatal("the owner service received no call")
	}
	return calls[len(calls)-1]
}

func (f *fakeOwner) GetOwner(ctx context.Context, req *ownerv1.GetOwnerRequest) (*ownerv1.GetOwnerResponse, error) {
	if err := f.record(ctx, "GetOwner", req); err != nil {
		return nil, err
	}
	// Every field the owner service fills in, so that the gateway's JSON encoding costs
	// what it costs for a real owner.
	return &ownerv1.GetOwnerResponse{Owner: &ownerv1.Owner{
		Id: req.GetOwnerId(), GivenNames: "Aino", FamilyName: "Test", Version: 3,
		Address:            &ownerv1.Address{Street: "Kauppakatu 1", PostalCode: "36200", City: "Kangasala"},
		Phone:              "+358401234567",
		Email:              "aino@example.fi",
		PreferredLanguage:  ownerv1.Language_LANGUAGE_FI,
		HomeClinic:         ownerv1.Clinic_CLINIC_KANGASALA,
		IdentityCodeMasked: "131052-****",
		CreateTime:         timestamppb.New(time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)),
		UpdateTime:         timestamppb.New(time.Date(2026, 11, 20, 14, 5, 0, 0, time.UTC)),
	}}, nil
}

func (f *fakeOwner) CreateOwner(ctx context.Context, req *ownerv1.CreateOwnerRequest) (*ownerv1.CreateOwnerResponse, error) {
	if err := f.record(ctx, "CreateOwner", req); err != nil {
		return nil, err
	}
	return &ownerv1.CreateOwnerResponse{Owner: &ownerv1.Owner{Id: "o-new", Version: 1}}, nil
}

func (f *fakeOwner) ListOwners(ctx context.Context, req *ownerv1.ListOwnersRequest) (*ownerv1.ListOwnersResponse, error) {
	if err := f.record(ctx, "ListOwners", req); err != nil {
		return nil, err
	}
	return &ownerv1.ListOwnersResponse{}, nil
}

// harness is a running gateway in front of a fake owner service, both on
// 127.0.0.1:0 with the development PKI, and a development token issuer
// whose keys the gateway trusts.
type harness struct {
	owner   *fakeOwner
	health  *health.Server
	spans   *tracetest.InMemoryExporter
	logs    *servicetest.LogBuffer
	client  *http.Client
	baseURL string
	// metricsURL is the scrape endpoint, when options.metrics asked for one.
	metricsURL string
	issuer     *devauth.Issuer
	// issuerDir holds the issuer's signing key.
	issuerDir string
	// jwks serves the issuer's key set; closed, the identity provider is unreachable.
	jwks *httptest.Server
	// token is a valid reception token; request sends it.
	token string
	// ownerAddr is the fake owner service's address and files the PKI both use, for
	// a client that calls the fake directly.
	ownerAddr string
	files     tlsconf.Files
	// stop ends the gateway and waits for Run to return: every span has
	// ended and every log line is written.
	stop func()
}

type options struct {
	maxBodyBytes int64
	// backendTimeout is GATEWAY_BACKEND_TIMEOUT (zero: the default).
	backendTimeout time.Duration
	// readTimeout and answerTime replace the HTTP server's (zero: theirs).
	readTimeout, answerTime time.Duration
	// ownerTarget overrides the fake's address (an unreachable backend).
	ownerTarget string
	// metrics serves the metrics endpoint on a listener of its own.
	metrics bool
	// production runs the gateway's telemetry as a production process does when
	// no OTEL_* variable asks for export, logs discarded: what a benchmark measures.
	production bool
}

// Issuer and audience of the test tokens.
const (
	testIssuer   = "lillvet-test-issuer"
	testAudience = "lillvet-register"
)

func start(t testing.TB, o options) *harness {
	t.Helper()
	dir := t.TempDir()
	files, err := devpki.Ensure(dir)
	if err != nil {
		t.Fatalf("dev pki: %v", err)
	}
	issuer, err := devauth.LoadOrCreate(dir, testIssuer, testAudience)
	if err != nil {
		t.Fatalf("dev issuer: %v", err)
	}
	jwks := httptest.NewServer(issuer.JWKSHandler())
	t.Cleanup(jwks.Close)
	h := &harness{
		files:     files,
		issuer:    issuer,
		issuerDir: dir,
		jwks:      jwks,
		owner:     &fakeOwner{},
		health:    health.NewServer(),
		spans:     tracetest.NewInMemoryExporter(),
		logs:      &servicetest.LogBuffer{},
	}
	// The fake serves health for every backend; only the owner's API is faked.
	fakeAddr := startFake(t, files, h.owner, h.health)
	h.ownerAddr = fakeAddr
	ownerAddr := fakeAddr
	if o.ownerTarget != "" {
		ownerAddr = o.ownerTarget
	}

	ctx, cancel := context.WithCancel(context.Background())
	telOpts := telemetry.Options{ServiceName: "gateway-test", SpanExporter: h.spans, LogWriter: h.logs}
	if o.production {
		telOpts = telemetry.Options{ServiceName: "gateway-bench", LogWriter: io.Discard}
	}
	tel, err := telemetry.Setup(ctx, telOpts)
	if err != nil {
		t.Fatalf("telemetry: %v", err)
	}
	// Runs after stop (cleanups run last first); the in-memory exporter
	// forgets its spans on shutdown.
	t.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Errorf("telemetry shutdown: %v", err)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cfg := gateway.Config{
		TLS:        files,
		BackendTLS: files,
		OwnerAddr:  ownerAddr,
		// The fake answers health checks for any service; no test calls a consent,
		// disclosure or history route.
		ConsentAddr:    fakeAddr,
		DisclosureAddr: fakeAddr,
		HistoryAddr:    fakeAddr,
		MaxBodyBytes:   o.maxBodyBytes,
		BackendTimeout: o.backendTimeout,
		Auth:           issuer.AuthConfig(jwks.URL),
		Listener:       ln,
		Telemetry:      tel,
	}
	cfg = gateway.WithServerTimeouts(cfg, o.readTimeout, o.answerTime)
	if o.metrics {
		ml, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		cfg.MetricsListener = ml
		h.metricsURL = "http://" + ml.Addr().String() + "/metrics"
	}
	h.token = h.mint(t, devauth.Claims{Subject: "test-reception", Roles: []auth.Role{auth.RoleReception}}, time.Hour)
	done := make(chan error, 1)
	go func() { done <- gateway.Run(ctx, cfg) }()

	pool, err := tlsconf.LoadPool(files.CAFile)
	if err != nil {
		t.Fatalf("CA pool: %v", err)
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	h.client = &http.Client{Transport: transport, Timeout: 10 * time.Second}
	h.baseURL = "https://" + ln.Addr().String()

	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("gateway.Run: %v", err)
			}
			transport.CloseIdleConnections()
		})
	}
	t.Cleanup(h.stop)
	return h
}

// startFake serves the fake owner service and the standard health service
// over TLS that requires a client certificate, with the services' metadata bound, as
// the real services do.
func startFake(t testing.TB, files tlsconf.Files, owner *fakeOwner, hs *health.Server) string {
	t.Helper()
	files.ClientAuth = tlsconf.ClientAuthRequire
	tlsCfg, err := files.ServerConfig()
	if err != nil {
		t.Fatalf("fake server TLS: %v", err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsCfg)), grpc.MaxHeaderListSize(grpcserver.MaxHeaderListBytes))
	ownerv1.RegisterOwnerServiceServer(srv, owner)
	healthpb.RegisterHealthServer(srv, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("fake server: %v", err)
		}
	})
	return ln.Addr().String()
}

// do sends a request and returns the status, headers and body.
func (h *harness) do(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp.StatusCode, resp.Header, body
}

// request builds a request carrying the harness's valid token.
// scrape reads the metrics endpoint, which options.metrics asked for.
func (h *harness) scrape(t *testing.T) string {
	t.Helper()
	resp, err := h.client.Get(h.metricsURL)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return string(raw)
}

func (h *harness) request(t *testing.T, method, path string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, h.baseURL+path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	return req
}

// mint signs a token with the issuer the gateway trusts.
func (h *harness) mint(t testing.TB, c devauth.Claims, ttl time.Duration) string {
	t.Helper()
	tok, err := h.issuer.Mint(c, ttl)
	if err != nil {
		t.Fatalf("mint token: %v", err)
	}
	return tok
}
