// Package ownertest runs a real owner service in the tests of the services that call
// it (and in the owner service's own), on a servicetest environment.
package ownertest

import (
	"context"
	"testing"

	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/servicetest"

	// A test helper: the test command refuses a production binary that links one.
	_ "github.com/lillvet/register/services/platform/testonly"
)

// Start runs an owner service on env's store, in database, with one fresh identity key,
// until the test ends; opts adjust its configuration. It returns the running service
// and its address, the target its callers are given.
func Start(tb testing.TB, env *servicetest.Env, database string, opts ...func(*owner.Config)) (*servicetest.Service, string) {
	tb.Helper()
	l := servicetest.Listen(tb)
	cfg := owner.Config{
		Base:              env.Base(l, database),
		IdentityKeys:      "k1:" + servicetest.RandomKey(tb),
		IdentityActiveKey: "k1",
		BlindIndexKey:     servicetest.RandomKey(tb),
	}
	for _, o := range opts {
		o(&cfg)
	}
	addr := l.Addr().String()
	return env.Serve(tb, addr, func(ctx context.Context) error { return owner.Run(ctx, cfg) }), addr
}
