package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
)

// TestOnlyReadsAreResentWhenUnavailable: the gateway's gRPC client resends a call the
// service answered UNAVAILABLE only when the contract declares the method free of
// side effects. A service may answer UNAVAILABLE after it wrote (an owner created whose
// audit event could not be stored), so a create reaches it once and the REST caller,
// who may resend it under the same Idempotency-Key, sees 503. A disclosure that could
// not make its last check after logging its request answers ABORTED NOT_COMPLETED,
// which reaches the REST caller as 409 with the reason in its details. A service that
// could not check the caller's token for want of the identity provider's keys did
// nothing: its 503 says so, with its reason and a Retry-After.
func TestOnlyReadsAreResentWhenUnavailable(t *testing.T) {
	h := start(t, options{})
	// A service's UNAVAILABLE as apperr writes it, with a client message of its own: the
	// REST caller is told the gateway's words, which say whether the call may have
	// taken effect.
	unavailable := apperr.ToStatus(t.Context(), nil, apperr.New(apperr.ErrUnavailable, "the owner's erasure is being applied; retry once it is done"))
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   string
		answer error
		rpc    string
		code   int
		calls  int
		reason string
		// says is a word the message must hold: a write's 503 warns that the change may
		// have been made, a read's says to retry.
		says       string
		retryAfter string
	}{
		{name: "create not completed", method: http.MethodPost, path: "/v1/owners", body: `{"owner":{"familyName":"Test"}}`,
			answer: apperr.ToStatus(t.Context(), nil, apperr.Aborted("NOT_COMPLETED", "disclose again under a new request id")),
			rpc:    "CreateOwner", code: http.StatusConflict, calls: 1, reason: "NOT_COMPLETED"},
		{name: "create unavailable", method: http.MethodPost, path: "/v1/owners", body: `{"owner":{"familyName":"Test"}}`,
			answer: unavailable, rpc: "CreateOwner", code: http.StatusServiceUnavailable, calls: 1, says: "may have taken effect"},
		{name: "read unavailable", method: http.MethodGet, path: "/v1/owners/o-1",
			answer: unavailable, rpc: "GetOwner", code: http.StatusServiceUnavailable, calls: 4, says: "retry later"},
		{name: "create whose token the service could not check", method: http.MethodPost, path: "/v1/owners", body: `{"owner":{"familyName":"Test"}}`,
			answer: auth.KeysUnavailable().Err(), rpc: "CreateOwner", code: http.StatusServiceUnavailable, calls: 1,
			reason: auth.ReasonKeysUnavailable, says: "nothing was done", retryAfter: "5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.owner.fail(tc.answer)
			defer h.owner.fail(nil)
			before := calls(h, tc.rpc)
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := h.request(t, tc.method, tc.path, body)
			req.Header.Set("Idempotency-Key", "key-42")
			code, header, respBody := h.do(t, req)
			if n := calls(h, tc.rpc) - before; code != tc.code || n != tc.calls {
				t.Fatalf("answered %d after %d calls of %s, want %d after %d: %s", code, n, tc.rpc, tc.code, tc.calls, respBody)
			}
			e := decodeError(t, respBody)
			reason := ""
			for _, d := range e.Details {
				if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
					reason, _ = d["reason"].(string)
				}
			}
			if reason != tc.reason {
				t.Errorf("details %v, want the reason %q", e.Details, tc.reason)
			}
			if !strings.Contains(e.Message, tc.says) {
				t.Errorf("message %q, want it to say %q", e.Message, tc.says)
			}
			if got := header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
		})
	}
}

// calls counts the calls of method the owner service has received.
func calls(h *harness, method string) int {
	n := 0
	for _, c := range h.owner.received() {
		if c.method == method {
			n++
		}
	}
	return n
}
