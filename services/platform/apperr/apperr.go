// Package apperr is the one place where domain errors become gRPC statuses:
// services return these sentinels and types (wrapped with context), and the
// server interceptor translates them. Unknown errors become Internal with a
// generic message while the cause is logged, never sent.
package apperr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/lillvet/register/services/platform/identitycode"
)

// Domain is the ErrorInfo domain of the register's errors.
const Domain = "lillvet.fi"

// Sentinel errors; wrap them with context that holds no personal data.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict is a write that lost to concurrent ones: ABORTED without a reason, as
	// nothing the client sent was out of date. Only the version the client sent makes
	// it ErrVersionMismatch.
	ErrConflict         = errors.New("conflict: changed concurrently")
	ErrPermissionDenied = errors.New("permission denied")
	ErrUnavailable      = errors.New("unavailable")
	// ErrVersionMismatch is the ErrConflict of a version the client sent that is no
	// longer the stored one (see ReasonVersionMismatch). The retry loops of the services
	// take it as any ErrConflict.
	ErrVersionMismatch error = versionMismatch{}
)

type versionMismatch struct{}

func (versionMismatch) Error() string { return "conflict: the resource was changed by someone else" }

// Unwrap makes a version mismatch an ErrConflict for errors.Is.
func (versionMismatch) Unwrap() error { return ErrConflict }

// ReasonVersionMismatch is the reason of the ABORTED that answers ErrVersionMismatch:
// the record changed since the version the request was based on, so the client reads
// it again and decides anew. Without a reason a REST client could not tell it from the
// other 409s (ALREADY_EXISTS, a disclosure's NOT_COMPLETED) but by parsing the
// message. A conflict inside the service (ErrConflict alone) carries none: the
// client's version was not at fault, and rereading would change nothing.
const ReasonVersionMismatch = "VERSION_MISMATCH"

// MetadataIdempotencyKey is the gRPC metadata key the gateway fills from the REST
// Idempotency-Key header.
const MetadataIdempotencyKey = "idempotency-key"

// maxRequestIDLen bounds client request ids.
const maxRequestIDLen = 128

// FieldViolation is one invalid request field.
type FieldViolation struct {
	Field       string
	Description string
}

// ValidationError collects every invalid field of a request, so that the
// caller can fix them all at once.
type ValidationError struct {
	Violations []FieldViolation
}

// Add records an invalid field. The description must not repeat the value.
func (v *ValidationError) Add(field, description string) {
	v.Violations = append(v.Violations, FieldViolation{Field: field, Description: description})
}

// CheckText records field as invalid when the free text s is not valid UTF-8, is longer
// than maxLen characters, holds control characters (which no name, address or
// reference legitimately contains) or a personal identity code (CheckNoIdentityCode).
// An empty s passes: whether a field is required is the caller's rule.
func (v *ValidationError) CheckText(field, s string, maxLen int) {
	v.checkText(field, s, maxLen, unicode.IsControl, "must not contain control characters")
}

// CheckMultilineText is CheckText for notes that may span lines (clinical findings, a
// summary of a call): line feeds, carriage returns and tabs are allowed, other control
// characters are not.
func (v *ValidationError) CheckMultilineText(field, s string, maxLen int) {
	v.checkText(field, s, maxLen, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
	}, "must not contain control characters other than line breaks and tabs")
}

func (v *ValidationError) checkText(field, s string, maxLen int, forbidden func(rune) bool, problem string) {
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > maxLen:
		v.Add(field, fmt.Sprintf("must be at most %d characters", maxLen))
	case strings.ContainsFunc(s, forbidden):
		v.Add(field, problem)
	default:
		v.CheckNoIdentityCode(field, s)
	}
}

// IdentityCodeViolation describes a field refused for holding a personal identity code.
// It also tells what to change when the text only looks like one (about one in 31
// dates written DDMMYY followed by a hyphen and four characters do; see
// docs/DATA_PROTECTION.md).
const IdentityCodeViolation = "must not contain a personal identity code or text shaped like one " +
	"(six digits, a hyphen and four characters): write a date and time such as 1.1.2024 klo 7.30"

// CheckNoIdentityCode records field as invalid when the text s holds a personal
// identity code. The code has its own field where it belongs (encrypted, masked,
// revealed only with an audited purpose); typed into a reason, a note or a stated
// purpose it would be stored, audited and shown in clear, so such text is refused
// rather than trimmed, and the violation never repeats it.
func (v *ValidationError) CheckNoIdentityCode(field, s string) {
	if identitycode.Contains(s) {
		v.Add(field, IdentityCodeViolation)
	}
}

// IdentityCodeInNumberViolation describes a structured number or code (an invoice
// number, a diagnosis code) refused for holding a personal identity code. Only a code
// with a letter in it is refused there (see CheckNoIdentityCodeInNumber), so a number
// written as a date, a hyphen and four digits always passes.
const IdentityCodeInNumberViolation = "must not contain a personal identity code " +
	"(six digits, a hyphen or century letter, three digits and a check character that is a letter)"

// CheckNoIdentityCodeInNumber records field as invalid when the structured number s
// holds a personal identity code with a letter in it (identitycode.ContainsLettered).
// Such numbers are often a date, a hyphen and four digits, one in 31 of which is
// shaped like a code; refusing them would refuse ordinary invoices, so this check
// lets the all-digit codes of people born in the 1900s through. See
// docs/DATA_PROTECTION.md.
func (v *ValidationError) CheckNoIdentityCodeInNumber(field, s string) {
	if identitycode.ContainsLettered(s) {
		v.Add(field, IdentityCodeInNumberViolation)
	}
}

// UUID returns the id in field as the register issues ids (lower case, hyphenated, as
// uuid.String writes it), and records field as invalid when id is empty or not a UUID.
// A UUID in another form uuid.Parse reads (capitals, braces, urn:uuid:) names the same
// record, so the lookups, the stores and the audit events (which the owner's access
// report reads by owner id) must use the id this returns, never the one as written.
func (v *ValidationError) UUID(field, id string) string {
	if id == "" {
		v.Add(field, "is required")
		return id
	}
	u, err := uuid.Parse(id)
	if err != nil {
		v.Add(field, "must be a UUID")
		return id
	}
	return u.String()
}

// CheckRequestID returns the client's request id of a create: the body's, else the
// Idempotency-Key the gateway forwards as metadata; too long an id, or one holding an
// identity code (it is stored with what it created), is a violation of request_id.
func (v *ValidationError) CheckRequestID(ctx context.Context, fromBody string) string {
	id := strings.TrimSpace(fromBody)
	if id == "" {
		if vals := metadata.ValueFromIncomingContext(ctx, MetadataIdempotencyKey); len(vals) > 0 {
			id = strings.TrimSpace(vals[0])
		}
	}
	if len(id) > maxRequestIDLen {
		v.Add("request_id", fmt.Sprintf("must be at most %d characters", maxRequestIDLen))
	} else {
		v.CheckNoIdentityCode("request_id", id)
	}
	return id
}

// Err returns v as an error, or nil when nothing was added.
func (v *ValidationError) Err() error {
	if len(v.Violations) == 0 {
		return nil
	}
	return v
}

func (v *ValidationError) Error() string {
	parts := make([]string, len(v.Violations))
	for i, f := range v.Violations {
		parts[i] = f.Field + ": " + f.Description
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// PreconditionError is a request the current state does not allow (a deceased
// patient, a recipient outside the EU/EEA). Reason is an UPPER_SNAKE code
// clients can act on.
type PreconditionError struct {
	Reason      string
	Description string
	// Field is the request field the refusal is about, when one is: a client shows it
	// where it shows the fields of a bad request, as a field violation.
	Field string
	// StartOver answers ABORTED instead of FAILED_PRECONDITION (see Aborted).
	StartOver bool
}

func (p *PreconditionError) Error() string {
	return p.Reason + ": " + p.Description
}

// Precondition returns a PreconditionError.
func Precondition(reason, description string) error {
	return &PreconditionError{Reason: reason, Description: description}
}

// Aborted returns a PreconditionError answered ABORTED: the operation was given up
// midway and the client must start it over as a new one (a create under a new request
// id). gRPC clients resend neither code as the same call; ABORTED says that this call
// cannot succeed whatever the client fixes.
func Aborted(reason, description string) error {
	return &PreconditionError{Reason: reason, Description: description, StartOver: true}
}

// ExistsError is a value another record holds, which a record may not share (an
// identity code, a microchip number): ALREADY_EXISTS with Reason, an UPPER_SNAKE code
// clients can act on. It is an ErrAlreadyExists.
type ExistsError struct {
	Reason      string
	Description string
}

func (e *ExistsError) Error() string { return e.Reason + ": " + e.Description }

// Unwrap makes an ExistsError an ErrAlreadyExists for errors.Is.
func (e *ExistsError) Unwrap() error { return ErrAlreadyExists }

// Exists returns an ExistsError. The description must not repeat the value.
func Exists(reason, description string) error {
	return &ExistsError{Reason: reason, Description: description}
}

// RequestIDReused refuses a create whose client request id was used for something
// else, used, as "another owner": answering it with the first record would tell the
// caller their create was done when it was not, and show them someone else's data.
// The refusal is about the request_id field, which the client must change.
//
// With used empty the refusal says only that the id cannot be used again, for a record
// that is to be neither described nor made again (an erased owner): the caller may be
// its own retry, which "another" would misinform and a new request id would turn into a
// second record of the same person, or someone else, who must be told the same.
func RequestIDReused(used string) error {
	description := "the request id was used for " + used + "; send this request with a new request id"
	if used == "" {
		description = "the request id was used before and cannot be used again"
	}
	return &PreconditionError{Reason: "REQUEST_ID_REUSED", Field: "request_id", Description: description}
}

// ToStatus translates err into a gRPC status error. Errors that already are
// statuses pass unchanged; unknown errors are logged (with the context's
// trace id, through a telemetry logger) and answered with "internal error".
func ToStatus(ctx context.Context, logger *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if st, ok := asStatus(err); ok {
		return st.Err()
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return validationStatus(ve)
	}
	var pe *PreconditionError
	if errors.As(err, &pe) {
		return preconditionStatus(pe)
	}
	var ee *ExistsError
	if errors.As(err, &ee) {
		return withDetails(status.New(codes.AlreadyExists, ee.Description), &errdetails.ErrorInfo{Reason: ee.Reason, Domain: Domain})
	}
	// In this order when err joins several: a record gone or a value held elsewhere
	// tells more than a conflict, which reading the record again would turn into them.
	for _, m := range []struct {
		target error
		code   codes.Code
		reason string
	}{
		{ErrNotFound, codes.NotFound, ""},
		{ErrAlreadyExists, codes.AlreadyExists, ""},
		{ErrVersionMismatch, codes.Aborted, ReasonVersionMismatch},
		{ErrConflict, codes.Aborted, ""},
		{ErrPermissionDenied, codes.PermissionDenied, ""},
		{ErrUnavailable, codes.Unavailable, ""},
		{context.Canceled, codes.Canceled, ""},
		{context.DeadlineExceeded, codes.DeadlineExceeded, ""},
	} {
		if !errors.Is(err, m.target) {
			continue
		}
		if m.reason != "" {
			return withDetails(status.New(m.code, err.Error()), &errdetails.ErrorInfo{Reason: m.reason, Domain: Domain})
		}
		return status.Error(m.code, err.Error())
	}
	if logger != nil {
		logger.ErrorContext(ctx, "internal error", slog.String("error", err.Error()))
	}
	return status.Error(codes.Internal, "internal error")
}

func asStatus(err error) (*status.Status, bool) {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return nil, false
	}
	return se.GRPCStatus(), true
}

func validationStatus(ve *ValidationError) error {
	st := status.New(codes.InvalidArgument, ve.Error())
	br := &errdetails.BadRequest{}
	for _, f := range ve.Violations {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: f.Field, Description: f.Description,
		})
	}
	return withDetails(st, br)
}

func preconditionStatus(pe *PreconditionError) error {
	if pe.StartOver {
		return withDetails(status.New(codes.Aborted, pe.Description), &errdetails.ErrorInfo{Reason: pe.Reason, Domain: Domain})
	}
	st := status.New(codes.FailedPrecondition, pe.Description)
	details := []protoadapt.MessageV1{
		&errdetails.ErrorInfo{Reason: pe.Reason, Domain: Domain},
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{
			{Type: pe.Reason, Subject: pe.Field, Description: pe.Description},
		}},
	}
	if pe.Field != "" {
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: pe.Field, Description: pe.Description},
		}})
	}
	return withDetails(st, details...)
}

func withDetails(st *status.Status, details ...protoadapt.MessageV1) error {
	withD, err := st.WithDetails(details...)
	if err != nil {
		// Details only fail to marshal on a programming error; the code and
		// message still reach the client.
		return st.Err()
	}
	return withD.Err()
}

// UnaryServerInterceptor translates handler errors with ToStatus.
func UnaryServerInterceptor(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, ToStatus(ctx, logger, err)
		}
		return resp, nil
	}
}

// StreamServerInterceptor translates stream handler errors with ToStatus.
func StreamServerInterceptor(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := handler(srv, ss); err != nil {
			return ToStatus(ss.Context(), logger, err)
		}
		return nil
	}
}
