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
// role, with and without a stated purpose).
func TestPolicy(t *testing.T) {
	servicetest.CheckPolicy(t, Policy(), &ownerv1.OwnerService_ServiceDesc, []servicetest.PolicyRule{
		{RPC: "CreateOwner", Allowed: readers},
		{RPC: "GetOwner", Allowed: readers, WithPurpose: maintainer},
		{RPC: "UpdateOwner", Allowed: readers},
		{RPC: "ListOwners", Allowed: readers, WithPurpose: maintainer},
		{RPC: "BatchGetOwnerStatus", Allowed: append(append([]auth.Role{}, readers...), auth.RoleErasureJob), WithPurpose: maintainer},
		{RPC: "FindOwnerByIdentityCode", Allowed: []auth.Role{auth.RoleBilling, auth.RoleClinicManager}},
		{RPC: "RevealIdentityCode", Allowed: []auth.Role{auth.RoleBilling, auth.RoleClinicManager}},
		{RPC: "ExportOwner", WithPurpose: []auth.Role{auth.RoleClinicManager}},
		{RPC: "RegisterPatient", Allowed: clinicStaff},
		{RPC: "UpdatePatient", Allowed: clinicStaff},
		{RPC: "GetPatient", Allowed: readers, WithPurpose: maintainer},
		{RPC: "TransferPatient", Allowed: []auth.Role{auth.RoleVeterinarian, auth.RoleReception, auth.RoleClinicManager}},
		{RPC: "MarkPatientDeceased", Allowed: clinicStaff},
		{RPC: "ListOwnerChanges", Allowed: readers, WithPurpose: maintainer},
		{RPC: "ListOwnerPatients", Allowed: readers, WithPurpose: maintainer},
		{RPC: "FindPatientByCustomerNumber", Allowed: readers, WithPurpose: maintainer},
		{RPC: "ListPatientChanges", Allowed: readers, WithPurpose: maintainer},
		{RPC: "SetOwnerRestriction", Allowed: []auth.Role{auth.RoleClinicManager, auth.RoleErasureJob}},
		{RPC: "EraseOwnerData", Allowed: []auth.Role{auth.RoleClinicManager, auth.RoleErasureJob}},
		{RPC: "RunRetentionSweep", Allowed: []auth.Role{auth.RoleClinicManager, auth.RoleMaintainer}},
		{RPC: "ExtendNameRetention", Allowed: []auth.Role{auth.RoleNameRetentionJob}},
		{RPC: "EndIdentityCodeRetention", Allowed: []auth.Role{auth.RoleNameRetentionJob}},
	})
}
