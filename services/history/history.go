// Package history runs the patient-history service: visits with their append-only
// amendments, and the communications between the clinic and the owners. Run is the one
// entry point, used by cmd/history and by the local all-in-one runner.
package history

import (
	"context"
	"errors"
	"fmt"
	"net"

	"golang.org/x/sync/errgroup"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/adapters/ownersvc"
	"github.com/lillvet/register/services/history/internal/app"
	historygrpc "github.com/lillvet/register/services/history/internal/ports/grpc"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/opsserver"
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
	// The metrics listener is closed on every path; after a normal shutdown
	// it is already closed and the second close means nothing.
	metricsListener := cfg.MetricsListener
	defer func() {
		if metricsListener != nil {
			_ = metricsListener.Close()
		}
	}()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("history config: %w", err)
	}
	var err error
	if metricsListener, err = cfg.Metrics.Listen(cfg.MetricsListener); err != nil {
		return fmt.Errorf("history metrics: %w", err)
	}
	tel := cfg.Telemetry
	if tel == nil {
		if tel, err = telemetry.Setup(ctx, telemetry.Options{ServiceName: ServiceName}); err != nil {
			return fmt.Errorf("history telemetry: %w", err)
		}
		defer func() { _ = tel.Shutdown(context.WithoutCancel(ctx)) }()
	}
	client, err := mongox.Connect(ctx, cfg.Mongo.URI, tel)
	if err != nil {
		return fmt.Errorf("history store: %w", err)
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	db := client.Database(cfg.Mongo.Database)
	auditor := audit.NewWriter(db, tel.Logger)
	if err := mongox.EnsureIndexes(ctx, db, append(mongo.Indexes(), auditor.Indexes()...)); err != nil {
		return fmt.Errorf("history indexes: %w", err)
	}
	verifier, err := auth.NewVerifier(ctx, cfg.Auth)
	if err != nil {
		return fmt.Errorf("history auth: %w", err)
	}
	defer func() { _ = verifier.Close(context.WithoutCancel(ctx)) }()
	// The connection is lazy: the service starts while the owner service is down and
	// answers UNAVAILABLE to the calls that need it.
	ownerConn, err := grpcclient.Dial(cfg.OwnerTarget, cfg.GRPC.TLS, tel)
	if err != nil {
		return fmt.Errorf("history owner client: %w", err)
	}
	defer func() { _ = ownerConn.Close() }()

	server, err := grpcserver.New(cfg.GRPC, grpcserver.Options{
		Telemetry: tel,
		Verifier:  verifier,
		Policy:    historygrpc.Policy(),
		OnDenied:  auditor.Denied,
		Listener:  cfg.Listener,
	})
	if err != nil {
		return fmt.Errorf("history server: %w", err)
	}
	uc := app.New(mongo.New(db), ownersvc.New(ownerConn), auditor, app.Options{})
	historyv1.RegisterHistoryServiceServer(server.GRPC(), historygrpc.NewServer(uc))

	g, gctx := errgroup.WithContext(ctx)
	if metricsListener != nil {
		g.Go(func() error { return opsserver.Serve(gctx, metricsListener, tel.MetricsHandler, tel.Logger) })
	}
	// The audit queue is drained only after the server has stopped, so that no call
	// records an event after the last batch.
	auditCtx, stopAudit := context.WithCancel(context.WithoutCancel(gctx))
	g.Go(func() error { return auditor.Run(auditCtx) })
	g.Go(func() error {
		defer stopAudit()
		return server.Serve(gctx)
	})
	return g.Wait()
}
