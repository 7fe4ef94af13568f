package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	middleware "github.com/grpc-ecosystem/go-grpc-middleware/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/identitycode"
	"github.com/lillvet/register/services/platform/visibletext"
)

// DeniedFunc is told about every authenticated call the policy refused, so
// that the service can audit it, with the call's request (nil when it has none
// to read: a client stream), so that the audit can name the owner it asked about.
// It is not called for unauthenticated calls, which carry no actor to audit.
type DeniedFunc func(ctx context.Context, method string, id Identity, reason string, req any)

// UnaryServerInterceptor authenticates the bearer token, stores the identity
// in the context and checks the policy. Health and reflection are open.
func UnaryServerInterceptor(v *Verifier, p Policy, onDenied DeniedFunc) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if IsOpen(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, err := authorize(ctx, v, p, onDenied, info.FullMethod, func() any { return req })
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is the streaming form of UnaryServerInterceptor.
func StreamServerInterceptor(v *Verifier, p Policy, onDenied DeniedFunc) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if IsOpen(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx, err := authorize(ss.Context(), v, p, onDenied, info.FullMethod, func() any { return firstRequest(ss, info) })
		if err != nil {
			return err
		}
		wrapped := middleware.WrapServerStream(ss)
		wrapped.WrappedContext = ctx
		return handler(srv, wrapped)
	}
}

// IsOpen reports whether method is one every caller may call without a token: health
// checking and server reflection, which carry no personal data.
func IsOpen(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(method, "/grpc.reflection.")
}

// firstRequest reads the one request of a server-streaming call, as its handler would
// first, for a refused call's audit; nil for a client stream, a method the registry does
// not know or a request that cannot be read.
func firstRequest(ss grpc.ServerStream, info *grpc.StreamServerInfo) any {
	if info.IsClientStream {
		return nil
	}
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(info.FullMethod, "/"), "/", "."))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return nil
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return nil
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		return nil
	}
	req := mt.New().Interface()
	if err := ss.RecvMsg(req); err != nil {
		return nil
	}
	return req
}

// authorize verifies the caller and checks the policy; request gives a refused call's
// request to onDenied.
func authorize(ctx context.Context, v *Verifier, p Policy, onDenied DeniedFunc, method string, request func() any) (context.Context, error) {
	raw, ok := bearer(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "missing bearer token")
	}
	id, err := v.Verify(ctx, raw)
	if err != nil {
		v.LogRefused(ctx, method, err)
		if errors.Is(err, ErrKeysUnavailable) {
			return nil, keysUnavailable(err)
		}
		return nil, status.Error(codes.Unauthenticated, "invalid bearer token")
	}
	ctx = WithIdentity(ctx, id)
	if err := checkPurpose(ctx); err != nil {
		return nil, err
	}
	if err := p.Check(method, id, Purpose(ctx)); err != nil {
		if onDenied != nil {
			onDenied(ctx, method, id, err.Error(), request())
		}
		return nil, apperr.ToStatus(ctx, nil, err)
	}
	return ctx, nil
}

// keysUnavailable answers a token the verifier could not check for want of the key
// set (ErrKeysUnavailable), never UNAUTHENTICATED, as the token may be good: the call's
// own code when it gave up waiting (DEADLINE_EXCEEDED, CANCELED), else KeysUnavailable.
func keysUnavailable(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return status.Error(status.FromContextError(err).Code(),
			"the call ended while the identity provider's signing keys were still being fetched to check the bearer token; send it again")
	}
	return KeysUnavailable().Err()
}

// ReasonKeysUnavailable is the ErrorInfo reason of KeysUnavailable, by which the
// gateway tells a service's refusal of an unchecked token from a service that is down.
const ReasonKeysUnavailable = "SIGNING_KEYS_UNAVAILABLE"

// keysRetryDelay is how long a client is told to wait before sending again a call
// whose token could not be checked. One replica fetches the key set at most once a
// minute, so a resend to the same one may be refused again until then; another replica
// (or a gateway) may hold the key already, and the identity provider may be back.
const keysRetryDelay = 5 * time.Second

// KeysUnavailable is the answer to a call whose token's key id could not be checked
// because the identity provider's key set could not be fetched: UNAVAILABLE with the
// reason ReasonKeysUnavailable and a RetryInfo. Nothing of the call was done.
func KeysUnavailable() *status.Status {
	st := status.New(codes.Unavailable, "the bearer token could not be checked: the identity provider's signing keys could not be fetched; nothing was done, retry shortly")
	withDetails, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: ReasonKeysUnavailable, Domain: apperr.Domain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(keysRetryDelay)},
	)
	if err != nil {
		return st
	}
	return withDetails
}

// checkPurpose refuses a stated purpose that holds a personal identity code, before
// anything (a denied call's audit event included) can copy it: the purpose goes into
// every audit event of the call and is forwarded to every service the call reaches.
// Both the whole value and the part Purpose keeps are checked: the cut can end a code
// that the whole value runs into a longer word ("131052-308TX" is none, its first
// eleven characters are one). It must also be text, valid UTF-8 without control
// characters (an x-purpose-bin value may hold any bytes), and say something: a
// maintainer's required purpose of a zero-width space or a bidi override reads as
// nothing in the audit, or as other text than was sent.
func checkPurpose(ctx context.Context) error {
	vals, both := statedPurposes(ctx)
	var v apperr.ValidationError
	switch joined := strings.Join(vals, "\n"); {
	case both:
		v.Add("purpose", "must be stated in "+MetadataPurpose+" or in "+MetadataPurposeBin+" metadata, not both")
	case !utf8.ValidString(joined):
		v.Add("purpose", "must be valid UTF-8")
	case slices.ContainsFunc(vals, func(p string) bool { return strings.ContainsFunc(p, unicode.IsControl) }):
		v.Add("purpose", "must not contain control characters")
	case strings.ContainsFunc(joined, isFormat):
		v.Add("purpose", "must not contain invisible formatting characters (zero-width spaces, soft hyphens, byte order or direction marks)")
	case slices.ContainsFunc(vals, saysNothing):
		v.Add("purpose", "must contain a letter or a digit")
	case identitycode.Contains(joined) || identitycode.Contains(Purpose(ctx)):
		v.Add("purpose", apperr.IdentityCodeViolation)
	}
	return apperr.ToStatus(ctx, nil, v.Err())
}

// isFormat reports Unicode format characters (Cf), which display as nothing or
// reorder the text around them.
func isFormat(r rune) bool { return unicode.Is(unicode.Cf, r) }

// saysNothing reports a purpose that is stated but has no letter or digit that
// displays (a Hangul filler is a letter that displays as nothing); a blank one states
// none, and the policy decides whether one is needed.
func saysNothing(p string) bool { return strings.TrimSpace(p) != "" && visibletext.SaysNothing(p) }

// bearer reads the one value it needs: metadata.FromIncomingContext would copy
// every key and value of the call's metadata.
func bearer(ctx context.Context) (string, bool) {
	vals := metadata.ValueFromIncomingContext(ctx, MetadataAuthorization)
	if len(vals) == 0 {
		return "", false
	}
	return ParseBearer(vals[0])
}

// ParseBearer returns the token of an Authorization value "Bearer <token>" (the scheme
// in any case), or false when the value is not one.
func ParseBearer(value string) (string, bool) {
	scheme, token, ok := strings.Cut(value, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
