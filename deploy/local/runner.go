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
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lillvet/register/gateway"
	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/atomicfile"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/embedded"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/netaddr"
	platformservice "github.com/lillvet/register/services/platform/service"
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
	addrs := c.listenAddrs()
	addrs["jaeger-otlp"], addrs["jaeger-query"] = c.JaegerOTLPAddr, c.JaegerQueryAddr
	var errs []error
	for name, addr := range addrs {
		if !netaddr.IsLoopbackHostPort(addr) {
			errs = append(errs, fmt.Errorf("%s must be a loopback host:port, got %q", envVar(name), addr))
		}
	}
	return errors.Join(errs...)
}

// listenAddrs is every address the runner listens on, by listener name: the gateway,
// the token issuer's keys ("jwks"), each service, and the metrics endpoints
// ("<name>-metrics").
func (c Config) listenAddrs() map[string]string {
	addrs := map[string]string{"gateway": c.GatewayAddr, "gateway-metrics": c.GatewayMetricsAddr, "jwks": c.JWKSAddr}
	for _, s := range services {
		addrs[s.name], addrs[s.name+"-metrics"] = s.addrs(c)
	}
	return addrs
}

// envVar is the variable that sets the address of a listener: LILLVET_<NAME>_ADDR.
func envVar(listener string) string {
	return "LILLVET_" + strings.ToUpper(strings.ReplaceAll(listener, "-", "_")) + "_ADDR"
}

// service is one gRPC service of the register as the runner, and the tests' stack,
// start it. Adding a service is an entry in services, its two address fields in
// Config, and its backend address in the gateway's configuration (wiring.gateway).
type service struct {
	// name names its listeners, its database (lillvet_<name>) and its line of the
	// printed endpoints.
	name string
	// addrs are its gRPC and metrics addresses in Config.
	addrs func(Config) (grpc, metrics string)
	run   func(ctx context.Context, w wiring) error
}

// hourlySweep is the services' retention sweep in the local run, as their
// RETENTION_SWEEP_INTERVAL default has it.
var hourlySweep = platformservice.SweepConfig{Interval: time.Hour}

// ownerStatusTTL is how long the consent service remembers an owner's status from the
// owner service in the local run, as its OWNER_STATUS_TTL default has it.
const ownerStatusTTL = 5 * time.Second

var services = []service{
	{
		name:  "owner",
		addrs: func(c Config) (string, string) { return c.OwnerAddr, c.OwnerMetricsAddr },
		run: func(ctx context.Context, w wiring) error {
			return owner.Run(ctx, owner.Config{
				Base:         w.base("owner"),
				IdentityKeys: w.keys.IdentityKeys, IdentityActiveKey: w.keys.ActiveKey, BlindIndexKey: w.keys.BlindIndexKey,
				Sweep: hourlySweep,
			})
		},
	},
	{
		name:  "consent",
		addrs: func(c Config) (string, string) { return c.ConsentAddr, c.ConsentMetricsAddr },
		run: func(ctx context.Context, w wiring) error {
			return consent.Run(ctx, consent.Config{
				Base:      w.base("consent"),
				OwnerAddr: w.addr("owner"), OwnerTLS: w.tls,
				OwnerStatusTTL: ownerStatusTTL,
			})
		},
	},
	{
		name:  "disclosure",
		addrs: func(c Config) (string, string) { return c.DisclosureAddr, c.DisclosureMetricsAddr },
		run: func(ctx context.Context, w wiring) error {
			return disclosure.Run(ctx, disclosure.Config{
				Base:      w.base("disclosure"),
				OwnerAddr: w.addr("owner"), OwnerTLS: w.tls, ConsentAddr: w.addr("consent"), ConsentTLS: w.tls,
				HistoryAddr: w.addr("history"), HistoryTLS: w.tls,
				Job:   disclosure.JobConfig{TokenFile: w.tokens.erasureJob, Poll: 5 * time.Second, CallTimeout: 2 * time.Minute, Lease: 10 * time.Minute},
				Sweep: hourlySweep,
			})
		},
	},
	{
		name:  "history",
		addrs: func(c Config) (string, string) { return c.HistoryAddr, c.HistoryMetricsAddr },
		run: func(ctx context.Context, w wiring) error {
			return history.Run(ctx, history.Config{
				Base:             w.base("history"),
				OwnerTarget:      w.addr("owner"),
				Sweep:            hourlySweep,
				RequestDigestKey: w.keys.RequestDigestKey,
				NameRetention:    history.NameRetentionConfig{TokenFile: w.tokens.nameRetention, Interval: time.Minute, CallTimeout: 10 * time.Second},
			})
		},
	},
}

// wiring is what every service and the gateway are started with.
type wiring struct {
	tls      tlsconf.Files
	auth     auth.Config
	storeURI string
	keys     devKeys
	// tokens are the files holding the services' own jobs' tokens (see tokenFiles).
	tokens tokenFiles
	// listeners are open before anything starts, so that each part knows the others'
	// real addresses even when a port is 0. A missing metrics listener leaves that
	// endpoint off.
	listeners map[string]net.Listener
	// telemetry, by service name ("gateway" too), is shared with the caller (tests);
	// a service without one sets up its own from the standard OTEL_* variables.
	telemetry map[string]*telemetry.Telemetry
}

func (w wiring) addr(name string) string { return w.listeners[name].Addr().String() }

func (w wiring) grpc(name string) grpcserver.Config {
	return grpcserver.Config{
		Addr: w.addr(name), TLS: w.tls, MaxRecvMsgBytes: 1 << 20, MaxConcurrentStreams: 256,
		ShutdownGrace: 5 * time.Second,
	}
}

// base is the configuration every service shares, for the service name.
func (w wiring) base(name string) platformservice.Base {
	return platformservice.Base{
		GRPC: w.grpc(name), Mongo: w.mongo(name), Auth: w.auth,
		Listener: w.listeners[name], MetricsListener: w.listeners[name+"-metrics"], Telemetry: w.telemetry[name],
	}
}

func (w wiring) mongo(service string) mongox.Config {
	return mongox.Config{URI: w.storeURI, Database: "lillvet_" + service}
}

func (w wiring) gateway() gateway.Config {
	return gateway.Config{
		TLS:             w.tls,
		BackendTLS:      w.tls,
		OwnerAddr:       w.addr("owner"),
		ConsentAddr:     w.addr("consent"),
		DisclosureAddr:  w.addr("disclosure"),
		HistoryAddr:     w.addr("history"),
		MaxBodyBytes:    1 << 20,
		Auth:            w.auth,
		Listener:        w.listeners["gateway"],
		MetricsListener: w.listeners["gateway-metrics"],
		Telemetry:       w.telemetry["gateway"],
	}
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

	listeners, err := listen(cfg.listenAddrs())
	if err != nil {
		return err
	}
	serverTLS, err := pki.ServerConfig()
	if err != nil {
		return err
	}
	jwks := &http.Server{Handler: iss.JWKSHandler(), ReadHeaderTimeout: 5 * time.Second, TLSConfig: serverTLS}
	authCfg := iss.AuthConfig("https://" + listeners["jwks"].Addr().String() + "/jwks.json")
	authCfg.CAFile = pki.CAFile
	tokens := newTokenFiles(filepath.Join(cfg.DataDir, "auth"))
	if err := tokens.write(iss); err != nil {
		return err
	}
	w := wiring{tls: pki, auth: authCfg, storeURI: store.URI(), keys: keys, listeners: listeners, tokens: tokens}

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
	g.Go(func() error { return tokens.refresh(gctx, iss) })
	for _, s := range services {
		g.Go(func() error { return s.run(gctx, w) })
	}
	g.Go(func() error { return gateway.Run(gctx, w.gateway()) })
	g.Go(func() error {
		for _, s := range services {
			if err := waitReady(gctx, w.addr(s.name), pki); err != nil {
				return err
			}
		}
		return printEndpoints(out, cfg, listeners, pki, store.URI())
	})
	return g.Wait()
}

// The services' own jobs' development credentials: the disclosure service's erasure
// job's token (devauth.ErasureJob) and the history service's name retention job's
// (devauth.NameRetentionJob), as a Kubernetes Secret renewed from outside or a vault
// agent would write them in production, renewed well before they expire (the services
// read the files again on every use).
const (
	jobTokenTTL     = 24 * time.Hour
	jobTokenRenewal = 12 * time.Hour
)

// tokenFiles are the files of the services' own jobs' tokens.
type tokenFiles struct {
	erasureJob    string
	nameRetention string
}

// newTokenFiles names the token files in dir.
func newTokenFiles(dir string) tokenFiles {
	return tokenFiles{erasureJob: filepath.Join(dir, "disclosure-job.token"), nameRetention: filepath.Join(dir, "history-name-retention.token")}
}

// write mints each token and replaces its file with it at once (a reader never sees
// half a token).
func (t tokenFiles) write(iss *devauth.Issuer) error {
	for _, f := range []struct {
		what   string
		claims devauth.Claims
		path   string
	}{
		{"erasure job token", devauth.ErasureJob(), t.erasureJob},
		{"name retention job token", devauth.NameRetentionJob(), t.nameRetention},
	} {
		tok, err := iss.Mint(f.claims, jobTokenTTL)
		if err != nil {
			return fmt.Errorf("%s: %w", f.what, err)
		}
		if err := replaceSecretFile(f.path, []byte(tok+"\n")); err != nil {
			return fmt.Errorf("%s: %w", f.what, err)
		}
	}
	return nil
}

// replaceSecretFile writes data to path (mode 0600, its folder 0700) whole, so that a
// reader, or a start after a crash, never finds half a file.
func replaceSecretFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}

// refresh renews the tokens until ctx is done.
func (t tokenFiles) refresh(ctx context.Context, iss *devauth.Issuer) error {
	tick := time.NewTicker(jobTokenRenewal)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := t.write(iss); err != nil {
				return err
			}
		}
	}
}

// listen opens every listener before anything starts, so that each component knows the
// others' real addresses even when a port is 0. A listener must have bound a loopback
// address: Validate judged the names, which a host without them in /etc/hosts looks
// up in the DNS.
func listen(addrs map[string]string) (map[string]net.Listener, error) {
	out := make(map[string]net.Listener, len(addrs))
	closeAll := func() {
		for _, opened := range out {
			_ = opened.Close()
		}
	}
	for name, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("listen for %s on %s: %w", name, addr, err)
		}
		out[name] = l
		if !netaddr.IsLoopbackHostPort(l.Addr().String()) {
			closeAll()
			return nil, fmt.Errorf("listen for %s on %s: bound %s, which is not loopback", name, addr, l.Addr())
		}
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

// printEndpoints tells the user where everything listens. Tests read the "gateway" and
// "store" lines.
func printEndpoints(out io.Writer, cfg Config, l map[string]net.Listener, pki tlsconf.Files, storeURI string) error {
	var b strings.Builder
	line := func(name, format string, args ...any) {
		fmt.Fprintf(&b, "  %-8s "+format+"\n", append([]any{name}, args...)...)
	}
	fmt.Fprintf(&b, "Lillvet register is running on the embedded store (data in %s).\n", cfg.DataDir)
	line("gateway", "https://%s  (OpenAPI /openapi.yaml, health /healthz)", l["gateway"].Addr())
	metrics := []string{fmt.Sprintf("http://%s/metrics (gateway)", l["gateway-metrics"].Addr())}
	for _, s := range services {
		line(s.name, "%s  (gRPC, TLS)", l[s.name].Addr())
		metrics = append(metrics, fmt.Sprintf("http://%s/metrics (%s)", l[s.name+"-metrics"].Addr(), s.name))
	}
	line("jwks", "https://%s/jwks.json", l["jwks"].Addr())
	line("metrics", "%s", strings.Join(metrics, ", "))
	line("CA", "%s", pki.CAFile)
	line("store", "%s  (a Unix socket only this user can reach, for mongosh)", storeURI)
	if cfg.Jaeger != "" {
		line("traces", "http://%s/api/traces?service=gateway (Jaeger query API)", cfg.JaegerQueryAddr)
	}
	b.WriteString("Get a token:  go run ./deploy/local token --role reception\nPress Ctrl-C to stop.\n")
	_, err := io.WriteString(out, b.String())
	return err
}

// devKeys are the keys of the local installation, created once: the owner service's
// identity-code keys and the history service's request digest key.
type devKeys struct {
	IdentityKeys  string `json:"identity_keys"`
	ActiveKey     string `json:"active_key"`
	BlindIndexKey string `json:"blind_index_key"`
	// RequestDigestKey is missing from the keys of an installation made before it.
	RequestDigestKey string `json:"request_digest_key,omitempty"`
}

// newDevKeys makes a fresh set of keys.
func newDevKeys() devKeys {
	return devKeys{IdentityKeys: "dev1:" + newSecret(), ActiveKey: "dev1", BlindIndexKey: newSecret(), RequestDigestKey: newSecret()}
}

// newSecret is 32 random bytes in standard base64.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func loadOrCreateKeys(path string) (devKeys, error) {
	var k devKeys
	b, err := os.ReadFile(filepath.Clean(path))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &k); err != nil {
			return k, fmt.Errorf("read development keys %s: %w", path, err)
		}
		if k.RequestDigestKey != "" {
			return k, nil
		}
		k.RequestDigestKey = newSecret()
	case errors.Is(err, os.ErrNotExist):
		k = newDevKeys()
	default:
		return k, fmt.Errorf("read development keys: %w", err)
	}
	b, _ = json.Marshal(k)
	if err := replaceSecretFile(path, b); err != nil {
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
