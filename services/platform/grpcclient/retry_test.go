package grpcclient_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/telemetry"
)

// TestOnlyReadsAreResentAfterUnavailable: a server answering UNAVAILABLE may have
// written before it did (an update whose audit event could not be stored), so the
// client resends a read and passes a write's UNAVAILABLE on after one call.
func TestOnlyReadsAreResentAfterUnavailable(t *testing.T) {
	srv := &unavailableOnce{calls: map[string]int{}}
	client := ownerv1.NewOwnerServiceClient(dialTestServer(t, srv))
	for _, tc := range []struct {
		name  string
		call  func(context.Context) error
		code  codes.Code
		calls int
	}{
		{name: "read", call: func(ctx context.Context) error {
			_, err := client.GetOwner(ctx, &ownerv1.GetOwnerRequest{})
			return err
		}, code: codes.OK, calls: 2},
		{name: "write", call: func(ctx context.Context) error {
			_, err := client.UpdateOwner(ctx, &ownerv1.UpdateOwnerRequest{})
			return err
		}, code: codes.Unavailable, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context())
			if code, calls := status.Code(err), srv.received(tc.name); code != tc.code || calls != tc.calls {
				t.Fatalf("answered %v after %d calls of the server, want %v after %d", code, calls, tc.code, tc.calls)
			}
		})
	}
}

// unavailableOnce answers each method's first call UNAVAILABLE and the next ones OK.
type unavailableOnce struct {
	ownerv1.UnimplementedOwnerServiceServer
	mu    sync.Mutex
	calls map[string]int
}

func (s *unavailableOnce) GetOwner(context.Context, *ownerv1.GetOwnerRequest) (*ownerv1.GetOwnerResponse, error) {
	return &ownerv1.GetOwnerResponse{}, s.answer("read")
}

func (s *unavailableOnce) UpdateOwner(context.Context, *ownerv1.UpdateOwnerRequest) (*ownerv1.UpdateOwnerResponse, error) {
	return &ownerv1.UpdateOwnerResponse{}, s.answer("write")
}

func (s *unavailableOnce) answer(kind string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[kind]++
	if s.calls[kind] == 1 {
		return status.Error(codes.Unavailable, "audit log unavailable")
	}
	return nil
}

func (s *unavailableOnce) received(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[kind]
}

// dialTestServer serves srv over TLS on loopback and dials it with grpcclient.
func dialTestServer(t *testing.T, srv ownerv1.OwnerServiceServer) *grpc.ClientConn {
	t.Helper()
	return dialServer(t, func(gs *grpc.Server) { ownerv1.RegisterOwnerServiceServer(gs, srv) })
}

// dialServer serves a gRPC server, with opts and the services register adds, over TLS on
// loopback and dials it with grpcclient.
func dialServer(t *testing.T, register func(*grpc.Server), opts ...grpc.ServerOption) *grpc.ClientConn {
	t.Helper()
	files, err := devpki.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := files.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(append([]grpc.ServerOption{grpc.Creds(credentials.NewTLS(tlsCfg))}, opts...)...)
	register(gs)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpcclient.Dial(lis.Addr().String(), files, telemetry.Noop(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
