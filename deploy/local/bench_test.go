package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/telemetry"
)

// BenchmarkGetOwner reads one owner three ways on the same embedded store in the same
// run: the raw driver FindOne by _id (the floor), gRPC GetOwner with TLS, token
// verification, authorization and the audit write, and REST GET /v1/owners/{id}
// through the gateway. docs/BENCHMARKS.md reports the ratios.
func BenchmarkGetOwner(b *testing.B) {
	s := startBenchStack(b)
	env := s.env
	client := ownerv1.NewOwnerServiceClient(s.benchDial(b, s.ownerAddr))

	token := env.Token(b, auth.RoleReception)
	ctx := auth.WithOutgoingToken(context.Background(), token, "")
	created, err := client.CreateOwner(ctx, &ownerv1.CreateOwnerRequest{Owner: &ownerv1.Owner{
		GivenNames: "Aino", FamilyName: "Benchmark", Phone: "+358401234567",
		HomeClinic: ownerv1.Clinic_CLINIC_KANGASALA, Address: &ownerv1.Address{PostalCode: "36200", City: "Kangasala"},
	}, IdentityCode: "131052-308T"})
	if err != nil {
		b.Fatal(err)
	}
	id := created.GetOwner().GetId()

	raw, err := mongo.Connect(options.Client().ApplyURI(env.Store.URI()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = raw.Disconnect(context.Background()) })
	owners := raw.Database(ownerDatabase).Collection("owners")

	httpClient := benchHTTPClient(b, env.TLS.CAFile)
	url := s.gatewayURL + "/v1/owners/" + id
	servicetest.Compare(b, "read",
		servicetest.Path{Name: "driver", Read: func() error {
			var doc bson.M
			return owners.FindOne(context.Background(), bson.M{"_id": id}).Decode(&doc)
		}},
		servicetest.Path{Name: "grpc", Read: func() error {
			_, err := client.GetOwner(ctx, &ownerv1.GetOwnerRequest{OwnerId: id})
			return err
		}},
		servicetest.Path{Name: "rest", Read: func() error { return restGet(httpClient, url, token) }},
	)
}

// startBenchStack starts the stack with production telemetry (spans batched, exported
// only when OTEL_* says so), not the tests' synchronous in-memory exporter.
func startBenchStack(b *testing.B) *stack {
	b.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{ServiceName: "bench", LogWriter: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return startStack(b, tel, tel, tel)
}

// benchDial connects a plain TLS client, as the raw driver is a plain client: the
// figures measure the service, not a caller's instrumentation.
func (s *stack) benchDial(b *testing.B, addr string) *grpc.ClientConn {
	b.Helper()
	clientTLS, err := s.env.TLS.ClientConfig()
	if err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return conn
}

// restGet reads url through the gateway as the holder of token.
func restGet(c *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return nil
}

func benchHTTPClient(b testing.TB, caFile string) *http.Client {
	pem, err := os.ReadFile(caFile) //nolint:gosec // the test environment's own CA file
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
}
