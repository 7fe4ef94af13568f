package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/servicetest"
)

const (
	testIssuer   = "test-issuer"
	testAudience = "test-audience"
)

// newVerifier serves the issuer's JWKS over httptest and returns a verifier
// for it.
func newVerifier(t testing.TB, iss *devauth.Issuer) *auth.Verifier {
	t.Helper()
	return verifierFor(t, iss, iss.JWKSHandler(), io.Discard)
}

// verifierFor serves jwks over httptest and returns a verifier of iss's tokens
// for it that logs (JSON) to logs.
func verifierFor(t testing.TB, iss *devauth.Issuer, jwks http.Handler, logs io.Writer) *auth.Verifier {
	t.Helper()
	srv := httptest.NewServer(jwks)
	t.Cleanup(srv.Close)
	v, err := auth.NewVerifier(t.Context(), iss.AuthConfig(srv.URL), slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(func() { _ = v.Close(context.Background()) })
	return v
}

func newIssuer(t testing.TB, issuer, audience string) *devauth.Issuer {
	t.Helper()
	return issuerIn(t, t.TempDir(), issuer, audience)
}

// issuerIn loads or creates the issuer key in dir; two issuers in the same
// dir sign with the same key.
func issuerIn(t testing.TB, dir, issuer, audience string) *devauth.Issuer {
	t.Helper()
	iss, err := devauth.LoadOrCreate(dir, issuer, audience)
	if err != nil {
		t.Fatalf("LoadOrCreate: %v", err)
	}
	return iss
}

func mint(t *testing.T, iss *devauth.Issuer, ttl time.Duration) string {
	t.Helper()
	tok, err := iss.Mint(devauth.Claims{
		Subject: "staff-1", Name: "Test Person", Clinic: "seinajoki",
		Roles: []auth.Role{auth.RoleReception, "janitor"},
	}, ttl)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

func b64(v any) string {
	raw, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// forged builds a token with the given header algorithm, signed (for HS256)
// with secret, carrying otherwise valid claims.
func forged(alg, kid string, secret []byte) string {
	now := time.Now()
	head := b64(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	body := b64(map[string]any{
		"iss": testIssuer, "aud": testAudience, "sub": "attacker",
		"exp": now.Add(time.Hour).Unix(), "roles": []string{"maintainer"},
	})
	input := head + "." + body
	if alg == "none" {
		return input + "."
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	iss := issuerIn(t, dir, testIssuer, testAudience)
	v := newVerifier(t, iss)

	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	rec := httptest.NewRecorder()
	iss.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &jwks); err != nil || len(jwks.Keys) != 1 || jwks.Keys[0].Kid == "" {
		t.Fatalf("JWKS = %s (%v)", rec.Body, err)
	}
	kid := jwks.Keys[0].Kid

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{name: "valid", token: mint(t, iss, time.Hour), ok: true},
		{name: "expired", token: mint(t, iss, -time.Hour)},
		{name: "wrong audience", token: mint(t, issuerIn(t, dir, testIssuer, "other"), time.Hour)},
		{name: "wrong issuer", token: mint(t, issuerIn(t, dir, "other", testAudience), time.Hour)},
		{name: "alg none", token: forged("none", kid, nil)},
		{name: "HS256 with the JWKS as secret", token: forged("HS256", kid, rec.Body.Bytes())},
		{name: "identity code as the algorithm", token: forged("131052-308T", kid, nil)},
		{name: "unknown kid", token: mint(t, newIssuer(t, testIssuer, testAudience), time.Hour)},
		{name: "identity code as the key id", token: forged("ES256", "131052-308T", nil)},
		{name: "garbage", token: "not.a.token"},
		{name: "empty", token: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), tt.token)
			if !tt.ok {
				if !errors.Is(err, auth.ErrInvalidToken) {
					t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", id, err)
				}
				// The header is the caller's: an error that may be logged keeps it out.
				if strings.Contains(err.Error(), "131052") {
					t.Errorf("Verify error %q repeats the header", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := auth.Identity{
				Subject: "staff-1", Name: "Test Person", Clinic: "seinajoki",
				Roles: []auth.Role{auth.RoleReception}, Token: tt.token,
			}
			if id.Subject != want.Subject || id.Name != want.Name || id.Clinic != want.Clinic ||
				!slices.Equal(id.Roles, want.Roles) || id.Token != want.Token {
				t.Fatalf("identity = %+v, want %+v", id, want)
			}
		})
	}
}

// TestVerifiedTokenIsNeverTheSystem: the identity provider issues any subject, name
// and roles, so a token made to look like a service's own job (its subject and name,
// no role, or the erasure job's role alone) verifies as a caller like any other, never
// as the system's work, which only a service's own SystemIdentity is.
func TestVerifiedTokenIsNeverTheSystem(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	v := newVerifier(t, iss)
	for _, c := range []devauth.Claims{
		{Subject: "service:owner", Name: "retention sweep"},
		{Subject: "history-retention-sweep", Name: "Matti Meikäläinen", Roles: []auth.Role{"a_later_role"}},
		devauth.ErasureJob(),
	} {
		tok, err := iss.Mint(c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		id, err := v.Verify(t.Context(), tok)
		if err != nil || id.System || id.Subject != c.Subject {
			t.Errorf("%s: %+v, %v; want the caller, not the system", c.Subject, id, err)
		}
	}
	if !auth.SystemIdentity("owner", "retention sweep").System {
		t.Error("a service's own identity is not the system's")
	}
}

// rotatingJWKS serves one issuer's key set, then another's once rotate is called,
// and counts the fetches after the rotation; each of those waits for admit, and is
// told on started when nothing told before is still there: started holds one, so that
// a fetch that comes before the test waits for it (a busy machine) is not missed.
type rotatingJWKS struct {
	current   atomic.Pointer[devauth.Issuer]
	rotated   atomic.Bool
	fetches   atomic.Int32
	started   chan struct{}
	admit     chan struct{}
	admitOnce sync.Once
	// logs has the verifier's log.
	logs *servicetest.LogBuffer
}

// open lets every fetch after the rotation through, now and from now on.
func (j *rotatingJWKS) open() { j.admitOnce.Do(func() { close(j.admit) }) }

// rotatedSoon serves a key set whose next fetch brings a new key (rotatingJWKS) and a
// verifier started before it, and answers them with a token the new key signed.
func rotatedSoon(t *testing.T) (*rotatingJWKS, *auth.Verifier, string) {
	t.Helper()
	j, v := serveRotating(t, newIssuer(t, testIssuer, testAudience))
	next := newIssuer(t, testIssuer, testAudience)
	j.rotate(next)
	return j, v, mint(t, next, time.Hour)
}

func serveRotating(t *testing.T, first *devauth.Issuer) (*rotatingJWKS, *auth.Verifier) {
	t.Helper()
	j := &rotatingJWKS{started: make(chan struct{}, 1), admit: make(chan struct{}), logs: &servicetest.LogBuffer{}}
	j.current.Store(first)
	v := verifierFor(t, first, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if j.rotated.Load() {
			j.fetches.Add(1)
			select {
			case j.started <- struct{}{}:
			default:
			}
			<-j.admit
		}
		j.current.Load().JWKSHandler().ServeHTTP(w, r)
	}), j.logs)
	// Before the server's Close, which waits for the fetches held: a test that
	// fails early leaves none waiting.
	t.Cleanup(j.open)
	return j, v
}

func (j *rotatingJWKS) rotate(to *devauth.Issuer) {
	j.current.Store(to)
	j.rotated.Store(true)
}

// TestKeyRotatedJustBeforeStart: a token signed with a key the provider rotated in
// after the verifier fetched the keys at start is accepted at once, not refused until
// a minute has passed.
func TestKeyRotatedJustBeforeStart(t *testing.T) {
	j, v := serveRotating(t, newIssuer(t, testIssuer, testAudience))
	next := newIssuer(t, testIssuer, testAudience)
	j.rotate(next)
	j.open()
	if _, err := v.Verify(t.Context(), mint(t, next, time.Hour)); err != nil {
		t.Fatalf("a token of the rotated key right after start: %v", err)
	}
	if n := j.fetches.Load(); n != 1 {
		t.Errorf("%d fetches after the rotation, want 1", n)
	}
}

// TestConcurrentCallsWaitForOneRefresh: calls that come with a new key id while the
// key set is being fetched wait for that one fetch and all pass; a further unknown key
// id within the minimum interval fetches nothing.
func TestConcurrentCallsWaitForOneRefresh(t *testing.T) {
	const calls = 8
	j, v, tok := rotatedSoon(t)

	var started sync.WaitGroup
	started.Add(calls)
	errs := make(chan error, calls)
	for range calls {
		go func() {
			started.Done()
			_, err := v.Verify(t.Context(), tok)
			errs <- err
		}()
	}
	started.Wait()
	j.open()
	for range calls {
		if err := <-errs; err != nil {
			t.Errorf("a call with the new key id: %v", err)
		}
	}
	if n := j.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for %d calls, want 1", n, calls)
	}

	if _, err := v.Verify(t.Context(), mint(t, newIssuer(t, testIssuer, testAudience), time.Hour)); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a key id the provider does not have: %v, want ErrInvalidToken", err)
	}
	if n := j.fetches.Load(); n != 1 {
		t.Errorf("%d fetches after an unknown key id within the minimum interval, want 1", n)
	}
}

// TestCancelledFirstCallerFailsNoOther: the call that starts the fetch of a new key id
// and then gives up (its client went away) does not take the fetch with it: the calls
// waiting on the same fetch, and those after it, pass.
func TestCancelledFirstCallerFailsNoOther(t *testing.T) {
	j, v, tok := rotatedSoon(t)

	first, cancelFirst := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() {
		_, err := v.Verify(first, tok)
		firstErr <- err
	}()
	<-j.started
	otherErr := make(chan error, 1)
	go func() {
		_, err := v.Verify(t.Context(), tok)
		otherErr <- err
	}()
	cancelFirst()
	if err := <-firstErr; !errors.Is(err, auth.ErrKeysUnavailable) || !errors.Is(err, context.Canceled) || errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("the first caller, cancelled while the fetch runs: %v, want ErrKeysUnavailable, cancelled", err)
	}
	j.open()
	if err := <-otherErr; err != nil {
		t.Errorf("a caller sharing the fetch: %v", err)
	}
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Errorf("a caller after the fetch: %v", err)
	}
	if n := j.fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

// TestWaiterGivesUpAtItsDeadline: a call waiting on the fetch of a new key id is refused
// when its own deadline passes, however long the fetch takes, not as an invalid token
// (ErrKeysUnavailable), and logged as such (key_refresh_pending: not an unknown key id,
// which the fetch may yet bring); the fetch goes on for the call that started it.
func TestWaiterGivesUpAtItsDeadline(t *testing.T) {
	j, v, tok := rotatedSoon(t)

	firstErr := make(chan error, 1)
	go func() {
		_, err := v.Verify(t.Context(), tok)
		firstErr <- err
	}()
	<-j.started
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := v.Verify(ctx, tok)
	if !errors.Is(err, auth.ErrKeysUnavailable) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a waiter past its deadline: %v, want ErrKeysUnavailable at its deadline", err)
	}
	v.LogRefused(t.Context(), getOwner, err)
	if lines := logLines(t, j.logs); len(lines) != 1 || lines[0]["reason"] != "key_refresh_pending" {
		t.Errorf("log = %q, want the refusal as key_refresh_pending", j.logs.String())
	}
	select {
	case err := <-firstErr:
		t.Fatalf("the fetch ended before the waiter gave up (the first call: %v)", err)
	default:
	}
	j.open()
	if err := <-firstErr; err != nil {
		t.Errorf("the call that started the fetch: %v", err)
	}
}

// TestFailedBackgroundRefreshIsLogged: the background refresh of the key set, which
// no call waits for, is logged at WARN with its URL when it fails (through httprc's
// error sink); the cached keys stay in use.
func TestFailedBackgroundRefreshIsLogged(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	var broken atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		// Without the issuer's Cache-Control, the next refresh is due at the interval.
		rec := httptest.NewRecorder()
		iss.JWKSHandler().ServeHTTP(rec, r)
		w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	logs := &lineSignal{want: "JWKS refresh failed", seen: make(chan string, 1)}
	cfg := auth.WithRefreshEvery(iss.AuthConfig(srv.URL), time.Second)
	v, err := auth.NewVerifier(t.Context(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(func() { _ = v.Close(context.Background()) })
	broken.Store(true)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	select {
	case line := <-logs.seen:
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if l["level"] != "WARN" || l["url"] != srv.URL || l["error"] == "" {
			t.Errorf("log line = %v, want WARN with the URL and the error", l)
		}
	case <-ctx.Done():
		t.Fatal("no failed background refresh was logged")
	}
	if _, err := v.Verify(t.Context(), mint(t, iss, time.Hour)); err != nil {
		t.Errorf("a token of the cached key after the failed refresh: %v", err)
	}
}

// lineSignal is a log writer that passes on the first line holding want.
type lineSignal struct {
	want string
	seen chan string
}

func (s *lineSignal) Write(p []byte) (int, error) {
	if strings.Contains(string(p), s.want) {
		select {
		case s.seen <- string(p):
		default:
		}
	}
	return len(p), nil
}

func TestNewVerifierFailsFast(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL + "/jwks"
	srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	_, err := auth.NewVerifier(ctx, auth.Config{JWKSURL: url, Issuer: "i", Audience: "a"}, logger)
	if err == nil {
		t.Fatal("NewVerifier succeeded without a JWKS")
	}
	if _, err := auth.NewVerifier(ctx, auth.Config{}, logger); err == nil || !strings.Contains(err.Error(), "AUTH_JWKS_URL") {
		t.Fatalf("empty config error = %v", err)
	}
}

// TestConfigRequiresHTTPS: whoever can change the key set in transit can sign any
// token, so the JWKS URL must be https; plain http is allowed for a loopback host. A URL
// with credentials or a query (which could hold a token) is refused, as failed fetches
// log the URL.
func TestConfigRequiresHTTPS(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{url: "https://idp.example/jwks.json", ok: true},
		{url: "HTTPS://idp.example:8443/jwks.json", ok: true},
		{url: "http://127.0.0.1:7100/jwks.json", ok: true},
		{url: "http://127.8.9.10/jwks.json", ok: true},
		{url: "http://[::1]:7100/jwks.json", ok: true},
		{url: "http://localhost:7100/jwks.json", ok: true},
		{url: "http://LocalHost/jwks.json", ok: true},
		{url: "http://idp.example/jwks.json"},
		{url: "http://10.0.0.5/jwks.json"},
		{url: "http://[::2]/jwks.json"},
		{url: "http://localhost.idp.example/jwks.json"},
		{url: "http://127.0.0.1.idp.example/jwks.json"},
		{url: "ftp://127.0.0.1/jwks.json"},
		{url: "file:///etc/jwks.json"},
		{url: "idp.example/jwks.json"},
		{url: "https:///jwks.json"},
		{url: (&url.URL{Scheme: "https", User: url.UserPassword("reader", "hunter2"), Host: "idp.example", Path: "/jwks.json"}).String()},
		{url: "https://reader@idp.example/jwks.json"},
		{url: "https://idp.example/jwks.json?token=hunter2"},
		{url: "https://idp.example/jwks.json?hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := auth.Config{JWKSURL: tt.url, Issuer: "i", Audience: "a"}.Validate()
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "AUTH_JWKS_URL must") || strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("Validate = %v; want AUTH_JWKS_URL refused, without its password", err)
			}
		})
	}
}

// FuzzVerify feeds arbitrary strings to the verifier: none may panic, and
// none but a token the issuer minted may pass.
func FuzzVerify(f *testing.F) {
	v := newVerifier(f, newIssuer(f, testIssuer, testAudience))
	f.Add(forged("none", "k", nil))
	f.Add(forged("HS256", "k", []byte("secret")))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := v.Verify(t.Context(), raw); err == nil {
			t.Fatalf("Verify accepted %q", raw)
		}
	})
}

// TestRedirectToPlainHTTPIsRefused: an https key set URL that redirects to plain http
// (to a host that is not loopback) is not followed, as AUTH_JWKS_URL itself could not
// name that URL: whoever is in the way could serve their own keys.
func TestRedirectToPlainHTTPIsRefused(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	host := nonLoopbackAddr(t)
	var plainFetches atomic.Int32
	plain := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainFetches.Add(1)
		iss.JWKSHandler().ServeHTTP(w, r)
	}))
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", host, err)
	}
	plain.Listener = ln
	plain.Start()
	t.Cleanup(plain.Close)
	err = startRedirected(t, iss, http.RedirectHandler(plain.URL+"/jwks.json", http.StatusFound))
	if !strings.Contains(err.Error(), "not https") {
		t.Errorf("NewVerifier: %v, want the redirect refused", err)
	}
	if n := plainFetches.Load(); n != 0 {
		t.Errorf("%d fetches over plain http, want none", n)
	}
}

// TestFetchErrorNamesNoRedirectQuery: a key set fetch redirected to a URL carrying a
// signature in its query and a user name and password, which then fails (or whose
// Location does not parse), is refused at start with an error naming that URL by
// scheme, host and path alone: the start error and the WARN line of a failed refresh
// carry neither, also when net/http quotes the URL with escapes.
func TestFetchErrorNamesNoRedirectQuery(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := closed.Addr().String()
	_ = closed.Close()
	for _, tc := range []struct {
		name, location, names string
	}{
		{name: "followed", location: "https://reader:pw@" + host + "/jwks.json?sig=s3cr3t", names: "https://" + host + "/jwks.json"},
		{name: "a quote in the query", location: "https://reader:pw@" + host + `/jwks.json?sig=s3cr3t&x=a"b`, names: "https://" + host + "/jwks.json"},
		{name: "refused, plain http", location: (&url.URL{Scheme: "http", User: url.UserPassword("reader", "pw"), Host: "example.com", Path: "/jwks.json",
			RawQuery: `sig=s3cr3t&x=a\b`}).String(), names: "http://example.com/jwks.json"},
		{name: "not parsing", location: "https://reader:pw@" + host + "/jw%zzks.json?sig=s3cr3t", names: "does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := startRedirected(t, iss, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", tc.location)
				w.WriteHeader(http.StatusFound)
			}))
			if text := err.Error(); strings.Contains(text, "s3cr3t") || strings.Contains(text, "reader") || !strings.Contains(text, tc.names) {
				t.Errorf("NewVerifier: %s, want the redirect's URL without its query or user, naming %q", text, tc.names)
			}
		})
	}
}

// startRedirected starts a verifier whose AUTH_JWKS_URL an https server answers with
// redirect, and answers its start error; it fails the test when the verifier starts.
func startRedirected(t *testing.T, iss *devauth.Issuer, redirect http.Handler) error {
	t.Helper()
	redirecting := httptest.NewTLSServer(redirect)
	t.Cleanup(redirecting.Close)
	cfg := iss.AuthConfig(redirecting.URL + "/jwks.json")
	cfg.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(cfg.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: redirecting.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		_ = v.Close(context.Background())
		t.Fatal("NewVerifier started on a key set it could only have been redirected to")
	}
	return err
}

// nonLoopbackAddr is an IPv4 address of this machine that is not loopback; the test is
// skipped on a machine without one.
func nonLoopbackAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("interface addresses: %v", err)
	}
	for _, a := range addrs {
		if ipNet, ok := a.(*net.IPNet); ok && ipNet.IP.To4() != nil && !ipNet.IP.IsLoopback() {
			return ipNet.IP.String()
		}
	}
	t.Skip("no address but loopback to redirect to")
	return ""
}
