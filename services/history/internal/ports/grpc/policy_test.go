package grpc

import (
	"testing"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestPolicyCoversEveryRPC keeps the table and the service in step: an RPC added to the
// proto without a rule would be denied to everyone, and a rule for a removed RPC is dead.
func TestPolicyCoversEveryRPC(t *testing.T) {
	servicetest.CheckPolicyCoversEveryRPC(t, Policy(), &historyv1.HistoryService_ServiceDesc)
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
	servicetest.CheckPolicy(t, Policy(), &historyv1.HistoryService_ServiceDesc, []servicetest.PolicyRule{
		{RPC: "RecordVisit", Allowed: []auth.Role{vet, nur}},
		{RPC: "ListPatientVisits", Allowed: []auth.Role{vet, nur, rec, mgr, bil}, WithPurpose: []auth.Role{mnt}},
		{RPC: "GetVisit", Allowed: []auth.Role{vet, nur, rec, mgr, bil}, WithPurpose: []auth.Role{mnt}},
		{RPC: "AmendVisit", Allowed: []auth.Role{vet, nur, bil}},
		{RPC: "RecordCommunication", Allowed: []auth.Role{vet, nur, rec, mgr}},
		{RPC: "ListOwnerCommunications", Allowed: []auth.Role{vet, nur, rec, mgr}, WithPurpose: []auth.Role{mnt}},
		{RPC: "ListOwnerTimeline", Allowed: []auth.Role{vet, nur, rec, mgr, bil}, WithPurpose: []auth.Role{mnt}},
		{RPC: "ExportOwnerHistory", Allowed: []auth.Role{vet, nur, rec, mgr}, WithPurpose: []auth.Role{mnt}},
		{RPC: "EraseOwnerData", Allowed: []auth.Role{mgr, auth.RoleErasureJob}},
		{RPC: "RunRetentionSweep", Allowed: []auth.Role{mgr, mnt}},
	})
}
