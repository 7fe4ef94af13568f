package main

import (
	"net/http"
	"testing"

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
	token := s.env.Token(t, auth.RoleReception)
	ownerID := createdID(t, s.rest(t, http.MethodPost, "/v1/owners", token,
		`{"owner":{"givenNames":"Aino","familyName":"Äijälä","phone":"040 123 4567","homeClinic":"CLINIC_SEINAJOKI"}}`), "owner")
	spans.Reset()
	s.rest(t, http.MethodPost, "/v1/owners/"+ownerID+"/consentDecisions", token,
		`{"decision":{"purpose":"PURPOSE_STATISTICAL_RESEARCH","decision":"DECISION_OBJECTED","method":"METHOD_IN_PERSON"}}`)

	tr := endedTrace(t, spans)
	edge := tr.find("gateway", trace.SpanKindServer, "POST /v1/owners/{owner_id}/consentDecisions")
	served := tr.find("consent", trace.SpanKindServer, "lillvet.consent.v1.ConsentService/RecordConsentDecision")
	asked := tr.find("consent", trace.SpanKindClient, "lillvet.owner.v1.OwnerService/BatchGetOwnerStatus")
	answered := tr.find("owner", trace.SpanKindServer, "lillvet.owner.v1.OwnerService/BatchGetOwnerStatus")
	ownerRead := tr.find("owner", trace.SpanKindClient, "find")
	ledgerWrite := tr.find("consent", trace.SpanKindClient, "findAndModify")

	tr.sameTrace(edge, served, asked, answered, ownerRead, ledgerWrite)
	tr.descends([]link{
		{served, edge, "the consent service's span descends from the gateway's request"},
		{asked, served, "the call to the owner service descends from the consent service's span"},
		{answered, asked, "the owner service's span descends from the consent service's call"},
		{ownerRead, answered, "the owners read descends from the owner service's span"},
		{ledgerWrite, served, "the ledger write descends from the consent service's span"},
	})
	tr.callerRole("reception", answered)
	tr.noPersonalData("Äijälä")
}
