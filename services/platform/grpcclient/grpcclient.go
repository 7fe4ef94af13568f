// Package grpcclient dials another service the one way every service does:
// TLS (with a client certificate when configured), tracing that continues
// the caller's trace, forwarding of the caller's identity and purpose, and
// retries of calls the server did not process.
package grpcclient

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

// serviceConfig retries UNAVAILABLE, which gRPC returns when the call did not
// reach a server, but which a server may also answer after it has done part of the
// call. The services' request ids are what make a create safe to resend: its resend
// finds what the first attempt wrote. So a service must not answer UNAVAILABLE once it
// has written something its resend would treat otherwise (see the disclosure
// service's NOT_COMPLETED, answered ABORTED).
const serviceConfig = `{
  "methodConfig": [{
    "name": [{}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.1s",
      "maxBackoff": "2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// MaxRecvMsgBytes bounds one answer a client accepts. gRPC's default of 4 MiB is
// less than an owner's whole access report can be (the gateway receives it in one
// message: 1,000 visits make about 1.5 MB of JSON), and the servers' own limit is on
// what they receive, not what they send.
const MaxRecvMsgBytes = 64 << 20

// Dial returns a client connection to target (connected lazily).
func Dial(target string, tlsFiles tlsconf.Files, tel *telemetry.Telemetry) (*grpc.ClientConn, error) {
	if tel == nil {
		return nil, errors.New("grpcclient: telemetry is required")
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
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxRecvMsgBytes)),
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
