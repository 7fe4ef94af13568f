package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lillvet/register/gateway"
	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/telemetry"
)

const (
	ownerDatabase      = "lillvet_owner"
	consentDatabase    = "lillvet_consent"
	disclosureDatabase = "lillvet_disclosure"
	historyDatabase    = "lillvet_history"
)

// stack is the owner, consent, disclosure and history services and the gateway running
// in the test process on one embedded store.
type stack struct {
	env            *servicetest.Env
	ownerAddr      string
	consentAddr    string
	disclosureAddr string
	historyAddr    string
	gatewayURL     string
}

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
	ownerL, consentL, gatewayL := servicetest.Listen(tb), servicetest.Listen(tb), servicetest.Listen(tb)
	disclosureL := servicetest.Listen(tb)
	historyL := servicetest.Listen(tb)
	cfg := owner.Config{
		GRPC: grpcServerConfig(ownerL, env.TLS), Auth: env.Auth, Listener: ownerL, Telemetry: tel("owner"),
		IdentityKeys: "t1:" + randomKey(tb), IdentityActiveKey: "t1", BlindIndexKey: randomKey(tb),
	}
	cfg.Mongo.URI, cfg.Mongo.Database = env.Store.URI(), ownerDatabase
	env.Serve(tb, ownerL.Addr().String(), func(ctx context.Context) error { return owner.Run(ctx, cfg) })
	consentCfg := consent.Config{
		GRPC: grpcServerConfig(consentL, env.TLS), Auth: env.Auth, Listener: consentL, Telemetry: tel("consent"),
		OwnerAddr: ownerL.Addr().String(), OwnerTLS: env.TLS,
	}
	consentCfg.Mongo.URI, consentCfg.Mongo.Database = env.Store.URI(), consentDatabase
	env.Serve(tb, consentL.Addr().String(), func(ctx context.Context) error { return consent.Run(ctx, consentCfg) })
	disclosureCfg := disclosure.Config{
		GRPC: grpcServerConfig(disclosureL, env.TLS), Auth: env.Auth, Listener: disclosureL, Telemetry: tel("disclosure"),
		OwnerAddr: ownerL.Addr().String(), OwnerTLS: env.TLS, ConsentAddr: consentL.Addr().String(), ConsentTLS: env.TLS,
	}
	disclosureCfg.Mongo.URI, disclosureCfg.Mongo.Database = env.Store.URI(), disclosureDatabase
	env.Serve(tb, disclosureL.Addr().String(), func(ctx context.Context) error { return disclosure.Run(ctx, disclosureCfg) })
	hcfg := history.Config{
		GRPC: grpcServerConfig(historyL, env.TLS), Auth: env.Auth, Listener: historyL, Telemetry: tel("history"),
		OwnerTarget: ownerL.Addr().String(),
	}
	hcfg.Mongo.URI, hcfg.Mongo.Database = env.Store.URI(), historyDatabase
	env.Serve(tb, historyL.Addr().String(), func(ctx context.Context) error { return history.Run(ctx, hcfg) })

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- gateway.Run(ctx, gateway.Config{
			TLS: env.TLS, BackendTLS: env.TLS, OwnerAddr: ownerL.Addr().String(), ConsentAddr: consentL.Addr().String(),
			DisclosureAddr: disclosureL.Addr().String(), HistoryAddr: historyL.Addr().String(), Auth: env.Auth,
			Listener: gatewayL, Telemetry: tel("gateway"),
		})
	}()
	tb.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			tb.Errorf("gateway: %v", err)
		}
	})
	return &stack{
		env: env, ownerAddr: ownerL.Addr().String(), consentAddr: consentL.Addr().String(),
		disclosureAddr: disclosureL.Addr().String(), historyAddr: historyL.Addr().String(),
		gatewayURL: "https://" + gatewayL.Addr().String(),
	}
}

// httpClient is a REST client that trusts the stack's CA.
func (s *stack) httpClient(tb testing.TB) *http.Client {
	tb.Helper()
	return caClient(tb, s.env.TLS.CAFile)
}

func randomKey(tb testing.TB) string {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}
