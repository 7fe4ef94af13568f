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
	"github.com/lillvet/register/services/platform/tokenfile"
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
	// NameRetention configures the job that tells the owner service when an erased
	// owner's names are needed longer than its erasure answered.
	NameRetention NameRetentionConfig

	// Now, when set, is the clock (tests).
	Now func() time.Time `env:"-"`
}

// NameRetentionConfig configures the name retention job. A visit recorded or corrected
// after an owner's erasure answered (the animal's next owner's) keeps that owner's
// clinical records of the animal longer, and the owner service keeps the owner's names
// as long; the write marks the owner in this service's store, and the job tells the
// owner service the later day (ExtendNameRetention), with its own token.
type NameRetentionConfig struct {
	// Interval is how often the job runs (first one interval after the start); zero,
	// as in a Config built by hand, turns it off.
	Interval time.Duration `env:"NAME_RETENTION_JOB_INTERVAL" envDefault:"1m"`
	// CallTimeout bounds each call to the owner service, so that a stuck one holds the
	// job up no longer; zero, as in a Config built by hand, means 10s.
	CallTimeout time.Duration `env:"NAME_RETENTION_JOB_CALL_TIMEOUT" envDefault:"10s"`
	// TokenFile holds the job's bearer token (a service subject with the
	// name_retention_job role), read and verified again on every run so that a renewed
	// token is picked up. Empty: the job does not run and the names of erased owners
	// go at the day their erasure answered, so a deployment must set it (deploy/validate
	// reads the deploy tag). A file named but unreadable or empty, or in a folder that
	// does not exist, stops the service at start; a file not there yet does not (the
	// Secret is optional and renewed from outside): until it exists the owners stay
	// marked, each run failing, logged.
	TokenFile string `env:"NAME_RETENTION_JOB_TOKEN_FILE" deploy:"required"`
	// Runs, when set (tests), runs the job once for each channel received, closing the
	// channel when the run ended, instead of on the interval.
	Runs <-chan chan struct{} `env:"-"`
}

// nameJobFileVariable is the variable TokenFile is read from, named in its errors.
const nameJobFileVariable = "NAME_RETENTION_JOB_TOKEN_FILE"

// defaultNameCallTimeout is CallTimeout's default.
const defaultNameCallTimeout = 10 * time.Second

// Validate checks the job's timings and its token file.
func (c NameRetentionConfig) Validate() error {
	var errs []error
	if c.Interval < 0 {
		errs = append(errs, errors.New("NAME_RETENTION_JOB_INTERVAL must not be negative"))
	}
	if c.CallTimeout < 0 {
		errs = append(errs, errors.New("NAME_RETENTION_JOB_CALL_TIMEOUT must not be negative"))
	}
	if err := tokenfile.Check(nameJobFileVariable, c.TokenFile); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
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
	errs = append(errs, c.Sweep.Validate(), c.NameRetention.Validate())
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
			owners := ownersvc.New(d.Conn("owner"))
			uc, err := app.New(mongo.New(d.DB), owners, d.Auditor, app.Options{
				Now: cfg.Now, Retention: cfg.Retention, RequestKey: key, Logger: d.Telemetry.Logger,
			})
			if err != nil {
				return err
			}
			historyv1.RegisterHistoryServiceServer(d, historygrpc.NewServer(uc))
			d.Sweep(cfg.Sweep, sweepJob(uc, d.Telemetry.Logger))
			now := cfg.Now
			if now == nil {
				now = time.Now
			}
			cfg.NameRetention.schedule(d, nameRetentionJob(uc, owners, cfg.NameRetention, d.Verifier, now, d.Telemetry.Logger))
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

// schedule runs job on c's interval, or on c.Runs when set; neither, nothing.
func (c NameRetentionConfig) schedule(d *service.Deps, job func(context.Context) error) {
	switch {
	case c.Runs != nil:
		d.Go(func(ctx context.Context) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case done := <-c.Runs:
					if err := job(ctx); err != nil {
						d.Telemetry.Logger.ErrorContext(ctx, "name retention job failed; retried at the next run", "error", err)
					}
					close(done)
				}
			}
		})
	case c.Interval > 0:
		if c.TokenFile == "" {
			d.Telemetry.Logger.Warn(nameJobFileVariable + " is not set: the name retention job does not run, and the owner service " +
				"removes erased owners' names at the day their erasure answered, even while a later visit of the animal keeps records naming them here")
			return
		}
		if tokenfile.Missing(c.TokenFile) {
			d.Telemetry.Logger.Warn(nameJobFileVariable + " names no file yet: the name retention job fails, and the owners stay marked, until the token is written")
		}
		d.Every("name retention job", c.Interval, c.Interval, job)
	}
}

// noteInterval is how often the name retention job notes the erasures applied without
// notes after its first run: an old replica of a rolling upgrade may apply one after
// the new process started.
const noteInterval = time.Hour

// ownerKeeper is the owner service as the name retention job tells it: how long an
// erased owner's names are needed, and when their identity code is needed no more.
type ownerKeeper interface {
	app.NamesKeeper
	app.CodeKeeper
}

// nameRetentionJob is one run of the name retention job: with the token of c.TokenFile,
// verified by v, it tells the owner service the later days (app.PushNameRetention),
// then the identity codes no unpaid invoice needs any more (app.PushCodeRelease,
// logged by codeReleaseLogged), unless the owner service did not answer.
// Each owner not told, and each whose names the owner service had removed already, is
// logged at ERROR by id (no names, no identity codes), with a count per run; the
// owners not told stay marked for the next run. The count of a run the owner service
// stopped (no answer) says so, with the owners left unchecked; an owner the owner
// service has not erased yet is logged at INFO, an ordinary wait for the erasure job's
// next step, and asked again an hour later.
func nameRetentionJob(uc *app.Service, keeper ownerKeeper, c NameRetentionConfig, v tokenfile.Verifier, now func() time.Time, log *slog.Logger) func(context.Context) error {
	timeout := c.CallTimeout
	if timeout == 0 {
		timeout = defaultNameCallTimeout
	}
	var creds *tokenfile.File
	if c.TokenFile != "" {
		creds = tokenfile.New(nameJobFileVariable, c.TokenFile, v)
	}
	var noteAt time.Time // the next run that notes the erasures applied without notes
	return func(ctx context.Context) error {
		if creds == nil {
			return errors.New(nameJobFileVariable + " is not set: the owner service is not told")
		}
		jobCtx, err := creds.Context(ctx)
		if err != nil {
			return fmt.Errorf("name retention job: %w", err)
		}
		// Before the first push of a process, and then every noteInterval: erasures
		// applied without the notes (by a release before them, an old replica of a
		// rolling upgrade too, which may apply one after this process started) get
		// them, and their owners a check, so that the visits of their animals mark them
		// from then on. Each erasure is noted once; when all are, it is a read of the
		// erasures' ids and of those noted.
		if t := now(); !t.Before(noteAt) {
			n, err := uc.NoteErasedPatientsOfAll(jobCtx)
			if err != nil {
				log.ErrorContext(ctx, "noting the animals of erased owners did not finish; run again at the next run", "error", err, "owners", n)
			} else {
				noteAt = t.Add(noteInterval)
			}
		}
		res, err := uc.PushNameRetention(jobCtx, keeper, timeout)
		for _, g := range res.Gone {
			log.ErrorContext(ctx, "the owner service had removed an erased owner's names while records here still name the owner: "+
				"told too late, nothing more to do", "owner_id", g.OwnerID, "error", g.Err)
		}
		for _, f := range res.Failed {
			log.ErrorContext(ctx, "the owner service was not told how long an erased owner's names are needed; retried at the next run",
				"owner_id", f.OwnerID, "error", f.Err)
		}
		for _, id := range res.Waiting {
			log.InfoContext(ctx, "the owner service has not erased an erased owner yet (its erasure job's step is still to come); "+
				"the owner stays marked, asked again in an hour, and is told after that step", "owner_id", id)
		}
		switch {
		case res.Stopped:
			log.ErrorContext(ctx, "name retention job: owners not told; the owner service did not answer, so the run stopped and the owners left stay marked for the next run",
				"failed", len(res.Failed), "names_gone", len(res.Gone), "checked", res.Checked, "left", res.Left)
		case len(res.Failed) > 0 || len(res.Gone) > 0:
			log.ErrorContext(ctx, "name retention job: owners not told", "failed", len(res.Failed), "names_gone", len(res.Gone), "checked", res.Checked)
		}
		if res.Told > 0 {
			log.InfoContext(ctx, "name retention job told the owner service later days", "told", res.Told, "checked", res.Checked)
		}
		if err != nil {
			return fmt.Errorf("name retention job: %w", err)
		}
		if res.Stopped {
			return nil
		}
		codes, err := uc.PushCodeRelease(jobCtx, keeper, timeout)
		codeReleaseLogged(ctx, log, codes)
		if err != nil {
			return fmt.Errorf("name retention job: identity codes: %w", err)
		}
		return nil
	}
}

// codeReleaseLogged logs what a run did with the identity codes as the names' part is
// logged: each owner not told at ERROR by id (no names, no identity codes), with a count
// per run, an owner the owner service has not erased yet at INFO. An owner not told
// for another reason than no answer is asked again after a growing wait
// (app.PushCodeRelease), not at each run.
func codeReleaseLogged(ctx context.Context, log *slog.Logger, res app.CodesPush) {
	for _, f := range res.Failed {
		log.ErrorContext(ctx, "the owner service was not told that an erased owner's identity code is needed no more; "+
			"retried at the next run if it did not answer, else after a wait that doubles with each failure in a row, to a day",
			"owner_id", f.OwnerID, "error", f.Err)
	}
	for _, id := range res.Waiting {
		log.InfoContext(ctx, "the owner service has not erased an erased owner yet (its erasure job's step is still to come); "+
			"the owner's identity code stays marked, asked again in an hour, and its end is told after that step", "owner_id", id)
	}
	switch {
	case res.Stopped:
		log.ErrorContext(ctx, "name retention job: identity codes not told; the owner service did not answer, so the run stopped and the owners left stay marked for the next run",
			"failed", len(res.Failed), "checked", res.Checked, "left", res.Left)
	case len(res.Failed) > 0:
		log.ErrorContext(ctx, "name retention job: identity codes not told", "failed", len(res.Failed), "checked", res.Checked)
	}
	if res.Told > 0 {
		log.InfoContext(ctx, "name retention job told the owner service identity codes no unpaid invoice needs", "told", res.Told, "checked", res.Checked)
	}
}
