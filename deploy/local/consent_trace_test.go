package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/lillvet/register/services/platform/auth"
)

// TestConsentTraceCrossesThreeServices follows one REST record of a consent decision:
// gateway → consent service → owner service (is the owner there?) → MongoDB, and the
// consent service's own ledger write, all in one trace, each span parented on the one
// that caused it, the caller's role carried to the owner service with the forwarded
// token.
func TestConsentTraceCrossesThreeServices(t *testing.T) {
	s, spans, _ := startTracedStack(t)
	client := benchHTTPClient(t, s.env.TLS.CAFile)
	token := s.env.Token(t, auth.RoleReception)
	created := traceRequest(t, client, http.MethodPost, s.gatewayURL+"/v1/owners", token,
		`{"owner":{"givenNames":"Aino","familyName":"Äijälä","phone":"040 123 4567","homeClinic":"CLINIC_SEINAJOKI"}}`)
	var owner struct {
		Owner struct{ ID string } `json:"owner"`
	}
	if err := json.Unmarshal(created, &owner); err != nil || owner.Owner.ID == "" {
		t.Fatalf("create owner: %s", created)
	}
	spans.Reset()
	traceRequest(t, client, http.MethodPost, s.gatewayURL+"/v1/owners/"+owner.Owner.ID+"/consentDecisions", token,
		`{"decision":{"purpose":"PURPOSE_STATISTICAL_RESEARCH","decision":"DECISION_OBJECTED","method":"METHOD_IN_PERSON"}}`)

	ended := spans.GetSpans()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, sp := range ended {
		byID[sp.SpanContext.SpanID()] = sp
	}
	edge := findSpan(t, ended, "gateway", trace.SpanKindServer, "POST /v1/owners/{owner_id}/consentDecisions")
	served := findSpan(t, ended, "consent", trace.SpanKindServer, "lillvet.consent.v1.ConsentService/RecordConsentDecision")
	asked := findSpan(t, ended, "consent", trace.SpanKindClient, "lillvet.owner.v1.OwnerService/BatchGetOwnerStatus")
	answered := findSpan(t, ended, "owner", trace.SpanKindServer, "lillvet.owner.v1.OwnerService/BatchGetOwnerStatus")
	ownerRead := findSpan(t, ended, "owner", trace.SpanKindClient, "find")
	ledgerWrite := findSpan(t, ended, "consent", trace.SpanKindClient, "findAndModify")

	for _, sp := range []tracetest.SpanStub{served, asked, answered, ownerRead, ledgerWrite} {
		if sp.SpanContext.TraceID() != edge.SpanContext.TraceID() {
			t.Errorf("%s of %s is in another trace", sp.Name, serviceOf(sp))
		}
	}
	for _, link := range []struct {
		child, ancestor tracetest.SpanStub
		what            string
	}{
		{served, edge, "the consent service's span descends from the gateway's request"},
		{asked, served, "the call to the owner service descends from the consent service's span"},
		{answered, asked, "the owner service's span descends from the consent service's call"},
		{ownerRead, answered, "the owners read descends from the owner service's span"},
		{ledgerWrite, served, "the ledger write descends from the consent service's span"},
	} {
		if !descendsFrom(link.child, link.ancestor, byID) {
			t.Errorf("not so: %s", link.what)
		}
	}
	if got := attr(answered, "enduser.role"); got != "reception" {
		t.Errorf("the owner service saw the role %q, want the forwarded caller's reception", got)
	}
	for _, sp := range ended {
		if strings.Contains(fmt.Sprint(sp.Name, sp.Attributes, sp.Events), "Äijälä") {
			t.Errorf("personal data in span %s", sp.Name)
		}
	}
}
