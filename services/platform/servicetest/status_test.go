package servicetest_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/servicetest"
)

func TestViolations(t *testing.T) {
	var v apperr.ValidationError
	v.Add("owner_id", "is required")
	v.Add("purpose", "is not a known purpose")
	err := apperr.ToStatus(t.Context(), nil, v.Err())
	if got := servicetest.Violations(t, err); !slices.Equal(got, []string{"owner_id", "purpose"}) {
		t.Fatalf("violations %v", got)
	}
	if st := servicetest.WantCode(t, err, codes.InvalidArgument); st.Message() == "" {
		t.Fatal("no message")
	}
}
