// Package disclosure runs the disclosure service: the recipients personal data may go
// to, every disclosure checked and logged, and (in later slices) the customer's access
// and erasure requests. Run is the one entry point, used by cmd/disclosure and by the
// local all-in-one runner.
package disclosure

import (
	"context"
	"errors"
	"fmt"
	"net"

	"golang.org/x/sync/errgroup"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/disclosure/internal/adapters/consent"
	"github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/adapters/owner"
	"github.com/lillvet/register/services/disclosure/internal/app"
	disclosuregrpc "github.com/lillvet/register/services/disclosure/internal/ports/grpc"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/opsserver"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

// ServiceName names the service in traces, logs and metrics.
const ServiceName = "disclosure"

// Config is the disclosure service's configuration, read from the environment.
type Config struct {
	GRPC    grpcserver.Config
	Mongo   mongox.Config
	Auth    auth.Config
	Metrics opsserver.Config
	// OwnerAddr is the owner service's gRPC target: owner status and the data disclosed.
	OwnerAddr string `env:"OWNER_GRPC_TARGET" envDefault:"127.0.0.1:7101"`
	// OwnerTLS are the CA that signs the owner service's certificate and the client
	// certificate presented to it.
	OwnerTLS tlsconf.Files `envPrefix:"OWNER_"`
	// ConsentAddr is the consent service's gRPC target: the legal basis of a disclosure.
	ConsentAddr string `env:"CONSENT_GRPC_TARGET" envDefault:"127.0.0.1:7102"`
	// ConsentTLS is the same for the consent service.
	ConsentTLS tlsconf.Files `envPrefix:"CONSENT_"`

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
	if c.OwnerAddr == "" {
		errs = append(errs, errors.New("OWNER_GRPC_TARGET is required"))
	}
	if err := c.OwnerTLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("OWNER_: %w", err))
	}
	if c.ConsentAddr == "" {
		errs = append(errs, errors.New("CONSENT_GRPC_TARGET is required"))
	}
	if err := c.ConsentTLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("CONSENT_: %w", err))
	}
	return errors.Join(errs...)
}

// Run serves the disclosure service until ctx is done.
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
		return fmt.Errorf("disclosure config: %w", err)
	}
	var err error
	if metricsListener, err = cfg.Metrics.Listen(cfg.MetricsListener); err != nil {
		return fmt.Errorf("disclosure metrics: %w", err)
	}
	tel := cfg.Telemetry
	if tel == nil {
		if tel, err = telemetry.Setup(ctx, telemetry.Options{ServiceName: ServiceName}); err != nil {
			return fmt.Errorf("disclosure telemetry: %w", err)
		}
		defer func() { _ = tel.Shutdown(context.WithoutCancel(ctx)) }()
	}
	client, err := mongox.Connect(ctx, cfg.Mongo.URI, tel)
	if err != nil {
		return fmt.Errorf("disclosure store: %w", err)
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	db := client.Database(cfg.Mongo.Database)
	auditor := audit.NewWriter(db, tel.Logger)
	if err := mongox.EnsureIndexes(ctx, db, append(mongo.Indexes(), auditor.Indexes()...)); err != nil {
		return fmt.Errorf("disclosure indexes: %w", err)
	}
	verifier, err := auth.NewVerifier(ctx, cfg.Auth)
	if err != nil {
		return fmt.Errorf("disclosure auth: %w", err)
	}
	defer func() { _ = verifier.Close(context.WithoutCancel(ctx)) }()
	// The connections are lazy: the service starts while its peers are still down, and
	// disclosures fail with UNAVAILABLE until they are up.
	ownerConn, err := grpcclient.Dial(cfg.OwnerAddr, cfg.OwnerTLS, tel)
	if err != nil {
		return fmt.Errorf("disclosure owner client: %w", err)
	}
	defer func() { _ = ownerConn.Close() }()
	consentConn, err := grpcclient.Dial(cfg.ConsentAddr, cfg.ConsentTLS, tel)
	if err != nil {
		return fmt.Errorf("disclosure consent client: %w", err)
	}
	defer func() { _ = consentConn.Close() }()

	server, err := grpcserver.New(cfg.GRPC, grpcserver.Options{
		Telemetry: tel,
		Verifier:  verifier,
		Policy:    disclosuregrpc.Policy(),
		OnDenied:  auditor.Denied,
		Listener:  cfg.Listener,
	})
	if err != nil {
		return fmt.Errorf("disclosure server: %w", err)
	}
	uc, err := app.New(mongo.New(db),
		owner.New(ownerv1.NewOwnerServiceClient(ownerConn)),
		consent.New(consentv1.NewConsentServiceClient(consentConn)),
		auditor, app.Options{})
	if err != nil {
		return fmt.Errorf("disclosure use cases: %w", err)
	}
	disclosurev1.RegisterDisclosureServiceServer(server.GRPC(), disclosuregrpc.NewServer(uc))

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
