package history_test

import (
	"testing"
	"time"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// TestMaintainerRoleCountsOnlyWithAPurpose: the maintainer reads personal data only
// with a stated purpose. A token that also holds billing or reception is let in
// through that role without one, and then reads as that role: billing sees no
// clinical text, reception no restricted visit. With a purpose it reads as the
// maintainer.
func TestMaintainerRoleCountsOnlyWithAPurpose(t *testing.T) {
	f := setup(t)
	open := f.recordVisit(t, f.newPatient(t, f.newOwner(t), "Nappi").GetId(), time.Time{})
	_, restricted := f.restrictedVisit(t)
	const purpose = "support case 7"
	for _, tc := range []struct {
		name     string
		roles    []auth.Role
		purpose  string
		text     bool // reads the clinical text
		readsOld bool // reads the restricted visit
	}{
		{"billing and maintainer without a purpose", []auth.Role{auth.RoleBilling, auth.RoleMaintainer}, "", false, true},
		{"billing and maintainer with a purpose", []auth.Role{auth.RoleBilling, auth.RoleMaintainer}, purpose, true, true},
		{"reception and maintainer without a purpose", []auth.Role{auth.RoleReception, auth.RoleMaintainer}, "", true, false},
		{"reception and maintainer with a purpose", []auth.Role{auth.RoleReception, auth.RoleMaintainer}, purpose, true, true},
		{"maintainer with a purpose", []auth.Role{auth.RoleMaintainer}, purpose, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := auth.WithOutgoingToken(t.Context(), f.env.Token(t, tc.roles...), tc.purpose)
			got, err := f.history.GetVisit(ctx, &historyv1.GetVisitRequest{VisitId: open.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			if text := got.GetVisit().GetFindings() != ""; text != tc.text {
				t.Errorf("reads the clinical text: %v, want %v", text, tc.text)
			}
			_, err = f.history.GetVisit(ctx, &historyv1.GetVisitRequest{VisitId: restricted.GetId()})
			switch {
			case tc.readsOld && err != nil:
				t.Errorf("read of the restricted visit: %v", err)
			case !tc.readsOld && reason(t, err) != "VISIT_RESTRICTED":
				t.Errorf("read of the restricted visit: %v, want VISIT_RESTRICTED", err)
			}
		})
	}
}
