package apperr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/telemetry"
)

func TestToStatusCodes(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		code    codes.Code
		message string
		// reason is the ErrorInfo reason; empty: none.
		reason string
		// logged is the level the chain is logged at; empty: not logged.
		logged string
	}{
		{name: "nil", err: nil, code: codes.OK},
		{name: "not found", err: fmt.Errorf("get owner o-1: owner o-1: no matching document: %w", apperr.ErrNotFound), code: codes.NotFound, message: "not found"},
		{name: "not found with a message", err: fmt.Errorf("get owner o-1: %w", apperr.New(apperr.ErrNotFound, "owner %s not found", "o-1")),
			code: codes.NotFound, message: "owner o-1 not found"},
		{name: "the first message in wrapping order", err: fmt.Errorf("transfer: %w: %w", apperr.New(apperr.ErrNotFound, "patient p-1 not found"), apperr.New(apperr.ErrNotFound, "visit v-1 not found")),
			code: codes.NotFound, message: "patient p-1 not found"},
		{name: "the message of the code's kind", err: fmt.Errorf("check: %w: %w", apperr.New(apperr.ErrUnavailable, "the owner could not be checked"), apperr.New(apperr.ErrNotFound, "owner o-1 not found")),
			code: codes.NotFound, message: "owner o-1 not found"},
		{name: "a message of another kind is not told", err: errors.Join(apperr.New(apperr.ErrConflict, "lost to a concurrent change"), fmt.Errorf("owner service GetOwner: %w", apperr.ErrNotFound)),
			code: codes.NotFound, message: "not found"},
		{name: "already exists", err: fmt.Errorf("register: duplicate key: %w", apperr.ErrAlreadyExists), code: codes.AlreadyExists, message: "already exists"},
		{name: "already exists with a reason", err: fmt.Errorf("register: %w", apperr.Exists("MICROCHIP_REGISTERED", "the microchip is on record for another patient")),
			code: codes.AlreadyExists, message: "the microchip is on record for another patient", reason: "MICROCHIP_REGISTERED"},
		{name: "stale version", err: fmt.Errorf("update owner: %w", apperr.ErrVersionMismatch), code: codes.Aborted,
			message: "the record was changed by someone else; read it again", reason: apperr.ReasonVersionMismatch},
		{name: "stale version with a message", err: fmt.Errorf("amend visit v-1: %w", apperr.New(apperr.ErrVersionMismatch, "visit v-1 was amended by someone else since version 2; read it again")),
			code: codes.Aborted, message: "visit v-1 was amended by someone else since version 2; read it again", reason: apperr.ReasonVersionMismatch},
		{name: "contention is no stale version", err: fmt.Errorf("erase owner data: %w", apperr.ErrConflict), code: codes.Aborted,
			message: "the request lost to a concurrent change; send it again"},
		{name: "not found over a conflict", err: errors.Join(fmt.Errorf("delete: %w", apperr.ErrConflict), fmt.Errorf("read: %w", apperr.ErrNotFound)), code: codes.NotFound, message: "not found"},
		{name: "not found over a stale version", err: errors.Join(apperr.ErrVersionMismatch, apperr.ErrNotFound), code: codes.NotFound, message: "not found"},
		{name: "already exists over a conflict", err: errors.Join(apperr.ErrConflict, apperr.ErrAlreadyExists), code: codes.AlreadyExists, message: "already exists"},
		{name: "stale version over unavailable", err: errors.Join(apperr.ErrUnavailable, apperr.ErrVersionMismatch), code: codes.Aborted,
			message: "the record was changed by someone else; read it again", reason: apperr.ReasonVersionMismatch},
		{name: "permission", err: apperr.ErrPermissionDenied, code: codes.PermissionDenied, message: "permission denied"},
		{name: "permission with the rule", err: fmt.Errorf("lift: %w", apperr.New(apperr.ErrPermissionDenied, "only the clinic manager lifts a restriction")),
			code: codes.PermissionDenied, message: "only the clinic manager lifts a restriction"},
		{name: "unavailable", err: fmt.Errorf("owner service GetOwner: Unavailable: %w", apperr.ErrUnavailable), code: codes.Unavailable, message: "the service is unavailable; retry later", logged: "WARN"},
		{name: "unavailable with a message", err: fmt.Errorf("amend: %w", apperr.New(apperr.ErrUnavailable, "the owner's erasure is being applied; retry once it is done")),
			code: codes.Unavailable, message: "the owner's erasure is being applied; retry once it is done", logged: "WARN"},
		{name: "canceled", err: fmt.Errorf("query: %w", context.Canceled), code: codes.Canceled, message: "the request was canceled"},
		{name: "deadline", err: fmt.Errorf("query: %w", context.DeadlineExceeded), code: codes.DeadlineExceeded, message: "the request's deadline was exceeded"},
		{name: "status passes", err: status.Error(codes.PermissionDenied, "only the clinic manager lifts a restriction"),
			code: codes.PermissionDenied, message: "only the clinic manager lifts a restriction"},
		{name: "wrapped status unwrapped", err: fmt.Errorf("call peer: %w", status.Error(codes.NotFound, "peer says no")), code: codes.NotFound, message: "peer says no"},
		{name: "a peer's refusal passes with its reason", err: fmt.Errorf("ask the owner service: %w", apperr.ToStatus(context.Background(), nil, apperr.ErrVersionMismatch)),
			code: codes.Aborted, message: "the record was changed by someone else; read it again", reason: apperr.ReasonVersionMismatch},
		{name: "a peer unavailable is not told its transport's text", err: fmt.Errorf("ask the owner service about owner o-1: %w",
			status.Error(codes.Unavailable, "connection error: desc = \"transport: Error while dialing: dial tcp 10.1.2.3:8443: connect: connection refused\"")),
			code: codes.Unavailable, message: "the service is unavailable; retry later", logged: "WARN"},
		{name: "a peer's deadline", err: fmt.Errorf("read owner o-1: %w", status.Error(codes.DeadlineExceeded, "context deadline exceeded")),
			code: codes.DeadlineExceeded, message: "the request's deadline was exceeded", logged: "WARN"},
		{name: "a peer exhausted", err: fmt.Errorf("export owner o-1: %w", status.Error(codes.ResourceExhausted, "grpc: received message larger than max (5242880 vs. 4194304)")),
			code: codes.ResourceExhausted, message: "a service could not handle the request", logged: "ERROR"},
		{name: "a peer's unknown", err: fmt.Errorf("erase owner o-1: %w", status.Error(codes.Unknown, "proxy 10.1.2.3: upstream reset")),
			code: codes.Unknown, message: "unknown error", logged: "ERROR"},
		{name: "a peer's internal error", err: fmt.Errorf("read consents of owner o-1: %w", status.Error(codes.Internal, "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data")),
			code: codes.Internal, message: "internal error", logged: "ERROR"},
		{name: "unknown is internal", err: errors.New("driver: bad thing with 131052-308T"), code: codes.Internal, message: "internal error", logged: "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			err := apperr.ToStatus(t.Context(), slog.New(slog.NewJSONHandler(&logs, nil)), tt.err)
			st := status.Convert(err)
			if st.Code() != tt.code || st.Message() != tt.message {
				t.Fatalf("status %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.message)
			}
			if got := errorInfoReason(st); got != tt.reason {
				t.Errorf("reason = %q, want %q", got, tt.reason)
			}
			switch {
			case tt.logged == "" && logs.Len() != 0:
				t.Errorf("logged %s", logs.String())
			case tt.logged != "":
				var entry struct{ Level, Error string }
				if err := json.Unmarshal(logs.Bytes(), &entry); err != nil || entry.Level != tt.logged || entry.Error != tt.err.Error() {
					t.Errorf("log %q, want the chain at %s", logs.String(), tt.logged)
				}
			}
		})
	}
}

// An Error is its kind for errors.Is, as the services' retry loops read a version
// mismatch as any conflict.
func TestErrorIsItsKind(t *testing.T) {
	err := fmt.Errorf("update owner o-1: %w", apperr.New(apperr.ErrVersionMismatch, "owner o-1 was changed by someone else since version 3; read it again"))
	for _, target := range []error{apperr.ErrVersionMismatch, apperr.ErrConflict} {
		if !errors.Is(err, target) {
			t.Errorf("%v is no %v", err, target)
		}
	}
	if errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("%v is an ErrNotFound", err)
	}
}

// The client is told only to retry an UNAVAILABLE; the operator reads what was
// unavailable in the log, against the trace id.
func TestUnavailableIsLoggedWithTheChain(t *testing.T) {
	tel, logs, ctx, span := tracedLogs(t)

	cause := fmt.Errorf("owner service GetOwner: Unavailable: %w", apperr.ErrUnavailable)
	st := status.Convert(apperr.ToStatus(ctx, tel.Logger, cause))
	if st.Code() != codes.Unavailable || strings.Contains(st.Message(), "GetOwner") {
		t.Fatalf("status = %v", st)
	}
	if !strings.Contains(logs.String(), "owner service GetOwner") || !strings.Contains(logs.String(), span.SpanContext().TraceID().String()) {
		t.Fatalf("log lacks the chain or the trace id: %s", logs.String())
	}
}

// tracedLogs is telemetry logging into logs, and ctx inside span, whose trace id the
// lines logged under ctx carry.
func tracedLogs(t *testing.T) (*telemetry.Telemetry, *bytes.Buffer, context.Context, trace.Span) {
	t.Helper()
	logs := &bytes.Buffer{}
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "t", LogWriter: logs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := tel.TracerProvider.Tracer("t").Start(t.Context(), "op")
	t.Cleanup(func() { span.End() })
	return tel, logs, ctx, span
}

// errorInfoReason is the reason of st's ErrorInfo; empty without one.
func errorInfoReason(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

func TestValidationDetails(t *testing.T) {
	var v apperr.ValidationError
	if v.Err() != nil {
		t.Fatal("empty ValidationError is an error")
	}
	v.Add("owner.phone", "must be an E.164 number")
	v.Add("owner.name", "is required")
	err := fmt.Errorf("register owner: %w", v.Err())
	st := status.Convert(apperr.ToStatus(t.Context(), nil, err))
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code = %v", st.Code())
	}
	if !strings.Contains(st.Message(), "owner.phone: must be an E.164 number") {
		t.Errorf("message = %q", st.Message())
	}
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			br = b
		}
	}
	if br == nil || len(br.GetFieldViolations()) != 2 || br.GetFieldViolations()[1].GetField() != "owner.name" {
		t.Fatalf("details = %v", st.Details())
	}
}

func TestPreconditionDetails(t *testing.T) {
	const deceased = "the patient is marked deceased"
	reused := status.Convert(apperr.ToStatus(t.Context(), nil, apperr.RequestIDReused("another owner"))).Message()
	tests := []struct {
		name    string
		err     error
		code    codes.Code
		reason  string
		message string
		// failure: the status also carries a PreconditionFailure of the reason.
		failure bool
		// field: the request field a field violation names; empty for none.
		field string
	}{
		{name: "precondition", err: apperr.Precondition("PATIENT_DECEASED", deceased),
			code: codes.FailedPrecondition, reason: "PATIENT_DECEASED", message: deceased, failure: true},
		{name: "start over", err: apperr.Aborted("PATIENT_DECEASED", deceased), code: codes.Aborted,
			reason: "PATIENT_DECEASED", message: deceased},
		{name: "request id reused", err: apperr.RequestIDReused("another owner"), code: codes.FailedPrecondition,
			reason: "REQUEST_ID_REUSED", message: reused, failure: true, field: "request_id"},
		{name: "request id used up", err: apperr.RequestIDReused(""), code: codes.FailedPrecondition,
			reason: "REQUEST_ID_REUSED", message: "the request id was used before and cannot be used again", failure: true, field: "request_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := status.Convert(apperr.ToStatus(t.Context(), nil, fmt.Errorf("transfer: %w", tt.err)))
			if st.Code() != tt.code || st.Message() != tt.message {
				t.Fatalf("status = %v, want %v", st, tt.code)
			}
			var info *errdetails.ErrorInfo
			var pf *errdetails.PreconditionFailure
			var br *errdetails.BadRequest
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					info = d
				case *errdetails.PreconditionFailure:
					pf = d
				case *errdetails.BadRequest:
					br = d
				}
			}
			if info.GetReason() != tt.reason || info.GetDomain() != apperr.Domain {
				t.Errorf("ErrorInfo = %v", info)
			}
			if got := len(pf.GetViolations()) == 1 && pf.GetViolations()[0].GetType() == tt.reason &&
				pf.GetViolations()[0].GetSubject() == tt.field; got != tt.failure {
				t.Errorf("PreconditionFailure = %v, want one: %v", pf, tt.failure)
			}
			var fields []string
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
			if want := strings.Fields(tt.field); !slices.Equal(fields, want) {
				t.Errorf("field violations on %q, want on %q", fields, want)
			}
		})
	}
}

func TestInternalIsLoggedWithTraceID(t *testing.T) {
	tel, logs, ctx, span := tracedLogs(t)

	icpt := apperr.UnaryServerInterceptor(tel.Logger)
	_, err := icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/m"}, func(context.Context, any) (any, error) {
		return nil, errors.New("boom")
	})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), span.SpanContext().TraceID().String()) {
		t.Fatalf("log lacks cause or trace id: %s", logs.String())
	}
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"", ""},
		{"Äijä", ""},
		{"12345", "must be at most 4 characters"},
		{"a\x00b", "must not contain control characters"},
		{"a\u0085b", "must not contain control characters"},
		{"\xff", "must be valid UTF-8"},
	} {
		var v apperr.ValidationError
		v.CheckText("f", tc.in, 4)
		got := ""
		if len(v.Violations) > 0 {
			got = v.Violations[0].Description
		}
		if got != tc.want {
			t.Errorf("CheckText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUUID(t *testing.T) {
	const id = "0190b1b4-0000-7000-8000-00000000abcd"
	for _, tc := range []struct {
		in, want, violation string
	}{
		{id, id, ""},
		{strings.ToUpper(id), id, ""},
		{"{" + id + "}", id, ""},
		{"urn:uuid:" + id, id, ""},
		{"", "", "id: is required"},
		{"owner-1", "owner-1", "id: must be a UUID"},
	} {
		var v apperr.ValidationError
		got := v.UUID("id", tc.in)
		violation := ""
		if err := v.Err(); err != nil {
			violation = strings.TrimPrefix(err.Error(), "invalid request: ")
		}
		if got != tc.want || violation != tc.violation {
			t.Errorf("UUID(%q) = %q with %q, want %q with %q", tc.in, got, violation, tc.want, tc.violation)
		}
	}
}

func TestCheckRequestID(t *testing.T) {
	keyed := metadata.NewIncomingContext(context.Background(), metadata.Pairs(apperr.MetadataIdempotencyKey, " key-1 "))
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		body     string
		want     string
		violated bool
	}{
		{"none", context.Background(), "", "", false},
		{"body", context.Background(), " req-1 ", "req-1", false},
		{"header", keyed, "", "key-1", false},
		{"body wins over header", keyed, "req-1", "req-1", false},
		{"too long", context.Background(), strings.Repeat("x", 129), strings.Repeat("x", 129), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v apperr.ValidationError
			if got := v.CheckRequestID(tc.ctx, tc.body); got != tc.want {
				t.Errorf("request id %q, want %q", got, tc.want)
			}
			if (v.Err() != nil) != tc.violated {
				t.Errorf("violations %v, want violated=%v", v.Violations, tc.violated)
			}
		})
	}
}

func TestCheckMultilineText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"", ""},
		{"a\r\n\tb", ""},
		{"123456", "must be at most 5 characters"},
		{"a\x00b", "must not contain control characters other than line breaks and tabs"},
		{"a\u0085b", "must not contain control characters other than line breaks and tabs"},
		{"\xff", "must be valid UTF-8"},
	} {
		var v apperr.ValidationError
		v.CheckMultilineText("f", tc.in, 5)
		got := ""
		if len(v.Violations) > 0 {
			got = v.Violations[0].Description
		}
		if got != tc.want {
			t.Errorf("CheckMultilineText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCheckRequestIDRefusesIdentityCode(t *testing.T) {
	for _, tc := range []struct {
		name, body, key string
		want            string
	}{
		{"UUID", "3f2a1c52-0d1e-4b7a-9c1d-131052308000", "", ""},
		{"code in the body", "131052-308T", "", apperr.IdentityCodeViolation},
		{"code in the Idempotency-Key", "", "hetu-131052-308T", apperr.IdentityCodeViolation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(apperr.MetadataIdempotencyKey, tc.key))
			var v apperr.ValidationError
			v.CheckRequestID(ctx, tc.body)
			got := ""
			if len(v.Violations) > 0 {
				got = v.Violations[0].Field + ": " + v.Violations[0].Description
			}
			if want := "request_id: " + tc.want; tc.want != "" && got != want || tc.want == "" && got != "" {
				t.Errorf("CheckRequestID = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckTextRefusesIdentityCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"code in a reason", "asiakas 131052-308T soitti", apperr.IdentityCodeViolation},
		{"lower case in brackets", "soitti (hetu 010190y123m)", apperr.IdentityCodeViolation},
		{"soft hyphen inside (Word's optional hyphen)", "asiakas 131052\u00ad-308T soitti", apperr.IdentityCodeViolation},
		{"zero-width space inside (copied from a web page)", "asiakas 131052\u200b-308T soitti", apperr.IdentityCodeViolation},
		{"byte order mark before", "\ufeff131052-308T", apperr.IdentityCodeViolation},
		{"full-width", "hetu １３１０５２-３０８Ｔ", apperr.IdentityCodeViolation},
		{"Armenian hyphen for the sign", "hetu 131052\u058a308T", apperr.IdentityCodeViolation},
		{"combining grapheme joiner inside", "hetu 131052\u034f-308T", apperr.IdentityCodeViolation},
		{"variation selector inside", "hetu 131052-308\ufe0fT", apperr.IdentityCodeViolation},
		{"Hangul filler inside", "hetu 131052\u3164-308T", apperr.IdentityCodeViolation},
		{"emoji keycap digits", "hetu 1\ufe0f\u20e33\ufe0f\u20e31\ufe0f\u20e30\ufe0f\u20e35\ufe0f\u20e32\ufe0f\u20e3-308T", apperr.IdentityCodeViolation},
		{"emoji and soft hyphens without a code", "perhe 👨\u200d👩\u200d👧 ja 1\ufe0f\u20e3 koiran\u00adruoka", ""},
		{"reference with a code inside", "claim X131052-308T", ""},
		{"ordinary text", "moved to Tampere", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checks := map[string]func(*apperr.ValidationError){
				"CheckText":           func(v *apperr.ValidationError) { v.CheckText("reason", tc.in, 100) },
				"CheckMultilineText":  func(v *apperr.ValidationError) { v.CheckMultilineText("reason", tc.in, 100) },
				"CheckNoIdentityCode": func(v *apperr.ValidationError) { v.CheckNoIdentityCode("reason", tc.in) },
			}
			for name, check := range checks {
				var v apperr.ValidationError
				check(&v)
				got := ""
				if len(v.Violations) > 0 {
					got = v.Violations[0].Description
				}
				if got != tc.want {
					t.Errorf("%s(%q) = %q, want %q", name, tc.in, got, tc.want)
				}
				st, _ := status.FromError(apperr.ToStatus(context.Background(), nil, v.Err()))
				if strings.Contains(strings.ToUpper(st.Message()), "308T") || strings.Contains(strings.ToUpper(st.Message()), "123M") {
					t.Errorf("%s: status %q repeats the code", name, st.Message())
				}
			}
		})
	}
}

// TestCheckNoIdentityCodeInNumber: a structured number refuses only a code with a
// letter in it, so that invoices numbered as a date, a hyphen and four digits pass,
// and says so rather than advising how to write a date.
func TestCheckNoIdentityCodeInNumber(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"131052-308T", apperr.IdentityCodeInNumberViolation},
		{"INV/010124A0730", apperr.IdentityCodeInNumberViolation},
		{"010124-0730", ""},
		{"2026-118", ""},
	} {
		var v apperr.ValidationError
		v.CheckNoIdentityCodeInNumber("number", tc.in)
		got := ""
		if len(v.Violations) > 0 {
			got = v.Violations[0].Description
		}
		if got != tc.want {
			t.Errorf("CheckNoIdentityCodeInNumber(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// An ExistsError is an ErrAlreadyExists, as the repositories' contracts promise.
func TestExistsIsErrAlreadyExists(t *testing.T) {
	err := fmt.Errorf("create owner: %w", apperr.Exists("IDENTITY_CODE_REGISTERED", "the identity code is already on record"))
	if !errors.Is(err, apperr.ErrAlreadyExists) {
		t.Errorf("%v is no ErrAlreadyExists", err)
	}
}
