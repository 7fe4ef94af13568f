// Command disclosure serves the disclosure service, configured from the environment.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/platform/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "disclosure:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg disclosure.Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	return disclosure.Run(ctx, cfg)
}
