package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	// Registers google.rpc.BadRequest and the other standard details, so
	// that the services' field violations are marshalled with their @type
	// instead of failing the whole error response.
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
	if httpStatus == 0 {
		httpStatus = runtime.HTTPStatusFromCode(st.Code())
	}
	e.write(ctx, w, m, httpStatus, e.public(ctx, st))
}

// public hides what a partner has no use for: transport failures name
// internal addresses and unknown errors may carry anything. The cause of an
// unavailable backend is logged for the operators; it names hosts, never a
// person.
func (e errorWriter) public(ctx context.Context, st *status.Status) *status.Status {
	switch st.Code() {
	case codes.Unavailable:
		e.logger.WarnContext(ctx, "backend unavailable", "rpc", rpcMethod(ctx), "cause", st.Message())
		return status.New(codes.Unavailable, "service temporarily unavailable, retry later")
	case codes.Unknown:
		e.logger.WarnContext(ctx, "backend call failed with an unknown error", "rpc", rpcMethod(ctx))
		return status.New(codes.Internal, "internal error")
	}
	return st
}

func rpcMethod(ctx context.Context) string {
	m, _ := runtime.RPCMethod(ctx)
	return m
}

// write marshals st; every error response the gateway sends goes through it.
func (e errorWriter) write(ctx context.Context, w http.ResponseWriter, m runtime.Marshaler, httpStatus int, st *status.Status) {
	body, err := m.Marshal(st.Proto())
	if err != nil {
		e.logger.ErrorContext(ctx, "marshal error response", "code", st.Code().String(), "error", err)
		httpStatus = http.StatusInternalServerError
		body = []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", m.ContentType(st.Proto()))
	if st.Code() == codes.Unauthenticated {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	w.WriteHeader(httpStatus)
	// A failed write means the client has gone; there is no one to tell.
	_, _ = w.Write(body)
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
