package gateway

import (
	"errors"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/auth"
)

// authenticate answers 401 to a call without a valid bearer token before a
// service is called or the body is read, so that anonymous traffic costs
// the services nothing, and 503 to one whose token's key id could not be checked
// for want of the identity provider's key set. A valid token travels on unchanged:
// each service verifies it again and authorises the call itself, since the gateway
// is not the only way in.
func authenticate(v *auth.Verifier, errs errorWriter) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			raw, ok := bearerToken(r.Header)
			if !ok {
				errs.write(r.Context(), w, errs.marshaler, http.StatusUnauthorized, status.New(codes.Unauthenticated, "missing bearer token"))
				return
			}
			if _, err := v.Verify(r.Context(), raw); err != nil {
				v.LogRefused(r.Context(), route(r), err)
				if errors.Is(err, auth.ErrKeysUnavailable) {
					errs.write(r.Context(), w, errs.marshaler, http.StatusServiceUnavailable, auth.KeysUnavailable())
					return
				}
				// The cause stays unsaid: it would help only someone
				// forging tokens.
				errs.write(r.Context(), w, errs.marshaler, http.StatusUnauthorized, status.New(codes.Unauthenticated, "invalid bearer token"))
				return
			}
			next(w, r, params)
		}
	}
}

// route names the REST route of r as its method and template
// ("GET /v1/owners/{owner_id}"), never the URL with its ids.
func route(r *http.Request) string {
	p, ok := runtime.HTTPPattern(r.Context())
	if !ok {
		return r.Method
	}
	return r.Method + " " + routeTemplate(p.String())
}

// bearerToken returns the token of the request's one Authorization header.
// Several headers are refused rather than guessing which one a service
// would read.
func bearerToken(h http.Header) (string, bool) {
	vals := h.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	return auth.ParseBearer(vals[0])
}
