package opsserver_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/opsserver"
	"github.com/lillvet/register/services/platform/telemetry"
)

// start serves h on a free loopback port until the test ends and returns the
// base URL and a function that stops the server and returns Serve's result.
func start(t *testing.T, h http.Handler) (string, func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- opsserver.Serve(ctx, l, h, nil) }()
	var result error
	stopped := false
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			result = <-done
		}
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + l.Addr().String(), stop
}

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestServeOnlyMetrics(t *testing.T) {
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "ops-test", LogWriter: io.Discard})
	if err != nil {
		t.Fatalf("telemetry: %v", err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	counter, err := tel.MeterProvider.Meter("test").Int64Counter("lillvet.test.scrapes")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(t.Context(), 3)
	base, stop := start(t, tel.MetricsHandler)

	tests := []struct {
		name, method, path string
		want               int
		body               string
	}{
		{"metrics", http.MethodGet, "/metrics", http.StatusOK, "lillvet_test_scrapes_total"},
		{"metrics head", http.MethodHead, "/metrics", http.StatusOK, ""},
		{"metrics post", http.MethodPost, "/metrics", http.StatusMethodNotAllowed, ""},
		{"root", http.MethodGet, "/", http.StatusNotFound, ""},
		{"debug", http.MethodGet, "/debug/pprof/", http.StatusNotFound, ""},
		{"below metrics", http.MethodGet, "/metrics/x", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, tt.method, base+tt.path)
			if code != tt.want {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, code, tt.want)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("%s %s body lacks %q:\n%s", tt.method, tt.path, tt.body, body)
			}
		})
	}

	if err := stop(); err != nil {
		t.Fatalf("Serve after ctx done = %v, want nil", err)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := client.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Fatal("the endpoint still answers after shutdown")
	}
}

func TestServeWithoutHandler(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := opsserver.Serve(t.Context(), l, nil, nil); err == nil {
		t.Fatal("Serve without a handler succeeded")
	}
	if _, err := l.Accept(); err == nil {
		t.Error("listener left open")
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		addr  string
		valid bool
	}{
		{"", true},
		{"127.0.0.1:9100", true},
		{":9100", true},
		{"[::1]:0", true},
		{"localhost", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if err := (opsserver.Config{Addr: tt.addr}).Validate(); (err == nil) != tt.valid {
				t.Errorf("Validate() = %v, want valid %v", err, tt.valid)
			}
		})
	}
}

func TestListen(t *testing.T) {
	if l, err := (opsserver.Config{}).Listen(nil); err != nil || l != nil {
		t.Fatalf("disabled Listen = %v, %v; want nil, nil", l, err)
	}
	opened, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = opened.Close() })
	if l, err := (opsserver.Config{Addr: "127.0.0.1:1"}).Listen(opened); err != nil || l != opened {
		t.Fatalf("Listen with a listener = %v, %v; want that listener", l, err)
	}
	l, err := (opsserver.Config{Addr: "127.0.0.1:0"}).Listen(nil)
	if err != nil {
		t.Fatalf("Listen on port 0: %v", err)
	}
	_ = l.Close()
	if _, err := (opsserver.Config{Addr: opened.Addr().String()}).Listen(nil); err == nil {
		t.Error("Listen on a port in use succeeded")
	}
}
