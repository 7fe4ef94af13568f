// Package disclosure runs the disclosure service: the recipients personal data may go
// to, every disclosure checked and logged, and the customer's access and erasure
// requests, the latter as a durable job its worker runs across the other services.
// Run is the one entry point, used by cmd/disclosure and by the local all-in-one
// runner.
package disclosure

import (
	"context"
	"errors"
	"fmt"
	"time"

	auditv1 "github.com/lillvet/register/proto/gen/go/lillvet/audit/v1"
	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/disclosure/internal/adapters/auditlog"
	"github.com/lillvet/register/services/disclosure/internal/adapters/consent"
	"github.com/lillvet/register/services/disclosure/internal/adapters/history"
	"github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/adapters/owner"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	disclosuregrpc "github.com/lillvet/register/services/disclosure/internal/ports/grpc"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/retention"
	"github.com/lillvet/register/services/platform/service"
	"github.com/lillvet/register/services/platform/tlsconf"
	"github.com/lillvet/register/services/platform/tokenfile"
)

// ServiceName names the service in traces, logs and metrics, and as the system in
// the audit events of its own work (the retention sweep, the erasure job).
const ServiceName = app.ServiceName

// Config is the disclosure service's configuration, read from the environment.
type Config struct {
	// Base is what every service is configured with: gRPC, MongoDB, tokens, metrics,
	// audit retention, and the listeners and telemetry a caller may hand over.
	service.Base
	// OwnerAddr is the owner service's gRPC target: owner status and the data disclosed.
	OwnerAddr string `env:"OWNER_GRPC_TARGET" envDefault:"127.0.0.1:7101" peerTLS:"OWNER_"`
	// OwnerTLS are the CA that signs the owner service's certificate and the client
	// certificate presented to it.
	OwnerTLS tlsconf.Files `envPrefix:"OWNER_"`
	// ConsentAddr is the consent service's gRPC target: the legal basis of a disclosure.
	ConsentAddr string `env:"CONSENT_GRPC_TARGET" envDefault:"127.0.0.1:7102" peerTLS:"CONSENT_"`
	// ConsentTLS is the same for the consent service.
	ConsentTLS tlsconf.Files `envPrefix:"CONSENT_"`
	// HistoryAddr is the patient-history service's gRPC target: the visits and
	// communications disclosed and reported, and its erasure step.
	HistoryAddr string `env:"HISTORY_GRPC_TARGET" envDefault:"127.0.0.1:7104" peerTLS:"HISTORY_"`
	// HistoryTLS is the same for the history service.
	HistoryTLS tlsconf.Files `envPrefix:"HISTORY_"`
	// Job configures the erasure job.
	Job JobConfig
	// Retention is the retention periods the access report states (RETENTION_*
	// variables, the same the history service keeps its records by).
	Retention retention.Policy
	// RecordsRetentionYears is how long the disclosure log, the access requests and
	// the finished erasure requests are kept after their time (disclosure, receipt,
	// finish): at least three years, the general limitation period of claims; five
	// by default. Zero, as in a Config built by hand, means the default.
	RecordsRetentionYears int `env:"DISCLOSURE_RECORDS_RETENTION_YEARS" envDefault:"5"`
	// Sweep is how often the retention sweep runs (RETENTION_SWEEP_INTERVAL).
	Sweep service.SweepConfig
	// Now, when set, is the service's clock (tests move it past retention days).
	Now func() time.Time `env:"-"`
}

// JobConfig configures the erasure job, which calls the other services with no caller
// behind it.
type JobConfig struct {
	// TokenFile holds the bearer token of the job's calls (a service subject with the
	// erasure_job role), read again on every use so that a renewed token is picked
	// up. Empty: erasure requests are refused with FAILED_PRECONDITION, so a
	// deployment must set it (deploy/validate reads the deploy tag). A file named
	// but unreadable or empty stops the service at start, as any NAME_FILE does; a
	// file not there yet does not: the Kubernetes Secret that holds it is optional
	// and renewed from outside (OPERATIONS), and until it exists the job's steps wait
	// (JOB_CREDENTIALS_UNAVAILABLE) while the service serves everything else.
	TokenFile string `env:"DISCLOSURE_JOB_TOKEN_FILE" deploy:"required"`
	// Poll is how often the worker looks for due jobs (new ones start at once).
	Poll time.Duration `env:"DISCLOSURE_JOB_POLL_INTERVAL" envDefault:"5s"`
	// CallTimeout bounds one step's call.
	CallTimeout time.Duration `env:"DISCLOSURE_JOB_CALL_TIMEOUT" envDefault:"2m"`
	// Lease is how long a worker holds a step before another replica (or this one
	// after a restart) takes it over; longer than CallTimeout.
	Lease time.Duration `env:"DISCLOSURE_JOB_LEASE" envDefault:"10m"`
}

// jobTokenVariable is the variable TokenFile is read from, named in its errors.
const jobTokenVariable = "DISCLOSURE_JOB_TOKEN_FILE"

// Validate checks the job's timings and that its token file, once it exists, holds a
// token.
func (c JobConfig) Validate() error {
	var errs []error
	if err := tokenfile.Check(jobTokenVariable, c.TokenFile); err != nil {
		errs = append(errs, err)
	}
	if c.Poll <= 0 {
		errs = append(errs, errors.New("DISCLOSURE_JOB_POLL_INTERVAL must be positive"))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, errors.New("DISCLOSURE_JOB_CALL_TIMEOUT must be positive"))
	}
	if c.Lease <= c.CallTimeout {
		errs = append(errs, errors.New("DISCLOSURE_JOB_LEASE must be longer than DISCLOSURE_JOB_CALL_TIMEOUT"))
	}
	return errors.Join(errs...)
}

// Validate checks every part of the configuration.
func (c Config) Validate() error {
	errs := []error{c.Base.Validate()}
	if c.OwnerAddr == "" {
		errs = append(errs, errors.New("OWNER_GRPC_TARGET is required"))
	}
	if err := c.OwnerTLS.Validate("OWNER_"); err != nil {
		errs = append(errs, err)
	}
	if c.ConsentAddr == "" {
		errs = append(errs, errors.New("CONSENT_GRPC_TARGET is required"))
	}
	if err := c.ConsentTLS.Validate("CONSENT_"); err != nil {
		errs = append(errs, err)
	}
	if c.HistoryAddr == "" {
		errs = append(errs, errors.New("HISTORY_GRPC_TARGET is required"))
	}
	if err := c.HistoryTLS.Validate("HISTORY_"); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Job.Validate())
	if c.Retention != (retention.Policy{}) {
		errs = append(errs, c.Retention.Validate())
	}
	if c.RecordsRetentionYears != 0 {
		errs = append(errs, domain.CheckRecordsRetention(c.RecordsRetentionYears))
	}
	errs = append(errs, c.Sweep.Validate())
	return errors.Join(errs...)
}

// Run serves the disclosure service until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	return service.Run(ctx, service.Spec{
		Name:     ServiceName,
		Base:     cfg.Base,
		Validate: cfg.Validate,
		Indexes:  mongo.Indexes(),
		Policy:   disclosuregrpc.Policy(),
		Peers: []service.Peer{
			{Name: "owner", Target: cfg.OwnerAddr, TLS: cfg.OwnerTLS},
			{Name: "consent", Target: cfg.ConsentAddr, TLS: cfg.ConsentTLS},
			{Name: "history", Target: cfg.HistoryAddr, TLS: cfg.HistoryTLS},
		},
		Register: func(d *service.Deps) error {
			repo := mongo.New(d.DB)
			owners := owner.New(ownerv1.NewOwnerServiceClient(d.Conn("owner")))
			consents := consent.New(consentv1.NewConsentServiceClient(d.Conn("consent")))
			peers := app.Peers{
				Owners:   owners,
				Consents: consents,
				History:  history.New(historyv1.NewHistoryServiceClient(d.Conn("history"))),
				AccessLogs: []app.AccessLog{
					auditlog.NewRemote("owner", auditv1.NewAuditServiceClient(d.Conn("owner"))),
					auditlog.NewRemote("history", auditv1.NewAuditServiceClient(d.Conn("history"))),
					auditlog.NewRemote("consent", auditv1.NewAuditServiceClient(d.Conn("consent"))),
					auditlog.NewLocal(ServiceName, d.Auditor),
				},
			}
			uc, err := app.New(repo, peers, d.Auditor, app.Options{Retention: domain.StatedRetention{
				Records: cfg.Retention, LogYears: cfg.RecordsRetentionYears, AuditYears: cfg.Audit.RetentionYears,
			}, Now: cfg.Now})
			if err != nil {
				return fmt.Errorf("disclosure use cases: %w", err)
			}
			erasure := app.NewErasure(app.ErasureDeps{
				Jobs: repo, Log: repo, Owners: owners, Owner: owners, Consent: consents, Changes: owners,
				History:     history.NewEraser(historyv1.NewHistoryServiceClient(d.Conn("history"))),
				Visits:      history.New(historyv1.NewHistoryServiceClient(d.Conn("history"))),
				Credentials: jobCredentials(cfg.Job.TokenFile, d.Verifier), Auditor: d.Auditor,
			}, app.ErasureOptions{
				Lease: cfg.Job.Lease, CallTimeout: cfg.Job.CallTimeout, Poll: cfg.Job.Poll, Logger: d.Telemetry.Logger,
			})
			if erasure.Enabled() {
				if tokenfile.Missing(cfg.Job.TokenFile) {
					d.Telemetry.Logger.Warn(jobTokenVariable + " names no file yet: erasure steps wait (JOB_CREDENTIALS_UNAVAILABLE) until the token is written")
				}
				d.Go(erasure.Run)
			}
			sweep, err := app.NewRetention(repo, d.Auditor, app.RetentionOptions{Years: cfg.RecordsRetentionYears, Now: cfg.Now})
			if err != nil {
				return fmt.Errorf("disclosure retention: %w", err)
			}
			// The periodic sweep acts as the service itself in its audit events: no
			// person asked, the retention rules did.
			sweeper := auth.SystemIdentity(ServiceName, "retention sweep")
			d.Sweep(cfg.Sweep, func(ctx context.Context) error {
				_, err := sweep.RunRetentionSweep(auth.WithIdentity(ctx, sweeper))
				return err
			})
			disclosurev1.RegisterDisclosureServiceServer(d, disclosuregrpc.NewServer(uc, erasure, sweep))
			return nil
		},
	})
}

var _ app.Credentials = (*tokenfile.File)(nil)

// jobCredentials are the erasure job's, from the token file; nil without one.
func jobCredentials(tokenFile string, v *auth.Verifier) app.Credentials {
	if tokenFile == "" {
		return nil
	}
	return tokenfile.New(jobTokenVariable, tokenFile, v)
}
