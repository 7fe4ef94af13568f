// Package gateway is the REST edge of the register: it serves JSON over HTTP
// to partner systems and clinic apps, refuses callers without a valid bearer
// token, and turns every other call into a real gRPC call, over TLS, to the
// service that owns the data. It keeps no state.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/netaddr"
	"github.com/lillvet/register/services/platform/opsserver"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

const (
	serviceName = "gateway"

	defaultMaxBodyBytes = 1 << 20

	// defaultBackendTimeout caps a backend call when the configuration leaves it at
	// zero. The slowest calls, the access report of an owner with a thousand visits,
	// take a few seconds; ingress-nginx gives up on an answer after 60 s.
	defaultBackendTimeout = 50 * time.Second

	// Timeouts of the HTTP server: a slow client cannot hold a connection
	// open for free, and a long answer still fits.
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	// answerTime is what the server allows past the backend call's cap to write the
	// answer, so that the 504 of a call cut at the cap still reaches the client.
	answerTime = 10 * time.Second

	// shutdownGrace is how long requests in flight may finish after the
	// context is done.
	shutdownGrace = 15 * time.Second
)

// Config configures the gateway. Zero MaxBodyBytes or BackendTimeout means the default.
//
// Serving: with TLS.CertFile set the gateway serves HTTPS (and verifies
// client certificates against TLS.CAFile as TLS.ClientAuth says). Without it
// it serves plain HTTP, which is allowed only on a loopback address, for
// development behind nothing; Validate and Run refuse anything else.
type Config struct {
	Addr string `env:"GATEWAY_ADDR" envDefault:"127.0.0.1:8080"`
	// TLS is the serving identity (GATEWAY_TLS_CERT_FILE etc.).
	TLS tlsconf.Files `envPrefix:"GATEWAY_"`
	// BackendTLS is the client identity and trusted CA towards the gRPC
	// services (BACKEND_TLS_CERT_FILE etc.).
	BackendTLS tlsconf.Files `envPrefix:"BACKEND_"`
	// OwnerAddr is the owner service's gRPC target.
	OwnerAddr string `env:"OWNER_GRPC_TARGET" envDefault:"127.0.0.1:7101" peerTLS:"BACKEND_"`
	// ConsentAddr is the consent service's gRPC target.
	ConsentAddr string `env:"CONSENT_GRPC_TARGET" envDefault:"127.0.0.1:7102" peerTLS:"BACKEND_"`
	// DisclosureAddr is the disclosure service's gRPC target.
	DisclosureAddr string `env:"DISCLOSURE_GRPC_TARGET" envDefault:"127.0.0.1:7103" peerTLS:"BACKEND_"`
	// HistoryAddr is the patient-history service's gRPC target.
	HistoryAddr  string `env:"HISTORY_GRPC_TARGET" envDefault:"127.0.0.1:7104" peerTLS:"BACKEND_"`
	MaxBodyBytes int64  `env:"GATEWAY_MAX_BODY_BYTES" envDefault:"1048576"`
	// BackendTimeout caps every backend call, so that a hung service is answered 504
	// instead of holding the request until the client gives up. A client's shorter
	// Grpc-Timeout still ends the call first; a longer one ends at the cap. Zero means
	// the default.
	BackendTimeout time.Duration `env:"GATEWAY_BACKEND_TIMEOUT" envDefault:"50s"`
	// Auth verifies the bearer token of every API call (the AUTH_*
	// variables the services read).
	Auth auth.Config
	// Metrics places the Prometheus scrape endpoint (METRICS_ADDR; off
	// when empty).
	Metrics opsserver.Config
	// Listener, when set, is served instead of listening on Addr (the
	// all-in-one runner and tests open it on port 0). Run closes it.
	Listener net.Listener `env:"-"`
	// MetricsListener, when set, serves the metrics endpoint instead of
	// Metrics.Addr. Run closes it.
	MetricsListener net.Listener `env:"-"`
	// Telemetry, when set, is used and left running; otherwise Run sets up
	// its own from the OTEL_* variables and shuts it down on return.
	Telemetry *telemetry.Telemetry `env:"-"`

	// readTimeout and answerTime, when set, stand in for the HTTP server's, so that a
	// test of them need not wait the real ones out.
	readTimeout, answerTime time.Duration
}

// Validate checks the configuration without opening sockets: the TLS files are
// read and parsed here, so that a bad one stops the gateway before it connects
// anywhere.
func (c Config) Validate() error {
	var errs []error
	if c.Listener == nil {
		if c.Addr == "" {
			errs = append(errs, errors.New("GATEWAY_ADDR is required"))
		} else if c.TLS.CertFile == "" && !netaddr.IsLoopbackHostPort(c.Addr) {
			errs = append(errs, fmt.Errorf("GATEWAY_ADDR %s is not a loopback address: plain HTTP is only served on loopback, set GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE", c.Addr))
		}
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("GATEWAY_MAX_BODY_BYTES must not be negative"))
	}
	if c.BackendTimeout < 0 {
		errs = append(errs, errors.New("GATEWAY_BACKEND_TIMEOUT must not be negative"))
	}
	if err := c.TLS.Validate("GATEWAY_"); err != nil {
		errs = append(errs, err)
	}
	if err := c.BackendTLS.Validate("BACKEND_"); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Auth.Validate(), c.Metrics.Validate())
	for _, b := range backends() {
		if b.target(c) == "" {
			errs = append(errs, fmt.Errorf("%s is required", b.env))
		}
	}
	return errors.Join(errs...)
}

// Run serves the gateway until ctx is done, then lets requests in flight
// finish (within a grace period) and returns.
func Run(ctx context.Context, cfg Config) (err error) {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.BackendTimeout == 0 {
		cfg.BackendTimeout = defaultBackendTimeout
	}
	if cfg.readTimeout == 0 {
		cfg.readTimeout = readTimeout
	}
	if cfg.answerTime == 0 {
		cfg.answerTime = answerTime
	}
	// The listeners are closed on every path; after a normal shutdown they
	// are already closed and the second close's error means nothing.
	if cfg.Listener != nil {
		defer func() { _ = cfg.Listener.Close() }()
	}
	metricsListener := cfg.MetricsListener
	defer func() {
		if metricsListener != nil {
			_ = metricsListener.Close()
		}
	}()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("gateway configuration: %w", err)
	}
	if metricsListener, err = cfg.Metrics.Listen(cfg.MetricsListener); err != nil {
		return fmt.Errorf("gateway metrics: %w", err)
	}

	tel := cfg.Telemetry
	if tel == nil {
		tel, err = telemetry.Setup(ctx, telemetry.Options{ServiceName: serviceName})
		if err != nil {
			return fmt.Errorf("set up telemetry: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
			defer cancel()
			err = errors.Join(err, tel.Shutdown(sctx))
		}()
	}

	verifier, err := auth.NewVerifier(ctx, cfg.Auth, tel.Logger)
	if err != nil {
		return fmt.Errorf("gateway auth: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		err = errors.Join(err, verifier.Close(sctx))
	}()

	conns, err := dialBackends(cfg, tel)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, conns.close()) }()

	handler, err := newHandler(ctx, cfg, tel, conns, verifier)
	if err != nil {
		return err
	}

	var tlsCfg *tls.Config
	if cfg.TLS.CertFile != "" {
		if tlsCfg, err = cfg.TLS.ServerConfig(); err != nil {
			return fmt.Errorf("gateway serving TLS: %w", err)
		}
	}
	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serve(gctx, tel, handler, ln, tlsCfg, cfg.serverTimeouts()) })
	if metricsListener != nil {
		g.Go(func() error { return opsserver.Serve(gctx, metricsListener, tel.MetricsHandler, tel.Logger) })
	}
	return g.Wait()
}

// listen returns the configured listener, or opens one on Addr. Without a
// serving certificate it must be on loopback.
func listen(cfg Config) (net.Listener, error) {
	ln := cfg.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
	}
	if cfg.TLS.CertFile == "" && !netaddr.IsLoopbackHostPort(ln.Addr().String()) {
		_ = ln.Close()
		return nil, fmt.Errorf("listener %s is not on loopback: plain HTTP is only served on loopback, configure TLS", ln.Addr())
	}
	return ln, nil
}

// serverTimeouts are the HTTP server's read and write timeouts.
type serverTimeouts struct {
	read, write time.Duration
}

// serverTimeouts gives the write timeout room for the whole request. net/http counts it
// from the end of the request headers (and HTTP/2 resets the stream when it passes, even
// mid-upload), so it must hold the body's upload, which the read timeout bounds and the
// backend cap leaves out, then the backend call up to the cap, then the answer.
func (c Config) serverTimeouts() serverTimeouts {
	return serverTimeouts{read: c.readTimeout, write: c.readTimeout + c.BackendTimeout + c.answerTime}
}

// serve runs the HTTP server on ln, over TLS when tlsCfg is set, until ctx
// is done.
func serve(ctx context.Context, tel *telemetry.Telemetry, handler http.Handler, ln net.Listener, tlsCfg *tls.Config, timeouts serverTimeouts) error {
	// Requests in flight outlive ctx for the grace period, then their
	// backend calls are cancelled.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       timeouts.read,
		WriteTimeout:      timeouts.write,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         tlsCfg,
		ErrorLog:          slog.NewLogLogger(tel.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
	}

	served := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			served <- srv.ServeTLS(ln, "", "")
			return
		}
		served <- srv.Serve(ln)
	}()
	tel.Logger.InfoContext(ctx, "gateway serving", "addr", ln.Addr().String(), "tls", tlsCfg != nil)

	select {
	case err := <-served:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if shutdownErr != nil {
		cancelBase()
		shutdownErr = errors.Join(fmt.Errorf("shut down http server: %w", shutdownErr), srv.Close())
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(shutdownErr, fmt.Errorf("serve http: %w", err))
	}
	return shutdownErr
}
