package gateway_test

import (
	"io"
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

// TestHeadOnAPIRoutesIs405: HEAD is not served on the REST routes, although net/http's
// convention serves it wherever GET is. A HEAD there would have a service read, audit and
// return personal data for the gateway to throw away, and on the access report log a copy
// as given to the data subject, marking the request answered, when no one received it.
// So it is 405 with the methods the path serves in Allow, and no service is called; the
// gateway's own paths, which hold no personal data, answer HEAD as GET without a body.
func TestHeadOnAPIRoutesIs405(t *testing.T) {
	h := start(t, options{})
	tests := []struct {
		path       string
		wantStatus int
		wantAllow  string
	}{
		{"/v1/owners/o-1", http.StatusMethodNotAllowed, "GET, PATCH"},
		{"/v1/owners?name=aija", http.StatusMethodNotAllowed, "GET, POST"},
		{"/v1/owners/o-1/changes", http.StatusMethodNotAllowed, "GET"},
		{"/v1/accessRequests/a-1/report", http.StatusMethodNotAllowed, "GET"},
		{"/v1/accessRequests/a-1/report.html", http.StatusMethodNotAllowed, "GET"},
		{"/v1/owners/o-1:revealIdentityCode", http.StatusMethodNotAllowed, "POST"},
		{"/healthz", http.StatusOK, ""},
		{"/openapi.yaml", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, header, body := h.do(t, h.request(t, http.MethodHead, tt.path, nil))
			if code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", code, tt.wantStatus)
			}
			if got := header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			if len(body) != 0 {
				t.Errorf("a HEAD answer has a body: %s", body)
			}
		})
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}

// TestUncleanPathIsJSON404: a path with an empty, "." or ".." segment names no resource.
// net/http's ServeMux answered it with a redirect to the cleaned path and an HTML body,
// which sent a client's call on to another resource than the one it named (an owner's
// patients for /v1/owners//patients, another owner for /v1/owners/o-1/../o-2). It is the
// gateway's JSON 404, without a Location, anonymous or not, and no service is called.
func TestUncleanPathIsJSON404(t *testing.T) {
	h := start(t, options{})
	client := *h.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tt := range []struct {
		method, path string
		anonymous    bool
	}{
		{http.MethodGet, "/v1/owners//patients", false},
		{http.MethodGet, "/v1//owners", false},
		{http.MethodGet, "/v1/owners/o-1/../o-2", false},
		{http.MethodGet, "/v1/owners/./o-1", false},
		{http.MethodGet, "/v1/owners/a%2F%2Fb", false},
		{http.MethodPost, "/v1/owners/o-1/..//patients", false},
		{http.MethodGet, "/v1/owners/o-1/../../../healthz", true},
		{http.MethodGet, "/v1/owners/", false},
		{http.MethodPatch, "/v1/owners/", false},
		{http.MethodGet, "/v1/patients/", false},
		{http.MethodGet, "/v1/owners/o-1/patients/", false},
		{http.MethodGet, "/healthz/", true},
		// The same segments percent-encoded: grpc-gateway routes on the decoded path.
		{http.MethodGet, "/v1/owners%2F", false},
		{http.MethodGet, "/v1/owners%2f", false},
		{http.MethodPatch, "/v1/owners%2F", false},
		{http.MethodGet, "/v1/patients%2F", false},
		{http.MethodGet, "/v1/owners/%2E%2E", false},
		{http.MethodGet, "/v1/owners/%2e/patients", false},
		{http.MethodGet, "/v1/owners/o-1/%2E%2E/o-2", false},
		{http.MethodGet, "/v1/owners/.%2E", false},
		// An encoded slash inside a segment: no id holds a "/", and decoded it would be
		// a segment boundary the client did not write, o-1's patients for the first.
		{http.MethodGet, "/v1/owners/o-1%2Fpatients", false},
		{http.MethodGet, "/v1/owners%2Fo-1", false},
		{http.MethodGet, "/healthz%2F", true},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req := h.request(t, tt.method, tt.path, strings.NewReader(`{}`))
			if tt.anonymous {
				req.Header.Del("Authorization")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.path, err)
			}
			defer func() { _ = resp.Body.Close() }()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != "" {
				t.Fatalf("status = %d, Location %q, want 404 without one: %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if e := decodeError(t, body); e.Code != codes.NotFound || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("body %s (%s), want NOT_FOUND as JSON", body, resp.Header.Get("Content-Type"))
			}
		})
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}
