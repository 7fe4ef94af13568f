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
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/telemetry"
)

// TestDisclosureIsOneTrace follows one REST disclosure (issue 6's three services): the
// gateway calls the disclosure service, which asks the consent service for the legal
// basis and the owner service for the data, each of them reading MongoDB. Everything is
// one trace, each span parented on the one that caused it and named after its service,
// the caller's role on every service span, and no personal data in any span.
func TestDisclosureIsOneTrace(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	logs := &servicetest.LogBuffer{}
	tel := func(service string) *telemetry.Telemetry {
		tt, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: service, SpanExporter: spans, LogWriter: logs})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tt.Shutdown(t.Context()) })
		return tt
	}
	s := startStackWith(t, stackTelemetry{
		owner: tel("owner"), consent: tel("consent"), disclosure: tel("disclosure"), gateway: tel("gateway"),
	})
	client := benchHTTPClient(t, s.env.TLS.CAFile)
	reception, manager := s.env.Token(t, auth.RoleReception), s.env.Token(t, auth.RoleClinicManager)
	id := func(body []byte, object string) string {
		var m map[string]map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%s: %s", object, body)
		}
		v, _ := m[object]["id"].(string)
		return v
	}
	owner := id(traceRequest(t, client, http.MethodPost, s.gatewayURL+"/v1/owners", reception,
		`{"owner":{"givenNames":"Aino","familyName":"Äijälä","phone":"040 123 4567","email":"aino@example.fi",
		"address":{"street":"Ruukintie 1","postalCode":"60100","city":"Seinäjoki"},
		"homeClinic":"CLINIC_SEINAJOKI"},"identityCode":"131052-308T"}`), "owner")
	insurer := id(traceRequest(t, client, http.MethodPost, s.gatewayURL+"/v1/recipients", manager,
		`{"recipient":{"name":"LähiTapiola","kind":"RECIPIENT_KIND_INSURER","businessId":"2923530-5",
		"country":"FI","contact":{"email":"claims@example.fi"}}}`), "recipient")
	traceRequest(t, client, http.MethodPost, s.gatewayURL+"/v1/owners/"+owner+"/consentDecisions", reception,
		fmt.Sprintf(`{"decision":{"purpose":"PURPOSE_INSURER_DISCLOSURE","scope":%q,"decision":"DECISION_GRANTED",
		"method":"METHOD_WRITTEN","evidenceRef":"form-7","statementVersion":"2026-01"}}`, insurer))
	spans.Reset()
	traceRequest(t, client, http.MethodPost, s.gatewayURL+"/v1/disclosures", reception, fmt.Sprintf(
		`{"recipientId":%q,"ownerId":%q,"categories":["DATA_CATEGORY_OWNER_NAME"],"caseReference":"claim 117"}`,
		insurer, owner))

	ended := spans.GetSpans()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, sp := range ended {
		byID[sp.SpanContext.SpanID()] = sp
	}
	find := func(service string, kind trace.SpanKind, name string) tracetest.SpanStub {
		t.Helper()
		for _, sp := range ended {
			if serviceOf(sp) == service && sp.SpanKind == kind && strings.Contains(sp.Name, name) {
				return sp
			}
		}
		t.Fatalf("no %s span %q of %s among %s", kind, name, service, names(ended))
		return tracetest.SpanStub{}
	}
	// under finds the MongoDB command of a collection issued while serving parent.
	under := func(parent tracetest.SpanStub, op, collection string) tracetest.SpanStub {
		t.Helper()
		for _, sp := range ended {
			if serviceOf(sp) == serviceOf(parent) && sp.SpanKind == trace.SpanKindClient && strings.Contains(sp.Name, op) &&
				attr(sp, "db.collection.name") == collection && descendsFrom(sp, parent, byID) {
				return sp
			}
		}
		t.Fatalf("no %s on %s under %s of %s among %s", op, collection, parent.Name, serviceOf(parent), names(ended))
		return tracetest.SpanStub{}
	}
	const (
		disclose = "lillvet.disclosure.v1.DisclosureService/CreateDisclosure"
		check    = "lillvet.consent.v1.ConsentService/CheckConsent"
		getOwner = "lillvet.owner.v1.OwnerService/GetOwner"
	)
	edge := find("gateway", trace.SpanKindServer, "POST /v1/disclosures")
	call := find("gateway", trace.SpanKindClient, disclose)
	served := find("disclosure", trace.SpanKindServer, disclose)
	checkCall := find("disclosure", trace.SpanKindClient, check)
	checked := find("consent", trace.SpanKindServer, check)
	ledger := under(checked, "find", "ledgers")
	ownerCall := find("disclosure", trace.SpanKindClient, getOwner)
	ownerServed := find("owner", trace.SpanKindServer, getOwner)
	ownerRead := under(ownerServed, "find", "owners")
	logged := under(served, "insert", "disclosures")

	for _, sp := range []tracetest.SpanStub{call, served, checkCall, checked, ledger, ownerCall, ownerServed, ownerRead, logged} {
		if sp.SpanContext.TraceID() != edge.SpanContext.TraceID() {
			t.Errorf("%s of %s is in another trace", sp.Name, serviceOf(sp))
		}
	}
	for _, link := range []struct {
		child, parent tracetest.SpanStub
		what          string
	}{
		{call, edge, "the gateway's call under its HTTP span"},
		{served, call, "the disclosure service under the gateway's call"},
		{checked, checkCall, "the consent service under the disclosure service's call"},
		{ownerServed, ownerCall, "the owner service under the disclosure service's call"},
	} {
		if link.child.Parent.SpanID() != link.parent.SpanContext.SpanID() {
			t.Errorf("not parented: %s", link.what)
		}
	}
	for _, sp := range []tracetest.SpanStub{checkCall, ownerCall} {
		if !descendsFrom(sp, served, byID) {
			t.Errorf("%s does not descend from the disclosure service's span", sp.Name)
		}
	}
	for _, sp := range []tracetest.SpanStub{served, checked, ownerServed} {
		if got := attr(sp, "enduser.role"); got != "reception" {
			t.Errorf("caller's role on the %s span = %q", serviceOf(sp), got)
		}
	}
	var all strings.Builder
	for _, sp := range ended {
		fmt.Fprintf(&all, "%s %v %v %v\n", sp.Name, sp.Attributes, sp.Events, sp.Status)
	}
	for _, personal := range []string{"Äijälä", "Aino", "Ruukintie", "131052", "+358401234567", "040 123 4567", "aino@example.fi"} {
		if strings.Contains(all.String(), personal) {
			t.Errorf("personal data %q in a span", personal)
		}
	}
}
