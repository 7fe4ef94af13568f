// Command local runs the whole register on one machine with nothing installed but Go:
// the embedded store (FerretDB on SQLite, data kept in a folder), a development CA and
// token issuer created on first start, every service and the REST gateway, all on
// loopback.
//
//	go run ./deploy/local                        start everything; Ctrl-C stops it
//	go run ./deploy/local token --role billing   print a development token
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "lillvet:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "token" {
		return printToken(cfg, args[1:], out)
	}
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q: run without arguments to start, or `token --role ROLE`", args[0])
	}
	return serve(ctx, cfg, out)
}
