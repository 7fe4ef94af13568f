package servicetest

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// Reason returns the machine reason (ErrorInfo) of a FAILED_PRECONDITION, failing the
// test when err is anything else or carries none.
func Reason(tb testing.TB, err error) string {
	tb.Helper()
	return ReasonOf(tb, err, codes.FailedPrecondition)
}

// ReasonOf returns the machine reason (ErrorInfo) of an error with code, failing the
// test when err has another code or carries none.
func ReasonOf(tb testing.TB, err error, code codes.Code) string {
	tb.Helper()
	for _, d := range WantCode(tb, err, code).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	tb.Fatalf("no reason in %v", err)
	return ""
}

// EqualMessages fails the test unless got and want hold equal messages in the same
// order.
func EqualMessages[M proto.Message](tb testing.TB, got, want []M) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d messages %v, want %d: %v", len(got), got, len(want), want)
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			tb.Fatalf("message %d = %v, want %v", i, got[i], want[i])
		}
	}
}
