package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	// Also registers google.rpc.BadRequest and the other standard details, so
	// that the services' field violations are marshalled with their @type
	// instead of failing the whole error response.
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/grpcclient"
)

// errorWriter writes every error as a google.rpc.Status in JSON ({"code",
// "message", "details"} with typed details, as the OpenAPI document says)
// with the HTTP status that matches the gRPC code.
type errorWriter struct {
	marshaler runtime.Marshaler
	logger    *slog.Logger
}

// handle is the grpc-gateway error handler: errors of the services, of
// decoding the request and of routing.
func (e errorWriter) handle(ctx context.Context, _ *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	httpStatus := 0
	var withStatus *runtime.HTTPStatusError
	if errors.As(err, &withStatus) {
		httpStatus, err = withStatus.HTTPStatus, withStatus.Err
	}
	st, ok := status.FromError(err)
	if !ok && httpStatus != 0 {
		st = status.New(codeForHTTP(httpStatus), err.Error())
	}
	if metadataTooLarge(st) {
		e.logger.WarnContext(ctx, "backend call's metadata is over the service's bound", "rpc", rpcMethod(ctx))
		httpStatus, st = http.StatusRequestHeaderFieldsTooLarge, status.New(codes.ResourceExhausted, headersTooLarge)
	}
	if httpStatus == 0 {
		httpStatus = runtime.HTTPStatusFromCode(st.Code())
	}
	e.write(ctx, w, m, httpStatus, e.public(ctx, st))
}

// headersTooLarge answers a request whose forwarded headers the service would not take.
const headersTooLarge = "the request headers are too large: the bearer token, X-Purpose and Idempotency-Key together must stay under 64 KiB"

// metadataTooLarge reports whether st is grpc-go's client refusing, before sending, a
// call whose metadata is over the bound the service advertised: an INTERNAL whose text
// speaks of grpc-go's internals. The gateway's header checks keep X-Purpose and
// Idempotency-Key short, so only a bearer token of nearly 64 KiB gets here.
func metadataTooLarge(st *status.Status) bool {
	return st.Code() == codes.Internal && strings.HasPrefix(st.Message(), "header list size to send violates the maximum size")
}

// public hides what a partner has no use for: transport failures name
// internal addresses and unknown errors may carry anything. The cause of an
// unavailable backend is logged for the operators; it names hosts, never a
// person. A service's own UNAVAILABLE carries only its client text (see apperr),
// so the 503 text here is the gateway's whatever the service wrote, and the
// service logs what was unavailable; but for a service that could not check the
// caller's token (auth.KeysUnavailable), whose answer, that nothing was done and when
// to retry, is the gateway's own for the same case.
func (e errorWriter) public(ctx context.Context, st *status.Status) *status.Status {
	switch st.Code() {
	case codes.InvalidArgument:
		// The services answer bad input with field violations; an INVALID_ARGUMENT
		// without them is the gateway's own failure to decode the request, whose
		// message quotes what the caller sent (an identity code typed into the wrong
		// field would come back in the error body and the logs).
		if len(st.Details()) == 0 {
			return decodeFailure(st.Message(), rpcMethod(ctx))
		}
	case codes.Unavailable:
		if keysUnavailable(st) {
			// The service could not check the token: nothing was done, and its answer
			// says so, with when to retry.
			return auth.KeysUnavailable()
		}
		e.logger.WarnContext(ctx, "backend unavailable", "rpc", rpcMethod(ctx), "cause", st.Message())
		if !grpcclient.Resendable(rpcMethod(ctx)) {
			// A service may answer UNAVAILABLE after a change is stored (its audit event
			// could not be queued): a plain resend could make a second owner or patient,
			// or log a second copy of an access report. Only creates take the key.
			return status.New(codes.Unavailable, "service temporarily unavailable; the call may have taken effect: read the record before sending it again, or resend a create with the same Idempotency-Key")
		}
		return status.New(codes.Unavailable, "service temporarily unavailable, retry later")
	case codes.Unknown:
		e.logger.WarnContext(ctx, "backend call failed with an unknown error", "rpc", rpcMethod(ctx))
		return status.New(codes.Internal, "internal error")
	}
	return st
}

// keysUnavailable reports whether st is a service's refusal of a token whose key id it
// could not check (auth.KeysUnavailable).
func keysUnavailable(st *status.Status) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == auth.ReasonKeysUnavailable && info.GetDomain() == apperr.Domain {
			return true
		}
	}
	return false
}

func rpcMethod(ctx context.Context) string {
	m, _ := runtime.RPCMethod(ctx)
	return m
}

// write marshals st; every error response the gateway sends goes through it. A
// RetryInfo in st's details is also said in a Retry-After header, which HTTP clients
// and proxies read.
func (e errorWriter) write(ctx context.Context, w http.ResponseWriter, m runtime.Marshaler, httpStatus int, st *status.Status) {
	body, err := marshalStatus(m, st)
	if err != nil {
		e.logger.ErrorContext(ctx, "marshal error response", "code", st.Code().String(), "error", err)
		httpStatus = http.StatusInternalServerError
		body = []byte(`{"code":13,"message":"internal error","details":[]}`)
	}
	w.Header().Set("Content-Type", m.ContentType(st.Proto()))
	if st.Code() == codes.Unauthenticated {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	if after, ok := retryAfter(st); ok {
		w.Header().Set("Retry-After", after)
	}
	w.WriteHeader(httpStatus)
	// A failed write means the client has gone; there is no one to tell.
	_, _ = w.Write(body)
}

// retryAfter is the Retry-After value of st's RetryInfo, in whole seconds rounded up.
func retryAfter(st *status.Status) (string, bool) {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.RetryInfo); ok && info.GetRetryDelay() != nil {
			return strconv.FormatFloat(math.Ceil(max(0, info.GetRetryDelay().AsDuration().Seconds())), 'f', 0, 64), true
		}
	}
	return "", false
}

// marshalStatus writes st with all three fields of the documented error shape: protojson
// leaves an empty details list out, and a client reading "details" of every error would
// find it missing on the ones without any. A status with details has nothing else unset
// to write, so only the one without is written with its unset fields.
func marshalStatus(m runtime.Marshaler, st *status.Status) ([]byte, error) {
	if len(st.Proto().GetDetails()) > 0 {
		return m.Marshal(st.Proto())
	}
	return protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(st.Proto())
}

// codeForHTTP gives routing and decoding failures that carry only an HTTP
// status a gRPC code, so that every error body has a meaningful one.
func codeForHTTP(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusMethodNotAllowed:
		return codes.Unimplemented
	case http.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	}
	return codes.Internal
}

// decodeMessages name the field of grpc-gateway's and protojson's decoding errors:
// query parameters by their proto names, body fields by their JSON names, an unknown
// field or query parameter (strictQueryParser) by the name the caller sent when it is a
// plain name, and the Grpc-Timeout header grpc-gateway reads as the backend call's
// deadline (first: its message ends in the header's value, which could read like
// another message). A pattern without a group names its field itself: protojson names a
// field mask's bad path but not the field, and every field mask of the API is an
// update's updateMask; an unknown query parameter whose key is no plain name is the
// query's. Every pattern is anchored at the start of the message, protojson's after its
// prefix: grpc-gateway's message of a parameter given twice ends in the values as sent,
// and a value reading as another message (name=a&name=parsing field "Virtanen") would
// otherwise name the value as the field.
var decodeMessages = []struct {
	pattern            *regexp.Regexp
	field, description string
}{
	{regexp.MustCompile(`^invalid (grpc-timeout): `), "", "not a gRPC timeout: an unsigned integer and a unit, one of H, M, S, m, u, n"},
	{regexp.MustCompile(`^unknown query parameter "(` + parameterName + `)"$`), "", "not a query parameter of this request"},
	{regexp.MustCompile(`^unknown query parameter$`), "query", "a parameter that is not one of this request's"},
	{regexp.MustCompile(`^parsing (?:field|list|map key|map value) "(\w+)"`), "", "not a valid value for this parameter"},
	{regexp.MustCompile(`^too many values for field "(\w+)"`), "", "given more than once"},
	{regexp.MustCompile(`^` + protojsonError + `invalid value for \w+ field (\w+)`), "", "not a valid value for this field"},
	{regexp.MustCompile(`^` + protojsonError + `unknown field "([A-Za-z_]\w{0,63})"`), "", "unknown field"},
	// grpc-gateway's of a query parameter given under two names, protojson's of a body field.
	{regexp.MustCompile(`^(?:` + protojsonError + `)?duplicate field "?([A-Za-z_]\w{0,63})"?`), "", "given more than once"},
	{regexp.MustCompile(`^` + protojsonError + `google\.protobuf\.FieldMask\.paths contains invalid path`), updateMaskField, updateMaskHint},
}

// protojsonError is the start of a protojson decoding error's message, before what went
// wrong: its "proto:" prefix, whose space is a regular or a non-breaking one as the
// protobuf module picks per build, and the position in the body.
const protojsonError = `proto:[ \x{00a0}]\(line \d+:\d+\): `

// updateMaskField is the JSON name of every field mask of the API, an update's.
const updateMaskField = "updateMask"

// updateMaskHint is the description of a bad updateMask when the route's message is
// unknown; maskHint names the message.
const updateMaskHint = "the fields to change, by their JSON names and separated by commas"

// maskHint describes a bad updateMask of rpc by the message it updates: the fields
// are those of the request's "patient" on UpdatePatient, of its "visit" on AmendVisit,
// and on UpdateOwner those of its "owner" and its "identityCode" (maskedOutside). An
// example of one route's fields would mislead on the others.
func maskHint(rpc string) string {
	resource, request := maskedMessage(rpc)
	if resource == "" {
		return updateMaskHint
	}
	var also strings.Builder
	for _, name := range maskedOutside[request.FullName()] {
		if f := request.Fields().ByName(name); f != nil {
			fmt.Fprintf(&also, ", and %q", f.JSONName())
		}
	}
	return fmt.Sprintf("the fields of %q to change%s, by their JSON names (lowerCamelCase) and separated by commas", resource, also.String())
}

// maskedOutside are the fields of a request outside the message its field mask applies
// to that the mask names too: UpdateOwner's identity_code, whose new value the owner
// message has no field for, as it holds the code only masked (owner.proto).
var maskedOutside = map[protoreflect.FullName][]protoreflect.Name{
	"lillvet.owner.v1.UpdateOwnerRequest": {"identity_code"},
}

// maskedMessage is the JSON name of the message field that the field mask of rpc's
// request applies to ("/lillvet.owner.v1.OwnerService/UpdatePatient": "patient"), and
// the request; "" when its request has no field mask or rpc is unknown.
func maskedMessage(rpc string) (string, protoreflect.MessageDescriptor) {
	service, method, ok := strings.Cut(strings.TrimPrefix(rpc, "/"), "/")
	if !ok {
		return "", nil
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return "", nil
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return "", nil
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return "", nil
	}
	fields := md.Input().Fields()
	resource, hasMask := "", false
	for i := range fields.Len() {
		f := fields.Get(i)
		switch {
		case f.Message() == nil || f.IsList() || f.IsMap():
		case f.Message().FullName() == fieldMaskName:
			hasMask = true
		case resource == "":
			resource = f.JSONName()
		}
	}
	if !hasMask {
		return "", nil
	}
	return resource, md.Input()
}

// fieldMaskName is google.protobuf.FieldMask's full name.
const fieldMaskName protoreflect.FullName = "google.protobuf.FieldMask"

// dateDigits is a run of six digits, an identity code's date: no field of the API
// holds one in its name, and an identity code in a name the patterns quote (ASCII
// letters, digits, underscores, dots) always does, run into letters or not
// (hetu010105A123B, _131052Y308T).
var dateDigits = regexp.MustCompile(`[0-9]{6}`)

// quotable reports whether a name the caller sent may be quoted back as the field of a
// violation: not when it could be an identity code typed in as a name.
func quotable(name string) bool {
	return !dateDigits.MatchString(name)
}

// decodeFailure is the answer to a request the gateway could not decode: which fields
// were wrong when the decoder says so (else the body as a whole), and none of the
// values the caller sent. strictQueryParser's message, one line per bad key, gives a
// violation per line (decodeLines).
func decodeFailure(msg, rpc string) *status.Status {
	var violations []*errdetails.BadRequest_FieldViolation
	descriptions := make([]string, 0, 1)
	for _, line := range decodeLines(msg) {
		v := decodeViolation(line)
		if v.GetField() == updateMaskField {
			v.Description = maskHint(rpc)
		}
		if slices.ContainsFunc(violations, func(have *errdetails.BadRequest_FieldViolation) bool { return proto.Equal(have, v) }) {
			continue
		}
		violations = append(violations, v)
		descriptions = append(descriptions, v.GetField()+": "+v.GetDescription())
	}
	st, err := status.New(codes.InvalidArgument, "the request could not be read: "+strings.Join(descriptions, "; ")).
		WithDetails(&errdetails.BadRequest{FieldViolations: violations})
	if err != nil {
		return status.New(codes.InvalidArgument, "the request could not be read")
	}
	return st
}

// unknownKeyLine is one line of strictQueryParser's message, a bad key's.
var unknownKeyLine = regexp.MustCompile(`^unknown query parameter(?: "` + parameterName + `")?$`)

// decodeLines splits msg into the errors it joins: by line only when every line is an
// unknown key's, as strictQueryParser joins them. Other messages may hold a value as
// sent (grpc-gateway's of a parameter given twice lists the values), whose line break
// must not make the rest of the value read as an error of its own.
func decodeLines(msg string) []string {
	lines := strings.Split(msg, "\n")
	for _, line := range lines {
		if !unknownKeyLine.MatchString(line) {
			return []string{msg}
		}
	}
	return lines
}

// decodeViolation names the field of one decoding error.
func decodeViolation(msg string) *errdetails.BadRequest_FieldViolation {
	for _, m := range decodeMessages {
		if sub := m.pattern.FindStringSubmatch(msg); sub != nil {
			field := m.field
			if field == "" {
				field = sub[1]
			}
			if !quotable(field) {
				field = "body"
			}
			return &errdetails.BadRequest_FieldViolation{Field: field, Description: m.description}
		}
	}
	return &errdetails.BadRequest_FieldViolation{Field: "body", Description: "not valid JSON for this request"}
}
