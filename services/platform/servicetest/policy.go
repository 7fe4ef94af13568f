package servicetest

import (
	"slices"
	"testing"

	"google.golang.org/grpc"

	"github.com/lillvet/register/services/platform/auth"
)

// PolicyRule is what a test expects of the rule for one RPC.
type PolicyRule struct {
	// RPC is the method name without the service, e.g. "GetOwner".
	RPC     string
	Allowed []auth.Role
	// WithPurpose are the roles allowed only with a stated purpose.
	WithPurpose []auth.Role
}

// CheckPolicyCoversEveryRPC keeps a policy table and its service in step: an RPC
// (unary or streaming) added to the proto without a rule would be denied to everyone,
// and a rule for a removed RPC is dead.
func CheckPolicyCoversEveryRPC(tb testing.TB, p auth.Policy, desc *grpc.ServiceDesc) {
	tb.Helper()
	var names []string
	for _, m := range desc.Methods {
		names = append(names, m.MethodName)
	}
	for _, s := range desc.Streams {
		names = append(names, s.StreamName)
	}
	for _, name := range names {
		if _, ok := p[fullMethod(desc, name)]; !ok {
			tb.Errorf("no policy rule for %s", name)
		}
	}
	if len(p) != len(names) {
		tb.Errorf("policy has %d rules for %d methods", len(p), len(names))
	}
}

// CheckPolicy asks the policy about every rule for every role, with and without a
// stated purpose, so that a change to a role group shows as a changed expectation.
func CheckPolicy(tb testing.TB, p auth.Policy, desc *grpc.ServiceDesc, rules []PolicyRule) {
	tb.Helper()
	for _, r := range rules {
		method := fullMethod(desc, r.RPC)
		for _, role := range auth.Roles() {
			id := auth.Identity{Subject: "s", Roles: []auth.Role{role}}
			want := slices.Contains(r.Allowed, role)
			if got := p.Check(method, id, "") == nil; got != want {
				tb.Errorf("%s as %s without purpose: allowed=%v, want %v", r.RPC, role, got, want)
			}
			want = want || slices.Contains(r.WithPurpose, role)
			if got := p.Check(method, id, "support case 7") == nil; got != want {
				tb.Errorf("%s as %s with purpose: allowed=%v, want %v", r.RPC, role, got, want)
			}
		}
	}
}

func fullMethod(desc *grpc.ServiceDesc, name string) string {
	return "/" + desc.ServiceName + "/" + name
}
