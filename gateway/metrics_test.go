package gateway_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestMetricsEndpointNamesRoutes(t *testing.T) {
	h := start(t, options{metrics: true})
	if code, _, body := h.do(t, h.request(t, http.MethodGet, "/v1/owners/o-7", nil)); code != http.StatusOK {
		t.Fatalf("get: %d %s", code, body)
	}
	if code, _, body := h.do(t, h.request(t, http.MethodGet, "/v1/owners?name=Korhonen", nil)); code != http.StatusOK {
		t.Fatalf("search: %d %s", code, body)
	}
	anonymous := h.request(t, http.MethodGet, "/v1/owners/o-8", nil)
	anonymous.Header.Del("Authorization")
	// The Host header is the client's to choose: it must not become a label.
	anonymous.Host = "aino.aijala.example:12345"
	if code, _, body := h.do(t, anonymous); code != http.StatusUnauthorized {
		t.Fatalf("anonymous get: %d %s", code, body)
	}

	body := h.scrape(t)
	const metric = "http_server_request_duration_seconds_count{"
	for _, status := range []string{`http_response_status_code="200"`, `http_response_status_code="401"`} {
		found := false
		for line := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(line, metric) && strings.Contains(line, `http_route="/v1/owners/{owner_id}"`) &&
				strings.Contains(line, status) && strings.HasSuffix(line, " 1") {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s series for /v1/owners/{owner_id} with %s and count 1 in:\n%s", metric, status, body)
		}
	}
	for _, leak := range []string{"o-7", "o-8", "Korhonen", h.token, "aijala", "12345"} {
		if strings.Contains(body, leak) {
			t.Errorf("the metrics carry %q", leak)
		}
	}
}
