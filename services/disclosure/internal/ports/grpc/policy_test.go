package grpc

import (
	"slices"
	"testing"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// TestPolicyCoversEveryRPC keeps the table and the service in step: an RPC added to the
// proto without a rule would be denied to everyone, and a rule for a removed RPC is dead.
func TestPolicyCoversEveryRPC(t *testing.T) {
	p := Policy()
	desc := disclosurev1.DisclosureService_ServiceDesc
	for _, m := range desc.Methods {
		if _, ok := p["/"+desc.ServiceName+"/"+m.MethodName]; !ok {
			t.Errorf("no policy rule for %s", m.MethodName)
		}
	}
	if len(p) != len(desc.Methods) {
		t.Errorf("policy has %d rules for %d methods", len(p), len(desc.Methods))
	}
}

// TestPolicy spells every rule out role by role, so that a change to a role group shows
// here as a changed expectation.
func TestPolicy(t *testing.T) {
	method := func(name string) string {
		return "/" + disclosurev1.DisclosureService_ServiceDesc.ServiceName + "/" + name
	}
	var (
		vet, nurse, desk = auth.RoleVeterinarian, auth.RoleNurse, auth.RoleReception
		manager, maint   = auth.RoleClinicManager, auth.RoleMaintainer
		staff            = []auth.Role{vet, nurse, desk, manager}
	)
	for _, tc := range []struct {
		rpc     string
		allowed []auth.Role
		purpose []auth.Role // allowed only with a stated purpose
	}{
		{"CreateRecipient", []auth.Role{manager}, nil},
		{"GetRecipient", staff, []auth.Role{maint}},
		{"ListRecipients", staff, []auth.Role{maint}},
		{"DeactivateRecipient", []auth.Role{manager}, nil},
		{"CreateDisclosure", []auth.Role{manager, vet, desk}, nil},
		{"GetDisclosure", staff, []auth.Role{maint}},
		{"ListOwnerDisclosures", staff, []auth.Role{maint}},
		{"ListPartnerDisclosures", []auth.Role{auth.RolePartner}, nil},
		{"GetPartnerDisclosure", []auth.Role{auth.RolePartner}, nil},
		{"RecordAccessRequest", []auth.Role{manager, desk}, nil},
		{"GetAccessRequest", []auth.Role{manager}, []auth.Role{maint}},
		{"ListOwnerAccessRequests", []auth.Role{manager}, []auth.Role{maint}},
		{"ExtendAccessRequest", []auth.Role{manager}, nil},
	} {
		for _, role := range auth.Roles() {
			id := auth.Identity{Subject: "s", Roles: []auth.Role{role}}
			want := slices.Contains(tc.allowed, role)
			if got := Policy().Check(method(tc.rpc), id, "") == nil; got != want {
				t.Errorf("%s as %s without purpose: allowed=%v, want %v", tc.rpc, role, got, want)
			}
			want = want || slices.Contains(tc.purpose, role)
			if got := Policy().Check(method(tc.rpc), id, "support case 7") == nil; got != want {
				t.Errorf("%s as %s with purpose: allowed=%v, want %v", tc.rpc, role, got, want)
			}
		}
	}
}
