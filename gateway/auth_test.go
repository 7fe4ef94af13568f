package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
)

func TestAuthenticationAtTheEdge(t *testing.T) {
	h := start(t, options{})
	reception := devauth.Claims{Subject: "test-reception", Roles: []auth.Role{auth.RoleReception}}
	// The issuer's name on another key: a forgery.
	forger, err := devauth.LoadOrCreate(t.TempDir(), testIssuer, testAudience)
	if err != nil {
		t.Fatalf("forger: %v", err)
	}
	// The right key for another audience: a token meant for another system.
	otherSystem, err := devauth.LoadOrCreate(h.issuerDir, testIssuer, "another-system")
	if err != nil {
		t.Fatalf("issuer for another audience: %v", err)
	}
	mint := func(i *devauth.Issuer) string {
		tok, err := i.Mint(reception, time.Hour)
		if err != nil {
			t.Fatalf("mint: %v", err)
		}
		return tok
	}
	tests := []struct {
		name string
		// authorization is the header values sent; none when empty.
		authorization []string
		wantOK        bool
		// refused is the reason a token refused is logged with; none for a call
		// without a token.
		refused string
	}{
		{"valid token", []string{"Bearer " + h.token}, true, ""},
		{"scheme in lower case", []string{"bearer " + h.token}, true, ""},
		{"no token", nil, false, ""},
		{"empty bearer", []string{"Bearer "}, false, ""},
		{"basic credentials", []string{"Basic cmVjZXB0aW9uOnNlY3JldA=="}, false, ""},
		{"token without scheme", []string{h.token}, false, ""},
		{"garbage", []string{"Bearer not-a-token"}, false, "malformed"},
		{"garbage with a JWT's shape", []string{"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}, false, "signature"},
		{"expired", []string{"Bearer " + h.mint(t, reception, -time.Hour)}, false, "expired"},
		{"signed by an unknown key", []string{"Bearer " + mint(forger)}, false, "unknown_key_id"},
		{"for another audience", []string{"Bearer " + mint(otherSystem)}, false, "audience"},
		{"two tokens", []string{"Bearer " + h.token, "Bearer " + h.token}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logged := len(refusals(t, h))
			before := len(h.owner.received())
			req := h.request(t, http.MethodGet, "/v1/owners/o-1", nil)
			req.Header.Del("Authorization")
			for _, v := range tt.authorization {
				req.Header.Add("Authorization", v)
			}
			code, header, body := h.do(t, req)
			calls := len(h.owner.received()) - before
			if tt.wantOK {
				if code != http.StatusOK || calls != 1 {
					t.Fatalf("status = %d with %d service calls, want 200 and 1: %s", code, calls, body)
				}
				if got := h.owner.last(t).md.Get("authorization"); len(got) != 1 || got[0] != tt.authorization[0] {
					t.Errorf("the service got authorization %q, want the caller's header unchanged", got)
				}
				return
			}
			wantUnauthenticated(t, code, header, body)
			if calls != 0 {
				t.Errorf("the service was called %d times for an unauthenticated request", calls)
			}
			lines := refusals(t, h)[logged:]
			switch {
			case tt.refused == "" && len(lines) != 0:
				t.Errorf("a call without a token logged %v", lines)
			case tt.refused == "":
			case len(lines) != 1:
				t.Errorf("logged %v, want one refusal", lines)
			case lines[0]["level"] != "WARN" || lines[0]["reason"] != tt.refused || lines[0]["method"] != "GET /v1/owners/{owner_id}":
				t.Errorf("logged %v, want WARN with reason %s and the route", lines[0], tt.refused)
			case !slices.Equal(slices.Sorted(maps.Keys(lines[0])), refusedLogKeys):
				// An error's text, which may quote the token's header or claims, has no
				// place in the line.
				t.Errorf("log line keys = %q, want %q", slices.Sorted(maps.Keys(lines[0])), refusedLogKeys)
			}
			for _, v := range tt.authorization {
				if _, tok, _ := strings.Cut(v, " "); tok != "" && strings.Contains(h.logs.String(), tok) {
					t.Errorf("the log holds the token")
				}
			}
		})
	}
}

// refusedLogKeys are the keys of a refused token's log line, sorted: the telemetry
// handler's service name and trace ids, and no more than the refusal's class and route.
var refusedLogKeys = []string{"level", "method", "msg", "reason", "service", "span_id", "time", "trace_id"}

// refusals returns the log lines of refused tokens so far.
func refusals(t *testing.T, h *harness) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for raw := range strings.Lines(h.logs.String()) {
		var line map[string]any
		if err := json.Unmarshal([]byte(raw), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", raw)
		}
		if line["msg"] == "bearer token refused" {
			lines = append(lines, line)
		}
	}
	return lines
}

func wantUnauthenticated(t *testing.T, code int, header http.Header, body []byte) {
	t.Helper()
	if code != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401: %s", code, body)
	}
	if e := decodeError(t, body); e.Code != codes.Unauthenticated || e.Message == "" {
		t.Errorf("body = %+v, want code UNAUTHENTICATED with a message", e)
	}
	if got := header.Get("WWW-Authenticate"); got != "Bearer" {
		t.Errorf("WWW-Authenticate = %q, want Bearer", got)
	}
	if got := header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want JSON", got)
	}
}

// TestUnreachableKeySetIsUnavailable: a token whose key id the gateway does not hold,
// while the identity provider is unreachable, is answered 503 UNAVAILABLE with a
// Retry-After of a few seconds (and the RetryInfo it comes from), not 401: the token
// may be good. So is another unknown key id within the minute, a forger's as well,
// which gets a refusal and makes no fetch of its own. No service is called, the refusals
// are logged as key_refresh_failed with nothing of the token, and a token of the cached
// key still passes.
func TestUnreachableKeySetIsUnavailable(t *testing.T) {
	h := start(t, options{})
	// Once a call passes, the gateway has the key set.
	if code, _, body := h.do(t, h.request(t, http.MethodGet, "/v1/owners/o-1", nil)); code != http.StatusOK {
		t.Fatalf("a valid token = %d, want 200: %s", code, body)
	}
	h.jwks.Close()
	reception := devauth.Claims{Subject: "test-reception", Roles: []auth.Role{auth.RoleReception}}
	for _, name := range []string{"a key the provider rotated in", "a forger's key"} {
		t.Run(name, func(t *testing.T) {
			unknown, err := devauth.LoadOrCreate(t.TempDir(), testIssuer, testAudience)
			if err != nil {
				t.Fatalf("issuer of an unknown key: %v", err)
			}
			tok, err := unknown.Mint(reception, time.Hour)
			if err != nil {
				t.Fatalf("mint: %v", err)
			}
			logged := len(refusals(t, h))
			req := h.request(t, http.MethodGet, "/v1/owners/o-1", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			code, header, body := h.do(t, req)
			if code != http.StatusServiceUnavailable {
				t.Fatalf("status = %d, want 503: %s", code, body)
			}
			if got := header.Get("Retry-After"); got != "5" {
				t.Errorf("Retry-After = %q, want 5", got)
			}
			if got := header.Get("WWW-Authenticate"); got != "" {
				t.Errorf("WWW-Authenticate = %q, want none: the token was not refused as invalid", got)
			}
			if got := header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want JSON", got)
			}
			e := decodeError(t, body)
			if e.Code != codes.Unavailable || !strings.Contains(e.Message, "signing keys could not be fetched") {
				t.Errorf("body = %+v, want UNAVAILABLE saying the signing keys could not be fetched", e)
			}
			if len(e.Details) != 2 || e.Details[0]["reason"] != auth.ReasonKeysUnavailable || e.Details[1]["@type"] != "type.googleapis.com/google.rpc.RetryInfo" || e.Details[1]["retryDelay"] != "5s" {
				t.Errorf("details = %v, want the %s reason and a RetryInfo of 5s", e.Details, auth.ReasonKeysUnavailable)
			}
			lines := refusals(t, h)[logged:]
			if len(lines) != 1 || lines[0]["reason"] != "key_refresh_failed" || !slices.Equal(slices.Sorted(maps.Keys(lines[0])), refusedLogKeys) {
				t.Errorf("logged %v, want one refusal as key_refresh_failed", lines)
			}
			if strings.Contains(h.logs.String(), tok) {
				t.Errorf("the log holds the token")
			}
		})
	}
	if n := strings.Count(h.logs.String(), "JWKS refresh failed"); n != 1 {
		t.Errorf("%d failed fetches logged for two unknown key ids within the minute, want 1", n)
	}
	if n := len(h.owner.received()); n != 1 {
		t.Errorf("the service was called %d times, want once, for the first valid token", n)
	}
	req := h.request(t, http.MethodGet, "/v1/owners/o-1", nil)
	req.Header.Set("Authorization", "Bearer "+h.mint(t, reception, time.Hour))
	if code, _, body := h.do(t, req); code != http.StatusOK {
		t.Errorf("a new token of the cached key = %d, want 200: %s", code, body)
	}
}

// An anonymous caller is refused before the gateway reads its body.
func TestUnauthenticatedBodyIsNotRead(t *testing.T) {
	const limit = 1024
	h := start(t, options{maxBodyBytes: limit})
	for _, body := range []io.Reader{
		strings.NewReader(`{"owner":{"familyName":"Test"}}`),
		bytes.NewReader(bytes.Repeat([]byte("a"), 4*limit)),
	} {
		req := h.request(t, http.MethodPost, "/v1/owners", body)
		req.Header.Del("Authorization")
		code, header, respBody := h.do(t, req)
		wantUnauthenticated(t, code, header, respBody)
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls", n)
	}
}

func TestOpenPathsNeedNoToken(t *testing.T) {
	h := start(t, options{})
	for _, path := range []string{"/healthz", "/openapi.yaml"} {
		req := h.request(t, http.MethodGet, path, nil)
		req.Header.Del("Authorization")
		if code, _, body := h.do(t, req); code != http.StatusOK {
			t.Errorf("GET %s without a token = %d, want 200: %s", path, code, body)
		}
	}
}
