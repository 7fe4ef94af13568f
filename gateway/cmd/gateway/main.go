// Command gateway serves the register's REST API, translating each call to
// the gRPC service that owns the data. Configuration comes from the
// environment (see gateway.Config).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lillvet/register/gateway"
	"github.com/lillvet/register/services/platform/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("gateway stopped", "service", "gateway", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg gateway.Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	if err := gateway.Run(ctx, cfg); err != nil {
		return fmt.Errorf("run gateway: %w", err)
	}
	return nil
}
