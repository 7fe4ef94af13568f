package composesetup_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/lillvet/register/deploy/validate/composesetup"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/fieldcrypt"
	"github.com/lillvet/register/services/platform/tlsconf"
)

func setup(t *testing.T) composesetup.Options {
	t.Helper()
	dir := t.TempDir()
	o := composesetup.Options{
		DataDir: filepath.Join(dir, "var"),
		CertDir: filepath.Join(dir, "certs"),
		EnvFile: filepath.Join(dir, ".env"),
		Hosts:   composesetup.DefaultHosts(),
	}
	if err := composesetup.Run(o); err != nil {
		t.Fatal(err)
	}
	return o
}

func files(o composesetup.Options, host string) (cert, key string) {
	return filepath.Join(o.CertDir, host, composesetup.CertFile), filepath.Join(o.CertDir, host, composesetup.KeyFile)
}

func TestRunRequiresEveryOption(t *testing.T) {
	if err := composesetup.Run(composesetup.Options{DataDir: t.TempDir()}); err == nil {
		t.Fatal("Run accepted options without CertDir, EnvFile and Hosts")
	}
}

func TestFilesAndModes(t *testing.T) {
	o := setup(t)
	ca, err := os.ReadFile(filepath.Join(o.CertDir, composesetup.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	runnerCA, err := os.ReadFile(filepath.Join(o.DataDir, "pki", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca, runnerCA) {
		t.Error("certs/ca.pem is not the local runner's CA: curl --cacert var/pki/ca.pem would not work")
	}
	for _, host := range o.Hosts {
		cert, key := files(o, host)
		for _, f := range []struct {
			path string
			mode os.FileMode
		}{{cert, 0o644}, {key, 0o600}} {
			info, err := os.Stat(f.path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != f.mode {
				t.Errorf("%s has mode %v, want %v", f.path, info.Mode().Perm(), f.mode)
			}
		}
	}
	for _, secret := range []string{o.EnvFile, filepath.Join(o.CertDir, composesetup.JobTokenFile)} {
		info, err := os.Stat(secret)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", secret, info.Mode().Perm())
		}
	}
}

// handshake runs a TLS handshake between a server presenting serverHost's
// certificate (client certificates required, as the services run) and a
// client with clientFiles that expects serverName.
func handshake(t *testing.T, o composesetup.Options, serverHost string, client tlsconf.Files, serverName string) error {
	t.Helper()
	cert, key := files(o, serverHost)
	serverCfg, err := tlsconf.Files{CertFile: cert, KeyFile: key, CAFile: filepath.Join(o.CertDir, composesetup.CAFile), ClientAuth: tlsconf.ClientAuthRequire}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	clientCfg, err := client.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	clientCfg.ServerName = serverName
	a, b := net.Pipe()
	defer func() { _ = a.Close(); _ = b.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	_ = a.SetDeadline(deadline)
	_ = b.SetDeadline(deadline)
	serverErr := make(chan error, 1)
	go func() {
		s := tls.Server(a, serverCfg)
		err := s.Handshake()
		_ = s.Close()
		serverErr <- err
	}()
	c := tls.Client(b, clientCfg)
	clientErr := c.Handshake()
	if clientErr == nil {
		// The client finishes first in TLS 1.3; the server's verdict on the
		// client certificate comes with the first read.
		_, clientErr = c.Read(make([]byte, 1))
		if clientErr != nil && strings.Contains(clientErr.Error(), "EOF") {
			clientErr = nil
		}
	}
	_ = c.Close()
	if err := <-serverErr; err != nil {
		return err
	}
	return clientErr
}

func TestMutualTLSBetweenServices(t *testing.T) {
	o := setup(t)
	ca := filepath.Join(o.CertDir, composesetup.CAFile)
	gwCert, gwKey := files(o, "gateway")
	gateway := tlsconf.Files{CertFile: gwCert, KeyFile: gwKey, CAFile: ca}
	tests := []struct {
		name       string
		server     string
		client     tlsconf.Files
		serverName string
		ok         bool
	}{
		{name: "gateway to owner", server: "owner", client: gateway, serverName: "owner", ok: true},
		{name: "health probe inside the owner container", server: "owner", client: gateway, serverName: "localhost", ok: true},
		{name: "owner to jwks", server: "jwks", client: gateway, serverName: "jwks", ok: true},
		{name: "client without a certificate", server: "owner", client: tlsconf.Files{CAFile: ca}, serverName: "owner"},
		{name: "server with another service's name", server: "jwks", client: gateway, serverName: "owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := handshake(t, o, tt.server, tt.client, tt.serverName)
			if tt.ok && err != nil {
				t.Fatalf("handshake failed: %v", err)
			}
			if !tt.ok && err == nil {
				t.Fatal("handshake succeeded, want a refusal")
			}
		})
	}
}

// TestRunnerTokensVerify checks that a token minted the way
// `go run ./deploy/local token` mints it verifies against the JWKS the
// compose stack serves.
func TestRunnerTokensVerify(t *testing.T) {
	o := setup(t)
	jwks, err := os.ReadFile(filepath.Join(o.CertDir, composesetup.JWKSFile))
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks.json is not a key set: %v", err)
	}
	for _, k := range set.Keys {
		if _, private := k["d"]; private {
			t.Fatal("jwks.json holds a private key")
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	defer srv.Close()

	iss, err := devauth.LoadOrCreate(filepath.Join(o.DataDir, "auth"), composesetup.Issuer, composesetup.Audience)
	if err != nil {
		t.Fatal(err)
	}
	token, err := iss.Mint(devauth.Claims{Subject: "dev-reception", Roles: []auth.Role{auth.RoleReception}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := auth.NewVerifier(ctx, auth.Config{JWKSURL: srv.URL, Issuer: composesetup.Issuer, Audience: composesetup.Audience})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = v.Close(context.WithoutCancel(ctx)) }()
	if _, err := v.Verify(ctx, token); err != nil {
		t.Fatalf("runner token rejected: %v", err)
	}

	// The erasure job's token is the issuer's too, for the job's subject with the
	// clinic manager role, and lasts until compose-setup renews it.
	raw, err := os.ReadFile(filepath.Join(o.CertDir, composesetup.JobTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	job, err := v.Verify(ctx, strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("erasure job token rejected: %v", err)
	}
	if job.Subject != devauth.ErasureJob().Subject || !slices.Equal(job.Roles, []auth.Role{auth.RoleErasureJob}) {
		t.Errorf("erasure job token is for %s %v", job.Subject, job.Roles)
	}
	// The verifier checked the signature; only the expiry is read here.
	parsed, err := jwt.ParseInsecure(bytes.TrimSpace(raw))
	if err != nil {
		t.Fatal(err)
	}
	exp, ok := parsed.Expiration()
	if left := time.Until(exp); !ok || left < composesetup.JobTokenValidity-time.Hour {
		t.Errorf("erasure job token expires in %v", left)
	}
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	return env
}

func TestEnvFile(t *testing.T) {
	o := setup(t)
	env := readEnv(t, o.EnvFile)
	keys, err := fieldcrypt.ParseKeys(env["IDENTITY_KEYS"])
	if err != nil {
		t.Fatal(err)
	}
	index, err := base64.StdEncoding.DecodeString(env["BLIND_INDEX_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fieldcrypt.NewKeyring(keys, env["IDENTITY_ACTIVE_KEY"], index); err != nil {
		t.Fatalf("the owner service would refuse these keys: %v", err)
	}
	if env["LILLVET_UID"] == "" || env["LILLVET_UID"] == "0" || env["LILLVET_GID"] == "" {
		t.Errorf("containers would run as uid %q gid %q", env["LILLVET_UID"], env["LILLVET_GID"])
	}

	cert, _ := files(o, "owner")
	before, err := os.ReadFile(filepath.Clean(cert))
	if err != nil {
		t.Fatal(err)
	}
	if err := composesetup.Run(o); err != nil {
		t.Fatal(err)
	}
	if again := readEnv(t, o.EnvFile); again["IDENTITY_KEYS"] != env["IDENTITY_KEYS"] || again["BLIND_INDEX_KEY"] != env["BLIND_INDEX_KEY"] {
		t.Error("a second run replaced the keys: sealed identity codes would become unreadable")
	}
	after, err := os.ReadFile(filepath.Clean(cert))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Error("a second run did not renew the certificates")
	}
}

func TestEnvFileGainsTheContainerUser(t *testing.T) {
	dir := t.TempDir()
	env := filepath.Join(dir, ".env")
	if err := os.WriteFile(env, []byte("IDENTITY_KEYS=k1:AAAA\nIDENTITY_ACTIVE_KEY=k1\nBLIND_INDEX_KEY=AAAA"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := composesetup.Options{DataDir: filepath.Join(dir, "var"), CertDir: filepath.Join(dir, "certs"), EnvFile: env, Hosts: []string{"owner"}}
	if err := composesetup.Run(o); err != nil {
		t.Fatal(err)
	}
	got := readEnv(t, env)
	if got["IDENTITY_KEYS"] != "k1:AAAA" || got["BLIND_INDEX_KEY"] != "AAAA" || got["LILLVET_UID"] == "" {
		t.Fatalf("env file after setup: %v", got)
	}
}
