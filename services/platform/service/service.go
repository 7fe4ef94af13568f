// Package service is the one bootstrap every service runs through: telemetry, the
// store and its indexes, the audit writer, token verification, the clients of the
// peers it calls, the gRPC server and the metrics endpoint, and a shutdown in the
// right order. A service gives only what is its own (Spec) and registers itself.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auditserver"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/opsserver"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

// Base is the part of the configuration every service has. Each service embeds it in
// its own Config (the environment variables are the nested configs' own) and hands it
// over here.
type Base struct {
	GRPC    grpcserver.Config
	Mongo   mongox.Config
	Auth    auth.Config
	Metrics opsserver.Config
	// Audit is how long the audit log keeps its events (AUDIT_RETENTION_YEARS);
	// Run sweeps the older ones daily.
	Audit audit.Config
	// Listener, when set, is served instead of GRPC.Addr (the local runner, tests).
	Listener net.Listener `env:"-"`
	// MetricsListener, when set, serves the metrics endpoint instead of
	// Metrics.Addr (the local runner, tests). Run closes it.
	MetricsListener net.Listener `env:"-"`
	// Telemetry, when set, is shared with the caller (the local runner, tests);
	// otherwise Run sets up its own from the standard OTEL_* variables.
	Telemetry *telemetry.Telemetry `env:"-"`
}

// Validate checks the nested configurations a service loads from the environment.
func (b Base) Validate() error {
	return errors.Join(b.GRPC.Validate(), b.Mongo.Validate(), b.Auth.Validate(), b.Metrics.Validate(), b.Audit.Validate())
}

// Peer is another service this one calls.
type Peer struct {
	// Name names the peer in errors ("<service> <name> client: ...") and in Deps.Conn.
	Name   string
	Target string
	TLS    tlsconf.Files
}

// Spec is what makes a service itself.
type Spec struct {
	// Name names the service in traces, logs, metrics and errors.
	Name string
	Base Base
	// Validate checks the whole configuration (the service's Config.Validate, which
	// includes Base.Validate), before anything is opened. Nil checks Base alone.
	Validate func() error
	// Indexes are the service's own; the audit log's are added.
	Indexes []mongox.Index
	// Policy lists every RPC with the roles allowed to call it.
	Policy auth.Policy
	// Peers are dialled lazily: the service starts while they are still down, and the
	// calls that need them fail with UNAVAILABLE until they are up.
	Peers []Peer
	// Register builds the service on its dependencies and registers its gRPC
	// implementation on them (Deps is a grpc.ServiceRegistrar).
	Register func(d *Deps) error
}

// Deps are what Register builds the service on. They take the service's gRPC
// registrations and pass them to the server once it is built, so that a failing
// Register leaves no listener open.
type Deps struct {
	Telemetry *telemetry.Telemetry
	DB        *mongo.Database
	Auditor   *audit.Writer
	// Verifier checks tokens as the server does; a background task verifies the
	// service's own credentials with it before acting on them.
	Verifier *auth.Verifier
	conns    map[string]*grpc.ClientConn
	services []registration
	tasks    []func(context.Context) error
}

type registration struct {
	desc *grpc.ServiceDesc
	impl any
}

var _ grpc.ServiceRegistrar = (*Deps)(nil)

// RegisterService keeps a gRPC service for the server; generated Register…Server
// functions call it.
func (d *Deps) RegisterService(desc *grpc.ServiceDesc, impl any) {
	d.services = append(d.services, registration{desc: desc, impl: impl})
}

// Conn is the client connection to the peer of that name. It panics for a name not
// in Spec.Peers: that is a programming error found by the first test that starts the
// service.
func (d *Deps) Conn(name string) *grpc.ClientConn {
	conn, ok := d.conns[name]
	if !ok {
		panic(fmt.Sprintf("service: no peer %q in Spec.Peers", name))
	}
	return conn
}

// Go runs task beside the server until the server stops; its context is cancelled
// then. An error it returns stops the service.
func (d *Deps) Go(task func(ctx context.Context) error) {
	d.tasks = append(d.tasks, task)
}

// Run serves the service until ctx is done, then stops the server gracefully, drains
// the audit queue and closes what it opened.
func Run(ctx context.Context, s Spec) (err error) {
	// The metrics listener is closed on every path; after a normal shutdown
	// it is already closed and the second close means nothing.
	metricsListener := s.Base.MetricsListener
	defer func() {
		if metricsListener != nil {
			_ = metricsListener.Close()
		}
	}()
	validate := s.Validate
	if validate == nil {
		validate = s.Base.Validate
	}
	if err := validate(); err != nil {
		return fmt.Errorf("%s config: %w", s.Name, err)
	}
	if metricsListener, err = s.Base.Metrics.Listen(s.Base.MetricsListener); err != nil {
		return fmt.Errorf("%s metrics: %w", s.Name, err)
	}
	tel := s.Base.Telemetry
	if tel == nil {
		if tel, err = telemetry.Setup(ctx, telemetry.Options{ServiceName: s.Name}); err != nil {
			return fmt.Errorf("%s telemetry: %w", s.Name, err)
		}
		defer func() { _ = tel.Shutdown(context.WithoutCancel(ctx)) }()
	}
	client, err := mongox.Connect(ctx, s.Base.Mongo.URI, tel)
	if err != nil {
		return fmt.Errorf("%s store: %w", s.Name, err)
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	db := client.Database(s.Base.Mongo.Database)
	auditor := audit.NewWriter(db, tel.Logger)
	indexes := append(append([]mongox.Index(nil), s.Indexes...), auditor.Indexes()...)
	if err := mongox.EnsureIndexes(ctx, db, indexes); err != nil {
		return fmt.Errorf("%s indexes: %w", s.Name, err)
	}
	verifier, err := auth.NewVerifier(ctx, s.Base.Auth, tel.Logger)
	if err != nil {
		return fmt.Errorf("%s auth: %w", s.Name, err)
	}
	defer func() { _ = verifier.Close(context.WithoutCancel(ctx)) }()
	conns := make(map[string]*grpc.ClientConn, len(s.Peers))
	for _, p := range s.Peers {
		conn, err := grpcclient.Dial(p.Target, p.TLS, tel)
		if err != nil {
			return fmt.Errorf("%s %s client: %w", s.Name, p.Name, err)
		}
		defer func() { _ = conn.Close() }()
		conns[p.Name] = conn
	}
	deps := &Deps{Telemetry: tel, DB: db, Auditor: auditor, Verifier: verifier, conns: conns}
	if err := s.Register(deps); err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	auditserver.New(auditor).Register(deps)
	deps.Every("audit retention sweep", auditSweepFirst, auditSweepInterval, auditSweep(auditor, s.Base.Audit, time.Now, tel.Logger))

	server, err := grpcserver.New(s.Base.GRPC, grpcserver.Options{
		Telemetry: tel,
		Verifier:  verifier,
		Policy:    withAuditPolicy(s.Policy),
		OnDenied:  auditor.Denied,
		Reserve:   auditor.Reserve,
		Listener:  s.Base.Listener,
	})
	if err != nil {
		return fmt.Errorf("%s server: %w", s.Name, err)
	}
	for _, r := range deps.services {
		server.GRPC().RegisterService(r.desc, r.impl)
	}

	g, gctx := errgroup.WithContext(ctx)
	if metricsListener != nil {
		g.Go(func() error { return opsserver.Serve(gctx, metricsListener, tel.MetricsHandler, tel.Logger) })
	}
	// The audit queue is drained only after the server and every task have stopped, so
	// that nothing records an event after the last batch: a task stopped halfway (a
	// sweep, the erasure job) may still record what it did.
	auditCtx, stopAudit := context.WithCancel(context.WithoutCancel(gctx))
	g.Go(func() error { return auditor.Run(auditCtx) })
	var recorders sync.WaitGroup
	recording := func(run func() error) {
		recorders.Add(1)
		g.Go(func() error {
			defer recorders.Done()
			return run()
		})
	}
	recording(func() error { return server.Serve(gctx) })
	for _, task := range deps.tasks {
		recording(func() error { return task(gctx) })
	}
	go func() {
		recorders.Wait()
		stopAudit()
	}()
	return g.Wait()
}

// The audit log is swept daily, the first time a few minutes after the start so that
// a service being rolled out serves before it sweeps.
const (
	auditSweepFirst    = 5 * time.Minute
	auditSweepInterval = 24 * time.Hour
)

// auditSweep is the audit log's retention sweep: it removes the events older than
// cfg keeps them at now(). It logs how many it removed, never which.
func auditSweep(w *audit.Writer, cfg audit.Config, now func() time.Time, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		before := cfg.Cutoff(now())
		n, err := w.Sweep(ctx, before)
		if err != nil {
			return err
		}
		if n > 0 {
			log.InfoContext(ctx, "audit retention sweep removed expired events", "removed", n, "before", before)
		}
		return nil
	}
}

// withAuditPolicy adds the rules of the AuditService every service serves to the
// service's own.
func withAuditPolicy(p auth.Policy) auth.Policy {
	out := maps.Clone(p)
	if out == nil {
		out = auth.Policy{}
	}
	maps.Copy(out, auditserver.Policy())
	return out
}
