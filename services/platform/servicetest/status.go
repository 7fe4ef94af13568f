package servicetest

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// WantCode fails the test unless err is a status with code want, and returns it.
func WantCode(tb testing.TB, err error, want codes.Code) *status.Status {
	tb.Helper()
	st, _ := status.FromError(err)
	if st.Code() != want {
		tb.Fatalf("got %v (%v), want %v", st.Code(), err, want)
	}
	return st
}

// Violations returns the fields of an INVALID_ARGUMENT's field violations, failing the
// test when err is anything else or names no field.
func Violations(tb testing.TB, err error) []string {
	tb.Helper()
	st := WantCode(tb, err, codes.InvalidArgument)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) == 0 {
		tb.Fatalf("no field violations in %v", err)
	}
	return fields
}
