// Command compose-setup prepares deploy/compose for `docker compose up`: a
// certificate per service signed by the local runner's development CA, the
// development token issuer's JWKS, the erasure job's token, the owner service's
// keys and the history service's request digest key in deploy/compose/secrets/, and
// deploy/compose/.env with the container user.
// Run it from the repository root; run it again to renew the certificates and the token.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/lillvet/register/deploy/validate/composesetup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-setup:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("compose-setup", flag.ContinueOnError)
	dataDir := os.Getenv("LILLVET_DATA_DIR")
	if dataDir == "" {
		dataDir = "var"
	}
	o := composesetup.Options{}
	fs.StringVar(&o.DataDir, "data", dataDir, "the local runner's data folder (its CA and token issuer)")
	fs.StringVar(&o.CertDir, "certs", "deploy/compose/certs", "where the certificates and the JWKS go")
	fs.StringVar(&o.SecretDir, "secrets", "deploy/compose/secrets", "where the owner service's keys and the history service's request digest key go (existing ones are kept)")
	fs.StringVar(&o.EnvFile, "env", "deploy/compose/.env", "compose's env file (container user; keys an earlier setup put there move to -secrets)")
	hosts := fs.String("hosts", strings.Join(composesetup.DefaultHosts(), ","), "compose services that get a certificate")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	o.Hosts = strings.Split(*hosts, ",")
	if err := composesetup.Run(o); err != nil {
		return fmt.Errorf("set up compose: %w", err)
	}
	_, err := fmt.Fprintf(out, "certificates and JWKS in %s (CA %s/pki/ca.pem), keys in %s, container user in %s\nnext: docker compose -f deploy/compose/compose.yaml up --build\n",
		o.CertDir, o.DataDir, o.SecretDir, o.EnvFile)
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}
