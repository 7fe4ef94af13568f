// Command history serves the patient-history service, configured from the environment.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/platform/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "history:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg history.Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	return history.Run(ctx, cfg)
}
