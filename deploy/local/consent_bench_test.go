package main

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// BenchmarkCheckConsent checks one owner's consent three ways on the same embedded store
// in the same run: the raw driver FindOne of the owner's ledger by _id (the floor), gRPC
// CheckConsent with TLS, token verification, authorization, Decide and the audit event,
// and REST GET /v1/owners/{id}/consents:check through the gateway. docs/BENCHMARKS.md
// reports the ratios of the interleaved run.
func BenchmarkCheckConsent(b *testing.B) {
	s := startBenchStack(b)
	owners := ownerv1.NewOwnerServiceClient(s.benchDial(b, "owner"))
	consents := consentv1.NewConsentServiceClient(s.benchDial(b, "consent"))
	ctx, token := s.caller(b, auth.RoleClinicManager)
	id := benchOwner(b, owners, ctx, "")
	const insurer = "0190f5a4-1f00-7000-8000-0000000000a1" // a recipient id
	for _, d := range []*consentv1.ConsentDecision{
		{Purpose: consentv1.Purpose_PURPOSE_STATISTICAL_RESEARCH, Decision: consentv1.Decision_DECISION_OBJECTED, Method: consentv1.Method_METHOD_IN_PERSON},
		{Purpose: consentv1.Purpose_PURPOSE_DIRECT_MARKETING, Scope: "sms", Decision: consentv1.Decision_DECISION_REFUSED, Method: consentv1.Method_METHOD_PHONE},
		{Purpose: consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE, Scope: insurer, Decision: consentv1.Decision_DECISION_GRANTED,
			Method: consentv1.Method_METHOD_WRITTEN, EvidenceRef: "form-1", StatementVersion: "2026-01"},
	} {
		if _, err := consents.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: d}); err != nil {
			b.Fatal(err)
		}
	}

	ledgers := s.rawCollection(b, "consent", "ledgers")
	req := &consentv1.CheckConsentRequest{OwnerId: id, Purpose: consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE, Scope: insurer}
	servicetest.Compare(b, "check",
		servicetest.Path{Name: "driver", Read: func() error {
			var doc bson.M
			return ledgers.FindOne(context.Background(), bson.M{"_id": id}).Decode(&doc)
		}},
		servicetest.Path{Name: "grpc", Read: func() error {
			_, err := consents.CheckConsent(ctx, req)
			return err
		}},
		s.restPath("/v1/owners/"+id+"/consents:check?purpose=PURPOSE_INSURER_DISCLOSURE&scope="+insurer, token),
	)
}
