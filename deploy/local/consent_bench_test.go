package main

import (
	"context"
	"io"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/telemetry"
)

// BenchmarkCheckConsent checks one owner's consent three ways on the same embedded store
// in the same run: the raw driver FindOne of the owner's ledger by _id (the floor), gRPC
// CheckConsent with TLS, token verification, authorization, Decide and the audit event,
// and REST GET /v1/owners/{id}/consents:check through the gateway. The paths take turns
// in one loop; docs/BENCHMARKS.md reports the ratios.
func BenchmarkCheckConsent(b *testing.B) {
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{ServiceName: "bench", LogWriter: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	s := startStack(b, tel, tel)
	env := s.env
	clientTLS, err := env.TLS.ClientConfig()
	if err != nil {
		b.Fatal(err)
	}
	dial := func(addr string) *grpc.ClientConn {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	owners := ownerv1.NewOwnerServiceClient(dial(s.ownerAddr))
	consents := consentv1.NewConsentServiceClient(dial(s.consentAddr))

	token := env.Token(b, auth.RoleClinicManager)
	ctx := auth.WithOutgoingToken(context.Background(), token, "")
	created, err := owners.CreateOwner(ctx, &ownerv1.CreateOwnerRequest{Owner: &ownerv1.Owner{
		GivenNames: "Aino", FamilyName: "Benchmark", Phone: "+358401234567",
		HomeClinic: ownerv1.Clinic_CLINIC_KANGASALA, Address: &ownerv1.Address{PostalCode: "36200", City: "Kangasala"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	id := created.GetOwner().GetId()
	for _, d := range []*consentv1.ConsentDecision{
		{Purpose: consentv1.Purpose_PURPOSE_STATISTICAL_RESEARCH, Decision: consentv1.Decision_DECISION_OBJECTED, Method: consentv1.Method_METHOD_IN_PERSON},
		{Purpose: consentv1.Purpose_PURPOSE_DIRECT_MARKETING, Scope: "sms", Decision: consentv1.Decision_DECISION_REFUSED, Method: consentv1.Method_METHOD_PHONE},
		{Purpose: consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE, Scope: "insurer-if", Decision: consentv1.Decision_DECISION_GRANTED,
			Method: consentv1.Method_METHOD_WRITTEN, EvidenceRef: "form-1", StatementVersion: "2026-01"},
	} {
		if _, err := consents.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: d}); err != nil {
			b.Fatal(err)
		}
	}

	raw, err := mongo.Connect(options.Client().ApplyURI(env.Store.URI()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = raw.Disconnect(context.Background()) })
	ledgers := raw.Database(consentDatabase).Collection("ledgers")
	httpClient := benchHTTPClient(b, env.TLS.CAFile)
	url := s.gatewayURL + "/v1/owners/" + id + "/consents:check?purpose=PURPOSE_INSURER_DISCLOSURE&scope=insurer-if"
	req := &consentv1.CheckConsentRequest{OwnerId: id, Purpose: consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE, Scope: "insurer-if"}
	paths := []struct {
		name string
		read func() error
	}{
		{"driver", func() error {
			var doc bson.M
			return ledgers.FindOne(context.Background(), bson.M{"_id": id}).Decode(&doc)
		}},
		{"grpc", func() error {
			_, err := consents.CheckConsent(ctx, req)
			return err
		}},
		{"rest", func() error { return restGet(httpClient, url, token) }},
	}
	spent := make([]time.Duration, len(paths))
	for b.Loop() {
		for i, p := range paths {
			start := time.Now()
			if err := p.read(); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(start)
		}
	}
	for i, p := range paths {
		b.ReportMetric(float64(spent[i].Nanoseconds())/float64(b.N), p.name+"-ns/check")
	}
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "grpc/driver")
	b.ReportMetric(float64(spent[2])/float64(spent[0]), "rest/driver")
}
