package main

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
)

// BenchmarkGetOwner reads one owner three ways on the same embedded store in the same
// run: the raw driver FindOne by _id (the floor), gRPC GetOwner with TLS, token
// verification, authorization and the audit write, and REST GET /v1/owners/{id}
// through the gateway. A fourth path, "grpc-gateway", is not the product: the same REST
// read through grpc-gateway's generated handler alone, so that each run also shows how
// much of the REST figure the architecture itself takes and how much the gateway adds.
// docs/BENCHMARKS.md reports the ratios.
func BenchmarkGetOwner(b *testing.B) {
	s := startBenchStack(b)
	conn := s.benchDial(b, "owner")
	client := ownerv1.NewOwnerServiceClient(conn)
	ctx, token := s.caller(b, auth.RoleReception)
	id := benchOwner(b, client, ctx, "131052-308T")

	owners := s.rawCollection(b, "owner", "owners")
	servicetest.Compare(b, "read",
		servicetest.Path{Name: "driver", Read: func() error {
			var doc bson.M
			return owners.FindOne(context.Background(), bson.M{"_id": id}).Decode(&doc)
		}},
		servicetest.Path{Name: "grpc", Read: func() error {
			_, err := client.GetOwner(ctx, &ownerv1.GetOwnerRequest{OwnerId: id})
			return err
		}},
		s.restPath("/v1/owners/"+id, token),
		s.bareGatewayPath(b, conn, "/v1/owners/"+id, token),
	)
}

// bareGatewayPath is the "grpc-gateway" path of BenchmarkGetOwner: GET path through a
// plain grpc-gateway mux with the owner routes over conn, served over HTTPS by a plain
// net/http server with the gateway's certificate. It has none of the gateway's own parts
// (otelhttp, the token check, limits, the access log, the traced backend client).
func (s *stack) bareGatewayPath(b *testing.B, conn *grpc.ClientConn, path, token string) servicetest.Path {
	b.Helper()
	mux := runtime.NewServeMux()
	if err := ownerv1.RegisterOwnerServiceHandler(context.Background(), mux, conn); err != nil {
		b.Fatal(err)
	}
	serverTLS, err := s.env.TLS.ServerConfig()
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = serverTLS
	srv.StartTLS()
	b.Cleanup(srv.Close)
	p := servicetest.RESTPath(s.client, srv.URL+path, token)
	p.Name = "grpc-gateway"
	return p
}

// caller is a benchmark's staff member with role: the context that calls as them over
// gRPC and their token for REST.
func (s *stack) caller(b *testing.B, role auth.Role) (context.Context, string) {
	b.Helper()
	token := s.env.Token(b, role)
	return auth.WithOutgoingToken(context.Background(), token, ""), token
}

// benchOwner creates the owner a benchmark reads about, with an identity code when one
// is given, and returns its id.
func benchOwner(b *testing.B, owners ownerv1.OwnerServiceClient, ctx context.Context, identityCode string) string {
	b.Helper()
	created, err := owners.CreateOwner(ctx, &ownerv1.CreateOwnerRequest{Owner: &ownerv1.Owner{
		GivenNames: "Aino", FamilyName: "Benchmark", Phone: "+358401234567",
		HomeClinic: ownerv1.Clinic_CLINIC_KANGASALA, Address: &ownerv1.Address{PostalCode: "36200", City: "Kangasala"},
	}, IdentityCode: identityCode})
	if err != nil {
		b.Fatal(err)
	}
	return created.GetOwner().GetId()
}

// benchDial connects a plain TLS client to a service, as the raw driver is a plain
// client: the figures measure the service, not a caller's instrumentation.
func (s *stack) benchDial(b *testing.B, service string) *grpc.ClientConn {
	b.Helper()
	clientTLS, err := s.env.TLS.ClientConfig()
	if err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(s.addr(service), grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return conn
}

// rawCollection is a collection of a service's database through the raw driver: the
// floor every benchmark compares with.
func (s *stack) rawCollection(b *testing.B, service, collection string) *mongo.Collection {
	b.Helper()
	db := s.w.mongo(service)
	raw := embeddedtest.Client(b, db.URI)
	return raw.Database(db.Database).Collection(collection)
}

// restPath is the "rest" path of a comparison: GET path through the gateway as the
// holder of token.
func (s *stack) restPath(path, token string) servicetest.Path {
	return servicetest.RESTPath(s.client, s.gatewayURL+path, token)
}
