package service

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lillvet/register/services/platform/config"
)

// Main is a service command's main: it loads the configuration C from the
// environment, runs the service until SIGINT or SIGTERM, and exits with status 1
// and the error on stderr when either fails.
func Main[C any](name string, run func(context.Context, C) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := loadAndRun(ctx, config.Load, run)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// loadAndRun is Main without the process: load fills the configuration.
func loadAndRun[C any](ctx context.Context, load func(cfg any) error, run func(context.Context, C) error) error {
	var cfg C
	if err := load(&cfg); err != nil {
		return err
	}
	return run(ctx, cfg)
}
