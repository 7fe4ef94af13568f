// Package opsserver serves a process's operations endpoint: the Prometheus
// scrape at GET /metrics, on a listener of its own, apart from the public API,
// so that scraping needs no token and the API port exposes no internals.
package opsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// MetricsPath is the only path the endpoint serves.
const MetricsPath = "/metrics"

const (
	// A scrape is one small request; a client that is slower than this is
	// holding a connection for nothing.
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 16 << 10
	// shutdownGrace lets a scrape in flight finish after ctx is done.
	shutdownGrace = 5 * time.Second
)

// Config places the endpoint. The metrics carry method and route names,
// codes and durations, never personal data, so the endpoint is plain HTTP
// without authentication: keep it on a network only the scraper reaches.
type Config struct {
	// Addr is the listen address; empty disables the endpoint.
	Addr string `env:"METRICS_ADDR"`
}

// Validate checks that Addr, when set, is a host:port.
func (c Config) Validate() error {
	if c.Addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("METRICS_ADDR must be host:port, got %q", c.Addr)
	}
	return nil
}

// Listen returns l when it is set (a listener the caller opened, on port 0 in
// tests), otherwise a new listener on Addr, and nil when Addr is empty: the
// endpoint is off.
func (c Config) Listen(l net.Listener) (net.Listener, error) {
	if l != nil || c.Addr == "" {
		return l, nil
	}
	l, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", c.Addr, err)
	}
	return l, nil
}

// Serve serves GET /metrics from metrics on l until ctx is done, then lets a
// scrape in flight finish and returns nil. It closes l. Server errors are
// logged to logger (the standard logger when nil).
func Serve(ctx context.Context, l net.Listener, metrics http.Handler, logger *slog.Logger) error {
	if metrics == nil {
		_ = l.Close()
		return errors.New("serve metrics: no metrics handler")
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, metrics)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	if logger != nil {
		srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve metrics on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("shut down metrics server: %w", err), srv.Close())
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve metrics: %w", err))
	}
	return errors.Join(errs...)
}
