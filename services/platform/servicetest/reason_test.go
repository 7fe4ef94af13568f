package servicetest_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/servicetest"
)

func TestReason(t *testing.T) {
	err := apperr.ToStatus(t.Context(), nil, apperr.Precondition("OWNER_ERASED", "the owner is erased"))
	if got := servicetest.Reason(t, err); got != "OWNER_ERASED" {
		t.Fatalf("reason %q", got)
	}
}

func TestEqualMessages(t *testing.T) {
	a := []*wrapperspb.StringValue{wrapperspb.String("x"), wrapperspb.String("y")}
	b := []*wrapperspb.StringValue{wrapperspb.String("x"), wrapperspb.String("y")}
	servicetest.EqualMessages(t, a, b)
	servicetest.EqualMessages[*wrapperspb.StringValue](t, nil, nil)
}
