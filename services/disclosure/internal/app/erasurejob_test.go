package app

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		err       error
		code      string
		permanent bool
	}{
		{status.Error(codes.Unavailable, "down"), "UNAVAILABLE", false},
		{fmt.Errorf("erase owner o-1: %w", status.Error(codes.DeadlineExceeded, "slow")), "DEADLINE_EXCEEDED", false},
		{status.Error(codes.Aborted, "raced"), "ABORTED", false},
		{status.Error(codes.Internal, "bug"), "INTERNAL", false},
		{status.Error(codes.Unimplemented, "not upgraded yet"), "UNIMPLEMENTED", false},
		{status.Error(codes.Unauthenticated, "expired"), "UNAUTHENTICATED", false},
		{status.Error(codes.Unauthenticated, CodeNoCredentials), CodeNoCredentials, false},
		{status.Error(codes.InvalidArgument, "bad"), "INVALID_ARGUMENT", true},
		{status.Error(codes.FailedPrecondition, "rule"), "FAILED_PRECONDITION", true},
		{status.Error(codes.PermissionDenied, "role"), "PERMISSION_DENIED", true},
		{status.Error(codes.NotFound, "gone"), "NOT_FOUND", true},
		{status.Error(codes.Canceled, "stopping"), "CANCELLED", false},
		{errors.New("no status"), "UNKNOWN", false},
	}
	for _, tt := range tests {
		code, permanent := classify(tt.err)
		if code != tt.code || permanent != tt.permanent {
			t.Errorf("classify(%v) = %s, %v; want %s, %v", tt.err, code, permanent, tt.code, tt.permanent)
		}
	}
}
