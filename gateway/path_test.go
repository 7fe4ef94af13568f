package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// A client may put anything where an id goes in a path (a clinic app that sends a typed
// identity code as the owner id): the server span's url.path is the matched route, or
// "unmatched", never the path sent, and nothing else the gateway records holds it.
func TestPathSentStaysOutOfTelemetry(t *testing.T) {
	const code = "131052-308T"
	h := start(t, options{metrics: true})
	tests := []struct {
		method, path string
		anonymous    bool
		wantStatus   int
		wantSpan     string
		wantURLPath  string
	}{
		{http.MethodGet, "/v1/owners/" + code, false, http.StatusOK, "GET /v1/owners/{owner_id}", "/v1/owners/{owner_id}"},
		{http.MethodGet, "/v1/owners/" + code + "?name=" + code, true, http.StatusUnauthorized, "GET /v1/owners/{owner_id}", "/v1/owners/{owner_id}"},
		{http.MethodPost, "/v1/owners/" + code + ":revealIdentityCode", false, http.StatusNotImplemented, "POST /v1/owners/{owner_id}:revealIdentityCode", "/v1/owners/{owner_id}:revealIdentityCode"},
		{http.MethodGet, "/v1/hetu/" + code, false, http.StatusNotFound, "GET", "unmatched"},
		// Finding the Allow header's methods names no route either.
		{http.MethodDelete, "/v1/owners/" + code, false, http.StatusMethodNotAllowed, "DELETE", "unmatched"},
		{http.MethodGet, "/v1/owners/131052%2D308T/x", false, http.StatusNotFound, "GET", "unmatched"},
	}
	for _, tt := range tests {
		req := h.request(t, tt.method, tt.path, nil)
		if tt.anonymous {
			req.Header.Del("Authorization")
		}
		if code, _, body := h.do(t, req); code != tt.wantStatus {
			t.Fatalf("%s %s: status = %d, want %d: %s", tt.method, tt.path, code, tt.wantStatus, body)
		}
	}
	if code, _, body := h.do(t, h.request(t, http.MethodGet, "/healthz", nil)); code != http.StatusOK {
		t.Fatalf("healthz: %d %s", code, body)
	}
	metrics := h.scrape(t)
	h.stop() // ends every span and writes every log line

	var server []string
	for _, s := range h.spans.GetSpans() {
		all := s.Name + " " + s.Status.Description
		for _, kv := range s.Attributes {
			all += " " + string(kv.Key) + "=" + kv.Value.String()
		}
		for _, e := range s.Events {
			for _, kv := range e.Attributes {
				all += " " + kv.Value.String()
			}
		}
		if strings.Contains(all, "131052") || strings.Contains(all, "308T") {
			t.Errorf("span %q holds the path sent: %s", s.Name, all)
		}
		if s.SpanKind == trace.SpanKindServer {
			server = append(server, s.Name+" "+attr(s, "url.path"))
		}
	}
	// No span for the health check: the filter still finds its path.
	want := make([]string, len(tests))
	for i, tt := range tests {
		want[i] = tt.wantSpan + " " + tt.wantURLPath
	}
	slices.Sort(want)
	slices.Sort(server)
	if !slices.Equal(server, want) {
		t.Errorf("server spans (name and url.path) = %q, want %q", server, want)
	}
	for _, out := range []string{h.logs.String(), metrics} {
		if strings.Contains(out, "131052") || strings.Contains(out, "308T") {
			t.Errorf("logs or metrics hold the path sent:\n%s", out)
		}
	}
}

// What else a client writes into a request (headers a proxy would set, a user agent, the
// Host, a method HTTP does not define) stays out of telemetry and away from the services:
// otelhttp recorded X-Forwarded-For as client.address, the User-Agent and an unknown
// method as sent, grpc-gateway forwarded X-Forwarded-For and the Host as metadata, and
// the propagator took the client's baggage into the context the backend calls carry.
func TestClientTextStaysOutOfTelemetry(t *testing.T) {
	const code = "131052-308T"
	h := start(t, options{metrics: true})
	tests := []struct {
		name   string
		method string
		header string
		value  string
	}{
		{"X-Forwarded-For", http.MethodGet, "X-Forwarded-For", code},
		{"X-Forwarded-Host", http.MethodGet, "X-Forwarded-Host", code},
		{"Forwarded", http.MethodGet, "Forwarded", "for=" + code},
		{"X-Real-IP", http.MethodGet, "X-Real-IP", code},
		{"User-Agent", http.MethodGet, "User-Agent", "Klinikka-app (asiakas " + code + ")"},
		{"Host", http.MethodGet, "Host", code},
		// W3C baggage, which the edge does not take in: it would travel on to every service.
		{"baggage", http.MethodGet, "baggage", "asiakas=" + code},
		{"method", code, "", ""},
	}
	for _, tt := range tests {
		req := h.request(t, tt.method, "/v1/owners/o-1", nil)
		switch tt.header {
		case "":
		case "Host":
			req.Host = tt.value
		default:
			req.Header.Set(tt.header, tt.value)
		}
		want := http.StatusOK
		if tt.method != http.MethodGet {
			want = http.StatusMethodNotAllowed
		}
		if status, _, body := h.do(t, req); status != want {
			t.Fatalf("%s: status = %d, want %d: %s", tt.name, status, want, body)
		}
	}
	calls := h.owner.received()
	if len(calls) != len(tests)-1 {
		t.Fatalf("the service received %d calls, want %d", len(calls), len(tests)-1)
	}
	for _, c := range calls {
		for key, vals := range c.md {
			if v := strings.Join(vals, ","); strings.Contains(v, "308T") {
				t.Errorf("the service received %s: %q", key, v)
			}
		}
		// The address the gateway's peer connected from is the gateway's own knowledge.
		if got := c.md.Get("x-forwarded-for"); !slices.Equal(got, []string{"127.0.0.1"}) {
			t.Errorf("x-forwarded-for = %q, want the peer's address", got)
		}
	}
	metrics := h.scrape(t)
	h.stop()

	var methods []string
	for _, s := range h.spans.GetSpans() {
		all := s.Name
		for _, kv := range s.Attributes {
			all += " " + string(kv.Key) + "=" + kv.Value.String()
		}
		if strings.Contains(all, "308T") {
			t.Errorf("span %q holds what the client wrote: %s", s.Name, all)
		}
		if s.SpanKind == trace.SpanKindServer {
			methods = append(methods, attr(s, "http.request.method"))
		}
	}
	if !slices.Contains(methods, "_OTHER") {
		t.Errorf("server spans' methods %q, want the unknown one as _OTHER", methods)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, `"method":"_OTHER"`) {
		t.Errorf("no access log line names the unknown method _OTHER:\n%s", logs)
	}
	for _, out := range []string{logs, metrics} {
		if strings.Contains(out, "308T") {
			t.Errorf("logs or metrics hold what the client wrote:\n%s", out)
		}
	}
}

// The client's W3C tracestate is text it wrote, as its baggage is: the edge takes the
// traceparent's ids and leaves the state, which would otherwise travel as metadata to
// every service and be exported as the trace_state of every span of the trace.
func TestClientTraceStateStaysAtTheEdge(t *testing.T) {
	const (
		code    = "131052-308T"
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	)
	h := start(t, options{})
	req := h.request(t, http.MethodGet, "/v1/owners/o-1", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	req.Header.Set("tracestate", "asiakas="+code)
	if status, _, body := h.do(t, req); status != http.StatusOK {
		t.Fatalf("status = %d: %s", status, body)
	}
	c := h.owner.last(t)
	for key, vals := range c.md {
		if v := strings.Join(vals, ","); strings.Contains(v, "308T") {
			t.Errorf("the service received %s: %q", key, v)
		}
	}
	if tp := c.md.Get("traceparent"); len(tp) != 1 || !strings.Contains(tp[0], traceID) {
		t.Errorf("traceparent = %q, want the client's trace id", tp)
	}
	h.stop()
	for _, s := range h.spans.GetSpans() {
		if ts := s.SpanContext.TraceState().String(); strings.Contains(ts, "308T") {
			t.Errorf("span %q is exported with trace_state %q", s.Name, ts)
		}
	}
}
