// Package grpcclient dials another service the one way every service does:
// TLS (with a client certificate when configured), tracing that continues
// the caller's trace, forwarding of the caller's identity and purpose, and
// retries of the calls the contract declares safe to resend.
package grpcclient

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

// retryPolicy retries UNAVAILABLE, which gRPC returns when the call did not reach a
// server, but which a server also answers after it has done part of a call: a write
// whose audit event could not be stored has been applied. So only the methods the
// contract declares free of side effects (idempotency_level NO_SIDE_EFFECTS or
// IDEMPOTENT) are resent; any other call's UNAVAILABLE reaches the caller, who can
// resend it under the same request id.
var retryPolicy = map[string]any{
	"maxAttempts":          4,
	"initialBackoff":       "0.1s",
	"maxBackoff":           "2s",
	"backoffMultiplier":    2,
	"retryableStatusCodes": []string{"UNAVAILABLE"},
}

// methodName is one entry of a service config's method name list.
type methodName struct {
	Service string `json:"service"`
	Method  string `json:"method"`
}

// serviceConfig builds the client's service config: the retry policy for every
// method of files that declares itself safe to resend, no policy for the rest.
func serviceConfig(files *protoregistry.Files) (string, error) {
	names := safeToResend(files)
	if len(names) == 0 {
		return "{}", nil
	}
	cfg := map[string]any{
		"methodConfig": []map[string]any{{"name": names, "retryPolicy": retryPolicy}},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("grpc service config: %w", err)
	}
	return string(b), nil
}

// safeToResend lists the methods of files whose idempotency_level says a resend
// changes nothing the first call did not, sorted so the config is stable.
func safeToResend(files *protoregistry.Files) []methodName {
	var names []methodName
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		services := fd.Services()
		for i := range services.Len() {
			names = append(names, resendable(services.Get(i))...)
		}
		return true
	})
	slices.SortFunc(names, func(a, b methodName) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Method, b.Method))
	})
	return names
}

// resendable lists the methods of sd declared NO_SIDE_EFFECTS or IDEMPOTENT.
func resendable(sd protoreflect.ServiceDescriptor) []methodName {
	var names []methodName
	methods := sd.Methods()
	for i := range methods.Len() {
		if md := methods.Get(i); sideEffectFree(md) {
			names = append(names, methodName{Service: string(sd.FullName()), Method: string(md.Name())})
		}
	}
	return names
}

// sideEffectFree reports whether md is declared NO_SIDE_EFFECTS or IDEMPOTENT: a
// resend changes nothing the first call did not.
func sideEffectFree(md protoreflect.MethodDescriptor) bool {
	opts, ok := md.Options().(*descriptorpb.MethodOptions)
	if !ok {
		return false
	}
	level := opts.GetIdempotencyLevel()
	return level == descriptorpb.MethodOptions_NO_SIDE_EFFECTS || level == descriptorpb.MethodOptions_IDEMPOTENT
}

// Resendable reports whether the method of a gRPC full method name (/package.Service/Method)
// may be resent after UNAVAILABLE, by the rule the clients Dial makes resend by; false
// for a method no registered file declares.
func Resendable(fullMethod string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok {
		return false
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return false
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return false
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	return md != nil && sideEffectFree(md)
}

// MaxRecvMsgBytes bounds one answer a client accepts. gRPC's default of 4 MiB is
// less than an owner's whole access report can be (the gateway receives it in one
// message: 1,000 visits make about 1.5 MB of JSON), and the servers' own limit is on
// what they receive, not what they send.
const MaxRecvMsgBytes = 64 << 20

// MaxHeaderListBytes bounds the headers and trailers of one answer a client accepts,
// as the servers bound what they receive (gRPC's default is 16 MiB): an answer's
// metadata is its status, its error details and the trace context.
const MaxHeaderListBytes = 64 << 10

// Dial returns a client connection to target (connected lazily).
func Dial(target string, tlsFiles tlsconf.Files, tel *telemetry.Telemetry) (*grpc.ClientConn, error) {
	if tel == nil {
		return nil, errors.New("grpcclient: telemetry is required")
	}
	cfg, err := serviceConfig(protoregistry.GlobalFiles)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := tlsFiles.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("grpc client TLS for %s: %w", target, err)
	}
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(tel.TracerProvider),
			otelgrpc.WithMeterProvider(tel.MeterProvider),
			otelgrpc.WithPropagators(tel.Propagator),
			otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
		)),
		grpc.WithChainUnaryInterceptor(auth.ForwardingUnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(auth.ForwardingStreamClientInterceptor()),
		grpc.WithDefaultServiceConfig(cfg),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxRecvMsgBytes)),
		grpc.WithMaxHeaderListSize(MaxHeaderListBytes),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return conn, nil
}

// WaitReady blocks until the server behind conn reports SERVING on the
// standard health service, or ctx is done. It watches the health status and
// the connection state instead of polling on a timer.
func WaitReady(ctx context.Context, conn *grpc.ClientConn) error {
	client := healthpb.NewHealthClient(conn)
	for {
		serving, err := watch(ctx, client)
		if serving {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("wait for %s to be ready: %w", conn.Target(), errors.Join(ctx.Err(), err))
		}
		if status.Code(err) == codes.Unimplemented {
			return fmt.Errorf("wait for %s to be ready: no health service: %w", conn.Target(), err)
		}
		// The stream broke (server restarting): wait for the connection to
		// change state before watching again.
		state := conn.GetState()
		if state == connectivity.Ready {
			conn.WaitForStateChange(ctx, state)
			continue
		}
		conn.Connect()
		conn.WaitForStateChange(ctx, state)
	}
}

// watch follows the server's overall health until it is SERVING (true) or
// the stream ends.
func watch(ctx context.Context, client healthpb.HealthClient) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil {
		return false, err
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return false, errors.New("health stream ended")
		}
		if err != nil {
			return false, err
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return true, nil
		}
	}
}
