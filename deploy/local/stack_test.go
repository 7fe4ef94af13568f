package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/lillvet/register/gateway"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/telemetry"
)

const ownerDatabase = "lillvet_owner"

// stack is the owner and history services and the gateway running in the test process
// on one embedded store, each with the telemetry it is given (the history service with
// the owner's).
type stack struct {
	env         *servicetest.Env
	ownerAddr   string
	historyAddr string
	gatewayURL  string
}

func startStack(tb testing.TB, ownerTel, gatewayTel *telemetry.Telemetry) *stack {
	tb.Helper()
	env := servicetest.New(tb)
	ownerL, historyL, gatewayL := servicetest.Listen(tb), servicetest.Listen(tb), servicetest.Listen(tb)
	cfg := owner.Config{
		GRPC: grpcServerConfig(ownerL, env.TLS), Auth: env.Auth, Listener: ownerL, Telemetry: ownerTel,
		IdentityKeys: "t1:" + randomKey(tb), IdentityActiveKey: "t1", BlindIndexKey: randomKey(tb),
	}
	cfg.Mongo.URI, cfg.Mongo.Database = env.Store.URI(), ownerDatabase
	env.Serve(tb, ownerL.Addr().String(), func(ctx context.Context) error { return owner.Run(ctx, cfg) })
	hcfg := history.Config{
		GRPC: grpcServerConfig(historyL, env.TLS), Auth: env.Auth, Listener: historyL, Telemetry: ownerTel,
		OwnerTarget: ownerL.Addr().String(),
	}
	hcfg.Mongo.URI, hcfg.Mongo.Database = env.Store.URI(), "lillvet_history"
	env.Serve(tb, historyL.Addr().String(), func(ctx context.Context) error { return history.Run(ctx, hcfg) })

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- gateway.Run(ctx, gateway.Config{
			TLS: env.TLS, BackendTLS: env.TLS, OwnerAddr: ownerL.Addr().String(), HistoryAddr: historyL.Addr().String(), Auth: env.Auth,
			Listener: gatewayL, Telemetry: gatewayTel,
		})
	}()
	tb.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			tb.Errorf("gateway: %v", err)
		}
	})
	return &stack{
		env: env, ownerAddr: ownerL.Addr().String(), historyAddr: historyL.Addr().String(),
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
