package grpc

import (
	"slices"
	"testing"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// TestPolicyCoversEveryRPC keeps the table and the service in step: an RPC added to the
// proto without a rule would be denied to everyone, and a rule for a removed RPC is dead.
func TestPolicyCoversEveryRPC(t *testing.T) {
	p := Policy()
	desc := historyv1.HistoryService_ServiceDesc
	var names []string
	for _, m := range desc.Methods {
		names = append(names, m.MethodName)
	}
	for _, s := range desc.Streams {
		names = append(names, s.StreamName)
	}
	for _, name := range names {
		if _, ok := p["/"+desc.ServiceName+"/"+name]; !ok {
			t.Errorf("no policy rule for %s", name)
		}
	}
	if len(p) != len(names) {
		t.Errorf("policy has %d rules for %d methods", len(p), len(names))
	}
}

// TestPolicy spells out, for every RPC and every role, who is let in.
func TestPolicy(t *testing.T) {
	const (
		vet = auth.RoleVeterinarian
		nur = auth.RoleNurse
		rec = auth.RoleReception
		bil = auth.RoleBilling
		mgr = auth.RoleClinicManager
		mnt = auth.RoleMaintainer
	)
	method := func(name string) string { return "/" + historyv1.HistoryService_ServiceDesc.ServiceName + "/" + name }
	for _, tc := range []struct {
		rpc     string
		allowed []auth.Role
		purpose []auth.Role // allowed only with a stated purpose
	}{
		{"RecordVisit", []auth.Role{vet, nur}, nil},
		{"ListPatientVisits", []auth.Role{vet, nur, rec, mgr, bil}, []auth.Role{mnt}},
		{"GetVisit", []auth.Role{vet, nur, rec, mgr, bil}, []auth.Role{mnt}},
		{"AmendVisit", []auth.Role{vet, nur, bil}, nil},
		{"RecordCommunication", []auth.Role{vet, nur, rec, mgr}, nil},
		{"ListOwnerCommunications", []auth.Role{vet, nur, rec, mgr}, []auth.Role{mnt}},
		{"ListOwnerTimeline", []auth.Role{vet, nur, rec, mgr, bil}, []auth.Role{mnt}},
		{"ExportOwnerHistory", []auth.Role{mgr}, []auth.Role{mnt}},
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
