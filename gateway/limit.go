package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// limitBody answers 413 to a request body over maxBytes. A declared
// Content-Length is refused before anything is read; any other body
// (chunked) is read whole, at most maxBytes+1 bytes, before the route's handler
// runs, so a body cut at the limit never reaches a service half-read.
func limitBody(maxBytes int64, errs errorWriter) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			if r.Body == nil || r.Body == http.NoBody {
				next(w, r, params)
				return
			}
			tooLarge := status.New(codes.ResourceExhausted, fmt.Sprintf("request body is larger than %d bytes", maxBytes))
			if r.ContentLength > maxBytes {
				errs.write(r.Context(), w, errs.marshaler, http.StatusRequestEntityTooLarge, tooLarge)
				return
			}
			// MaxBytesReader also makes the server close the connection
			// rather than read on through the rest of an oversized body.
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
			if err != nil {
				if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
					errs.write(r.Context(), w, errs.marshaler, http.StatusRequestEntityTooLarge, tooLarge)
					return
				}
				errs.write(r.Context(), w, errs.marshaler, http.StatusBadRequest, status.New(codes.InvalidArgument, "request body could not be read"))
				return
			}
			buffered := r.WithContext(r.Context())
			buffered.Body = io.NopCloser(bytes.NewReader(body))
			buffered.ContentLength = int64(len(body))
			next(w, buffered, params)
		}
	}
}

// capDeadline ends the backend call of every route after limit. grpc-gateway sets the
// client's Grpc-Timeout, if any, as a deadline under the request's context, so the
// earlier of the two ends the call: a shorter one still wins, a longer one is capped.
// A call cut off fails DEADLINE_EXCEEDED, which the error handler answers 504.
func capDeadline(limit time.Duration) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			ctx, cancel := context.WithTimeout(r.Context(), limit)
			defer cancel()
			next(w, r.WithContext(ctx), params)
		}
	}
}
