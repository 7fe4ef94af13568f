package gateway

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/status"
)

// routeMethods are the methods the REST routes use, in the order an Allow header
// lists them. HEAD is not one, although net/http serves it wherever GET is: on a REST
// route it would have the service read, audit and return personal data for the gateway
// to drop, and on the access report log a copy as given to the data subject that no one
// received. grpc-gateway has no HEAD routes, so a HEAD is 405 with the path's methods in
// Allow (TestHeadOnAPIRoutesIs405); the gateway's own paths answer it as GET.
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// routingError answers a request no route takes, in the gateway's error format. A known
// path asked with a method it does not serve is 405 Method Not Allowed with an Allow
// header: grpc-gateway's default handler makes it a plain UNIMPLEMENTED, which is 501
// Not Implemented, a server that knows no such method at all.
func (e errorWriter) routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if p, ok := ctx.Value(probeKey{}).(*routeProbe); ok {
		p.unmatched = true
		return
	}
	if httpStatus == http.StatusMethodNotAllowed {
		e.methodNotAllowed(ctx, mux, m, w, r, allowedMethods(mux, r))
		return
	}
	e.handle(ctx, mux, m, w, r, httpStatusError(httpStatus))
}

// methodNotAllowed answers 405 Method Not Allowed with the methods allow lists, which
// the caller has probed, in the Allow header.
func (e errorWriter) methodNotAllowed(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, allow []string) {
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
	}
	e.handle(ctx, mux, m, w, r, httpStatusError(http.StatusMethodNotAllowed))
}

// httpStatusError is a failure that carries only an HTTP status, such as routing's.
func httpStatusError(httpStatus int) error {
	return &runtime.HTTPStatusError{
		HTTPStatus: httpStatus,
		Err:        status.Error(codeForHTTP(httpStatus), http.StatusText(httpStatus)),
	}
}

// probeKey keys the *routeProbe of a request allowedMethods sends.
type probeKey struct{}

// routeProbe learns whether the mux has a route for a probe request, and the custom
// verb of the route it matched ("revealIdentityCode"; "" for a route without one).
type routeProbe struct {
	unmatched bool
	verb      string
}

// allowedMethods lists the methods mux has a route for at r's path. It asks mux itself,
// with a probe request per method, so that the answer is grpc-gateway's own matching;
// a probe stops in stopProbe, before authentication, the body or a backend.
//
// grpc-gateway also matches a path ending in a custom verb to a route without one, the
// ":verb" then part of the last variable: GET /v1/owners/o-1:revealIdentityCode is
// GetOwner of the owner "o-1:revealIdentityCode", which none is. When a route with the
// path's verb matched, only the methods of such routes serve the path.
func allowedMethods(mux *runtime.ServeMux, r *http.Request) []string {
	allow, verbAllow := probeMethods(mux, r)
	if len(verbAllow) > 0 {
		return verbAllow
	}
	return allow
}

// probeMethods lists the methods other than r's that mux has a route for at r's path,
// and those of them whose route has a custom verb.
func probeMethods(mux *runtime.ServeMux, r *http.Request) (allow, verbAllow []string) {
	for _, method := range routeMethods {
		if method == r.Method {
			continue
		}
		verb, ok := probeRoute(mux, r, method)
		if !ok {
			continue
		}
		allow = append(allow, method)
		if verb != "" {
			verbAllow = append(verbAllow, method)
		}
	}
	return allow, verbAllow
}

// verbRoutes answers 405 to a request for a custom verb's path with a method only a
// route without the verb serves: grpc-gateway hands GET and PATCH of
// /v1/owners/o-1:revealIdentityCode to GetOwner and UpdateOwner of the owner
// "o-1:revealIdentityCode", where the client meant the verb and used the wrong method.
// Only a path whose last segment has a colon is probed; a route with a verb serving
// none of the other methods there leaves the request to mux (an id may hold a colon).
// The 405 lists the methods probed here: no method is probed twice for one request.
func verbRoutes(mux *runtime.ServeMux, errs errorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(path.Base(r.URL.Path), ":") {
			if verb, ok := probeRoute(mux, r, r.Method); ok && verb == "" {
				if _, verbAllow := probeMethods(mux, r); len(verbAllow) > 0 {
					errs.methodNotAllowed(r.Context(), mux, errs.marshaler, w, r, verbAllow)
					return
				}
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// probeRoute asks mux whether it has a route for r's path with method, and that route's
// custom verb.
func probeRoute(mux *runtime.ServeMux, r *http.Request, method string) (verb string, ok bool) {
	p := &routeProbe{}
	probe := r.WithContext(context.WithValue(r.Context(), probeKey{}, p))
	probe.Method, probe.Body = method, http.NoBody
	mux.ServeHTTP(discard{}, probe)
	return p.verb, !p.unmatched
}

// stopProbe ends a probe request at the route it matched.
func stopProbe(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := r.Context().Value(probeKey{}).(*routeProbe); ok {
			if pattern, ok := runtime.HTTPPattern(r.Context()); ok {
				p.verb = pattern.Verb()
			}
			return
		}
		next(w, r, params)
	}
}

// discard is the response writer of a probe, which nothing answers.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// cleanPaths answers 404 in the gateway's error format to a path with an empty, "." or
// ".." segment, which names no resource. net/http's ServeMux would answer it with a
// redirect to the cleaned path and an HTML body, sending the call on to another resource
// than the one the client named (/v1/owners/o-1/../o-2 to the owner o-2). A trailing
// slash is an empty last segment too: no route ends in one, and grpc-gateway would take
// GET /v1/owners/ as GetOwner of the owner "". Like ServeMux it leaves CONNECT alone,
// whose target is no path.
//
// Each segment is checked decoded, as grpc-gateway routes on the decoded path:
// /v1/owners%2F would be GetOwner of "" and /v1/owners/%2E%2E GetOwner of "..". A
// segment holding an encoded slash is a 404 as well. No id holds a "/", so the segment
// names nothing, and decoded the slash would be a boundary the client did not write:
// /v1/owners/o-1%2Fpatients would list o-1's patients.
func cleanPaths(errs errorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect && !isCleanPath(r.URL.EscapedPath()) {
			errs.handle(r.Context(), nil, errs.marshaler, w, r, httpStatusError(http.StatusNotFound))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isCleanPath reports whether the escaped path p is the root or is rooted with segments
// that, decoded, are neither empty, "." nor "..", and hold no "/".
func isCleanPath(p string) bool {
	if p == "/" {
		return true
	}
	rest, rooted := strings.CutPrefix(p, "/")
	if !rooted {
		return false
	}
	for seg := range strings.SplitSeq(rest, "/") {
		decoded, err := url.PathUnescape(seg)
		if err != nil || decoded == "" || decoded == "." || decoded == ".." || strings.Contains(decoded, "/") {
			return false
		}
	}
	return true
}
