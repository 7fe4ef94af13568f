// Package history runs the patient-history service: visits with their append-only
// amendments, and the communications between the clinic and the owners. Run is the one
// entry point, used by cmd/history and by the local all-in-one runner.
package history

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/adapters/ownersvc"
	"github.com/lillvet/register/services/history/internal/app"
	"github.com/lillvet/register/services/history/internal/domain"
	historygrpc "github.com/lillvet/register/services/history/internal/ports/grpc"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/retention"
	"github.com/lillvet/register/services/platform/service"
)

// ServiceName names the service in traces, logs and metrics.
const ServiceName = "history"

// Config is the history service's configuration, read from the environment.
type Config struct {
	// Base is what every service is configured with: gRPC, MongoDB, tokens, metrics,
	// audit retention, and the listeners and telemetry a caller may hand over.
	service.Base
	// OwnerTarget is the owner service's gRPC address. The history service calls it
	// with its own certificate (TLS_CERT_FILE) and trusts TLS_CA_FILE for it.
	OwnerTarget string `env:"OWNER_GRPC_TARGET" envDefault:"127.0.0.1:7101" peerTLS:""`
	// Retention is how long an erased owner's visits are kept (RETENTION_* variables;
	// never below the legal minima). Zero, as in a Config built by hand, means the minima.
	Retention retention.Policy
	// Sweep is how often the retention sweep runs (RETENTION_SWEEP_INTERVAL).
	Sweep service.SweepConfig
	// RequestDigestKey (standard base64, at least 32 bytes) keys the digest each visit
	// and amendment stores of what its request sent, by which a retry is still told
	// from a reused request id once an erasure has reduced the record; the database
	// must not hold it, or what the reduction removed could be guessed and tested.
	// Changing it leaves the digests made before uncompared, as if there were none.
	// REQUEST_DIGEST_KEY_FILE may name a file holding it. Loading the configuration
	// fails without it, so that a deployment that forgot it does not run silently
	// without digests; a Config built by hand (tests) may leave it empty, and then no
	// digest is stored and such a retry is compared with what the reduction kept only.
	RequestDigestKey string `env:"REQUEST_DIGEST_KEY,notEmpty" secret:"file"`

	// Now, when set, is the clock (tests).
	Now func() time.Time `env:"-"`
}

// Validate checks every part of the configuration.
func (c Config) Validate() error {
	errs := []error{c.Base.Validate()}
	if c.OwnerTarget == "" {
		errs = append(errs, errors.New("OWNER_GRPC_TARGET is required"))
	}
	if c.Retention != (retention.Policy{}) {
		errs = append(errs, c.Retention.Validate())
	}
	errs = append(errs, c.Sweep.Validate())
	if _, err := c.requestKey(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// requestKey decodes RequestDigestKey; nil when it is not set.
func (c Config) requestKey() ([]byte, error) {
	if c.RequestDigestKey == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(c.RequestDigestKey)
	if err != nil {
		return nil, errors.New("REQUEST_DIGEST_KEY must be standard base64")
	}
	if len(key) < app.MinRequestKey {
		return nil, fmt.Errorf("REQUEST_DIGEST_KEY has %d bytes, want at least %d", len(key), app.MinRequestKey)
	}
	return key, nil
}

// Run serves the history service until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	return service.Run(ctx, service.Spec{
		Name:     ServiceName,
		Base:     cfg.Base,
		Validate: cfg.Validate,
		Indexes:  mongo.Indexes(),
		Policy:   historygrpc.Policy(),
		// The history service calls the owner service with its own certificate.
		Peers: []service.Peer{{Name: "owner", Target: cfg.OwnerTarget, TLS: cfg.GRPC.TLS}},
		Register: func(d *service.Deps) error {
			key, err := cfg.requestKey()
			if err != nil {
				return err
			}
			uc, err := app.New(mongo.New(d.DB), ownersvc.New(d.Conn("owner")), d.Auditor, app.Options{
				Now: cfg.Now, Retention: cfg.Retention, RequestKey: key, Logger: d.Telemetry.Logger,
			})
			if err != nil {
				return err
			}
			historyv1.RegisterHistoryServiceServer(d, historygrpc.NewServer(uc))
			d.Sweep(cfg.Sweep, sweepJob(uc, d.Telemetry.Logger))
			return nil
		},
	})
}

// sweeper is the use case the periodic sweep runs.
type sweeper interface {
	RunRetentionSweep(ctx context.Context) (domain.SweepResult, error)
}

// sweepJob is one run of the periodic retention sweep, which acts as the service itself
// in its audit events (no person asked, the retention rules did): what it removed is
// logged by record class (counts only, no personal data); a failure goes to the
// service's periodic runner, which logs it and sweeps again at the next run.
func sweepJob(uc sweeper, log *slog.Logger) func(context.Context) error {
	sweeper := auth.SystemIdentity(ServiceName, "retention sweep")
	return func(ctx context.Context) error {
		removed, err := uc.RunRetentionSweep(auth.WithIdentity(ctx, sweeper))
		if err != nil {
			return fmt.Errorf("retention sweep: %w", err)
		}
		if len(removed) > 0 {
			log.InfoContext(ctx, "retention sweep removed expired records", "removed", map[string]int(removed))
		}
		return nil
	}
}
