package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// TestFailedRefreshIsLogged: a key set that cannot be fetched again, when a token names
// an unknown key id, is logged at WARN with its URL; the token is refused as before.
func TestFailedRefreshIsLogged(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	var broken atomic.Bool
	logs := &servicetest.LogBuffer{}
	v := verifierFor(t, iss, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		iss.JWKSHandler().ServeHTTP(w, r)
	}), logs)
	broken.Store(true)
	_, err := v.Verify(t.Context(), mint(t, newIssuer(t, testIssuer, testAudience), time.Hour))
	if !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("Verify: %v, want ErrInvalidToken", err)
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
