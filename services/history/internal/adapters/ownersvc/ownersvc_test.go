package ownersvc

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/apperr"
)

// TestTranslate: the owner service's statuses become this service's errors, and never
// pass through as statuses (the caller would get another service's code and message).
func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		code codes.Code
		want error
	}{
		{codes.NotFound, apperr.ErrNotFound},
		{codes.Unavailable, apperr.ErrUnavailable},
		{codes.DeadlineExceeded, apperr.ErrUnavailable},
		{codes.PermissionDenied, apperr.ErrPermissionDenied},
		{codes.Canceled, context.Canceled},
		{codes.InvalidArgument, nil},
		{codes.Internal, nil},
	} {
		err := translate("GetPatient", status.Error(tc.code, "owner's message"))
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%v became %v, want %v", tc.code, err, tc.want)
		}
		if _, ok := status.FromError(err); ok {
			t.Errorf("%v passed through as a status: %v", tc.code, err)
		}
		var se interface{ GRPCStatus() *status.Status }
		if errors.As(err, &se) {
			t.Errorf("%v wraps the peer's status", tc.code)
		}
	}
}
