package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestTracesInJaeger runs the README's traced setup: the runner with
// LILLVET_JAEGER starts Jaeger, and one REST request shows up in Jaeger's
// query API as one trace with spans of the gateway, the owner service and its
// MongoDB command. Building Jaeger takes minutes and 120 MB, so CI leaves it
// out and `make test-jaeger` runs it.
func TestTracesInJaeger(t *testing.T) {
	bin := os.Getenv("LILLVET_JAEGER")
	if bin == "" {
		t.Skip("LILLVET_JAEGER is not set; `make test-jaeger` builds Jaeger and runs this test")
	}
	otlp, query := freeAddr(t), freeAddr(t)
	t.Setenv("LILLVET_JAEGER_OTLP_ADDR", otlp)
	t.Setenv("LILLVET_JAEGER_QUERY_ADDR", query)
	r := startRunner(t)

	r.createOwner(t, r.token(t, "reception"), "Jäger", "")

	// Spans are exported in batches; poll until the trace is complete.
	deadline := time.Now().Add(30 * time.Second)
	var last []byte
	for time.Now().Before(deadline) {
		services, raw := jaegerTraceServices(t, query)
		last = raw
		if services["gateway"] > 0 && services["owner"] > 1 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("no trace with gateway and owner spans in Jaeger within 30 s; last answer: %.2000s", last)
}

// jaegerTraceServices asks Jaeger for the gateway's latest trace and counts
// its spans per service.
func jaegerTraceServices(t *testing.T, query string) (map[string]int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+query+"/api/traces?service=gateway&limit=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, []byte(err.Error())
	}
	defer func() { _ = res.Body.Close() }()
	var body struct {
		Data []struct {
			Spans []struct {
				ProcessID string `json:"processID"`
			} `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, []byte(err.Error())
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, raw
	}
	out := map[string]int{}
	for _, tr := range body.Data {
		for _, s := range tr.Spans {
			out[tr.Processes[s.ProcessID].ServiceName]++
		}
	}
	return out, raw
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}
