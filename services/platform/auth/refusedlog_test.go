package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// logLine is one JSON log line.
type logLine map[string]any

func logLines(t *testing.T, logs *servicetest.LogBuffer) []logLine {
	t.Helper()
	var lines []logLine
	for raw := range strings.Lines(logs.String()) {
		var l logLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		lines = append(lines, l)
	}
	return lines
}

// refusedLogKeys are the keys of a refused token's log line, sorted, in a run without
// refusals left out (which adds suppressed).
var refusedLogKeys = []string{"level", "method", "msg", "reason", "time"}

// TestRefusedTokenIsLogged: a token the interceptor refuses is logged once at WARN with
// the class of its fault and the method, and with nothing of the token: neither the token
// nor any part of it, nor its subject or name.
func TestRefusedTokenIsLogged(t *testing.T) {
	dir := t.TempDir()
	iss := issuerIn(t, dir, testIssuer, testAudience)
	claims := devauth.Claims{Subject: "staff-subject-4711", Name: "Maija Virtanen", Roles: []auth.Role{auth.RoleReception}}
	token := func(iss *devauth.Issuer, ttl time.Duration) string {
		tok, err := iss.Mint(claims, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// A valid token's header and signature around another token's claims.
	good := strings.Split(token(iss, time.Hour), ".")
	other, err := iss.Mint(devauth.Claims{Subject: "staff-subject-4711", Name: "Maija Virtanen"}, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tampered := good[0] + "." + strings.Split(other, ".")[1] + "." + good[2]

	tests := []struct {
		name   string
		token  string
		reason string
	}{
		{name: "expired", token: token(iss, -time.Hour), reason: "expired"},
		{name: "wrong audience", token: token(issuerIn(t, dir, testIssuer, "other"), time.Hour), reason: "audience"},
		{name: "wrong issuer", token: token(issuerIn(t, dir, "other", testAudience), time.Hour), reason: "issuer"},
		{name: "unknown kid", token: token(newIssuer(t, testIssuer, testAudience), time.Hour), reason: "unknown_key_id"},
		{name: "claims not signed", token: tampered, reason: "signature"},
		{name: "alg none", token: forged("none", "k", nil), reason: "signature"},
		{name: "not a token", token: "staff-subject-4711.x.y", reason: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &servicetest.LogBuffer{}
			v := verifierFor(t, iss, iss.JWKSHandler(), logs)
			icpt := auth.UnaryServerInterceptor(v, auth.Policy{getOwner: {Roles: []auth.Role{auth.RoleReception}}}, nil)
			ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+tt.token))
			_, err := icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: getOwner}, func(ctx context.Context, _ any) (any, error) {
				t.Error("handler ran")
				return nil, nil
			})
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("call: %v, want UNAUTHENTICATED", err)
			}
			lines := logLines(t, logs)
			if len(lines) != 1 {
				t.Fatalf("log = %q, want one line", logs.String())
			}
			if l := lines[0]; l["level"] != "WARN" || l["msg"] != "bearer token refused" || l["reason"] != tt.reason || l["method"] != getOwner {
				t.Errorf("log line = %v, want WARN bearer token refused, reason %s, method %s", l, tt.reason, getOwner)
			}
			// No more than these: an error's text, which may quote the token's
			// header or claims, has no place in the line.
			if keys := slices.Sorted(maps.Keys(lines[0])); !slices.Equal(keys, refusedLogKeys) {
				t.Errorf("log line keys = %q, want %q", keys, refusedLogKeys)
			}
			for _, secret := range append(strings.Split(tt.token, "."), tt.token, claims.Subject, claims.Name) {
				if secret != "" && strings.Contains(logs.String(), secret) {
					t.Errorf("log %q holds %q of the token", logs.String(), secret)
				}
			}
		})
	}
}

// failingJWKS serves an issuer's key set until down is set, then answers 503 to every
// fetch, counting them: an identity provider that has become unreachable.
type failingJWKS struct {
	down   atomic.Bool
	failed atomic.Int32
}

// unreachableKeySet is a verifier that has fetched iss's key set once, logging to logs,
// and whose identity provider jwks has since gone down.
func unreachableKeySet(t *testing.T) (*devauth.Issuer, *failingJWKS, *auth.Verifier, *servicetest.LogBuffer) {
	t.Helper()
	iss := newIssuer(t, testIssuer, testAudience)
	jwks := &failingJWKS{}
	logs := &servicetest.LogBuffer{}
	v := verifierFor(t, iss, jwks.handler(iss), logs)
	jwks.down.Store(true)
	return iss, jwks, v, logs
}

func (f *failingJWKS) handler(iss *devauth.Issuer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			f.failed.Add(1)
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		iss.JWKSHandler().ServeHTTP(w, r)
	})
}

// TestFailedRefreshIsLogged: a key set that cannot be fetched again, when a token names
// an unknown key id, is logged at WARN with its URL; the token is refused, as one whose
// key id could not be checked.
func TestFailedRefreshIsLogged(t *testing.T) {
	_, _, v, logs := unreachableKeySet(t)
	_, err := v.Verify(t.Context(), mint(t, newIssuer(t, testIssuer, testAudience), time.Hour))
	if !errors.Is(err, auth.ErrKeysUnavailable) || errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("Verify: %v, want ErrKeysUnavailable", err)
	}
	lines := logLines(t, logs)
	if len(lines) != 1 {
		t.Fatalf("log = %q, want one line", logs.String())
	}
	if l := lines[0]; l["level"] != "WARN" || l["msg"] != "JWKS refresh failed, the cached keys stay in use" ||
		!strings.HasPrefix(l["url"].(string), "http://127.0.0.1:") || l["error"] == "" {
		t.Errorf("log line = %v, want WARN JWKS refresh failed with the URL and the error", l)
	}
}

// TestKeysStillFetchingIsNotUnauthenticated: a call that ends (its deadline passed, its
// client went away) while the key set is being fetched for its token's new key id is
// answered with its own code and told that the keys were still being fetched, not that
// its token is invalid; the refusal is logged as key_refresh_pending, with nothing of
// the token.
func TestKeysStillFetchingIsNotUnauthenticated(t *testing.T) {
	tests := []struct {
		name string
		want codes.Code
		// call makes the call with a context that ends while the fetch j holds runs.
		call func(t *testing.T, j *rotatingJWKS, call func(context.Context) error) error
	}{
		{"deadline passed", codes.DeadlineExceeded, func(t *testing.T, _ *rotatingJWKS, call func(context.Context) error) error {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			return call(ctx)
		}},
		{"client went away", codes.Canceled, func(t *testing.T, j *rotatingJWKS, call func(context.Context) error) error {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			errs := make(chan error, 1)
			go func() { errs <- call(ctx) }()
			<-j.started
			cancel()
			return <-errs
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, v, tok := rotatedSoon(t)
			icpt := auth.UnaryServerInterceptor(v, auth.Policy{getOwner: {Roles: []auth.Role{auth.RoleReception}}}, nil)
			err := tt.call(t, j, func(ctx context.Context) error {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+tok))
				_, err := icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: getOwner}, func(context.Context, any) (any, error) {
					t.Error("handler ran")
					return nil, nil
				})
				return err
			})
			st := status.Convert(err)
			if st.Code() != tt.want || !strings.Contains(st.Message(), "signing keys were still being fetched") {
				t.Errorf("call: %v, want %v saying the signing keys were still being fetched", err, tt.want)
			}
			lines := logLines(t, j.logs)
			if len(lines) != 1 || lines[0]["reason"] != "key_refresh_pending" || lines[0]["level"] != "WARN" {
				t.Fatalf("log = %q, want one WARN refusal as key_refresh_pending", j.logs.String())
			}
			if keys := slices.Sorted(maps.Keys(lines[0])); !slices.Equal(keys, refusedLogKeys) {
				t.Errorf("log line keys = %q, want %q", keys, refusedLogKeys)
			}
			for _, part := range append(strings.Split(tok, "."), tok) {
				if strings.Contains(j.logs.String(), part) {
					t.Errorf("log %q holds %q of the token", j.logs.String(), part)
				}
			}
		})
	}
}

// TestUnreachableKeySetIsUnavailable: a token whose key id is new while the key set
// cannot be fetched is answered UNAVAILABLE, told that the keys could not be fetched,
// not that it is invalid; so is any unknown key id until the next fetch may run, which
// costs no fetch: a forged key id gets a refusal and no more fetches than before.
// Tokens of the cached keys still pass.
func TestUnreachableKeySetIsUnavailable(t *testing.T) {
	iss, jwks, v, logs := unreachableKeySet(t)
	icpt := auth.UnaryServerInterceptor(v, auth.Policy{getOwner: {Roles: []auth.Role{auth.RoleReception}}}, nil)
	call := func(tok string) (handled bool, err error) {
		ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+tok))
		_, err = icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: getOwner}, func(context.Context, any) (any, error) {
			handled = true
			return nil, nil
		})
		return handled, err
	}
	for _, tok := range []string{
		mint(t, newIssuer(t, testIssuer, testAudience), time.Hour),
		// A forger's key id, within the minute: no fetch, and a refusal.
		mint(t, newIssuer(t, testIssuer, testAudience), time.Hour),
	} {
		handled, err := call(tok)
		st := status.Convert(err)
		if handled || st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "signing keys could not be fetched") {
			t.Errorf("call with a new key id: handled %v, %v, want UNAVAILABLE saying the signing keys could not be fetched", handled, err)
		}
		if !hasKeysUnavailableDetails(st) {
			t.Errorf("the answer's details %v lack the %s reason and a retry delay", st.Details(), auth.ReasonKeysUnavailable)
		}
	}
	if n := jwks.failed.Load(); n != 1 {
		t.Errorf("%d fetches for two unknown key ids within the minimum interval, want 1", n)
	}
	var reasons []any
	for _, l := range logLines(t, logs) {
		if l["msg"] == "bearer token refused" {
			reasons = append(reasons, l["reason"])
		}
	}
	if !slices.Equal(reasons, []any{"key_refresh_failed", "key_refresh_failed"}) {
		t.Errorf("refusals logged as %v, want key_refresh_failed twice", reasons)
	}
	if handled, err := call(mint(t, iss, time.Hour)); !handled || err != nil {
		t.Errorf("a token of the cached key: handled %v, %v", handled, err)
	}
}

// hasKeysUnavailableDetails reports whether st carries the ErrorInfo reason by which the
// gateway knows a service's unchecked token, and a retry delay.
func hasKeysUnavailableDetails(st *status.Status) bool {
	var reason, delay bool
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason() == auth.ReasonKeysUnavailable
		case *errdetails.RetryInfo:
			delay = d.GetRetryDelay().AsDuration() > 0
		}
	}
	return reason && delay
}

// TestKeySetBackEndsTheUnavailableAnswers: once the identity provider answers again, the
// next forced fetch clears the failure: an unknown key id is then refused as an invalid
// token, no longer answered as one that could not be checked.
func TestKeySetBackEndsTheUnavailableAnswers(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	jwks := &failingJWKS{}
	srv := httptest.NewServer(jwks.handler(iss))
	t.Cleanup(srv.Close)
	v, err := auth.NewVerifier(t.Context(), auth.WithRefreshEvery(iss.AuthConfig(srv.URL), 100*time.Millisecond), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(func() { _ = v.Close(context.Background()) })
	jwks.down.Store(true)
	if _, err := v.Verify(t.Context(), mint(t, newIssuer(t, testIssuer, testAudience), time.Hour)); !errors.Is(err, auth.ErrKeysUnavailable) {
		t.Fatalf("Verify while the provider is down: %v, want ErrKeysUnavailable", err)
	}
	jwks.down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.Verify(t.Context(), mint(t, newIssuer(t, testIssuer, testAudience), time.Hour))
		if !errors.Is(err, auth.ErrKeysUnavailable) {
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("Verify of an unknown key id with the provider back: %v, want ErrInvalidToken", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("an unknown key id is still answered as unchecked 10 s after the provider came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
