// Package apperr is the one place where domain errors become gRPC statuses:
// services return these sentinels and types (wrapped with context), and the
// server interceptor translates them. What a status says is always text written for
// the client: an Error's message (New), a ValidationError's fields, a
// PreconditionError's or ExistsError's description, else a fixed text of the code;
// never the wrap chain, which names internal calls and store wording (the
// conventions' "never status.Errorf(code, err.Error())"). A peer service's status
// passes on as it came, but for a failure of the peer or the way to it (UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNKNOWN, INTERNAL), whose text may be the
// transport's, naming internal addresses: that keeps its code with a fixed text, and its
// chain is logged. Unknown errors become Internal with a generic message while the cause
// is logged, never sent.
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

// Sentinel errors, the kinds of error the client is told apart by. Wrapped with
// context (which must hold no personal data) a sentinel answers its code with a fixed
// text (see genericMessage): the context is for the logs and the tests. Where the
// client can act on more, say it with New.
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

// Error is a sentinel (its kind) with a message written for the client: ToStatus
// answers the kind's code with this message instead of the fixed text. It is its kind
// for errors.Is, so the services' retry loops and checks read it as the bare sentinel.
type Error struct {
	kind    error
	message string
}

// New returns an Error of kind, one of the sentinels above, saying what the client
// can act on: which of the records the request names was not found, that a record
// changed since the version sent, when to retry. The message is sent as written, so
// it must hold no personal data (names, identity codes, phone numbers; ids are fine)
// and no internal wording (calls, stores); context for the logs goes in wrapping, as
// fmt.Errorf("get owner %s: %w", id, apperr.New(...)).
func New(kind error, format string, args ...any) error {
	return &Error{kind: kind, message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return e.message }

// Unwrap makes an Error its kind for errors.Is.
func (e *Error) Unwrap() error { return e.kind }

// As fills a *kindMessage of e's kind with e's message, for ToStatus.
func (e *Error) As(target any) bool {
	m, ok := target.(*kindMessage)
	if !ok || !errors.Is(e.kind, m.kind) {
		return false
	}
	m.message = e.message
	return true
}

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

// MaxRequestIDLen bounds client request ids; the gateway refuses a longer
// Idempotency-Key before forwarding it.
const MaxRequestIDLen = 128

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
	if len(id) > MaxRequestIDLen {
		v.Add("request_id", fmt.Sprintf("must be at most %d characters", MaxRequestIDLen))
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

// peerFailures are the codes of a peer's status that say the peer, or the way to it,
// failed: their text is the peer's or the transport's ("dial tcp 10.1.2.3:8443:
// connect: connection refused"), not written for this service's client, so ToStatus
// answers the code with a fixed text and logs the chain at the level given. A peer's
// other codes (NOT_FOUND, PERMISSION_DENIED, a refusal with its details) answer what
// the client asked and pass as they came.
var peerFailures = map[codes.Code]struct {
	level   slog.Level
	message string
}{
	codes.Unavailable:      {slog.LevelWarn, "the service is unavailable; retry later"},
	codes.DeadlineExceeded: {slog.LevelWarn, "the request's deadline was exceeded"},
	// gRPC answers a message over the size limit RESOURCE_EXHAUSTED too, which no retry
	// mends: the text promises nothing, and the chain is logged for the operators.
	codes.ResourceExhausted: {slog.LevelError, "a service could not handle the request"},
	codes.Unknown:           {slog.LevelError, "unknown error"},
	codes.Internal:          {slog.LevelError, "internal error"},
}

// ToStatus translates err into a gRPC status error. Errors that already are
// statuses pass unchanged, but for a peer's failure (see peerFailures); that and
// unknown errors are logged (with the context's trace id, through a telemetry
// logger), the latter answered with "internal error".
func ToStatus(ctx context.Context, logger *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if st, ok := asStatus(err); ok {
		failure, failed := peerFailures[st.Code()]
		if !failed {
			return st.Err()
		}
		if logger != nil {
			logger.Log(ctx, failure.level, "peer failure", slog.String("code", st.Code().String()), slog.String("error", err.Error()))
		}
		return status.Error(st.Code(), failure.message)
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
	// Without an Error of its kind, a sentinel answers the fixed text: the wrap chain is
	// internal context, never sent.
	for _, m := range []struct {
		target  error
		code    codes.Code
		reason  string
		generic string
	}{
		{ErrNotFound, codes.NotFound, "", "not found"},
		{ErrAlreadyExists, codes.AlreadyExists, "", "already exists"},
		{ErrVersionMismatch, codes.Aborted, ReasonVersionMismatch, "the record was changed by someone else; read it again"},
		{ErrConflict, codes.Aborted, "", "the request lost to a concurrent change; send it again"},
		{ErrPermissionDenied, codes.PermissionDenied, "", "permission denied"},
		{ErrUnavailable, codes.Unavailable, "", "the service is unavailable; retry later"},
		{context.Canceled, codes.Canceled, "", "the request was canceled"},
		{context.DeadlineExceeded, codes.DeadlineExceeded, "", "the request's deadline was exceeded"},
	} {
		if !errors.Is(err, m.target) {
			continue
		}
		if m.code == codes.Unavailable && logger != nil {
			// The client is told only to retry; the chain says what was unavailable
			// (a peer, the audit log, a contended record), and sentinels are wrapped
			// with context that holds no personal data.
			logger.WarnContext(ctx, "unavailable", slog.String("error", err.Error()))
		}
		st := status.New(m.code, clientMessage(err, m.target, m.generic))
		if m.reason != "" {
			return withDetails(st, &errdetails.ErrorInfo{Reason: m.reason, Domain: Domain})
		}
		return st.Err()
	}
	if logger != nil {
		logger.ErrorContext(ctx, "internal error", slog.String("error", err.Error()))
	}
	return status.Error(codes.Internal, "internal error")
}

// clientMessage is the message of the first Error of kind target in err's tree, in
// wrapping order (errors.As visits the tree depth first: an Error and what it wraps
// before the next of a join), as a layer nearer the request knows best what the client
// asked for. Without one it is generic.
func clientMessage(err, target error, generic string) string {
	m := kindMessage{kind: target}
	if errors.As(err, &m) {
		return m.message
	}
	return generic
}

// kindMessage is the errors.As target that finds the message of an Error of a kind
// (see Error.As): an error of another kind may come first in a tree errors.Join made.
type kindMessage struct {
	kind    error
	message string
}

func (m kindMessage) Error() string { return m.message }

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
