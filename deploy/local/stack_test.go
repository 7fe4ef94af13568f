package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lillvet/register/gateway"
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/telemetry"
)

// stack is every service and the gateway running in the test process on one embedded
// store, wired as the runner wires them.
type stack struct {
	env        *servicetest.Env
	w          wiring
	gatewayURL string
	// client is a REST client that trusts the stack's CA.
	client *http.Client
}

// addr is the gRPC address of a service.
func (s *stack) addr(service string) string { return s.w.addr(service) }

// startTracedStack starts the stack with each process's spans and logs kept in memory,
// each under its own service name.
func startTracedStack(t *testing.T) (*stack, *tracetest.InMemoryExporter, *servicetest.LogBuffer) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	logs := &servicetest.LogBuffer{}
	s := startStack(t, func(service string) *telemetry.Telemetry {
		tt, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: service, SpanExporter: spans, LogWriter: logs})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tt.Shutdown(t.Context()) })
		return tt
	})
	return s, spans, logs
}

// startBenchStack starts the stack with production telemetry (spans batched, exported
// only when OTEL_* says so), not the tests' synchronous in-memory exporter.
func startBenchStack(b *testing.B) *stack {
	b.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{ServiceName: "bench", LogWriter: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return startStack(b, func(string) *telemetry.Telemetry { return tel })
}

// startStack starts every service and the gateway, each with the telemetry tel gives
// for its name.
func startStack(tb testing.TB, tel func(service string) *telemetry.Telemetry) *stack {
	tb.Helper()
	env := servicetest.New(tb)
	tokens := newTokenFiles(tb.TempDir())
	if err := tokens.write(env.Issuer); err != nil {
		tb.Fatal(err)
	}
	w := wiring{
		tls: env.TLS, auth: env.Auth, storeURI: env.Store.URI(), keys: newDevKeys(), tokens: tokens,
		listeners: map[string]net.Listener{"gateway": servicetest.Listen(tb)},
		telemetry: map[string]*telemetry.Telemetry{"gateway": tel("gateway")},
	}
	for _, s := range services {
		w.listeners[s.name] = servicetest.Listen(tb)
		w.telemetry[s.name] = tel(s.name)
	}
	for _, s := range services {
		env.Serve(tb, w.addr(s.name), func(ctx context.Context) error { return s.run(ctx, w) })
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gateway.Run(ctx, w.gateway()) }()
	tb.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			tb.Errorf("gateway: %v", err)
		}
	})
	return &stack{env: env, w: w, gatewayURL: "https://" + w.addr("gateway"), client: caClient(tb, env.TLS.CAFile)}
}
