package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// probeLog records the methods of the probe requests a mux receives.
type probeLog struct{ methods []string }

// matched records a probe that reached a route; it goes before stopProbe.
func (l *probeLog) matched(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if _, ok := r.Context().Value(probeKey{}).(*routeProbe); ok {
			l.methods = append(l.methods, r.Method)
		}
		next(w, r, params)
	}
}

// unmatched records a probe no route took, and hands every routing error to errs.
func (l *probeLog) unmatched(errs errorWriter) runtime.RoutingErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
		if _, ok := ctx.Value(probeKey{}).(*routeProbe); ok {
			l.methods = append(l.methods, r.Method)
		}
		errs.routingError(ctx, mux, m, w, r, httpStatus)
	}
}

// TestRoutingProbesEachMethodOnce: the routes of a request's path are probed once per
// method, however the request is answered. A request for a custom verb's path asked
// with a method only the route without the verb serves (GET
// /v1/owners/o-1:revealIdentityCode) was probed for every other method in verbRoutes
// and again when its 405 listed them.
func TestRoutingProbesEachMethodOnce(t *testing.T) {
	errs := errorWriter{marshaler: &runtime.JSONPb{}, logger: slog.New(slog.DiscardHandler)}
	log := &probeLog{}
	mux := runtime.NewServeMux(
		runtime.WithRoutingErrorHandler(log.unmatched(errs)),
		runtime.WithMiddlewares(log.matched, stopProbe),
	)
	served := func(w http.ResponseWriter, _ *http.Request, _ map[string]string) { w.WriteHeader(http.StatusNoContent) }
	for _, route := range []struct{ method, pattern string }{
		{http.MethodGet, "/v1/owners/{id}"},
		{http.MethodPatch, "/v1/owners/{id}"},
		{http.MethodPost, "/v1/owners/{id}:revealIdentityCode"},
	} {
		if err := mux.HandlePath(route.method, route.pattern, served); err != nil {
			t.Fatal(err)
		}
	}
	handler := verbRoutes(mux, errs)
	tests := []struct {
		method, path string
		wantStatus   int
		wantAllow    string
		wantProbed   []string // the methods probed, in order
	}{
		{http.MethodGet, "/v1/owners/o-1:revealIdentityCode", http.StatusMethodNotAllowed, "POST", []string{"GET", "POST", "PUT", "PATCH", "DELETE"}},
		{http.MethodPatch, "/v1/owners/o-1:revealIdentityCode", http.StatusMethodNotAllowed, "POST", []string{"PATCH", "GET", "POST", "PUT", "DELETE"}},
		{http.MethodDelete, "/v1/owners/o-1:revealIdentityCode", http.StatusMethodNotAllowed, "POST", []string{"DELETE", "GET", "POST", "PUT", "PATCH"}},
		{http.MethodPost, "/v1/owners/o-1:revealIdentityCode", http.StatusNoContent, "", []string{"POST"}},
		{http.MethodDelete, "/v1/owners/o-1", http.StatusMethodNotAllowed, "GET, PATCH", []string{"GET", "POST", "PUT", "PATCH"}},
		{http.MethodGet, "/v1/owners/o-1", http.StatusNoContent, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			log.methods = nil
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, http.NoBody))
			if w.Code != tt.wantStatus || w.Header().Get("Allow") != tt.wantAllow {
				t.Errorf("status %d, Allow %q; want %d, %q", w.Code, w.Header().Get("Allow"), tt.wantStatus, tt.wantAllow)
			}
			if !slices.Equal(log.methods, tt.wantProbed) {
				t.Errorf("probed %q, want %q", log.methods, tt.wantProbed)
			}
		})
	}
}

// FuzzIsCleanPath: a path cleanPaths lets through is, decoded as grpc-gateway routes it,
// already clean (no empty, "." or ".." segment, no trailing slash) and has the segments
// the client wrote, none of them joined by an encoded slash.
func FuzzIsCleanPath(f *testing.F) {
	for _, p := range []string{"/", "/v1/owners/o-1", "/v1/owners%2F", "/v1/owners/%2e%2E", "/v1/owners/o-1%2Fpatients", "/v1//owners", "/v1/owners/", "*", "/v1/%zz"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !isCleanPath(p) {
			return
		}
		decoded, err := url.PathUnescape(p)
		if err != nil {
			t.Fatalf("isCleanPath(%q) with a path that does not decode: %v", p, err)
		}
		if path.Clean(decoded) != decoded {
			t.Errorf("isCleanPath(%q), decoded %q, which cleans to %q", p, decoded, path.Clean(decoded))
		}
		if strings.Count(decoded, "/") != strings.Count(p, "/") {
			t.Errorf("isCleanPath(%q), decoded %q with another number of segments", p, decoded)
		}
	})
}
