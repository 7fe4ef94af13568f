// Package consent runs the consent service: the append-only ledger of the consents and
// prohibitions each owner has given. Run is the one entry point, used by cmd/consent and
// by the local all-in-one runner.
package consent

import (
	"context"
	"errors"
	"fmt"
	"time"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/consent/internal/adapters/mongo"
	"github.com/lillvet/register/services/consent/internal/adapters/owner"
	"github.com/lillvet/register/services/consent/internal/app"
	"github.com/lillvet/register/services/consent/internal/domain"
	consentgrpc "github.com/lillvet/register/services/consent/internal/ports/grpc"
	"github.com/lillvet/register/services/platform/service"
	"github.com/lillvet/register/services/platform/tlsconf"
)

// ServiceName names the service in traces, logs and metrics.
const ServiceName = "consent"

// Config is the consent service's configuration, read from the environment.
type Config struct {
	// Base is what every service is configured with: gRPC, MongoDB, tokens, metrics,
	// audit retention, and the listeners and telemetry a caller may hand over.
	service.Base
	// OwnerAddr is the owner service's gRPC target, asked whether owners exist.
	OwnerAddr string `env:"OWNER_GRPC_TARGET" envDefault:"127.0.0.1:7101" peerTLS:"OWNER_"`
	// OwnerTLS are the CA that signs the owner service's certificate and the client
	// certificate presented to it.
	OwnerTLS tlsconf.Files `envPrefix:"OWNER_"`
	// OwnerStatusTTL is how long the service goes on answering with an owner's status
	// (exists, restricted) from the owner service before asking again: a restriction
	// made in the owner service denies every purpose at most this long after it. 0 asks
	// for every check and filter; else between app.MinOwnerStatusTTL and
	// maxOwnerStatusTTL.
	OwnerStatusTTL time.Duration `env:"OWNER_STATUS_TTL" envDefault:"5s"`
	// EvidenceLinkHosts are the host names of the clinic's own form services, whose
	// submission links a decision's evidence (or a restriction's reason) may be; none,
	// the default, refuses links (domain.LinkHosts).
	EvidenceLinkHosts []string `env:"CONSENT_EVIDENCE_LINK_HOSTS"`

	// Now, when set, is the service's clock (tests).
	Now func() time.Time `env:"-"`
}

// maxOwnerStatusTTL bounds how long a restriction made in the owner service may go
// unseen by the verdicts.
const maxOwnerStatusTTL = time.Minute

// Validate checks every part of the configuration.
func (c Config) Validate() error {
	errs := []error{c.Base.Validate()}
	if c.OwnerAddr == "" {
		errs = append(errs, errors.New("OWNER_GRPC_TARGET is required"))
	}
	if err := c.OwnerTLS.Validate("OWNER_"); err != nil {
		errs = append(errs, err)
	}
	if ttl := c.OwnerStatusTTL; ttl != 0 && (ttl < app.MinOwnerStatusTTL || ttl > maxOwnerStatusTTL) {
		errs = append(errs, fmt.Errorf("OWNER_STATUS_TTL must be 0 or between %s and %s, got %s",
			app.MinOwnerStatusTTL, maxOwnerStatusTTL, ttl))
	}
	if _, err := domain.NewLinkHosts(c.EvidenceLinkHosts); err != nil {
		errs = append(errs, fmt.Errorf("CONSENT_EVIDENCE_LINK_HOSTS: %w", err))
	}
	return errors.Join(errs...)
}

// Run serves the consent service until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	return service.Run(ctx, service.Spec{
		Name:     ServiceName,
		Base:     cfg.Base,
		Validate: cfg.Validate,
		Indexes:  mongo.Indexes(),
		Policy:   consentgrpc.Policy(),
		Peers:    []service.Peer{{Name: "owner", Target: cfg.OwnerAddr, TLS: cfg.OwnerTLS}},
		Register: func(d *service.Deps) error {
			owners := owner.New(ownerv1.NewOwnerServiceClient(d.Conn("owner")))
			links, err := domain.NewLinkHosts(cfg.EvidenceLinkHosts)
			if err != nil {
				return err
			}
			uc, err := app.New(mongo.New(d.DB), owners, d.Auditor, app.Options{
				Now: cfg.Now, OwnerStatusTTL: cfg.OwnerStatusTTL, EvidenceLinkHosts: links,
			})
			if err != nil {
				return err
			}
			consentv1.RegisterConsentServiceServer(d, consentgrpc.NewServer(uc))
			return nil
		},
	})
}
