// Package history runs the patient-history service: visits with their append-only
// amendments, and the communications between the clinic and the owners. Run is the one
// entry point, used by cmd/history and by the local all-in-one runner.
package history

import (
	"context"
	"errors"
	"net"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/adapters/ownersvc"
	"github.com/lillvet/register/services/history/internal/app"
	historygrpc "github.com/lillvet/register/services/history/internal/ports/grpc"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/opsserver"
	"github.com/lillvet/register/services/platform/service"
	"github.com/lillvet/register/services/platform/telemetry"
)

// ServiceName names the service in traces, logs and metrics.
const ServiceName = "history"

// Config is the history service's configuration, read from the environment.
type Config struct {
	GRPC    grpcserver.Config
	Mongo   mongox.Config
	Auth    auth.Config
	Metrics opsserver.Config
	// OwnerTarget is the owner service's gRPC address. The history service calls it
	// with its own certificate (TLS_CERT_FILE) and trusts TLS_CA_FILE for it.
	OwnerTarget string `env:"OWNER_GRPC_TARGET" envDefault:"127.0.0.1:7101"`

	// Listener, when set, is served instead of GRPC.Addr (the local runner, tests).
	Listener net.Listener `env:"-"`
	// MetricsListener, when set, serves the metrics endpoint instead of
	// Metrics.Addr (the local runner, tests). Run closes it.
	MetricsListener net.Listener `env:"-"`
	// Telemetry, when set, is shared with the caller (the local runner, tests);
	// otherwise Run sets up its own from the standard OTEL_* variables.
	Telemetry *telemetry.Telemetry `env:"-"`
}

// Validate checks every part of the configuration.
func (c Config) Validate() error {
	errs := []error{c.GRPC.Validate(), c.Mongo.Validate(), c.Auth.Validate(), c.Metrics.Validate()}
	if c.OwnerTarget == "" {
		errs = append(errs, errors.New("OWNER_GRPC_TARGET is required"))
	}
	return errors.Join(errs...)
}

// Run serves the history service until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	return service.Run(ctx, service.Spec{
		Name: ServiceName,
		Base: service.Base{
			GRPC: cfg.GRPC, Mongo: cfg.Mongo, Auth: cfg.Auth, Metrics: cfg.Metrics,
			Listener: cfg.Listener, MetricsListener: cfg.MetricsListener, Telemetry: cfg.Telemetry,
		},
		Validate: cfg.Validate,
		Indexes:  mongo.Indexes(),
		Policy:   historygrpc.Policy(),
		// The history service calls the owner service with its own certificate.
		Peers: []service.Peer{{Name: "owner", Target: cfg.OwnerTarget, TLS: cfg.GRPC.TLS}},
		Register: func(d *service.Deps) error {
			uc := app.New(mongo.New(d.DB), ownersvc.New(d.Conn("owner")), d.Auditor, app.Options{})
			historyv1.RegisterHistoryServiceServer(d, historygrpc.NewServer(uc))
			return nil
		},
	})
}
