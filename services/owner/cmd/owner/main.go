// Command owner serves the owner service, configured from the environment.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "owner:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg owner.Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	return owner.Run(ctx, cfg)
}
