package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/telemetry"
)

// backend is one gRPC service exposed over REST. Exposing another service is
// one more line in backends (and its target field in Config).
type backend struct {
	// name keys the service in /healthz.
	name string
	// env names the variable of its target, for configuration errors.
	env    string
	target func(Config) string
	// register adds the service's REST routes (from its *_http.yaml) to the
	// mux, calling it through conn: a real gRPC client, never the
	// in-process server registration that would bypass TLS, auth and
	// tracing.
	register func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
}

func backends() []backend {
	return []backend{
		{"owner", "OWNER_GRPC_TARGET", func(c Config) string { return c.OwnerAddr }, ownerv1.RegisterOwnerServiceHandler},
		{"consent", "CONSENT_GRPC_TARGET", func(c Config) string { return c.ConsentAddr }, consentv1.RegisterConsentServiceHandler},
		{"disclosure", "DISCLOSURE_GRPC_TARGET", func(c Config) string { return c.DisclosureAddr }, disclosurev1.RegisterDisclosureServiceHandler},
		{"history", "HISTORY_GRPC_TARGET", func(c Config) string { return c.HistoryAddr }, historyv1.RegisterHistoryServiceHandler},
	}
}

// backendConn is a backend with its client connection.
type backendConn struct {
	backend
	conn *grpc.ClientConn
}

type backendConns []backendConn

// dialBackends creates a client connection per backend. Connections are
// lazy: the gateway starts while a backend is still down, and /healthz
// says so.
func dialBackends(cfg Config, tel *telemetry.Telemetry) (backendConns, error) {
	var conns backendConns
	for _, b := range backends() {
		conn, err := grpcclient.Dial(b.target(cfg), cfg.BackendTLS, tel)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("dial %s service: %w", b.name, err), conns.close())
		}
		conns = append(conns, backendConn{backend: b, conn: conn})
	}
	return conns, nil
}

func (cs backendConns) close() error {
	var errs []error
	for _, c := range cs {
		if err := c.conn.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s connection: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}
