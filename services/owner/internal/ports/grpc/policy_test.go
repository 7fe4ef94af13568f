package grpc

import (
	"testing"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestPolicyCoversEveryRPC keeps the table and the service in step: an RPC added to the
// proto without a rule would be denied to everyone, and a rule for a removed RPC is dead.
func TestPolicyCoversEveryRPC(t *testing.T) {
	servicetest.CheckPolicyCoversEveryRPC(t, Policy(), &ownerv1.OwnerService_ServiceDesc)
}

// TestPolicy spells every rule out role by role (servicetest.CheckPolicy asks every
// role, with and without a stated purpose). The roles are written out here, not taken
// from policy.go's groups, so that a role added to a group shows up as a failing row.
func TestPolicy(t *testing.T) {
	type roles = []auth.Role
	const (
		vet     = auth.RoleVeterinarian
		nurse   = auth.RoleNurse
		desk    = auth.RoleReception
		billing = auth.RoleBilling
		manager = auth.RoleClinicManager
		maint   = auth.RoleMaintainer
		erasure = auth.RoleErasureJob
	)
	servicetest.CheckPolicy(t, Policy(), &ownerv1.OwnerService_ServiceDesc, []servicetest.PolicyRule{
		{RPC: "CreateOwner", Allowed: roles{vet, nurse, desk, manager, billing}},
		{RPC: "GetOwner", Allowed: roles{vet, nurse, desk, manager, billing}, WithPurpose: roles{maint}},
		{RPC: "UpdateOwner", Allowed: roles{vet, nurse, desk, manager, billing}},
		{RPC: "ListOwners", Allowed: roles{vet, nurse, desk, manager, billing}, WithPurpose: roles{maint}},
		{RPC: "BatchGetOwnerStatus", Allowed: roles{vet, nurse, desk, manager, billing, erasure}, WithPurpose: roles{maint}},
		{RPC: "FindOwnerByIdentityCode", Allowed: roles{billing, manager}},
		{RPC: "RevealIdentityCode", Allowed: roles{billing, manager}},
		{RPC: "ExportOwner", WithPurpose: roles{manager}},
		{RPC: "RegisterPatient", Allowed: roles{vet, nurse, desk, manager}},
		{RPC: "UpdatePatient", Allowed: roles{vet, nurse, desk, manager}},
		{RPC: "GetPatient", Allowed: roles{vet, nurse, desk, manager, billing}, WithPurpose: roles{maint}},
		{RPC: "TransferPatient", Allowed: roles{vet, desk, manager}},
		{RPC: "MarkPatientDeceased", Allowed: roles{vet, nurse, desk, manager}},
		{RPC: "ListOwnerChanges", Allowed: roles{vet, nurse, desk, manager, billing}, WithPurpose: roles{maint}},
		{RPC: "ListOwnerPatients", Allowed: roles{vet, nurse, desk, manager, billing}, WithPurpose: roles{maint}},
		{RPC: "FindPatientByCustomerNumber", Allowed: roles{vet, nurse, desk, manager, billing}, WithPurpose: roles{maint}},
		{RPC: "ListPatientChanges", Allowed: roles{vet, nurse, desk, manager, billing}, WithPurpose: roles{maint}},
		{RPC: "SetOwnerRestriction", Allowed: roles{manager, erasure}},
		{RPC: "EraseOwnerData", Allowed: roles{manager, erasure}},
		{RPC: "RunRetentionSweep", Allowed: roles{manager, maint}},
		{RPC: "ExtendNameRetention", Allowed: roles{auth.RoleNameRetentionJob}},
		{RPC: "EndIdentityCodeRetention", Allowed: roles{auth.RoleNameRetentionJob}},
	})
}
