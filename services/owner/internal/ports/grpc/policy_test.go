package grpc

import (
	"slices"
	"testing"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// TestPolicyCoversEveryRPC keeps the table and the service in step: an RPC added to the
// proto without a rule would be denied to everyone, and a rule for a removed RPC is dead.
func TestPolicyCoversEveryRPC(t *testing.T) {
	p := Policy()
	desc := ownerv1.OwnerService_ServiceDesc
	for _, m := range desc.Methods {
		if _, ok := p["/"+desc.ServiceName+"/"+m.MethodName]; !ok {
			t.Errorf("no policy rule for %s", m.MethodName)
		}
	}
	if len(p) != len(desc.Methods) {
		t.Errorf("policy has %d rules for %d methods", len(p), len(desc.Methods))
	}
}

func TestPolicy(t *testing.T) {
	method := func(name string) string { return "/" + ownerv1.OwnerService_ServiceDesc.ServiceName + "/" + name }
	all := auth.Roles()
	for _, tc := range []struct {
		rpc     string
		allowed []auth.Role
		purpose []auth.Role // allowed only with a stated purpose
	}{
		{"CreateOwner", readers, nil},
		{"GetOwner", readers, maintainer},
		{"UpdateOwner", readers, nil},
		{"ListOwners", readers, maintainer},
		{"BatchGetOwnerStatus", readers, maintainer},
		{"FindOwnerByIdentityCode", []auth.Role{auth.RoleBilling, auth.RoleClinicManager}, nil},
		{"RevealIdentityCode", []auth.Role{auth.RoleBilling, auth.RoleClinicManager}, nil},
		{"RegisterPatient", clinicStaff, nil},
		{"UpdatePatient", clinicStaff, nil},
		{"GetPatient", readers, maintainer},
		{"TransferPatient", []auth.Role{auth.RoleVeterinarian, auth.RoleReception, auth.RoleClinicManager}, nil},
		{"MarkPatientDeceased", clinicStaff, nil},
	} {
		for _, role := range all {
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
