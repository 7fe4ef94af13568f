package grpcserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

const (
	service = "lillvet.test.v1.TestService"
	echo    = "/" + service + "/Echo"
	relay   = "/" + service + "/Relay"
	fail    = "/" + service + "/Fail"
	boom    = "/" + service + "/Panic"
	secret  = "/" + service + "/Secret"
	audited = "/" + service + "/Audited"
	// auditedStream is Audited as a server stream.
	auditedStream = "/" + service + "/AuditedStream"
	// unlisted is served but missing from the policy.
	unlisted = "/" + service + "/Unlisted"
)

// testService answers with what it saw of the caller; Relay calls Echo
// through a client connection, as a service calls another; Audited and AuditedStream
// fill room, the audit log the server reserves with, with events of no call, as other
// calls would meanwhile, then record their own event and answer once it is queued.
type testService struct {
	downstream *grpc.ClientConn
	room       *audit.Writer
}

// record fills the queue, which nothing drains, then records an event of the call ctx
// belongs to.
func (s *testService) record(ctx context.Context) (*wrapperspb.StringValue, error) {
	event := audit.Event{Action: "owner.update", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess}
	for s.room.Record(context.Background(), event) == nil {
	}
	if err := s.room.Record(ctx, event); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return wrapperspb.String("queued"), nil
}

func (s *testService) desc() *grpc.ServiceDesc {
	method := func(name string, h func(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error)) grpc.MethodDesc {
		return grpc.MethodDesc{
			MethodName: name,
			Handler: func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
				in := new(wrapperspb.StringValue)
				if err := dec(in); err != nil {
					return nil, err
				}
				info := &grpc.UnaryServerInfo{FullMethod: "/" + service + "/" + name}
				return icpt(ctx, in, info, func(ctx context.Context, req any) (any, error) {
					return h(ctx, req.(*wrapperspb.StringValue))
				})
			},
		}
	}
	return &grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			method("Echo", func(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
				id, _ := auth.FromContext(ctx)
				return wrapperspb.String(id.Subject + "|" + auth.Purpose(ctx)), nil
			}),
			method("Relay", func(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
				out := new(wrapperspb.StringValue)
				if err := s.downstream.Invoke(ctx, echo, in, out); err != nil {
					return nil, fmt.Errorf("relay: %w", err)
				}
				return out, nil
			}),
			method("Fail", func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
				return nil, fmt.Errorf("get owner o-1: %w", apperr.ErrNotFound)
			}),
			method("Panic", func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
				panic("request data 131052-308T")
			}),
			method("Secret", func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
				return wrapperspb.String("should not be reached"), nil
			}),
			method("Unlisted", func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
				return wrapperspb.String("should not be reached"), nil
			}),
			method("Audited", func(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
				return s.record(ctx)
			}),
		},
		Streams: []grpc.StreamDesc{{
			StreamName:    "AuditedStream",
			ServerStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				if err := stream.RecvMsg(new(wrapperspb.StringValue)); err != nil {
					return err
				}
				out, err := s.record(stream.Context())
				if err != nil {
					return err
				}
				return stream.SendMsg(out)
			},
		}},
	}
}

type fixture struct {
	// unready makes the server's Reserve fail, as the audit log's does when it cannot
	// take events.
	unready atomic.Bool
	// room is the audit log whose Reserve the server's wraps, when the test gives one.
	room *audit.Writer
	// held counts the calls whose reservation is not released yet.
	held   atomic.Int32
	conn   *grpc.ClientConn
	issuer *devauth.Issuer
	spans  *tracetest.InMemoryExporter
	logs   *servicetest.LogBuffer
	denied chan string
	stop   func() error
	// addr and tls are the server's address and TLS files.
	addr string
	tls  tlsconf.Files
	// jwks serves the issuer's key set; closed, the identity provider is unreachable.
	jwks *httptest.Server
}

func start(t *testing.T) *fixture {
	t.Helper()
	return startWith(t, nil)
}

// startWith starts a server that reserves with room, and without any when it is nil.
func startWith(t *testing.T, room *audit.Writer) *fixture {
	t.Helper()
	files, err := devpki.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	iss, err := devauth.LoadOrCreate(t.TempDir(), "iss", "aud")
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(iss.JWKSHandler())
	t.Cleanup(jwks.Close)
	f := &fixture{room: room, issuer: iss, spans: tracetest.NewInMemoryExporter(), logs: &servicetest.LogBuffer{}, denied: make(chan string, 10), tls: files, jwks: jwks}
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "test", SpanExporter: f.spans, LogWriter: f.logs})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(t.Context(), iss.AuthConfig(jwks.URL), tel.Logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close(context.Background()) })
	reception := []auth.Role{auth.RoleReception}
	srv, err := grpcserver.New(grpcserver.Config{
		Addr: "127.0.0.1:0", TLS: files, MaxRecvMsgBytes: 1 << 20, MaxConcurrentStreams: 16, ShutdownGrace: 5 * time.Second,
	}, grpcserver.Options{
		Telemetry: tel,
		Verifier:  v,
		Policy: auth.Policy{
			echo:  {Roles: reception, WithPurpose: []auth.Role{auth.RoleMaintainer}},
			relay: {Roles: reception}, fail: {Roles: reception}, boom: {Roles: reception},
			secret:  {Roles: []auth.Role{auth.RoleBilling}},
			audited: {Roles: reception}, auditedStream: {Roles: reception},
		},
		OnDenied: func(_ context.Context, method string, _ auth.Identity, _ string, _ any) { f.denied <- method },
		Reserve:  f.reserve,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.addr = srv.Addr().String()
	f.conn, err = grpcclient.Dial(f.addr, files, tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.conn.Close() })
	svc := &testService{downstream: f.conn, room: room}
	srv.GRPC().RegisterService(svc.desc(), svc)

	// WaitReady starts before Serve: it must wait for the server, not fail.
	ready := make(chan error, 1)
	waitCtx, cancelWait := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancelWait)
	go func() { ready <- grpcclient.WaitReady(waitCtx, f.conn) }()

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	f.stop = sync.OnceValue(func() error {
		cancel()
		return <-served
	})
	t.Cleanup(func() { _ = f.stop() })
	if err := <-ready; err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	return f
}

// reserve is the server's Reserve: it fails while unready, else reserves with the
// room when there is one, and counts the calls it holds.
func (f *fixture) reserve(ctx context.Context) (context.Context, func(), error) {
	if f.unready.Load() {
		return ctx, nil, fmt.Errorf("audit log: %w", apperr.ErrUnavailable)
	}
	release := func() {}
	if f.room != nil {
		var err error
		if ctx, release, err = f.room.Reserve(ctx); err != nil {
			return ctx, nil, err
		}
	}
	f.held.Add(1)
	return ctx, func() {
		release()
		f.held.Add(-1)
	}, nil
}

func (f *fixture) call(t *testing.T, method string, md metadata.MD) (string, error) {
	t.Helper()
	ctx := metadata.NewOutgoingContext(t.Context(), md)
	out := new(wrapperspb.StringValue)
	err := f.conn.Invoke(ctx, method, wrapperspb.String("in"), out)
	return out.GetValue(), err
}

func (f *fixture) bearer(t *testing.T, roles ...auth.Role) metadata.MD {
	t.Helper()
	tok, err := f.issuer.Mint(devauth.Claims{Subject: "staff-7", Name: "Staff Person", Roles: roles}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return metadata.Pairs("authorization", "Bearer "+tok)
}

func TestServerChain(t *testing.T) {
	f := start(t)
	tests := []struct {
		name   string
		method string
		md     metadata.MD
		code   codes.Code
		want   string
	}{
		{name: "authorised", method: echo, md: f.bearer(t, auth.RoleReception), code: codes.OK, want: "staff-7|"},
		{name: "no token", method: echo, md: metadata.MD{}, code: codes.Unauthenticated},
		{name: "purpose required", method: echo, md: f.bearer(t, auth.RoleMaintainer), code: codes.PermissionDenied},
		{name: "purpose given", method: echo, md: metadata.Join(f.bearer(t, auth.RoleMaintainer), metadata.Pairs("x-purpose", "incident 9")), code: codes.OK, want: "staff-7|incident 9"},
		{name: "wrong role", method: secret, md: f.bearer(t, auth.RoleReception), code: codes.PermissionDenied},
		{name: "not in policy", method: unlisted, md: f.bearer(t, auth.RoleReception), code: codes.PermissionDenied},
		{name: "domain error", method: fail, md: f.bearer(t, auth.RoleReception), code: codes.NotFound, want: ""},
		{name: "panic", method: boom, md: f.bearer(t, auth.RoleReception), code: codes.Internal},
		{name: "identity forwarded downstream", method: relay, md: metadata.Join(f.bearer(t, auth.RoleReception), metadata.Pairs("x-purpose", "care")), code: codes.OK, want: "staff-7|care"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.call(t, tt.method, tt.md)
			if status.Code(err) != tt.code {
				t.Fatalf("code = %v (%v), want %v", status.Code(err), err, tt.code)
			}
			if got != tt.want {
				t.Fatalf("reply = %q, want %q", got, tt.want)
			}
		})
	}
	if len(f.denied) != 3 {
		t.Errorf("OnDenied called %d times, want 3", len(f.denied))
	}
	if n := f.held.Load(); n != 0 {
		t.Errorf("%d calls ended still holding their reservation", n)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "panic in gRPC handler") || strings.Contains(logs, "131052-308T") {
		t.Errorf("panic log missing or leaks the panic value:\n%s", logs)
	}
}

// TestUnreachableKeySetIsUnavailable: a call whose token names a key id the server does
// not hold, while the identity provider is unreachable, is answered UNAVAILABLE with the
// interceptor's own text, that the signing keys could not be fetched (not a peer's
// failure's fixed text, nor UNAUTHENTICATED: the token may be good), and its handler does
// not run. A token of the cached key still passes.
func TestUnreachableKeySetIsUnavailable(t *testing.T) {
	f := start(t)
	f.jwks.Close()
	rotated, err := devauth.LoadOrCreate(t.TempDir(), "iss", "aud")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := rotated.Mint(devauth.Claims{Subject: "staff-7", Roles: []auth.Role{auth.RoleReception}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.call(t, echo, metadata.Pairs("authorization", "Bearer "+tok))
	if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "signing keys could not be fetched") || got != "" {
		t.Errorf("a call with a new key id: %q, %v, want UNAVAILABLE saying the signing keys could not be fetched", got, err)
	}
	if strings.Contains(f.logs.String(), "peer failure") {
		t.Errorf("the refusal was logged as a peer's failure:\n%s", f.logs.String())
	}
	if got, err := f.call(t, echo, f.bearer(t, auth.RoleReception)); err != nil || got != "staff-7|" {
		t.Errorf("a token of the cached key: %q, %v", got, err)
	}
}

// TestOversizedMetadataIsRefused: a call whose metadata passes the server's bound is
// refused, a health check (which needs no token) as well as a call with a valid one,
// while a call with as much metadata as a large token brings passes. The refusal is
// grpc-go's client's, before it sends, honouring the bound the server advertised
// (TestServerResetsOversizedMetadata has the server's own).
func TestOversizedMetadataIsRefused(t *testing.T) {
	f := start(t)
	padded := func(n int) metadata.MD {
		return metadata.Join(f.bearer(t, auth.RoleReception), metadata.Pairs("x-padding", strings.Repeat("a", n)))
	}
	tests := []struct {
		name    string
		call    func(ctx context.Context) error
		md      metadata.MD
		refused bool
	}{
		{name: "health check, 16 KiB", call: f.health, md: padded(16 << 10)},
		{name: "call, 16 KiB", call: f.echo, md: padded(16 << 10)},
		{name: "health check over the bound", call: f.health, md: padded(grpcserver.MaxHeaderListBytes), refused: true},
		{name: "call over the bound", call: f.echo, md: padded(grpcserver.MaxHeaderListBytes), refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(metadata.NewOutgoingContext(t.Context(), tt.md))
			if !tt.refused {
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				return
			}
			// grpc-go's client refuses to send past the bound the server advertised,
			// and says so in these words, which the gateway reads (its errors.go).
			want := fmt.Sprintf("header list size to send violates the maximum size (%d bytes) set by server", grpcserver.MaxHeaderListBytes)
			if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != want {
				t.Fatalf("call: %v; want INTERNAL %q", err, want)
			}
		})
	}
}

// TestServerResetsOversizedMetadata: a client that sends more metadata than the
// server advertises it takes (grpc-go's own client checks before it sends; a hostile
// one need not) has its stream reset by the server, where a health check with a token's
// worth of metadata is answered.
func TestServerResetsOversizedMetadata(t *testing.T) {
	f := start(t)
	tests := []struct {
		name    string
		padding int
		reset   bool
	}{
		{name: "16 KiB", padding: 16 << 10},
		{name: "over the bound", padding: grpcserver.MaxHeaderListBytes, reset: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if reset := f.rawHealthCheck(t, strings.Repeat("a", tt.padding)); reset != tt.reset {
				t.Fatalf("stream reset %v, want %v", reset, tt.reset)
			}
		})
	}
}

// rawHealthCheck sends a health check with padding in its metadata over HTTP/2 frames
// written by hand, whatever the server's SETTINGS say, and reports whether the server
// reset the stream (true) or answered it (false).
func (f *fixture) rawHealthCheck(t *testing.T, padding string) bool {
	t.Helper()
	cfg, err := f.tls.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.NextProtos = []string{"h2"}
	conn, err := tls.Dial("tcp", f.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	// Only a guard against a hung test: the server answers or resets at once.
	if err := conn.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	if err := writeHeaders(fr, hpackBlock(t, []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "https"},
		{Name: ":path", Value: "/grpc.health.v1.Health/Check"}, {Name: ":authority", Value: f.addr},
		{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
		{Name: "x-padding", Value: padding},
	})); err != nil {
		t.Fatal(err)
	}
	// An empty HealthCheckRequest: uncompressed, zero bytes long.
	if err := fr.WriteData(1, true, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	for {
		frame, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read frame: %v", err)
		}
		if frame.Header().StreamID != 1 {
			continue
		}
		switch frame.(type) {
		case *http2.RSTStreamFrame:
			return true
		case *http2.HeadersFrame:
			return false
		}
	}
}

func hpackBlock(t *testing.T, fields []hpack.HeaderField) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, hf := range fields {
		if err := enc.WriteField(hf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// writeHeaders opens stream 1 with block, in a HEADERS frame and as many CONTINUATION
// frames as the default frame size needs.
func writeHeaders(fr *http2.Framer, block []byte) error {
	const frameSize = 16 << 10
	first := block[:min(len(block), frameSize)]
	rest := block[len(first):]
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndHeaders: len(rest) == 0}); err != nil {
		return err
	}
	for len(rest) > 0 {
		chunk := rest[:min(len(rest), frameSize)]
		rest = rest[len(chunk):]
		if err := fr.WriteContinuation(1, len(rest) == 0, chunk); err != nil {
			return err
		}
	}
	return nil
}

func (f *fixture) health(ctx context.Context) error {
	_, err := healthpb.NewHealthClient(f.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func (f *fixture) echo(ctx context.Context) error {
	return f.conn.Invoke(ctx, echo, wrapperspb.String("in"), new(wrapperspb.StringValue))
}

// TestNotReadyRefusesCalls: while Reserve fails (the audit log cannot take events) every
// authenticated call is refused as UNAVAILABLE before its handler runs; health checks
// still answer, and a call without a token is still unauthenticated.
func TestNotReadyRefusesCalls(t *testing.T) {
	f := start(t)
	f.unready.Store(true)
	if _, err := f.call(t, echo, f.bearer(t, auth.RoleReception)); status.Code(err) != codes.Unavailable {
		t.Errorf("a call while not ready: %v, want UNAVAILABLE", err)
	}
	if _, err := f.call(t, echo, metadata.MD{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("a call without a token while not ready: %v, want UNAUTHENTICATED", err)
	}
	res, err := healthpb.NewHealthClient(f.conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health while not ready: %v, %v", res, err)
	}
	f.unready.Store(false)
	if got, err := f.call(t, echo, f.bearer(t, auth.RoleReception)); err != nil || got != "staff-7|" {
		t.Errorf("a call once ready again: %q, %v", got, err)
	}
}

// TestACallRecordsIntoItsRoom: a unary call and a streaming call let in, whose handler
// sees the audit queue filled with other events, each record their event into the room
// the server reserved for them (the handler runs with the context Reserve returned) and
// are answered OK; the room is released when the call ends.
func TestACallRecordsIntoItsRoom(t *testing.T) {
	db := embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("grpcserver")
	tests := []struct {
		name string
		call func(ctx context.Context, conn *grpc.ClientConn) (string, error)
	}{
		{"unary", func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			out := new(wrapperspb.StringValue)
			err := conn.Invoke(ctx, audited, wrapperspb.String("in"), out)
			return out.GetValue(), err
		}},
		{"server stream", func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			return receiveOne(ctx, conn, auditedStream)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startWith(t, audit.NewWriter(db, slog.New(slog.DiscardHandler)))
			got, err := tt.call(metadata.NewOutgoingContext(t.Context(), f.bearer(t, auth.RoleReception)), f.conn)
			if err != nil || got != "queued" {
				t.Fatalf("a call with the audit queue full of other events: %q, %v; want its event queued", got, err)
			}
			if n := f.held.Load(); n != 0 {
				t.Errorf("%d calls ended still holding their room", n)
			}
		})
	}
}

// receiveOne opens a server stream of method, sends one request and reads the one answer
// and the stream's end.
func receiveOne(ctx context.Context, conn *grpc.ClientConn, method string) (string, error) {
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return "", err
	}
	if err := stream.SendMsg(wrapperspb.String("in")); err != nil {
		return "", err
	}
	if err := stream.CloseSend(); err != nil {
		return "", err
	}
	out := new(wrapperspb.StringValue)
	if err := stream.RecvMsg(out); err != nil {
		return "", err
	}
	if err := stream.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("after the answer: %w", err)
	}
	return out.GetValue(), nil
}

func TestTracing(t *testing.T) {
	f := start(t)
	if _, err := f.call(t, relay, f.bearer(t, auth.RoleReception, auth.RoleNurse)); err != nil {
		t.Fatal(err)
	}
	var servers, clients int
	traces := map[string]bool{}
	for _, s := range endedSpans(t, f.spans, 4) {
		if strings.Contains(s.Name, "grpc.health") {
			t.Errorf("health check traced: %s", s.Name)
		}
		traces[s.SpanContext.TraceID().String()] = true
		switch s.SpanKind.String() {
		case "server":
			servers++
			var role string
			for _, a := range s.Attributes {
				if a.Key == "enduser.role" {
					role = a.Value.AsString()
				}
				if strings.Contains(a.Value.String(), "staff-7") || strings.Contains(a.Value.String(), "Staff Person") {
					t.Errorf("span %s carries the caller's subject or name", s.Name)
				}
			}
			if role != "reception,nurse" {
				t.Errorf("span %s enduser.role = %q", s.Name, role)
			}
		case "client":
			clients++
		}
	}
	if servers != 2 || clients != 2 {
		t.Errorf("got %d server and %d client spans, want 2 and 2", servers, clients)
	}
	if len(traces) != 1 {
		t.Errorf("relay produced %d traces, want one", len(traces))
	}
}

// TestReflectionListsTheServices: the server answers reflection, over TLS and without a
// token, with the services registered on it, as grpcurl's "list" (README) asks for them.
func TestReflectionListsTheServices(t *testing.T) {
	f := start(t)
	stream, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	req := &reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	res, err := stream.Recv()
	if err != nil {
		t.Fatalf("ServerReflectionInfo: %v", err)
	}
	_ = stream.CloseSend()
	listed := map[string]bool{}
	for _, s := range res.GetListServicesResponse().GetService() {
		listed[s.GetName()] = true
	}
	for _, want := range []string{service, healthpb.Health_ServiceDesc.ServiceName, reflectionpb.ServerReflection_ServiceDesc.ServiceName} {
		if !listed[want] {
			t.Errorf("reflection lists %v, without %s", slices.Sorted(maps.Keys(listed)), want)
		}
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	f := start(t)
	done := make(chan error, 1)
	go func() { done <- f.stop() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := grpcserver.New(grpcserver.Config{}, grpcserver.Options{}); err == nil {
		t.Fatal("New without dependencies succeeded")
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	files, err := devpki.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var cfg grpcserver.Config
	err = config.LoadFrom(&cfg, map[string]string{
		"GRPC_ADDR": "127.0.0.1:0", "GRPC_SHUTDOWN_GRACE": "3s",
		"TLS_CERT_FILE": files.CertFile, "TLS_KEY_FILE": files.KeyFile, "TLS_CA_FILE": files.CAFile,
	})
	if err != nil {
		t.Fatalf("LoadFrom: %v", err)
	}
	want := grpcserver.Config{Addr: "127.0.0.1:0", TLS: files, MaxRecvMsgBytes: 1 << 20, MaxConcurrentStreams: 256, ShutdownGrace: 3 * time.Second}
	if cfg != want {
		t.Fatalf("config = %+v, want %+v", cfg, want)
	}
	err = config.LoadFrom(&cfg, map[string]string{"TLS_CLIENT_AUTH": "sometimes"})
	if err == nil || !strings.Contains(err.Error(), "TLS_CLIENT_AUTH") {
		t.Fatalf("bad TLS_CLIENT_AUTH error = %v", err)
	}
}

// endedSpans waits until at least n spans have ended: a server span ends after its
// response is on the wire, so the caller may hold the answer before the span is
// exported.
func endedSpans(t *testing.T, exp *tracetest.InMemoryExporter, n int) tracetest.SpanStubs {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(exp.GetSpans()) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return exp.GetSpans()
}
