// Package grpcserver is the one gRPC server bootstrap every service uses:
// TLS, tracing and metrics, panic recovery, error translation,
// authentication and authorisation, keepalive limits, health checking and
// reflection, and a graceful shutdown bound by a grace period.
package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	middleware "github.com/grpc-ecosystem/go-grpc-middleware/v2"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

// Config is the server's part of a service configuration.
type Config struct {
	Addr                 string `env:"GRPC_ADDR" envDefault:"127.0.0.1:7101"`
	TLS                  tlsconf.Files
	MaxRecvMsgBytes      int           `env:"GRPC_MAX_RECV_BYTES" envDefault:"1048576"`
	MaxConcurrentStreams uint32        `env:"GRPC_MAX_CONCURRENT_STREAMS" envDefault:"256"`
	ShutdownGrace        time.Duration `env:"GRPC_SHUTDOWN_GRACE" envDefault:"10s"`
}

// Validate checks the limits and the TLS files, which must include a certificate.
func (c Config) Validate() error {
	var errs []error
	if c.MaxRecvMsgBytes <= 0 {
		errs = append(errs, errors.New("GRPC_MAX_RECV_BYTES must be positive"))
	}
	if c.MaxConcurrentStreams == 0 {
		errs = append(errs, errors.New("GRPC_MAX_CONCURRENT_STREAMS must be positive"))
	}
	if c.ShutdownGrace < 0 {
		errs = append(errs, errors.New("GRPC_SHUTDOWN_GRACE must not be negative"))
	}
	if err := c.TLS.ValidateServer(""); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// MaxHeaderListBytes bounds the metadata of one call, which the server reads
// before any interceptor runs, health checking and reflection included, which
// need no token: gRPC's default allows 16 MiB a stream. A bearer token with many
// roles is a few KiB; the gateway forwards besides it an X-Purpose of at most 1 KiB
// and an Idempotency-Key of at most 128 characters, and answers 431 to a call whose
// token would take it past the bound (its HTTP server takes somewhat more than 64 KiB
// of headers).
const MaxHeaderListBytes = 64 << 10

// Options are the server's dependencies.
type Options struct {
	Telemetry *telemetry.Telemetry
	Verifier  *auth.Verifier
	// Policy lists every method with the roles allowed to call it; methods
	// not listed are denied.
	Policy auth.Policy
	// OnDenied is told about refused authenticated calls, for the audit log.
	OnDenied auth.DeniedFunc
	// Reserve, when set, is asked before every call but health checking and
	// reflection; an error refuses the call with it. The call runs with the context
	// it returns, and release is called when the call ends. The audit log's Reserve:
	// while it cannot take events, no read or change runs that it would then fail to
	// record, and a call let in keeps room for the events of what it changes.
	Reserve func(ctx context.Context) (_ context.Context, release func(), _ error)
	// Listener, when set, is served instead of listening on Config.Addr.
	Listener net.Listener
}

// Server is a configured gRPC server and its listener.
type Server struct {
	grpc   *grpc.Server
	health *health.Server
	lis    net.Listener
	grace  time.Duration
	logger *slog.Logger
}

// New builds the server and opens its listener, so that Addr is known
// before Serve.
func New(cfg Config, o Options) (*Server, error) {
	if o.Telemetry == nil || o.Verifier == nil {
		return nil, errors.New("grpcserver: Telemetry and Verifier are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("grpc server config: %w", err)
	}
	tlsCfg, err := cfg.TLS.ServerConfig()
	if err != nil {
		return nil, fmt.Errorf("grpc server TLS: %w", err)
	}
	tel := o.Telemetry
	logger := tel.Logger
	recoveryOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		logPanic(ctx, logger, p)
		return status.Error(codes.Internal, "internal error")
	})

	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(tlsCfg)),
		grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(tel.TracerProvider),
			otelgrpc.WithMeterProvider(tel.MeterProvider),
			otelgrpc.WithPropagators(tel.Propagator),
			otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
		)),
		// Authentication answers with statuses of its own, outside the error translation,
		// which would take its UNAVAILABLE or DEADLINE_EXCEEDED (the identity provider's
		// keys could not be had) for a peer's failure and replace the text the client
		// needs to tell it from the service's.
		grpc.ChainUnaryInterceptor(
			recovery.UnaryServerInterceptor(recoveryOpt),
			auth.UnaryServerInterceptor(o.Verifier, o.Policy, o.OnDenied),
			apperr.UnaryServerInterceptor(logger),
			reserveUnary(o.Reserve),
			roleSpanUnary,
		),
		grpc.ChainStreamInterceptor(
			recovery.StreamServerInterceptor(recoveryOpt),
			auth.StreamServerInterceptor(o.Verifier, o.Policy, o.OnDenied),
			apperr.StreamServerInterceptor(logger),
			reserveStream(o.Reserve),
			roleSpanStream,
		),
		// Clients may ping at most every 10 s; idle connections are probed
		// so that dead peers free their streams.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.MaxRecvMsgSize(cfg.MaxRecvMsgBytes),
		grpc.MaxHeaderListSize(MaxHeaderListBytes),
		// Calls run on a pool of long-lived goroutines whose stacks have already
		// grown to what the interceptors and the MongoDB driver need, instead of a
		// new goroutine per call that grows (copies) its stack every time.
		grpc.NumStreamWorkers(streamWorkers()),
		grpc.MaxConcurrentStreams(cfg.MaxConcurrentStreams),
	)
	hs := health.NewServer()
	// Not serving until Serve says so: a load balancer must not send calls
	// before the services are registered.
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)

	lis := o.Listener
	if lis == nil {
		lis, err = net.Listen("tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
	}
	return &Server{grpc: srv, health: hs, lis: lis, grace: cfg.ShutdownGrace, logger: logger}, nil
}

// GRPC returns the server to register services on before Serve.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.lis.Addr() }

// Serve marks every registered service SERVING and serves until ctx is done;
// then it reports NOT_SERVING, lets running calls finish for the grace
// period and stops. It returns nil after a shutdown asked for by ctx.
func (s *Server) Serve(ctx context.Context) error {
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)

	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve(s.lis) }()

	select {
	case err := <-errc:
		s.health.Shutdown()
		return fmt.Errorf("serve gRPC: %w", err)
	case <-ctx.Done():
	}
	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(s.grace)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		s.logger.WarnContext(ctx, "grace period over, cancelling remaining calls", slog.Duration("grace", s.grace))
		s.grpc.Stop()
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve gRPC: %w", err)
	}
	return nil
}

// logPanic logs a handler panic without the request: the panic value is
// logged only when the runtime produced it, since a value a handler panicked
// with may hold request data.
func logPanic(ctx context.Context, logger *slog.Logger, p any) {
	value := fmt.Sprintf("%T", p)
	if re, ok := p.(runtime.Error); ok {
		value = re.Error()
	}
	logger.ErrorContext(ctx, "panic in gRPC handler",
		slog.String("panic", value),
		slog.String("stack", string(debug.Stack())),
	)
}

// enduserRole is the span attribute with the caller's roles; subjects and
// names stay out of traces.
const enduserRole = "enduser.role"

func roleSpanUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	tagRoles(ctx)
	return handler(ctx, req)
}

func roleSpanStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	tagRoles(ss.Context())
	return handler(srv, ss)
}

// tagRoles builds the attribute only for a span that records it: most spans are
// not sampled, and every call passes here.
func tagRoles(ctx context.Context) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	id, ok := auth.FromContext(ctx)
	if !ok {
		return
	}
	span.SetAttributes(attribute.String(enduserRole, strings.Join(id.RoleNames(), ",")))
}

// streamWorkers is one stream worker per processor the Go scheduler uses. When
// all are busy, gRPC runs further calls on goroutines of their own, so an
// implausible processor count safely falls back to one worker.
func streamWorkers() uint32 {
	n := runtime.GOMAXPROCS(0)
	if n < 1 || n > math.MaxUint16 {
		return 1
	}
	return uint32(n)
}

// reserveUnary runs each call with what reserve keeps for it (see Options.Reserve).
func reserveUnary(reserve func(context.Context) (context.Context, func(), error)) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if reserve == nil || auth.IsOpen(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, release, err := reserve(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		return handler(ctx, req)
	}
}

// reserveStream is reserveUnary for streams.
func reserveStream(reserve func(context.Context) (context.Context, func(), error)) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if reserve == nil || auth.IsOpen(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx, release, err := reserve(ss.Context())
		if err != nil {
			return err
		}
		defer release()
		wrapped := middleware.WrapServerStream(ss)
		wrapped.WrappedContext = ctx
		return handler(srv, wrapped)
	}
}
