package gateway_test

import (
	"io"
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
	resp, err := h.client.Get(h.metricsURL)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	metrics, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
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
	for _, out := range []string{h.logs.String(), string(metrics)} {
		if strings.Contains(out, "131052") || strings.Contains(out, "308T") {
			t.Errorf("logs or metrics hold the path sent:\n%s", out)
		}
	}
}
