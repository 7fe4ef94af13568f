package audit_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/audit/audittest"
)

// failing refuses every event, as a store that is down does.
type failing struct{}

func (failing) RecordNow(context.Context, ...audit.Event) error { return errors.New("store down") }

// TestDeny: a refusal is stored before the caller is told, with its rule, and a
// refusal that could not be stored is answered as the audit's failure, not as a
// refusal the owner's access report would miss.
func TestDeny(t *testing.T) {
	refusal := audit.Refusal("x.lift", "owners/o1", "o1", "only the clinic manager lifts")
	var rec audittest.Recorder
	err := audit.Deny(t.Context(), &rec, refusal)
	if st := status.Convert(apperr.ToStatus(t.Context(), nil, err)); st.Code() != codes.PermissionDenied || st.Message() != "only the clinic manager lifts" {
		t.Fatalf("Deny answers %v %q, want the rule as PERMISSION_DENIED", st.Code(), st.Message())
	}
	if got := rec.Events(); len(got) != 1 || !reflect.DeepEqual(got[0], refusal) {
		t.Fatalf("stored %+v, want the refusal", got)
	}
	if err := audit.Deny(t.Context(), failing{}, refusal); err == nil || errors.Is(err, apperr.ErrPermissionDenied) {
		t.Fatalf("Deny with the store down = %v, want the audit's failure", err)
	}
}
