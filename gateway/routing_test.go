package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// A known path asked with a method it does not serve is 405 Method Not Allowed, with the
// methods it does serve in Allow, as an error body like any other; 501 Not Implemented
// would say the server knows no such method at all.
func TestWrongMethodIs405(t *testing.T) {
	h := start(t, options{})
	tests := []struct {
		method, path string
		anonymous    bool
		wantStatus   int
		wantAllow    string
	}{
		{http.MethodDelete, "/v1/owners/o-1", false, http.StatusMethodNotAllowed, "GET, PATCH"},
		{http.MethodPut, "/v1/owners/o-1", false, http.StatusMethodNotAllowed, "GET, PATCH"},
		{http.MethodPut, "/v1/owners", false, http.StatusMethodNotAllowed, "GET, POST"},
		{http.MethodGet, "/v1/owners:findByIdentityCode", false, http.StatusMethodNotAllowed, "POST"},
		// Not the methods of the route without the verb, which take "o-1:verb" as an id.
		{http.MethodDelete, "/v1/owners/o-1:revealIdentityCode", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodDelete, "/v1/patients/p-1:transfer", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodDelete, "/v1/recipients/r-1:deactivate", false, http.StatusMethodNotAllowed, "POST"},
		// Nor the route without the verb itself: GET /v1/owners/o-1:revealIdentityCode
		// would read the owner "o-1:revealIdentityCode". Every {id}:verb route whose
		// {id} route answers other methods.
		{http.MethodGet, "/v1/owners/o-1:revealIdentityCode", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodPatch, "/v1/owners/o-1:revealIdentityCode", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodGet, "/v1/patients/p-1:transfer", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodPatch, "/v1/patients/p-1:transfer", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodGet, "/v1/patients/p-1:markDeceased", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodPatch, "/v1/patients/p-1:markDeceased", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodGet, "/v1/recipients/r-1:deactivate", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodGet, "/v1/accessRequests/a-1:extend", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodGet, "/v1/erasureRequests/e-1:resume", false, http.StatusMethodNotAllowed, "POST"},
		{http.MethodGet, "/v1/owners/o-1:revealIdentityCode", true, http.StatusMethodNotAllowed, "POST"},
		// Routing comes before authentication, as for an unknown path.
		{http.MethodDelete, "/v1/owners/o-1", true, http.StatusMethodNotAllowed, "GET, PATCH"},
		{http.MethodDelete, "/v1/nothing-here", false, http.StatusNotFound, ""},
		// The gateway's own paths, which the API mux does not know.
		{http.MethodPost, "/openapi.yaml", false, http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodPost, "/healthz", true, http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodDelete, "/healthz", false, http.StatusMethodNotAllowed, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req := h.request(t, tt.method, tt.path, strings.NewReader(`{}`))
			if tt.anonymous {
				req.Header.Del("Authorization")
			}
			code, header, body := h.do(t, req)
			if code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", code, tt.wantStatus, body)
			}
			if got := header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			wantCode := codes.NotFound
			if tt.wantStatus == http.StatusMethodNotAllowed {
				wantCode = codes.Unimplemented
			}
			if e := decodeError(t, body); e.Code != wantCode || header.Get("Content-Type") != "application/json" {
				t.Errorf("body %s (%s), want %v as JSON", body, header.Get("Content-Type"), wantCode)
			}
		})
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}
