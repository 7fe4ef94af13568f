package gateway_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// BenchmarkGatewayHop measures what the gateway adds to a read: GetOwner from a plain
// gRPC client straight to the (fake, instant) owner service against
// GET /v1/owners/{id} through the gateway to the same service, in the same run. With
// the store out of the picture, "rest/grpc" is the gateway's own cost: HTTPS, otelhttp,
// the edge token check, grpc-gateway, JSON, the access log and its gRPC client hop.
// deploy/local's BenchmarkGetOwner measures the whole read on the real service.
func BenchmarkGatewayHop(b *testing.B) {
	h := start(b, options{production: true})
	clientTLS, err := h.files.ClientConfig()
	if err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(h.ownerAddr, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	owners := ownerv1.NewOwnerServiceClient(conn)
	ctx := auth.WithOutgoingToken(context.Background(), h.token, "")

	servicetest.Compare(b, "read",
		servicetest.Path{Name: "grpc", Read: func() error {
			_, err := owners.GetOwner(ctx, &ownerv1.GetOwnerRequest{OwnerId: "o-123"})
			return err
		}},
		servicetest.RESTPath(h.client, h.baseURL+"/v1/owners/o-123", h.token),
	)
}
