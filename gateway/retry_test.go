package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/apperr"
)

// TestCreateIsResentOnlyWhenUnavailable: the gateway's gRPC client resends a call the
// service answered UNAVAILABLE, under the same Idempotency-Key, so a service must not
// answer it once it has written something its resend would treat differently. A
// disclosure that could not make its last check after logging its request answers
// ABORTED NOT_COMPLETED instead, which reaches the service once and the REST caller
// as 409 with the reason in its details.
func TestCreateIsResentOnlyWhenUnavailable(t *testing.T) {
	h := start(t, options{})
	for _, tc := range []struct {
		name   string
		answer error
		code   int
		calls  int
		reason string
	}{
		{name: "not completed", answer: apperr.ToStatus(t.Context(), nil, apperr.Aborted("NOT_COMPLETED", "disclose again under a new request id")),
			code: http.StatusConflict, calls: 1, reason: "NOT_COMPLETED"},
		{name: "unavailable", answer: status.Error(codes.Unavailable, "connection refused"), code: http.StatusServiceUnavailable, calls: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.owner.fail(tc.answer)
			defer h.owner.fail(nil)
			before := creates(h)
			req := h.request(t, http.MethodPost, "/v1/owners", strings.NewReader(`{"owner":{"familyName":"Test"}}`))
			req.Header.Set("Idempotency-Key", "key-42")
			code, _, body := h.do(t, req)
			if n := creates(h) - before; code != tc.code || n != tc.calls {
				t.Fatalf("answered %d after %d calls of the service, want %d after %d: %s", code, n, tc.code, tc.calls, body)
			}
			e := decodeError(t, body)
			reason := ""
			for _, d := range e.Details {
				if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
					reason, _ = d["reason"].(string)
				}
			}
			if reason != tc.reason {
				t.Errorf("details %v, want the reason %q", e.Details, tc.reason)
			}
		})
	}
}

// creates counts the CreateOwner calls the owner service has received.
func creates(h *harness) int {
	n := 0
	for _, c := range h.owner.received() {
		if c.method == "CreateOwner" {
			n++
		}
	}
	return n
}
