package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/lillvet/register/services/platform/auth"
)

// TestOneTracePerRequest follows one REST request from the gateway through the owner
// service down to its MongoDB command: one trace, each span parented on the one that
// caused it, named after its service, with the RPC, its status and the caller's role.
// No personal data is anywhere in the spans or the logs of any process: neither of
// that request nor of the create that sent the owner's identity code in and the reveal
// that sent it back out.
func TestOneTracePerRequest(t *testing.T) {
	s, spans, logs := startTracedStack(t)
	token := s.env.Token(t, auth.RoleReception)

	body := `{"owner":{"givenNames":"Aino","familyName":"Äijälä","phone":"040 123 4567",
		"address":{"street":"Ruukintie 1","postalCode":"60100","city":"Seinäjoki"},
		"homeClinic":"CLINIC_SEINAJOKI"},"identityCode":"131052-308T"}`
	id := createdID(t, s.rest(t, http.MethodPost, "/v1/owners", token, body), "owner")
	revealed := s.rest(t, http.MethodPost, "/v1/owners/"+id+":revealIdentityCode", s.env.Token(t, auth.RoleBilling),
		`{"purpose":"invoice 2026-118 to collection"}`)
	if !bytes.Contains(revealed, []byte("131052-308T")) {
		t.Fatalf("the reveal answered %s, without the identity code", revealed)
	}
	sent := endedTrace(t, spans)
	sent.find("gateway", trace.SpanKindServer, "POST /v1/owners/{owner_id}:revealIdentityCode")
	sent.find("owner", trace.SpanKindServer, "lillvet.owner.v1.OwnerService/CreateOwner")
	sent.find("owner", trace.SpanKindServer, "lillvet.owner.v1.OwnerService/RevealIdentityCode")
	spans.Reset()
	// A name search: the route that takes personal data in its query.
	s.rest(t, http.MethodGet, "/v1/owners?name=Äijälä", token, "")

	tr := endedTrace(t, spans)
	edge := tr.find("gateway", trace.SpanKindServer, "GET /v1/owners")
	call := tr.find("gateway", trace.SpanKindClient, "lillvet.owner.v1.OwnerService/ListOwners")
	served := tr.find("owner", trace.SpanKindServer, "lillvet.owner.v1.OwnerService/ListOwners")
	read := tr.find("owner", trace.SpanKindClient, "find")

	tr.sameTrace(edge, call, served, read)
	if edge.Parent.IsValid() {
		t.Errorf("the gateway's span has a parent: the request should start the trace")
	}
	tr.parented([]link{
		{call, edge, "the gateway's gRPC call is a child of its HTTP span"},
		{served, call, "the owner service's span is a child of the gateway's call"},
	})
	tr.descends([]link{{read, served, "the MongoDB find descends from the owner service's span"}})
	tr.callerRole("reception", served)
	if got := attr(served, string(semconv.RPCMethodKey)); !strings.Contains(got, "ListOwners") {
		t.Errorf("rpc.method on the service span = %q", got)
	}
	if got := attr(read, "db.collection.name"); got != "owners" {
		t.Errorf("collection on the MongoDB span = %q", got)
	}
	personal := []string{"Äijälä", "Aino", "Ruukintie", "131052", "+358401234567", "040 123 4567"}
	sent.noPersonalData(personal...)
	tr.noPersonalData(personal...)
	for _, p := range personal {
		if strings.Contains(logs.String(), p) {
			t.Errorf("personal data %q in a log line", p)
		}
	}
	if !strings.Contains(logs.String(), edge.SpanContext.TraceID().String()) {
		t.Errorf("no log line carries the request's trace id")
	}
}

// spanTrace is the spans a request left, indexed to follow parents.
type spanTrace struct {
	t     *testing.T
	spans *tracetest.InMemoryExporter
	ended tracetest.SpanStubs
	byID  map[trace.SpanID]tracetest.SpanStub
}

// endedTrace takes every span exported so far.
func endedTrace(t *testing.T, spans *tracetest.InMemoryExporter) *spanTrace {
	t.Helper()
	tr := &spanTrace{t: t, spans: spans}
	tr.read()
	return tr
}

// read takes every span exported so far.
func (tr *spanTrace) read() {
	tr.ended, tr.byID = tr.spans.GetSpans(), map[trace.SpanID]tracetest.SpanStub{}
	for _, sp := range tr.ended {
		tr.byID[sp.SpanContext.SpanID()] = sp
	}
}

// spanWait bounds how long find waits for a span to end. A server span ends after the
// answer is sent (otelgrpc's and otelhttp's handlers end it when the handler returns),
// so the caller can hold the answer before the span is exported.
const spanWait = 10 * time.Second

// find returns the first span of service with kind whose name contains name, waiting
// for it to end.
func (tr *spanTrace) find(service string, kind trace.SpanKind, name string) tracetest.SpanStub {
	tr.t.Helper()
	deadline := time.Now().Add(spanWait)
	for {
		for _, sp := range tr.ended {
			if serviceOf(sp) == service && sp.SpanKind == kind && strings.Contains(sp.Name, name) {
				return sp
			}
		}
		if time.Now().After(deadline) {
			tr.t.Fatalf("no %s span %q of %s among %s", kind, name, service, tr.names())
		}
		time.Sleep(10 * time.Millisecond)
		tr.read()
	}
}

// under finds the MongoDB command op on collection issued while serving parent.
func (tr *spanTrace) under(parent tracetest.SpanStub, op, collection string) tracetest.SpanStub {
	tr.t.Helper()
	for _, sp := range tr.ended {
		if serviceOf(sp) == serviceOf(parent) && sp.SpanKind == trace.SpanKindClient && strings.Contains(sp.Name, op) &&
			attr(sp, "db.collection.name") == collection && tr.descendsFrom(sp, parent) {
			return sp
		}
	}
	tr.t.Fatalf("no %s on %s under %s of %s among %s", op, collection, parent.Name, serviceOf(parent), tr.names())
	return tracetest.SpanStub{}
}

// sameTrace checks that every span is in edge's trace.
func (tr *spanTrace) sameTrace(edge tracetest.SpanStub, spans ...tracetest.SpanStub) {
	tr.t.Helper()
	for _, sp := range spans {
		if sp.SpanContext.TraceID() != edge.SpanContext.TraceID() {
			tr.t.Errorf("%s of %s is in another trace", sp.Name, serviceOf(sp))
		}
	}
}

// link is an expected relation between two spans, said in words for the failure.
type link struct {
	child, parent tracetest.SpanStub
	what          string
}

// parented checks that each child's parent is exactly its link's parent.
func (tr *spanTrace) parented(links []link) {
	tr.t.Helper()
	for _, l := range links {
		if l.child.Parent.SpanID() != l.parent.SpanContext.SpanID() {
			tr.t.Errorf("not so: %s", l.what)
		}
	}
}

// descends checks that each child has its link's parent among its ancestors.
func (tr *spanTrace) descends(links []link) {
	tr.t.Helper()
	for _, l := range links {
		if !tr.descendsFrom(l.child, l.parent) {
			tr.t.Errorf("not so: %s", l.what)
		}
	}
}

func (tr *spanTrace) descendsFrom(sp, ancestor tracetest.SpanStub) bool {
	for range 10 {
		if sp.Parent.SpanID() == ancestor.SpanContext.SpanID() {
			return true
		}
		parent, ok := tr.byID[sp.Parent.SpanID()]
		if !ok {
			return false
		}
		sp = parent
	}
	return false
}

// callerRole checks the caller's role on each service span: the owner service's after
// a forwarded call too.
func (tr *spanTrace) callerRole(want string, spans ...tracetest.SpanStub) {
	tr.t.Helper()
	for _, sp := range spans {
		if got := attr(sp, "enduser.role"); got != want {
			tr.t.Errorf("caller's role on the %s span %s = %q, want %q", serviceOf(sp), sp.Name, got, want)
		}
	}
}

// noPersonalData checks that no span's name, attributes, events or status holds any of
// the personal strings.
func (tr *spanTrace) noPersonalData(personal ...string) {
	tr.t.Helper()
	var all strings.Builder
	for _, sp := range tr.ended {
		fmt.Fprintf(&all, "%s %v %v %v\n", sp.Name, sp.Attributes, sp.Events, sp.Status)
	}
	for _, p := range personal {
		if strings.Contains(all.String(), p) {
			tr.t.Errorf("personal data %q in a span", p)
		}
	}
}

func (tr *spanTrace) names() string {
	out := make([]string, len(tr.ended))
	for i, sp := range tr.ended {
		out[i] = serviceOf(sp) + ":" + sp.SpanKind.String() + ":" + sp.Name
	}
	return strings.Join(out, ", ")
}

func serviceOf(sp tracetest.SpanStub) string {
	v, _ := sp.Resource.Set().Value(semconv.ServiceNameKey)
	return v.AsString()
}

func attr(sp tracetest.SpanStub, key string) string {
	for _, kv := range sp.Attributes {
		if kv.Key == attribute.Key(key) {
			return kv.Value.String()
		}
	}
	return ""
}

// rest sends one request through the gateway as the holder of token and returns the
// body of its 200 answer.
func (s *stack) rest(t *testing.T, method, path, token, body string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.gatewayURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, res.StatusCode, bytes.TrimSpace(out))
	}
	return out
}

// createdID returns the id of the object a create answered with.
func createdID(t *testing.T, body []byte, object string) string {
	t.Helper()
	var m map[string]map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("create %s: %s", object, body)
	}
	id, _ := m[object]["id"].(string)
	if id == "" {
		t.Fatalf("create %s: no id in %s", object, body)
	}
	return id
}
