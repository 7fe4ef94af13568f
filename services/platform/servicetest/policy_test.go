package servicetest_test

import (
	"fmt"
	"testing"

	"google.golang.org/grpc"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// recorder is a testing.TB that keeps the failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

var desc = &grpc.ServiceDesc{
	ServiceName: "lillvet.test.v1.TestService",
	Methods:     []grpc.MethodDesc{{MethodName: "GetThing"}},
	Streams:     []grpc.StreamDesc{{StreamName: "WatchThings"}},
}

const (
	getThing    = "/lillvet.test.v1.TestService/GetThing"
	watchThings = "/lillvet.test.v1.TestService/WatchThings"
)

func TestCheckPolicyCoversEveryRPC(t *testing.T) {
	rule := auth.Rule{Roles: []auth.Role{auth.RoleNurse}}
	tests := []struct {
		name   string
		policy auth.Policy
		want   []string
	}{
		{"every RPC", auth.Policy{getThing: rule, watchThings: rule}, nil},
		{"a stream left out", auth.Policy{getThing: rule},
			[]string{"no policy rule for WatchThings", "policy has 1 rules for 2 methods"}},
		{"a removed RPC", auth.Policy{getThing: rule, watchThings: rule, "/lillvet.test.v1.TestService/Gone": rule},
			[]string{"policy has 3 rules for 2 methods"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			servicetest.CheckPolicyCoversEveryRPC(r, tt.policy, desc)
			if fmt.Sprint(r.errors) != fmt.Sprint(tt.want) {
				t.Errorf("failures = %q, want %q", r.errors, tt.want)
			}
		})
	}
}

func TestCheckPolicy(t *testing.T) {
	policy := auth.Policy{getThing: {Roles: []auth.Role{auth.RoleNurse}, WithPurpose: []auth.Role{auth.RoleMaintainer}}}
	tests := []struct {
		name string
		rule servicetest.PolicyRule
		want []string
	}{
		{"as the table says", servicetest.PolicyRule{RPC: "GetThing", Allowed: []auth.Role{auth.RoleNurse}, WithPurpose: []auth.Role{auth.RoleMaintainer}}, nil},
		{"a role too many", servicetest.PolicyRule{RPC: "GetThing", Allowed: []auth.Role{auth.RoleNurse, auth.RoleBilling}, WithPurpose: []auth.Role{auth.RoleMaintainer}},
			[]string{"GetThing as billing without purpose: allowed=false, want true", "GetThing as billing with purpose: allowed=false, want true"}},
		{"the purpose forgotten", servicetest.PolicyRule{RPC: "GetThing", Allowed: []auth.Role{auth.RoleNurse}},
			[]string{"GetThing as maintainer with purpose: allowed=true, want false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			servicetest.CheckPolicy(r, policy, desc, []servicetest.PolicyRule{tt.rule})
			if fmt.Sprint(r.errors) != fmt.Sprint(tt.want) {
				t.Errorf("failures = %q, want %q", r.errors, tt.want)
			}
		})
	}
}
