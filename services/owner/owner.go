// Package owner runs the owner service: the register of owners and their patients.
// Run is the one entry point, used by cmd/owner and by the local all-in-one runner.
package owner

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"

	"golang.org/x/sync/errgroup"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/owner/internal/adapters/mongo"
	"github.com/lillvet/register/services/owner/internal/app"
	ownergrpc "github.com/lillvet/register/services/owner/internal/ports/grpc"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/fieldcrypt"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/opsserver"
	"github.com/lillvet/register/services/platform/telemetry"
)

// ServiceName names the service in traces, logs and metrics.
const ServiceName = "owner"

// Config is the owner service's configuration, read from the environment.
type Config struct {
	GRPC    grpcserver.Config
	Mongo   mongox.Config
	Auth    auth.Config
	Metrics opsserver.Config
	// IdentityKeys are the AES-256 keys that seal identity codes, "kid:base64,...".
	// Keep retired keys listed until RotateIdentityKeys has re-sealed their data.
	IdentityKeys string `env:"IDENTITY_KEYS"`
	// IdentityActiveKey is the key id new identity codes are sealed under.
	IdentityActiveKey string `env:"IDENTITY_ACTIVE_KEY"`
	// BlindIndexKey (base64, at least 32 bytes) keys the identity code's search index.
	// It cannot change without re-indexing every owner.
	BlindIndexKey string `env:"BLIND_INDEX_KEY"`
	// AllowTemporaryIdentityCodes accepts individual numbers 900–999.
	AllowTemporaryIdentityCodes bool `env:"ALLOW_TEMPORARY_IDENTITY_CODES"`

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
	if _, err := c.keyring(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) keyring() (*fieldcrypt.Keyring, error) {
	keys, err := fieldcrypt.ParseKeys(c.IdentityKeys)
	if err != nil {
		return nil, fmt.Errorf("IDENTITY_KEYS: %w", err)
	}
	index, err := base64.StdEncoding.DecodeString(c.BlindIndexKey)
	if err != nil {
		return nil, errors.New("BLIND_INDEX_KEY must be standard base64")
	}
	ring, err := fieldcrypt.NewKeyring(keys, c.IdentityActiveKey, index)
	if err != nil {
		return nil, fmt.Errorf("IDENTITY_KEYS, IDENTITY_ACTIVE_KEY, BLIND_INDEX_KEY: %w", err)
	}
	return ring, nil
}

// Run serves the owner service until ctx is done.
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
		return fmt.Errorf("owner config: %w", err)
	}
	var err error
	if metricsListener, err = cfg.Metrics.Listen(cfg.MetricsListener); err != nil {
		return fmt.Errorf("owner metrics: %w", err)
	}
	keys, err := cfg.keyring()
	if err != nil {
		return err
	}
	tel := cfg.Telemetry
	if tel == nil {
		if tel, err = telemetry.Setup(ctx, telemetry.Options{ServiceName: ServiceName}); err != nil {
			return fmt.Errorf("owner telemetry: %w", err)
		}
		defer func() { _ = tel.Shutdown(context.WithoutCancel(ctx)) }()
	}
	client, err := mongox.Connect(ctx, cfg.Mongo.URI, tel)
	if err != nil {
		return fmt.Errorf("owner store: %w", err)
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	db := client.Database(cfg.Mongo.Database)
	auditor := audit.NewWriter(db, tel.Logger)
	if err := mongox.EnsureIndexes(ctx, db, append(mongo.Indexes(), auditor.Indexes()...)); err != nil {
		return fmt.Errorf("owner indexes: %w", err)
	}
	verifier, err := auth.NewVerifier(ctx, cfg.Auth)
	if err != nil {
		return fmt.Errorf("owner auth: %w", err)
	}
	defer func() { _ = verifier.Close(context.WithoutCancel(ctx)) }()

	repo := mongo.New(db, keys)
	server, err := grpcserver.New(cfg.GRPC, grpcserver.Options{
		Telemetry: tel,
		Verifier:  verifier,
		Policy:    ownergrpc.Policy(),
		OnDenied:  auditor.Denied,
		Listener:  cfg.Listener,
	})
	if err != nil {
		return fmt.Errorf("owner server: %w", err)
	}
	uc := app.New(repo, auditor, app.Options{AllowTemporaryIdentityCodes: cfg.AllowTemporaryIdentityCodes})
	ownerv1.RegisterOwnerServiceServer(server.GRPC(), ownergrpc.NewServer(uc))

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
	g.Go(func() error {
		// Operators remove a retired key once this reports that nothing was left under it.
		n, err := repo.RotateIdentityKeys(gctx)
		switch {
		case err != nil && gctx.Err() == nil:
			tel.Logger.ErrorContext(gctx, "identity key rotation stopped", "error", err, "resealed", n)
		case err == nil:
			tel.Logger.InfoContext(gctx, "identity codes are all sealed under the active key",
				"active_key", keys.ActiveKID(), "resealed", n)
		}
		return nil
	})
	return g.Wait()
}
