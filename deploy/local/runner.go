package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lillvet/register/gateway"
	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/embedded"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

// Config is the runner's configuration. Every address may use port 0 (tests do).
type Config struct {
	DataDir        string `env:"LILLVET_DATA_DIR" envDefault:"var"`
	GatewayAddr    string `env:"LILLVET_GATEWAY_ADDR" envDefault:"127.0.0.1:8080"`
	OwnerAddr      string `env:"LILLVET_OWNER_ADDR" envDefault:"127.0.0.1:7101"`
	ConsentAddr    string `env:"LILLVET_CONSENT_ADDR" envDefault:"127.0.0.1:7102"`
	DisclosureAddr string `env:"LILLVET_DISCLOSURE_ADDR" envDefault:"127.0.0.1:7103"`
	HistoryAddr    string `env:"LILLVET_HISTORY_ADDR" envDefault:"127.0.0.1:7104"`
	JWKSAddr       string `env:"LILLVET_JWKS_ADDR" envDefault:"127.0.0.1:7100"`
	// The Prometheus scrape endpoints, one per process as in production.
	GatewayMetricsAddr    string `env:"LILLVET_GATEWAY_METRICS_ADDR" envDefault:"127.0.0.1:9100"`
	OwnerMetricsAddr      string `env:"LILLVET_OWNER_METRICS_ADDR" envDefault:"127.0.0.1:9101"`
	ConsentMetricsAddr    string `env:"LILLVET_CONSENT_METRICS_ADDR" envDefault:"127.0.0.1:9102"`
	DisclosureMetricsAddr string `env:"LILLVET_DISCLOSURE_METRICS_ADDR" envDefault:"127.0.0.1:9103"`
	HistoryMetricsAddr    string `env:"LILLVET_HISTORY_METRICS_ADDR" envDefault:"127.0.0.1:9104"`
	// Jaeger, when set, is a Jaeger all-in-one binary (`make jaeger`) that the
	// runner starts on loopback and exports every service's spans to.
	Jaeger          string `env:"LILLVET_JAEGER"`
	JaegerOTLPAddr  string `env:"LILLVET_JAEGER_OTLP_ADDR" envDefault:"127.0.0.1:4318"`
	JaegerQueryAddr string `env:"LILLVET_JAEGER_QUERY_ADDR" envDefault:"127.0.0.1:16686"`
}

// Validate checks that every listener stays on loopback: the development CA, tokens
// and keys are not fit for anything else.
func (c Config) Validate() error {
	var errs []error
	for name, addr := range map[string]string{
		"LILLVET_GATEWAY_ADDR": c.GatewayAddr, "LILLVET_OWNER_ADDR": c.OwnerAddr, "LILLVET_JWKS_ADDR": c.JWKSAddr,
		"LILLVET_GATEWAY_METRICS_ADDR": c.GatewayMetricsAddr, "LILLVET_OWNER_METRICS_ADDR": c.OwnerMetricsAddr,
		"LILLVET_CONSENT_ADDR": c.ConsentAddr, "LILLVET_CONSENT_METRICS_ADDR": c.ConsentMetricsAddr,
		"LILLVET_DISCLOSURE_ADDR": c.DisclosureAddr, "LILLVET_DISCLOSURE_METRICS_ADDR": c.DisclosureMetricsAddr,
		"LILLVET_JAEGER_OTLP_ADDR": c.JaegerOTLPAddr, "LILLVET_JAEGER_QUERY_ADDR": c.JaegerQueryAddr,
		"LILLVET_HISTORY_ADDR": c.HistoryAddr, "LILLVET_HISTORY_METRICS_ADDR": c.HistoryMetricsAddr,
	} {
		host, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			errs = append(errs, fmt.Errorf("%s must be a loopback host:port, got %q", name, addr))
		}
	}
	return errors.Join(errs...)
}

func loadConfig() (Config, error) {
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		return cfg, err
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return cfg, fmt.Errorf("LILLVET_DATA_DIR: %w", err)
	}
	cfg.DataDir = dir
	return cfg, nil
}

const (
	devIssuer   = "lillvet-dev-issuer"
	devAudience = "lillvet-register"
)

func issuer(cfg Config) (*devauth.Issuer, error) {
	return devauth.LoadOrCreate(filepath.Join(cfg.DataDir, "auth"), devIssuer, devAudience)
}

// serve starts everything and blocks until ctx is done.
func serve(ctx context.Context, cfg Config, out io.Writer) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	pki, err := devpki.Ensure(filepath.Join(cfg.DataDir, "pki"))
	if err != nil {
		return fmt.Errorf("development CA: %w", err)
	}
	iss, err := issuer(cfg)
	if err != nil {
		return fmt.Errorf("development token issuer: %w", err)
	}
	keys, err := loadOrCreateKeys(filepath.Join(cfg.DataDir, "secrets", "identity-keys.json"))
	if err != nil {
		return err
	}
	if cfg.Jaeger != "" {
		j, err := startJaeger(ctx, cfg)
		if err != nil {
			return err
		}
		// Every service reads the standard variable when it sets up telemetry.
		if err := os.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+cfg.JaegerOTLPAddr); err != nil {
			return errors.Join(err, j.stop())
		}
		// Deferred before the services start, so it runs after they have
		// stopped and flushed their last spans.
		defer func() { _ = j.stop() }()
	}
	store, err := embedded.Start(ctx, filepath.Join(cfg.DataDir, "store"))
	if err != nil {
		return fmt.Errorf("embedded store: %w", err)
	}
	defer func() { _ = store.Close() }()

	listeners, err := listen(map[string]string{
		"jwks": cfg.JWKSAddr, "owner": cfg.OwnerAddr, "gateway": cfg.GatewayAddr,
		"owner-metrics": cfg.OwnerMetricsAddr, "gateway-metrics": cfg.GatewayMetricsAddr,
		"consent": cfg.ConsentAddr, "consent-metrics": cfg.ConsentMetricsAddr,
		"disclosure": cfg.DisclosureAddr, "disclosure-metrics": cfg.DisclosureMetricsAddr,
		"history": cfg.HistoryAddr, "history-metrics": cfg.HistoryMetricsAddr,
	})
	if err != nil {
		return err
	}
	serverTLS, err := pki.ServerConfig()
	if err != nil {
		return err
	}
	jwks := &http.Server{Handler: iss.JWKSHandler(), ReadHeaderTimeout: 5 * time.Second, TLSConfig: serverTLS}
	jwksURL := "https://" + listeners["jwks"].Addr().String() + "/jwks.json"
	authCfg := iss.AuthConfig(jwksURL)
	authCfg.CAFile = pki.CAFile

	ownerCfg := owner.Config{
		GRPC:              grpcServerConfig(listeners["owner"], pki),
		Auth:              authCfg,
		IdentityKeys:      keys.IdentityKeys,
		IdentityActiveKey: keys.ActiveKey,
		BlindIndexKey:     keys.BlindIndexKey,
		Listener:          listeners["owner"],
		MetricsListener:   listeners["owner-metrics"],
	}
	ownerCfg.Mongo.URI, ownerCfg.Mongo.Database = store.URI(), "lillvet_owner"
	consentCfg := consent.Config{
		GRPC:            grpcServerConfig(listeners["consent"], pki),
		Auth:            authCfg,
		OwnerAddr:       listeners["owner"].Addr().String(),
		OwnerTLS:        pki,
		Listener:        listeners["consent"],
		MetricsListener: listeners["consent-metrics"],
	}
	consentCfg.Mongo.URI, consentCfg.Mongo.Database = store.URI(), "lillvet_consent"
	disclosureCfg := disclosure.Config{
		GRPC:            grpcServerConfig(listeners["disclosure"], pki),
		Auth:            authCfg,
		OwnerAddr:       listeners["owner"].Addr().String(),
		OwnerTLS:        pki,
		ConsentAddr:     listeners["consent"].Addr().String(),
		ConsentTLS:      pki,
		Listener:        listeners["disclosure"],
		MetricsListener: listeners["disclosure-metrics"],
	}
	disclosureCfg.Mongo.URI, disclosureCfg.Mongo.Database = store.URI(), "lillvet_disclosure"
	historyCfg := history.Config{
		GRPC:            grpcServerConfig(listeners["history"], pki),
		Auth:            authCfg,
		OwnerTarget:     listeners["owner"].Addr().String(),
		Listener:        listeners["history"],
		MetricsListener: listeners["history-metrics"],
	}
	historyCfg.Mongo.URI, historyCfg.Mongo.Database = store.URI(), "lillvet_history"
	gatewayCfg := gateway.Config{
		TLS:             pki,
		BackendTLS:      pki,
		OwnerAddr:       listeners["owner"].Addr().String(),
		ConsentAddr:     listeners["consent"].Addr().String(),
		DisclosureAddr:  listeners["disclosure"].Addr().String(),
		HistoryAddr:     listeners["history"].Addr().String(),
		MaxBodyBytes:    1 << 20,
		Auth:            authCfg,
		Listener:        listeners["gateway"],
		MetricsListener: listeners["gateway-metrics"],
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := jwks.ServeTLS(listeners["jwks"], "", ""); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("token issuer keys: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
		defer cancel()
		return jwks.Shutdown(shutdownCtx)
	})
	g.Go(func() error { return owner.Run(gctx, ownerCfg) })
	g.Go(func() error { return consent.Run(gctx, consentCfg) })
	g.Go(func() error { return disclosure.Run(gctx, disclosureCfg) })
	g.Go(func() error { return history.Run(gctx, historyCfg) })
	g.Go(func() error { return gateway.Run(gctx, gatewayCfg) })
	g.Go(func() error {
		for _, addr := range []string{ownerCfg.GRPC.Addr, consentCfg.GRPC.Addr, disclosureCfg.GRPC.Addr, historyCfg.GRPC.Addr} {
			if err := waitReady(gctx, addr, pki); err != nil {
				return err
			}
		}
		return printEndpoints(out, cfg, listeners, pki)
	})
	return g.Wait()
}

func grpcServerConfig(l net.Listener, pki tlsconf.Files) grpcserver.Config {
	return grpcserver.Config{
		Addr: l.Addr().String(), TLS: pki, MaxRecvMsgBytes: 1 << 20, MaxConcurrentStreams: 256,
		ShutdownGrace: 5 * time.Second,
	}
}

// listen opens every listener before anything starts, so that each component knows the
// others' real addresses even when a port is 0.
func listen(addrs map[string]string) (map[string]net.Listener, error) {
	out := make(map[string]net.Listener, len(addrs))
	for name, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, opened := range out {
				_ = opened.Close()
			}
			return nil, fmt.Errorf("listen for %s on %s: %w", name, addr, err)
		}
		out[name] = l
	}
	return out, nil
}

// waitReady waits until a service answers SERVING on its health service.
func waitReady(ctx context.Context, addr string, pki tlsconf.Files) error {
	conn, err := grpcclient.Dial(addr, pki, telemetry.Noop(io.Discard))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := grpcclient.WaitReady(wctx, conn); err != nil {
		return fmt.Errorf("service at %s did not become ready: %w", addr, err)
	}
	return nil
}

// printEndpoints tells the user where everything listens. Tests read the "gateway" line.
func printEndpoints(out io.Writer, cfg Config, l map[string]net.Listener, pki tlsconf.Files) error {
	var traces string
	if cfg.Jaeger != "" {
		traces = fmt.Sprintf("  traces   http://%s/api/traces?service=gateway (Jaeger query API)\n", cfg.JaegerQueryAddr)
	}
	_, err := fmt.Fprintf(out, `Lillvet register is running on the embedded store (data in %s).
  gateway  https://%s  (OpenAPI /openapi.yaml, health /healthz)
  owner    %s  (gRPC, TLS)
  consent  %s  (gRPC, TLS)
  disclosure %s  (gRPC, TLS)
  history  %s  (gRPC, TLS)
  jwks     https://%s/jwks.json
  metrics  http://%s/metrics (gateway), http://%s/metrics (owner), http://%s/metrics (consent), http://%s/metrics (disclosure), http://%s/metrics (history)
  CA       %s
%sGet a token:  go run ./deploy/local token --role reception
Press Ctrl-C to stop.
`, cfg.DataDir, l["gateway"].Addr(), l["owner"].Addr(), l["consent"].Addr(), l["disclosure"].Addr(), l["history"].Addr(), l["jwks"].Addr(),
		l["gateway-metrics"].Addr(), l["owner-metrics"].Addr(), l["consent-metrics"].Addr(),
		l["disclosure-metrics"].Addr(), l["history-metrics"].Addr(), pki.CAFile, traces)
	return err
}

// devKeys are the identity-code keys of the local installation, created once.
type devKeys struct {
	IdentityKeys  string `json:"identity_keys"`
	ActiveKey     string `json:"active_key"`
	BlindIndexKey string `json:"blind_index_key"`
}

func loadOrCreateKeys(path string) (devKeys, error) {
	var k devKeys
	b, err := os.ReadFile(filepath.Clean(path))
	if err == nil {
		if err := json.Unmarshal(b, &k); err != nil {
			return k, fmt.Errorf("read development keys %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return k, fmt.Errorf("read development keys: %w", err)
	}
	secret := func() string {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	k = devKeys{IdentityKeys: "dev1:" + secret(), ActiveKey: "dev1", BlindIndexKey: secret()}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return k, fmt.Errorf("create secrets folder: %w", err)
	}
	b, _ = json.Marshal(k)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return k, fmt.Errorf("write development keys: %w", err)
	}
	return k, nil
}

// printToken prints a development token for a role.
func printToken(cfg Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	role := fs.String("role", "", "role: veterinarian, nurse, reception, billing, clinic_manager, maintainer, subcontractor, partner")
	name := fs.String("name", "", "display name (default: Dev <role>)")
	clinic := fs.String("clinic", "seinajoki", "home clinic: seinajoki or kangasala")
	recipient := fs.String("recipient", "", "recipient id, for the partner role")
	ttl := fs.Duration("ttl", 8*time.Hour, "validity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return fmt.Errorf("--role: %w", err)
	}
	if *name == "" {
		*name = "Dev " + string(r)
	}
	iss, err := issuer(cfg)
	if err != nil {
		return err
	}
	tok, err := iss.Mint(devauth.Claims{
		Subject: "dev-" + string(r), Name: *name, Roles: []auth.Role{r}, Clinic: *clinic, RecipientID: *recipient,
	}, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, tok)
	return err
}
