package main

import (
	"fmt"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/lillvet/register/services/platform/auth"
)

// TestDisclosureIsOneTrace follows one REST disclosure (issue 6's three services): the
// gateway calls the disclosure service, which asks the consent service for the legal
// basis and the owner service for the data, each of them reading MongoDB. Everything is
// one trace, each span parented on the one that caused it and named after its service,
// the caller's role on every service span, and no personal data in any span.
func TestDisclosureIsOneTrace(t *testing.T) {
	s, spans, _ := startTracedStack(t)
	reception, manager := s.env.Token(t, auth.RoleReception), s.env.Token(t, auth.RoleClinicManager)
	owner := createdID(t, s.rest(t, http.MethodPost, "/v1/owners", reception,
		`{"owner":{"givenNames":"Aino","familyName":"Äijälä","phone":"040 123 4567","email":"aino@example.fi",
		"address":{"street":"Ruukintie 1","postalCode":"60100","city":"Seinäjoki"},
		"homeClinic":"CLINIC_SEINAJOKI"},"identityCode":"131052-308T"}`), "owner")
	insurer := createdID(t, s.rest(t, http.MethodPost, "/v1/recipients", manager,
		`{"recipient":{"name":"LähiTapiola","kind":"RECIPIENT_KIND_INSURER","businessId":"2923530-5",
		"country":"FI","contact":{"email":"claims@example.fi"}}}`), "recipient")
	s.rest(t, http.MethodPost, "/v1/owners/"+owner+"/consentDecisions", reception,
		fmt.Sprintf(`{"decision":{"purpose":"PURPOSE_INSURER_DISCLOSURE","scope":%q,"decision":"DECISION_GRANTED",
		"method":"METHOD_WRITTEN","evidenceRef":"form-7","statementVersion":"2026-01"}}`, insurer))
	spans.Reset()
	s.rest(t, http.MethodPost, "/v1/disclosures", reception, fmt.Sprintf(
		`{"recipientId":%q,"ownerId":%q,"categories":["DATA_CATEGORY_OWNER_NAME"],"caseReference":"claim 117"}`,
		insurer, owner))

	const (
		disclose = "lillvet.disclosure.v1.DisclosureService/CreateDisclosure"
		check    = "lillvet.consent.v1.ConsentService/CheckConsent"
		getOwner = "lillvet.owner.v1.OwnerService/GetOwner"
	)
	tr := endedTrace(t, spans)
	edge := tr.find("gateway", trace.SpanKindServer, "POST /v1/disclosures")
	call := tr.find("gateway", trace.SpanKindClient, disclose)
	served := tr.find("disclosure", trace.SpanKindServer, disclose)
	checkCall := tr.find("disclosure", trace.SpanKindClient, check)
	checked := tr.find("consent", trace.SpanKindServer, check)
	ledger := tr.under(checked, "find", "ledgers")
	ownerCall := tr.find("disclosure", trace.SpanKindClient, getOwner)
	ownerServed := tr.find("owner", trace.SpanKindServer, getOwner)
	ownerRead := tr.under(ownerServed, "find", "owners")
	logged := tr.under(served, "insert", "disclosures")

	tr.sameTrace(edge, call, served, checkCall, checked, ledger, ownerCall, ownerServed, ownerRead, logged)
	tr.parented([]link{
		{call, edge, "the gateway's call under its HTTP span"},
		{served, call, "the disclosure service under the gateway's call"},
		{checked, checkCall, "the consent service under the disclosure service's call"},
		{ownerServed, ownerCall, "the owner service under the disclosure service's call"},
	})
	tr.descends([]link{
		{checkCall, served, "the consent check descends from the disclosure service's span"},
		{ownerCall, served, "the owner read descends from the disclosure service's span"},
	})
	tr.callerRole("reception", served, checked, ownerServed)
	tr.noPersonalData("Äijälä", "Aino", "Ruukintie", "131052", "+358401234567", "040 123 4567", "aino@example.fi")
}
