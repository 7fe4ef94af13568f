package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
)

// binaryPurposeKey keys the X-Purpose values checkHeaders took off the request
// for binaryPurpose to forward.
type binaryPurposeKey struct{}

// checkHeaders deals with the forwarded headers grpc-gateway cannot forward as they
// are: it drops any value that is not printable ASCII, with nothing but an unstructured
// log line to show for it, and calls the service anyway. A dropped Idempotency-Key makes
// a retried create a second record, so a key with other characters is refused (on
// request_id, the field it stands in for). Staff write their purpose in Finnish, so an
// X-Purpose with other letters goes to the services as x-purpose-bin, which they read as
// they read x-purpose; one that is not UTF-8 is refused. No refusal repeats the value.
// Both are bounded (checkHeaderLengths), so that what the gateway forwards stays within
// the services' metadata bound.
func checkHeaders(errs errorWriter) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			var v apperr.ValidationError
			keys, purposes := r.Header.Values(mdIdempotencyKey), r.Header.Values(mdPurpose)
			checkIdempotencyKey(&v, keys)
			if !utf8.ValidString(strings.Join(purposes, "")) {
				v.Add("purpose", "the X-Purpose header must be valid UTF-8")
			}
			checkHeaderLengths(&v, keys, purposes)
			if err := v.Err(); err != nil {
				errs.write(r.Context(), w, errs.marshaler, http.StatusBadRequest, status.Convert(apperr.ToStatus(r.Context(), nil, err)))
				return
			}
			if slices.ContainsFunc(purposes, notMetadataText) {
				r = r.WithContext(context.WithValue(r.Context(), binaryPurposeKey{}, purposes))
				r.Header = r.Header.Clone()
				r.Header.Del(mdPurpose)
			}
			next(w, r, params)
		}
	}
}

// binaryPurpose is the metadata annotator that forwards what checkHeaders took off the
// request as x-purpose-bin.
func binaryPurpose(ctx context.Context, _ *http.Request) metadata.MD {
	purposes, ok := ctx.Value(binaryPurposeKey{}).([]string)
	if !ok {
		return nil
	}
	md := metadata.MD{}
	md.Append(auth.MetadataPurposeBin, purposes...)
	return md
}

// checkIdempotencyKey refuses a key the services would not read as the caller meant:
// one with other characters than printable ASCII, which grpc-gateway would drop, and
// more than one key, as repeated headers or as one comma-separated list (the HTTP form
// of the same thing), of which the services would take the first without a word, so
// that a client sending two keys could not tell which one its create was stored under.
func checkIdempotencyKey(v *apperr.ValidationError, keys []string) {
	if slices.ContainsFunc(keys, notMetadataText) {
		v.Add("request_id", "the Idempotency-Key header must be printable ASCII (letters a-z, digits, punctuation, spaces)")
		return
	}
	if len(keys) > 1 || slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, ",") }) {
		v.Add("request_id", "the Idempotency-Key header must be given once, with one key and no commas")
	}
}

// maxPurposeBytes bounds the X-Purpose values of a request together. The services keep
// the first 200 bytes of a purpose for the audit, so a longer one is a mistake; and
// unbounded, a purpose near the HTTP server's header limit (64 KiB and some), sent on a
// third longer as x-purpose-bin, would pass the services' 64 KiB metadata bound, which
// grpc-go's client enforces before sending with an internal error.
const maxPurposeBytes = 1 << 10

// checkHeaderLengths refuses an Idempotency-Key longer than the services take as a
// request id (apperr.MaxRequestIDLen), and X-Purpose values longer than maxPurposeBytes.
func checkHeaderLengths(v *apperr.ValidationError, keys, purposes []string) {
	if slices.ContainsFunc(keys, func(k string) bool { return len(k) > apperr.MaxRequestIDLen }) {
		v.Add("request_id", fmt.Sprintf("the Idempotency-Key header must be at most %d characters", apperr.MaxRequestIDLen))
	}
	if len(strings.Join(purposes, "")) > maxPurposeBytes {
		v.Add("purpose", fmt.Sprintf("the X-Purpose header must be at most %d bytes", maxPurposeBytes))
	}
}

func notMetadataText(s string) bool { return !auth.IsPrintableASCII(s) }
