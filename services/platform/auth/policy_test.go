package auth_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
)

func TestPolicyCheck(t *testing.T) {
	const (
		get    = "/lillvet.owner.v1.OwnerService/GetOwner"
		reveal = "/lillvet.owner.v1.OwnerService/RevealIdentityCode"
	)
	p := auth.Policy{
		get:    {Roles: []auth.Role{auth.RoleReception, auth.RoleVeterinarian}, WithPurpose: []auth.Role{auth.RoleMaintainer}},
		reveal: {Roles: []auth.Role{auth.RoleBilling}},
	}
	id := func(roles ...auth.Role) auth.Identity {
		return auth.Identity{Subject: "s", Name: "Secret Name", Roles: roles}
	}
	tests := []struct {
		name    string
		method  string
		id      auth.Identity
		purpose string
		wantErr []string
	}{
		{name: "allowed role", method: get, id: id(auth.RoleReception)},
		{name: "one of several roles", method: get, id: id(auth.RoleNurse, auth.RoleVeterinarian)},
		{name: "maintainer with purpose", method: get, id: id(auth.RoleMaintainer), purpose: "ticket 42"},
		{name: "maintainer without purpose", method: get, id: id(auth.RoleMaintainer), wantErr: []string{get, "purpose", "maintainer"}},
		{name: "missing role", method: reveal, id: id(auth.RoleReception), wantErr: []string{reveal, "billing"}},
		{name: "no roles", method: get, id: id(), wantErr: []string{get, "reception"}},
		{name: "unlisted method", method: "/x.Y/Z", id: id(auth.RoleClinicManager), wantErr: []string{"/x.Y/Z", "not in the access policy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.method, tt.id, tt.purpose)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check allowed, want denied")
			}
			// What the caller is told, as the interceptor answers it.
			st := status.Convert(apperr.ToStatus(t.Context(), nil, err))
			if st.Code() != codes.PermissionDenied {
				t.Fatalf("answered %v, want PERMISSION_DENIED", st.Code())
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(st.Message(), w) {
					t.Errorf("message %q does not mention %q", st.Message(), w)
				}
			}
			if strings.Contains(st.Message(), "Secret Name") {
				t.Errorf("message %q leaks the caller's name", st.Message())
			}
		})
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range auth.Roles() {
		got, err := auth.ParseRole(string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	for _, s := range []string{"", "admin", "Veterinarian"} {
		if _, err := auth.ParseRole(s); err == nil {
			t.Errorf("ParseRole(%q) succeeded", s)
		}
	}
}

func FuzzParseRole(f *testing.F) {
	f.Add("nurse")
	f.Add("x")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := auth.ParseRole(s)
		if err == nil && string(r) != s {
			t.Fatalf("ParseRole(%q) = %q", s, r)
		}
	})
}
