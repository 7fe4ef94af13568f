package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// jaeger is a Jaeger all-in-one process (in-memory storage) the runner starts
// on loopback and sends every service's spans to.
type jaeger struct {
	cmd  *exec.Cmd
	done chan error
}

// startJaeger starts the binary built by `make jaeger` and waits until its
// OTLP receiver and query API accept connections. Its log goes to
// <data>/jaeger.log so that it does not drown the services' own.
func startJaeger(ctx context.Context, cfg Config) (*jaeger, error) {
	otlpHost, _, err := net.SplitHostPort(cfg.JaegerOTLPAddr)
	if err != nil {
		return nil, fmt.Errorf("LILLVET_JAEGER_OTLP_ADDR: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(cfg.DataDir, "jaeger.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("jaeger log: %w", err)
	}
	defer func() { _ = logFile.Close() }()
	// Not CommandContext: the runner stops Jaeger itself after the services
	// have flushed their last spans into it.
	cmd := exec.Command(cfg.Jaeger, //nolint:gosec // the operator names the Jaeger binary to run
		"--set=extensions.jaeger_query.http.endpoint="+cfg.JaegerQueryAddr,
		"--set=extensions.jaeger_query.grpc.endpoint="+otlpHost+":0",
		"--set=receivers.otlp.protocols.http.endpoint="+cfg.JaegerOTLPAddr,
		"--set=receivers.otlp.protocols.grpc.endpoint="+otlpHost+":0",
	)
	// JAEGER_LISTEN_HOST keeps every other listener of the default
	// configuration (health, metrics) on loopback too.
	cmd.Env = append(os.Environ(), "JAEGER_LISTEN_HOST="+otlpHost)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start jaeger %s: %w", cfg.Jaeger, err)
	}
	j := &jaeger{cmd: cmd, done: make(chan error, 1)}
	go func() { j.done <- cmd.Wait() }()
	for _, addr := range []string{cfg.JaegerOTLPAddr, cfg.JaegerQueryAddr} {
		if err := j.waitListening(ctx, addr); err != nil {
			return nil, errors.Join(err, j.stop())
		}
	}
	return j, nil
}

func (j *jaeger) waitListening(ctx context.Context, addr string) error {
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case err := <-j.done:
			j.done <- err
			return fmt.Errorf("jaeger exited before listening on %s (see jaeger.log in the data folder): %w", addr, err)
		case <-deadline.C:
			return fmt.Errorf("jaeger is not listening on %s after a minute (see jaeger.log in the data folder)", addr)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// stop interrupts Jaeger and waits for it to exit.
func (j *jaeger) stop() error {
	if err := j.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop jaeger: %w", err)
	}
	select {
	case err := <-j.done:
		// An exit status after the interrupt is Jaeger's own affair; only
		// failing to wait for it is the runner's.
		if exitErr := (*exec.ExitError)(nil); err != nil && !errors.As(err, &exitErr) {
			return fmt.Errorf("wait for jaeger: %w", err)
		}
		return nil
	case <-time.After(10 * time.Second):
		return errors.Join(errors.New("jaeger did not stop within 10 s; killed"), j.cmd.Process.Kill())
	}
}
