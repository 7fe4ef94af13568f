package grpcclient_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

func TestWaitReadyHonoursContext(t *testing.T) {
	files, err := devpki.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A port that was free a moment ago: nothing answers there.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}

	conn, err := grpcclient.Dial(addr, files, telemetry.Noop(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := grpcclient.WaitReady(ctx, conn); err == nil {
		t.Fatal("WaitReady succeeded without a server")
	}
}

func TestDialRejectsBadTLSFiles(t *testing.T) {
	_, err := grpcclient.Dial("127.0.0.1:1", tlsconf.Files{CAFile: "/nonexistent/ca.pem"}, telemetry.Noop(nil))
	if err == nil {
		t.Fatal("Dial with a missing CA file succeeded")
	}
}

// TestOversizedAnswerMetadataIsRefused: a server that answers with more metadata
// than the client's bound is refused, one with a few KiB is not.
func TestOversizedAnswerMetadataIsRefused(t *testing.T) {
	conn := dialServer(t, func(gs *grpc.Server) { healthpb.RegisterHealthServer(gs, health.NewServer()) }, grpc.ChainUnaryInterceptor(padAnswer))

	tests := []struct {
		name    string
		padding int
		refused bool
	}{
		{name: "4 KiB", padding: 4 << 10},
		{name: "over the bound", padding: grpcclient.MaxHeaderListBytes, refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(t.Context(), "x-answer-padding", strconv.Itoa(tt.padding))
			_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if refused := err != nil; refused != tt.refused {
				t.Fatalf("Check: %v; want refused %v", err, tt.refused)
			}
		})
	}
}

// padAnswer answers with a header of as many bytes as the call's x-answer-padding asks.
func padAnswer(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	n, err := strconv.Atoi(strings.Join(metadata.ValueFromIncomingContext(ctx, "x-answer-padding"), ""))
	if err != nil {
		return nil, err
	}
	if err := grpc.SetHeader(ctx, metadata.Pairs("x-padding", strings.Repeat("a", n))); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}
