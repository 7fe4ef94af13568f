package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/lillvet/register/gateway"
	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/telemetry"
)

const (
	ownerDatabase   = "lillvet_owner"
	consentDatabase = "lillvet_consent"
	// disclosureDatabase is the disclosure service's database.
	disclosureDatabase = "lillvet_disclosure"
	historyDatabase    = "lillvet_history"
)

// stack is the owner, consent, disclosure and history services and the gateway running
// in the test process on one embedded store, each with the telemetry it is given (the
// disclosure and history services with the owner service's).
type stack struct {
	env            *servicetest.Env
	ownerAddr      string
	consentAddr    string
	disclosureAddr string
	historyAddr    string
	gatewayURL     string
}

func startStack(tb testing.TB, ownerTel, consentTel, gatewayTel *telemetry.Telemetry) *stack {
	tb.Helper()
	return startStackWith(tb, stackTelemetry{owner: ownerTel, consent: consentTel, disclosure: ownerTel, history: ownerTel, gateway: gatewayTel})
}

// stackTelemetry is each process's telemetry, for tests that tell the services apart.
type stackTelemetry struct {
	owner, consent, disclosure, history, gateway *telemetry.Telemetry
}

func startStackWith(tb testing.TB, tel stackTelemetry) *stack {
	tb.Helper()
	env := servicetest.New(tb)
	ownerL, consentL, gatewayL := servicetest.Listen(tb), servicetest.Listen(tb), servicetest.Listen(tb)
	disclosureL := servicetest.Listen(tb)
	historyL := servicetest.Listen(tb)
	cfg := owner.Config{
		GRPC: grpcServerConfig(ownerL, env.TLS), Auth: env.Auth, Listener: ownerL, Telemetry: tel.owner,
		IdentityKeys: "t1:" + randomKey(tb), IdentityActiveKey: "t1", BlindIndexKey: randomKey(tb),
	}
	cfg.Mongo.URI, cfg.Mongo.Database = env.Store.URI(), ownerDatabase
	env.Serve(tb, ownerL.Addr().String(), func(ctx context.Context) error { return owner.Run(ctx, cfg) })
	consentCfg := consent.Config{
		GRPC: grpcServerConfig(consentL, env.TLS), Auth: env.Auth, Listener: consentL, Telemetry: tel.consent,
		OwnerAddr: ownerL.Addr().String(), OwnerTLS: env.TLS,
	}
	consentCfg.Mongo.URI, consentCfg.Mongo.Database = env.Store.URI(), consentDatabase
	env.Serve(tb, consentL.Addr().String(), func(ctx context.Context) error { return consent.Run(ctx, consentCfg) })
	disclosureCfg := disclosure.Config{
		GRPC: grpcServerConfig(disclosureL, env.TLS), Auth: env.Auth, Listener: disclosureL, Telemetry: tel.disclosure,
		OwnerAddr: ownerL.Addr().String(), OwnerTLS: env.TLS, ConsentAddr: consentL.Addr().String(), ConsentTLS: env.TLS,
	}
	disclosureCfg.Mongo.URI, disclosureCfg.Mongo.Database = env.Store.URI(), disclosureDatabase
	env.Serve(tb, disclosureL.Addr().String(), func(ctx context.Context) error { return disclosure.Run(ctx, disclosureCfg) })
	hcfg := history.Config{
		GRPC: grpcServerConfig(historyL, env.TLS), Auth: env.Auth, Listener: historyL, Telemetry: tel.history,
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
			Listener: gatewayL, Telemetry: tel.gateway,
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

func randomKey(tb testing.TB) string {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}
