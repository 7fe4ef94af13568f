// Package owner runs the owner service: the register of owners and their patients.
// Run is the one entry point, used by cmd/owner and by the local all-in-one runner.
package owner

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/owner/internal/adapters/mongo"
	"github.com/lillvet/register/services/owner/internal/app"
	ownergrpc "github.com/lillvet/register/services/owner/internal/ports/grpc"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/fieldcrypt"
	"github.com/lillvet/register/services/platform/service"
)

// ServiceName names the service in traces, logs and metrics.
const ServiceName = "owner"

// Config is the owner service's configuration, read from the environment.
type Config struct {
	// Base is what every service is configured with: gRPC, MongoDB, tokens, metrics,
	// audit retention, and the listeners and telemetry a caller may hand over.
	service.Base
	// IdentityKeys are the AES-256 keys that seal identity codes, "kid:base64,...",
	// oldest first: codes under a key listed before the active one are re-sealed
	// under the active key, codes under one listed after it (a key being switched
	// to) are left as they are. Keep retired keys listed until RotateIdentityKeys
	// has re-sealed their data.
	// They also seal page tokens. IDENTITY_KEYS_FILE may name a file holding them.
	IdentityKeys string `env:"IDENTITY_KEYS" secret:"file"`
	// IdentityActiveKey is the key id new identity codes are sealed under. It is no
	// secret, but IDENTITY_ACTIVE_KEY_FILE may name a file holding it, so that it comes
	// from the same mounted Secret as the keys: a container restarted soon after a
	// rotation would otherwise read the new id from its environment and the old keys
	// from a file the kubelet had not refreshed yet, and fail to start until it had.
	IdentityActiveKey string `env:"IDENTITY_ACTIVE_KEY" secret:"file"`
	// BlindIndexKey (base64, at least 32 bytes) keys the identity code's search index.
	// It cannot change without re-indexing every owner. BLIND_INDEX_KEY_FILE may name
	// a file holding it.
	BlindIndexKey string `env:"BLIND_INDEX_KEY" secret:"file"`
	// AllowTemporaryIdentityCodes accepts individual numbers 900–999.
	AllowTemporaryIdentityCodes bool `env:"ALLOW_TEMPORARY_IDENTITY_CODES"`
	// Sweep is how often the service anonymises what erasures kept until a day now
	// past (RETENTION_SWEEP_INTERVAL).
	Sweep service.SweepConfig

	// Now, when set, is the service's clock (tests move it past retention days).
	Now func() time.Time `env:"-"`
}

// Validate checks every part of the configuration.
func (c Config) Validate() error {
	errs := []error{c.Base.Validate()}
	if _, err := c.keyring(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Sweep.Validate())
	return errors.Join(errs...)
}

func (c Config) keyring() (*fieldcrypt.Keyring, error) {
	index, err := base64.StdEncoding.DecodeString(c.BlindIndexKey)
	if err != nil {
		return nil, errors.New("BLIND_INDEX_KEY must be standard base64")
	}
	ring, err := fieldcrypt.ParseKeyring(c.IdentityKeys, c.IdentityActiveKey, index)
	if err != nil {
		return nil, fmt.Errorf("IDENTITY_KEYS, IDENTITY_ACTIVE_KEY, BLIND_INDEX_KEY: %w", err)
	}
	return ring, nil
}

// Run serves the owner service until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	return service.Run(ctx, service.Spec{
		Name:     ServiceName,
		Base:     cfg.Base,
		Validate: cfg.Validate,
		Indexes:  mongo.Indexes(),
		Policy:   ownergrpc.Policy(),
		Register: func(d *service.Deps) error {
			keys, err := cfg.keyring()
			if err != nil {
				return err
			}
			repo := mongo.New(d.DB, keys)
			uc, err := app.New(repo, d.Auditor, app.Options{
				AllowTemporaryIdentityCodes: cfg.AllowTemporaryIdentityCodes, Now: cfg.Now, Logger: d.Telemetry.Logger,
			})
			if err != nil {
				return err
			}
			ownerv1.RegisterOwnerServiceServer(d, ownergrpc.NewServer(uc))
			// The periodic sweep acts as the service itself in change records and audit
			// events: no person asked, the retention rules did.
			sweeper := auth.SystemIdentity(ServiceName, "retention sweep")
			d.Sweep(cfg.Sweep, func(ctx context.Context) error {
				_, err := uc.RunRetentionSweep(auth.WithIdentity(ctx, sweeper))
				return err
			})
			startupPass(d, "owner name keys refresh", repo.RefreshNameKeys)
			// Owners and patients stored before create digests were kept, and never
			// changed since, get the digest of their create.
			startupPass(d, "create digests backfill", repo.BackfillCreateDigests)
			// Owners erased before erasures scrubbed the reasons staff typed are brought
			// in line once.
			startupPass(d, "erased owners' change reasons scrub", repo.ScrubErasedHistories)
			d.Go(func(ctx context.Context) error {
				// Operators remove a retired key once nothing is left under it (see
				// docs/OPERATIONS.md: replicas on the old configuration may still seal
				// under it while a rollout runs).
				n, newer, err := repo.RotateIdentityKeys(ctx)
				switch {
				case err != nil && ctx.Err() == nil:
					d.Telemetry.Logger.ErrorContext(ctx, "identity key rotation stopped", "error", err, "resealed", n)
				case err == nil && newer > 0:
					d.Telemetry.Logger.WarnContext(ctx, "identity codes are sealed under a key listed after the active one; "+
						"IDENTITY_KEYS lists keys oldest first", "active_key", keys.ActiveKID(), "resealed", n, "newer", newer)
				case err == nil:
					d.Telemetry.Logger.InfoContext(ctx, "identity codes are all sealed under the active key",
						"active_key", keys.ActiveKID(), "resealed", n)
				}
				return nil
			})
			return nil
		},
	})
}

// startupPass runs a pass over stored data in the background once the service has
// started, and logs what came of it; a pass that stops, or goes on past records it
// could not handle, is run again by the next start.
func startupPass(d *service.Deps, what string, pass func(context.Context) (int, error)) {
	d.Go(func(ctx context.Context) error {
		n, err := pass(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			d.Telemetry.Logger.ErrorContext(ctx, what+" did not finish; run again at the next start", "error", err, "changed", n)
		case err == nil && n > 0:
			d.Telemetry.Logger.InfoContext(ctx, what+" done", "changed", n)
		}
		return nil
	})
}
