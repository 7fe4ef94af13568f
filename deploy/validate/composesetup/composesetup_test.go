package composesetup_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
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
	o := options(dir)
	if err := composesetup.Run(o); err != nil {
		t.Fatal(err)
	}
	return o
}

func options(dir string) composesetup.Options {
	return composesetup.Options{
		DataDir:   filepath.Join(dir, "var"),
		CertDir:   filepath.Join(dir, "certs"),
		SecretDir: filepath.Join(dir, "secrets"),
		EnvFile:   filepath.Join(dir, ".env"),
		Hosts:     composesetup.DefaultHosts(),
	}
}

// refusedWithEnv runs compose-setup with env as its .env file and wants it refused with
// an error mentioning want, which it answers with the options it ran with.
func refusedWithEnv(t *testing.T, env, want string) (composesetup.Options, error) {
	t.Helper()
	o := options(t.TempDir())
	if err := os.WriteFile(o.EnvFile, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	err := composesetup.Run(o)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run: %v, want an error mentioning %q", err, want)
	}
	return o, err
}

func secretFiles(o composesetup.Options) []string {
	return []string{
		filepath.Join(o.SecretDir, composesetup.IdentityKeysFile),
		filepath.Join(o.SecretDir, composesetup.IdentityActiveKeyFile),
		filepath.Join(o.SecretDir, composesetup.BlindIndexKeyFile),
	}
}

// containerUID and containerGID are the container user the tests' env files name:
// another user when the tests run as root, who can hand the files to it, else the
// invoker, as compose-setup refuses to write keys for anyone else.
var containerUID, containerGID = func() (string, string) {
	if os.Getuid() == 0 {
		return "1234", "2345"
	}
	return strconv.Itoa(os.Getuid()), strconv.Itoa(os.Getgid())
}()

// containerUser is the env file lines naming containerUID and containerGID.
var containerUser = "LILLVET_UID=" + containerUID + "\nLILLVET_GID=" + containerGID + "\n"

// defaultGID is the group compose-setup gives the files when the env file names none.
func defaultGID() string {
	if os.Getuid() == 0 {
		return "65532"
	}
	return strconv.Itoa(os.Getgid())
}

func files(o composesetup.Options, host string) (cert, key string) {
	return filepath.Join(o.CertDir, host, composesetup.CertFile), filepath.Join(o.CertDir, host, composesetup.KeyFile)
}

func TestRunRequiresEveryOption(t *testing.T) {
	if err := composesetup.Run(composesetup.Options{DataDir: t.TempDir()}); err == nil {
		t.Fatal("Run accepted options without CertDir, SecretDir, EnvFile and Hosts")
	}
}

// TestSetupRefusesHostsLeavingOutAService: a host list without a compose service that
// needs a certificate (the -hosts OPERATIONS once showed lacked history) would leave
// that service never healthy, so the setup stops first, naming what is missing, and
// writes nothing; more hosts than the defaults get their certificates.
func TestSetupRefusesHostsLeavingOutAService(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hosts   []string
		missing []string
	}{
		{"without history", []string{"owner", "consent", "disclosure", "gateway", "jwks"}, []string{"history"}},
		{"only the gateway", []string{"gateway"}, []string{"owner", "consent", "disclosure", "history", "jwks"}},
		{"an empty name", []string{""}, composesetup.DefaultHosts()},
		{"every one and another", append(composesetup.DefaultHosts(), "reports"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := options(dir)
			o.Hosts = tc.hosts
			err := composesetup.Run(o)
			if tc.missing == nil {
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range tc.hosts {
					if cert, _ := files(o, h); !fileExists(cert) {
						t.Errorf("no certificate for %s", h)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("Run accepted hosts %v", tc.hosts)
			}
			// The message lists every host afterwards, so the missing ones are
			// looked for where it names them.
			if want := "leave out " + strings.Join(tc.missing, ", ") + ","; !strings.Contains(err.Error(), want) {
				t.Errorf("%q does not say %q", err, want)
			}
			if left := names(t, dir); len(left) > 0 {
				t.Errorf("a refused run wrote %v", left)
			}
		})
	}
}

func TestSetupRefusesHostsThatAreNoHostNames(t *testing.T) {
	for _, host := range []string{"../owner", "a/b", "Owner", "-owner", "owner.", strings.Repeat("a", 64)} {
		t.Run(host, func(t *testing.T) {
			dir := t.TempDir()
			o := options(dir)
			o.Hosts = append(composesetup.DefaultHosts(), host)
			err := composesetup.Run(o)
			if err == nil {
				t.Fatalf("Run accepted host %q", host)
			}
			if !strings.Contains(err.Error(), "is not a host name") {
				t.Errorf("%q does not say the host is not a host name", err)
			}
			if left := names(t, dir); len(left) > 0 {
				t.Errorf("a refused run wrote %v", left)
			}
		})
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
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
	env := readEnv(t, o.EnvFile)
	requestKey := filepath.Join(o.SecretDir, composesetup.RequestDigestKeyFile)
	tokens := []string{filepath.Join(o.CertDir, composesetup.JobTokenFile), filepath.Join(o.CertDir, composesetup.NameRetentionTokenFile)}
	for _, secret := range append(append([]string{o.EnvFile, requestKey}, tokens...), secretFiles(o)...) {
		info, err := os.Stat(secret)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", secret, info.Mode().Perm())
		}
		if secret == o.EnvFile {
			continue
		}
		// compose mounts the files with their owner: the container user must be it.
		if uid, gid, ok := fileIDs(info); ok && (strconv.Itoa(uid) != env["LILLVET_UID"] || strconv.Itoa(gid) != env["LILLVET_GID"]) {
			t.Errorf("%s belongs to %d:%d, the containers run as %s:%s", secret, uid, gid, env["LILLVET_UID"], env["LILLVET_GID"])
		}
	}
	entries, err := os.ReadDir(o.SecretDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(secretFiles(o))+1 {
		t.Errorf("%s holds %d files, want only the %d secrets", o.SecretDir, len(entries), len(secretFiles(o))+1)
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
	v, err := auth.NewVerifier(ctx, auth.Config{JWKSURL: srv.URL, Issuer: composesetup.Issuer, Audience: composesetup.Audience}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = v.Close(context.WithoutCancel(ctx)) }()
	if _, err := v.Verify(ctx, token); err != nil {
		t.Fatalf("runner token rejected: %v", err)
	}

	// The erasure job's token and the name retention job's are the issuer's too, each
	// for its service subject and role, and last until compose-setup renews them.
	for _, tok := range []struct {
		file   string
		claims devauth.Claims
		role   auth.Role
	}{
		{composesetup.JobTokenFile, devauth.ErasureJob(), auth.RoleErasureJob},
		{composesetup.NameRetentionTokenFile, devauth.NameRetentionJob(), auth.RoleNameRetentionJob},
	} {
		raw, err := os.ReadFile(filepath.Join(o.CertDir, tok.file))
		if err != nil {
			t.Fatal(err)
		}
		id, err := v.Verify(ctx, strings.TrimSpace(string(raw)))
		if err != nil {
			t.Fatalf("%s rejected: %v", tok.file, err)
		}
		if id.Subject != tok.claims.Subject || !slices.Equal(id.Roles, []auth.Role{tok.role}) {
			t.Errorf("%s is for %s %v", tok.file, id.Subject, id.Roles)
		}
		// The verifier checked the signature; only the expiry is read here.
		parsed, err := jwt.ParseInsecure(bytes.TrimSpace(raw))
		if err != nil {
			t.Fatal(err)
		}
		exp, ok := parsed.Expiration()
		if left := time.Until(exp); !ok || left < composesetup.JobTokenValidity-time.Hour {
			t.Errorf("%s expires in %v", tok.file, left)
		}
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

// readSecrets returns the secret files' contents, as the owner service reads
// them: one trailing newline dropped.
func readSecrets(t *testing.T, o composesetup.Options) []string {
	t.Helper()
	var out []string
	for _, f := range secretFiles(o) {
		raw, err := os.ReadFile(filepath.Clean(f))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSuffix(string(raw), "\n"))
	}
	return out
}

// checkKeyring fails t unless the owner service would accept secrets (in the order of
// secretFiles) as its keys.
func checkKeyring(t *testing.T, secrets []string) {
	t.Helper()
	keys, err := fieldcrypt.ParseKeys(secrets[0])
	if err != nil {
		t.Fatal(err)
	}
	index, err := base64.StdEncoding.DecodeString(secrets[2])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fieldcrypt.NewKeyring(keys, secrets[1], index); err != nil {
		t.Fatalf("the owner service would refuse these keys: %v", err)
	}
}

func TestSecretFiles(t *testing.T) {
	o := setup(t)
	secrets := readSecrets(t, o)
	checkKeyring(t, secrets)
	env := readEnv(t, o.EnvFile)
	for _, k := range []string{"IDENTITY_KEYS", "IDENTITY_ACTIVE_KEY", "BLIND_INDEX_KEY"} {
		if _, ok := env[k]; ok {
			t.Errorf(".env holds %s", k)
		}
	}
	if env["LILLVET_UID"] == "" || env["LILLVET_UID"] == "0" || env["LILLVET_GID"] == "" {
		t.Errorf("containers would run as uid %q gid %q", env["LILLVET_UID"], env["LILLVET_GID"])
	}

	cert, _ := files(o, "owner")
	before, err := os.ReadFile(filepath.Clean(cert))
	if err != nil {
		t.Fatal(err)
	}
	envBefore, err := os.ReadFile(o.EnvFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := composesetup.Run(o); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(readSecrets(t, o), secrets) {
		t.Error("a second run replaced the keys: sealed identity codes would become unreadable")
	}
	if envAfter, err := os.ReadFile(o.EnvFile); err != nil || !bytes.Equal(envAfter, envBefore) {
		t.Errorf("a second run changed .env (%v)", err)
	}
	after, err := os.ReadFile(filepath.Clean(cert))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Error("a second run did not renew the certificates")
	}
}

// TestRequestDigestKey: compose-setup gives the history service a request digest key
// whenever the secrets folder has none, beside the owner service's keys and no part of
// their set: an installation made before it gains one with its owner keys as they were,
// a kept one is never replaced, and one kept without the owner's keys does not stop
// fresh ones from being written.
func TestRequestDigestKey(t *testing.T) {
	kept := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("r", 32)))
	tests := []struct {
		name       string
		owner      keySet // the owner service's keys before the run
		requestKey string // the request digest key before the run; empty: none
		temporary  bool   // a temporary file of a run stopped while writing it
	}{
		{name: "a fresh setup"},
		{name: "an installation made before the key", owner: stagedKeys},
		{name: "a kept key with the owner's keys", owner: stagedKeys, requestKey: kept},
		{name: "a kept key without the owner's keys", requestKey: kept},
		{name: "a run stopped while writing the key", temporary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t.TempDir())
			path := filepath.Join(o.SecretDir, composesetup.RequestDigestKeyFile)
			writeKeySet(t, o, tt.owner)
			if tt.requestKey != "" {
				if err := os.WriteFile(path, []byte(tt.requestKey+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.temporary {
				if err := os.WriteFile(filepath.Join(o.SecretDir, ".request_digest_key.42"), []byte("AA"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := composesetup.Run(o); err != nil {
				t.Fatal(err)
			}
			owner := readSecrets(t, o)
			checkKeyring(t, owner)
			if tt.owner != (keySet{}) && !slices.Equal(owner, tt.owner[:]) {
				t.Error("the run replaced the owner service's keys")
			}
			raw, err := os.ReadFile(filepath.Clean(path))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSuffix(string(raw), "\n")
			if tt.requestKey != "" && got != tt.requestKey {
				t.Error("the run replaced the request digest key")
			}
			if key, err := base64.StdEncoding.DecodeString(got); err != nil || len(key) < 32 {
				t.Errorf("the history service would refuse the request digest key %q", got)
			}
			want := []string{composesetup.BlindIndexKeyFile, composesetup.IdentityActiveKeyFile, composesetup.IdentityKeysFile, composesetup.RequestDigestKeyFile}
			if got := names(t, o.SecretDir); !slices.Equal(got, want) {
				t.Errorf("%s holds %q, want only %q", o.SecretDir, got, want)
			}
		})
	}
}

// An env file from a setup before the keys moved to files: its keys are the ones
// the stored identity codes are sealed under.
var earlierEnv = `# Written by compose-setup. Never commit this file; see .env.example.
IDENTITY_KEYS=k1:AAAA,k2:BBBB
export IDENTITY_ACTIVE_KEY="k2"
BLIND_INDEX_KEY=CCCC # the index key
LILLVET_UID=` + containerUID + "\n"

func TestEarlierEnvFileKeysMoveToFiles(t *testing.T) {
	o := options(t.TempDir())
	if err := os.WriteFile(o.EnvFile, []byte(earlierEnv), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := composesetup.Run(o); err != nil {
		t.Fatal(err)
	}
	if got, want := readSecrets(t, o), []string{"k1:AAAA,k2:BBBB", "k2", "CCCC"}; !slices.Equal(got, want) {
		t.Fatalf("secret files hold %q, want the env file's %q", got, want)
	}
	raw, err := os.ReadFile(o.EnvFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, leaked := range []string{"IDENTITY_KEYS", "IDENTITY_ACTIVE_KEY", "BLIND_INDEX_KEY", "AAAA", "CCCC"} {
		if strings.Contains(string(raw), leaked) {
			t.Errorf(".env still holds %s:\n%s", leaked, raw)
		}
	}
	env := readEnv(t, o.EnvFile)
	if env["LILLVET_UID"] != containerUID || env["LILLVET_GID"] != defaultGID() || !strings.HasPrefix(string(raw), "# Written by compose-setup.") {
		t.Errorf(".env lost what it held besides the keys, or gained no group:\n%s", raw)
	}

	if err := composesetup.Run(o); err != nil {
		t.Fatal(err)
	}
	if got := readSecrets(t, o); got[0] != "k1:AAAA,k2:BBBB" {
		t.Errorf("a second run replaced the moved keys: %q", got)
	}
}

// TestEnvFileKeysMoveAsComposeReadsThem: the files get the values compose gave the
// owner service from the env file, not the line's text: a key file holding quotes or a
// comment is one the service cannot parse, and the line is gone from the env file by then.
func TestEnvFileKeysMoveAsComposeReadsThem(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want []string // in the order of secretFiles
	}{
		{name: "quoted values followed by comments",
			env:  "IDENTITY_KEYS=\"k1:AAAA,k2:BBBB\" # k2 since the rotation\nIDENTITY_ACTIVE_KEY='k2'\t# active\nBLIND_INDEX_KEY=CCCC\n",
			want: []string{"k1:AAAA,k2:BBBB", "k2", "CCCC"}},
		{name: "export, blanks around = and a # inside an unquoted value",
			env:  "export\tIDENTITY_KEYS = k1:AAAA\n  IDENTITY_ACTIVE_KEY=\"k1\"\nBLIND_INDEX_KEY=CC#CC   # not the # inside\n",
			want: []string{"k1:AAAA", "k1", "CC#CC"}},
		{name: "a quoted # and the last assignment of a name",
			env:  "IDENTITY_KEYS=k0:ZZZZ\nIDENTITY_KEYS='k1:AAAA # kept'\nIDENTITY_ACTIVE_KEY=k1\nBLIND_INDEX_KEY=\"CCCC\"\n",
			want: []string{"k1:AAAA # kept", "k1", "CCCC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t.TempDir())
			if err := os.WriteFile(o.EnvFile, []byte(tt.env+containerUser), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := composesetup.Run(o); err != nil {
				t.Fatal(err)
			}
			if got := readSecrets(t, o); !slices.Equal(got, tt.want) {
				t.Fatalf("secret files hold %q, want what compose read from .env, %q", got, tt.want)
			}
			if raw, err := os.ReadFile(o.EnvFile); err != nil || string(raw) != containerUser {
				t.Errorf(".env after the move: %q (%v)", raw, err)
			}
		})
	}
}

// TestSetupRefusesAnEnvLineItCannotRead: a line compose-setup cannot read as compose
// does stops the setup before any key moves, and the error names the line without
// repeating its value.
func TestSetupRefusesAnEnvLineItCannotRead(t *testing.T) {
	const rest = "IDENTITY_ACTIVE_KEY=k1\nBLIND_INDEX_KEY=CCCC\n"
	tests := []struct {
		name, env, want string
	}{
		{name: "text after the closing quote", env: "IDENTITY_KEYS=\"k1:AAAA\"ZZZZ\n" + rest,
			want: "line 1: the value of IDENTITY_KEYS is followed by more than a comment"},
		{name: "no closing quote", env: rest + "IDENTITY_KEYS='k1:AAAA\n",
			want: "line 3: the value of IDENTITY_KEYS has no closing quote"},
		{name: "no =", env: "IDENTITY_KEYS k1:AAAA\n" + rest, want: "line 1: IDENTITY_KEYS is not followed by ="},
		{name: "no name", env: rest + "=k1:AAAA\n", want: "line 3: no variable name"},
		{name: "a $ compose would interpolate", env: "IDENTITY_KEYS=k1:AAAA$ZZZZ\n" + rest,
			want: "(line 1) holds a $ or a backslash"},
		{name: "an escape in double quotes", env: "IDENTITY_KEYS=\"k1:AAAA\\nZZZZ\"\n" + rest,
			want: "(line 1) holds a $ or a backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := refusedWithEnv(t, tt.env, tt.want)
			for _, secret := range []string{"AAAA", "ZZZZ", "CCCC"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error repeats a key: %v", err)
				}
			}
			if _, err := os.Stat(o.SecretDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s was created (%v)", o.SecretDir, err)
			}
			if raw, _ := os.ReadFile(o.EnvFile); string(raw) != tt.env {
				t.Errorf(".env was changed: %q", raw)
			}
		})
	}
}

// TestRelativePathsWriteBesideTheirTargets: `compose-setup -env .env`, run from
// deploy/compose, writes its temporary files beside the targets, not in $TMPDIR,
// which may be another file system (a tmpfs /tmp) the rename cannot cross, and where
// the keys would not belong. Here $TMPDIR does not exist, so any use of it fails.
func TestRelativePathsWriteBesideTheirTargets(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("TMPDIR", filepath.Join(dir, "no-such-folder"))
	o := composesetup.Options{DataDir: "var", CertDir: "certs", SecretDir: "secrets", EnvFile: ".env", Hosts: composesetup.DefaultHosts()}
	if err := composesetup.Run(o); err != nil {
		t.Fatalf("Run with bare file names: %v", err)
	}
	for _, f := range append(secretFiles(o), o.EnvFile) {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	leftovers, err := filepath.Glob("..env.*")
	if err != nil {
		t.Fatal(err)
	}
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %q", leftovers)
	}
}

// TestFilesBelongToTheEnvFilesContainerUser: the containers run as the env file's
// LILLVET_UID and LILLVET_GID, and compose bind-mounts the key files (0600) with their
// host owner, so every key must belong to that user, whoever runs compose-setup; as
// root, the tests name another user than the default.
func TestFilesBelongToTheEnvFilesContainerUser(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		earlier bool // keys already in files from a run before the env file named the user
	}{
		{name: "keys moved from the env file", env: earlierEnv + "LILLVET_GID=" + containerGID + "\n"},
		{name: "fresh keys, only the user id named", env: "LILLVET_UID=" + containerUID + "\n"},
		{name: "keys kept from an earlier run", env: containerUser, earlier: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t.TempDir())
			if tt.earlier {
				if err := composesetup.Run(o); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(o.EnvFile, []byte(tt.env), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := composesetup.Run(o); err != nil {
				t.Fatal(err)
			}
			env := readEnv(t, o.EnvFile)
			if env["LILLVET_UID"] != containerUID {
				t.Fatalf(".env names uid %s, want %s", env["LILLVET_UID"], containerUID)
			}
			keys := append(secretFiles(o), filepath.Join(o.CertDir, composesetup.JobTokenFile))
			for _, host := range o.Hosts {
				_, key := files(o, host)
				keys = append(keys, key)
			}
			for _, f := range keys {
				info, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				if uid, gid, ok := fileIDs(info); ok && (strconv.Itoa(uid) != env["LILLVET_UID"] || strconv.Itoa(gid) != env["LILLVET_GID"]) {
					t.Errorf("%s belongs to %d:%d, the containers run as %s:%s and cannot read it", f, uid, gid, env["LILLVET_UID"], env["LILLVET_GID"])
				}
			}
		})
	}
}

// TestSetupRefusesTheEnvFilesContainerUser: a container user compose-setup cannot hand
// the keys to stops it before it writes anything.
func TestSetupRefusesTheEnvFilesContainerUser(t *testing.T) {
	tests := []struct {
		name, env, want string
		notRoot         bool // only a user other than root cannot give files away
	}{
		{name: "root", env: "LILLVET_UID=0\n", want: "LILLVET_UID in "},
		{name: "not a number", env: "LILLVET_UID=1234\nLILLVET_GID=staff\n", want: "(line 2) is not a number"},
		{name: "another user than the invoker", env: "LILLVET_UID=" + strconv.Itoa(os.Getuid()+1) + "\n",
			want: "only root can give files away", notRoot: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.notRoot && os.Getuid() == 0 {
				t.Skip("root can hand files to any user")
			}
			o, _ := refusedWithEnv(t, tt.env, tt.want)
			for _, d := range []string{o.CertDir, o.SecretDir} {
				if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s was created (%v)", d, err)
				}
			}
			if raw, _ := os.ReadFile(o.EnvFile); string(raw) != tt.env {
				t.Errorf(".env was changed: %q", raw)
			}
		})
	}
}

// TestRewrittenEnvFileKeepsItsOwnerModeAndLineEndings: .env is the file of whoever runs
// docker compose; dropping the keys from it, or adding the group, must not hand it to
// root (sudo) with mode 0600, nor turn its CRLF line endings into LF.
func TestRewrittenEnvFileKeepsItsOwnerModeAndLineEndings(t *testing.T) {
	o := options(t.TempDir())
	env := "# mine\r\nIDENTITY_KEYS=k1:AAAA\r\nIDENTITY_ACTIVE_KEY=k1\r\nBLIND_INDEX_KEY=CCCC\r\nLILLVET_UID=" + containerUID + "\r\n"
	if err := os.WriteFile(o.EnvFile, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(o.EnvFile, 0o640); err != nil { //nolint:gosec // the mode a user may give their .env, which the rewrite must keep
		t.Fatal(err)
	}
	wantUID, wantGID := os.Getuid(), os.Getgid()
	if wantUID == 0 {
		wantUID, wantGID = 4321, 5432
		if err := os.Chown(o.EnvFile, wantUID, wantGID); err != nil {
			t.Fatal(err)
		}
	}
	if err := composesetup.Run(o); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(o.EnvFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := "# mine\r\nLILLVET_UID=" + containerUID + "\r\nLILLVET_GID=" + defaultGID() + "\r\n"; string(raw) != want {
		t.Errorf(".env is %q, want %q", raw, want)
	}
	info, err := os.Stat(o.EnvFile)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf(".env now has mode %v, was 0640", info.Mode().Perm())
	}
	if uid, gid, ok := fileIDs(info); ok && (uid != wantUID || gid != wantGID) {
		t.Errorf(".env now belongs to %d:%d, was %d:%d", uid, gid, wantUID, wantGID)
	}
}

// TestEnvFileKeysAlreadyInFiles: a run stopped after writing the files, before
// rewriting the env file, is finished by the next one.
func TestEnvFileKeysAlreadyInFiles(t *testing.T) {
	o := setup(t)
	secrets := readSecrets(t, o)
	stale := "IDENTITY_KEYS=" + secrets[0] + "\nIDENTITY_ACTIVE_KEY=" + secrets[1] + "\nBLIND_INDEX_KEY=" + secrets[2] + "\n" + containerUser
	if err := os.WriteFile(o.EnvFile, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := composesetup.Run(o); err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(o.EnvFile); err != nil || string(raw) != containerUser {
		t.Errorf(".env after the run: %q (%v)", raw, err)
	}
}

// keySet is what a test puts in the secret files, in the order of secretFiles; an empty
// string is a file that does not exist.
type keySet [3]string

func writeKeySet(t *testing.T, o composesetup.Options, keys keySet) {
	t.Helper()
	if err := os.MkdirAll(o.SecretDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i, v := range keys {
		if v == "" {
			continue
		}
		if err := os.WriteFile(secretFiles(o)[i], []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSetupCompletesKeysOnlyWhenCertain: a run never chooses between two values of a
// key, and one that finds some keys but not all writes a missing one only when its value
// is certain, the active key id when IDENTITY_KEYS holds a single key; it refuses
// anything else, naming the files and what to do: a fresh identity key or blind-index key
// would not match the identity codes already stored. An earlier compose-setup that
// stopped partway left identity_keys, maybe identity_active_key, and never
// blind_index_key, which it wrote last.
func TestSetupCompletesKeysOnlyWhenCertain(t *testing.T) {
	tests := []struct {
		name  string
		env   string
		files keySet
		want  keySet   // the files after a run that succeeds
		err   []string // what a refusal says, with {dir} and {env} for SecretDir and EnvFile
	}{
		{name: "the env file and a file disagree", env: "IDENTITY_KEYS=k9:ZZZZ\n", files: keySet{"k1:AAAA", "k1", "CCCC"},
			err: []string{"IDENTITY_KEYS in {env} differs from {dir}/identity_keys"}},
		{name: "an earlier setup stopped after the identity keys", files: keySet{"compose1:AAAA", "", ""},
			err: []string{"found {dir}/identity_keys, but not {dir}/identity_active_key and {dir}/blind_index_key",
				"a fresh blind-index key would not find the identity codes already stored",
				"remove {dir}/identity_keys and run compose-setup again",
				"otherwise restore {dir}/identity_active_key and {dir}/blind_index_key from a backup"}},
		{name: "an earlier setup stopped before the blind-index key", files: keySet{"compose1:AAAA", "compose1", ""},
			err: []string{"remove {dir}/identity_keys and {dir}/identity_active_key and run compose-setup again",
				"otherwise restore {dir}/blind_index_key from a backup"}},
		{name: "the env file without its blind-index key", env: "IDENTITY_KEYS=k1:AAAA\nIDENTITY_ACTIVE_KEY=k1\n",
			err: []string{"found the IDENTITY_KEYS line of {env} and the IDENTITY_ACTIVE_KEY line of {env}, but not {dir}/blind_index_key",
				"otherwise restore {dir}/blind_index_key from a backup"}},
		{name: "identity keys lost", files: keySet{"", "k1", "CCCC"},
			err: []string{"but not {dir}/identity_keys: fresh identity keys could not open the identity codes already stored",
				"restore {dir}/identity_keys from a backup"}},
		{name: "the active key of two", files: keySet{"k1:AAAA,k2:BBBB", "", "CCCC"},
			err: []string{"but not {dir}/identity_active_key, and the identity keys are k1, k2: write the id the owner service seals new identity codes under into {dir}/identity_active_key"}},
		{name: "the active key of a single identity key", files: keySet{"k1:AAAA", "", "CCCC"},
			want: keySet{"k1:AAAA", "k1", "CCCC"}},
		{name: "the active key of a single identity key in the env file", env: "IDENTITY_KEYS=k1:AAAA\nBLIND_INDEX_KEY=CCCC\n",
			want: keySet{"k1:AAAA", "k1", "CCCC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t.TempDir())
			writeKeySet(t, o, tt.files)
			env := tt.env + containerUser
			if err := os.WriteFile(o.EnvFile, []byte(env), 0o600); err != nil {
				t.Fatal(err)
			}
			err := composesetup.Run(o)
			if tt.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := readSecrets(t, o); !slices.Equal(got, tt.want[:]) {
					t.Errorf("secret files hold %q, want %q", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatal("Run completed the keys")
			}
			for _, want := range tt.err {
				want = strings.NewReplacer("{dir}", o.SecretDir, "{env}", o.EnvFile).Replace(want)
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Run: %v\nwant it to say %q", err, want)
				}
			}
			for _, secret := range []string{"AAAA", "BBBB", "CCCC", "ZZZZ"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error repeats a key: %v", err)
				}
			}
			for i, f := range secretFiles(o) {
				raw, err := os.ReadFile(filepath.Clean(f))
				switch {
				case tt.files[i] != "" && string(raw) != tt.files[i]+"\n":
					t.Errorf("%s was changed", f)
				case tt.files[i] == "" && !errors.Is(err, os.ErrNotExist):
					t.Errorf("%s was written", f)
				}
			}
			if raw, _ := os.ReadFile(o.EnvFile); string(raw) != env {
				t.Errorf(".env was changed: %q", raw)
			}
		})
	}
}

// stagingDir is where compose-setup stages fresh keys inside the secrets folder, and
// stagedMarker the file it writes there last, once the three keys are on disk.
const (
	stagingDir   = ".compose-setup-staging"
	stagedMarker = "complete"
)

// stage writes what a run stopped while writing fresh keys leaves in the secrets
// folder: the staged keys (an empty string is a key not staged) and, if complete, the
// marker.
func stage(t *testing.T, o composesetup.Options, keys keySet, complete bool) {
	t.Helper()
	writeKeySet(t, composesetup.Options{SecretDir: filepath.Join(o.SecretDir, stagingDir)}, keys)
	if complete {
		if err := os.WriteFile(filepath.Join(o.SecretDir, stagingDir, stagedMarker), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// stagedKeys is a complete set a stopped run staged, as the owner service accepts it.
var stagedKeys = keySet{"compose1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)), "compose1",
	base64.StdEncoding.EncodeToString([]byte(strings.Repeat("i", 32)))}

// TestFreshKeysAfterAStoppedRun: fresh keys are staged inside the secrets folder and
// moved into place once all three are on disk and marked so, so that a stopped run
// leaves all of them or none for the owner service. The next run completes keys staged
// in full, which may be partly moved already, and removes an incomplete staging, which
// nothing has read; no copy of a key stays behind.
func TestFreshKeysAfterAStoppedRun(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, o composesetup.Options) // what the stopped run left
		want   *keySet                                    // the keys after the run; nil: fresh ones
		extra  []string                                   // what else the folder keeps
	}{
		{name: "nothing", before: func(*testing.T, composesetup.Options) {}},
		{name: "keys staged in part, before the marker", before: func(t *testing.T, o composesetup.Options) {
			stage(t, o, keySet{stagedKeys[0], stagedKeys[1], ""}, false)
			if err := os.WriteFile(filepath.Join(o.SecretDir, stagingDir, ".blind_index_key.42"), []byte("AA"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "keys staged in full, none moved", want: &stagedKeys, before: func(t *testing.T, o composesetup.Options) {
			stage(t, o, stagedKeys, true)
		}},
		{name: "keys staged in full, two moved", want: &stagedKeys, before: func(t *testing.T, o composesetup.Options) {
			stage(t, o, keySet{"", "", stagedKeys[2]}, true)
			writeKeySet(t, o, keySet{stagedKeys[0], stagedKeys[1], ""})
		}},
		{name: "keys staged in full, one in place and still staged", want: &stagedKeys, before: func(t *testing.T, o composesetup.Options) {
			stage(t, o, stagedKeys, true)
			writeKeySet(t, o, keySet{stagedKeys[0], "", ""})
		}},
		{name: "an empty folder from an earlier setup stopped before its first key", before: func(t *testing.T, o composesetup.Options) {
			writeKeySet(t, o, keySet{})
		}},
		{name: "the temporary file of an earlier setup stopped while writing its first key", before: func(t *testing.T, o composesetup.Options) {
			writeKeySet(t, o, keySet{})
			if err := os.WriteFile(filepath.Join(o.SecretDir, ".identity_keys.123456"), []byte("compose1:AA"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a volume's lost+found", extra: []string{"lost+found"}, before: func(t *testing.T, o composesetup.Options) {
			if err := os.MkdirAll(filepath.Join(o.SecretDir, "lost+found"), 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a secrets folder linked elsewhere", before: func(t *testing.T, o composesetup.Options) {
			elsewhere := filepath.Join(t.TempDir(), "keys")
			writeKeySet(t, composesetup.Options{SecretDir: elsewhere}, keySet{})
			if err := os.Symlink(elsewhere, o.SecretDir); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t.TempDir())
			tt.before(t, o)
			if err := composesetup.Run(o); err != nil {
				t.Fatal(err)
			}
			got := readSecrets(t, o)
			checkKeyring(t, got)
			if tt.want != nil && !slices.Equal(got, tt.want[:]) {
				t.Error("the run wrote other keys than the complete ones staged")
			}
			want := append([]string{composesetup.BlindIndexKeyFile, composesetup.IdentityActiveKeyFile, composesetup.IdentityKeysFile, composesetup.RequestDigestKeyFile}, tt.extra...)
			slices.Sort(want)
			if got := names(t, o.SecretDir); !slices.Equal(got, want) {
				t.Errorf("%s holds %q, want only %q", o.SecretDir, got, want)
			}
		})
	}
}

// TestFreshKeysRefuseAFolderTheyCannotFill: compose-setup removes nothing it did not
// write, so fresh keys go only into a folder that holds nothing else (a volume's
// lost+found aside): a file of the user's there, a backup or an editor's swap file of a
// key included, stops the setup, named, and stays; so does a link to a folder that does
// not exist (a volume not mounted), in whose place the keys would not be found, and
// something of the user's in the staging folder.
func TestFreshKeysRefuseAFolderTheyCannotFill(t *testing.T) {
	tests := []struct {
		name string
		keep []string // the user's files, in SecretDir
		link bool     // SecretDir links to a folder that does not exist
		want string   // with {dir} for SecretDir
	}{
		{name: "a file of the user's", keep: []string{"README"},
			want: "{dir} holds README and none of the owner service's keys"},
		{name: "a backup of a key", keep: []string{".blind_index_key.bak"},
			want: "{dir} holds .blind_index_key.bak and none of the owner service's keys"},
		{name: "an editor's swap file and a temporary file", keep: []string{".identity_keys.swp", ".identity_keys.123"},
			want: "{dir} holds .identity_keys.swp and none of the owner service's keys"},
		{name: "something of the user's in the staging folder", keep: []string{stagingDir + "/notes"},
			want: "{dir}/" + stagingDir + ", where compose-setup stages fresh keys, holds notes, which compose-setup did not write"},
		{name: "a link to a folder that does not exist", link: true, want: "{dir} is not a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t.TempDir())
			if tt.link {
				if err := os.Symlink(filepath.Join(t.TempDir(), "not-mounted"), o.SecretDir); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range tt.keep {
				path := filepath.Join(o.SecretDir, filepath.FromSlash(f))
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("mine"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := composesetup.Run(o)
			if want := strings.ReplaceAll(tt.want, "{dir}", o.SecretDir); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Run: %v, want an error saying %q", err, want)
			}
			for _, f := range secretFiles(o) {
				if _, err := os.Lstat(f); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s was written (%v)", f, err)
				}
			}
			for _, f := range tt.keep {
				if raw, err := os.ReadFile(filepath.Join(o.SecretDir, filepath.FromSlash(f))); err != nil || string(raw) != "mine" {
					t.Errorf("the user's %s is gone or changed: %q (%v)", f, raw, err)
				}
			}
		})
	}
}

// TestStagedKeysNeverReplaceAKey: keys staged in full by a run that stopped are moved
// into place only where no other key was written since; one that differs stops the
// setup, naming both, and nothing changes.
func TestStagedKeysNeverReplaceAKey(t *testing.T) {
	o := options(t.TempDir())
	stage(t, o, stagedKeys, true)
	writeKeySet(t, o, keySet{"k9:ZZZZ", "", ""})
	err := composesetup.Run(o)
	stageDir := filepath.Join(o.SecretDir, stagingDir)
	want := stageDir + " holds fresh keys a compose-setup staged before it stopped, and " + secretFiles(o)[0] + ", written since, differs from the staged one"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run: %v, want an error saying %q", err, want)
	}
	if strings.Contains(err.Error(), "ZZZZ") {
		t.Errorf("the error repeats a key: %v", err)
	}
	if raw, err := os.ReadFile(secretFiles(o)[0]); err != nil || string(raw) != "k9:ZZZZ\n" {
		t.Errorf("%s was changed: %q (%v)", secretFiles(o)[0], raw, err)
	}
	for _, f := range secretFiles(o)[1:] {
		if _, err := os.Lstat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was moved into place beside a key that differs (%v)", f, err)
		}
	}
	if got := names(t, stageDir); len(got) != 4 {
		t.Errorf("the staging folder now holds %q", got)
	}
}

// TestOneSetupAtATime: a run that finds another one writing the keys stops before it
// writes anything, saying so; the lock file the run creates can be opened by any user.
func TestOneSetupAtATime(t *testing.T) {
	o := options(t.TempDir())
	other := flock.New(filepath.Join(filepath.Dir(o.SecretDir), ".secrets.lock"))
	if locked, err := other.TryLock(); err != nil || !locked {
		t.Fatalf("lock: %v %v", locked, err)
	}
	t.Cleanup(func() { _ = other.Unlock() })
	err := composesetup.Run(o)
	if want := "another compose-setup is writing " + o.SecretDir; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run: %v, want an error saying %q", err, want)
	}
	for _, d := range []string{o.CertDir, o.SecretDir} {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was created (%v)", d, err)
		}
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(other.Path()); err != nil {
		t.Fatal(err)
	}
	if err := composesetup.Run(o); err != nil {
		t.Fatalf("Run after the other ended: %v", err)
	}
	// A run with sudo creates the lock file; a later one as the container user opens it.
	if info, err := os.Stat(other.Path()); err != nil || info.Mode().Perm()&0o004 == 0 {
		t.Errorf("the lock file %s is not readable by every user (%v)", other.Path(), err)
	}
}
