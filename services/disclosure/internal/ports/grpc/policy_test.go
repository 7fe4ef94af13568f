package grpc

import (
	"testing"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestPolicyCoversEveryRPC keeps the table and the service in step: an RPC added to the
// proto without a rule would be denied to everyone, and a rule for a removed RPC is dead.
func TestPolicyCoversEveryRPC(t *testing.T) {
	servicetest.CheckPolicyCoversEveryRPC(t, Policy(), &disclosurev1.DisclosureService_ServiceDesc)
}

// TestPolicy spells every rule out role by role, so that a change to a role group shows
// here as a changed expectation.
func TestPolicy(t *testing.T) {
	var (
		vet, nurse, desk = auth.RoleVeterinarian, auth.RoleNurse, auth.RoleReception
		manager, maint   = auth.RoleClinicManager, auth.RoleMaintainer
		staff            = []auth.Role{vet, nurse, desk, manager}
	)
	servicetest.CheckPolicy(t, Policy(), &disclosurev1.DisclosureService_ServiceDesc, []servicetest.PolicyRule{
		{RPC: "CreateRecipient", Allowed: []auth.Role{manager}},
		{RPC: "GetRecipient", Allowed: staff, WithPurpose: []auth.Role{maint}},
		{RPC: "ListRecipients", Allowed: staff, WithPurpose: []auth.Role{maint}},
		{RPC: "DeactivateRecipient", Allowed: []auth.Role{manager}},
		{RPC: "CreateDisclosure", Allowed: []auth.Role{manager, vet, desk}},
		{RPC: "GetDisclosure", Allowed: staff, WithPurpose: []auth.Role{maint}},
		{RPC: "ListOwnerDisclosures", Allowed: staff, WithPurpose: []auth.Role{maint}},
		{RPC: "ListPartnerDisclosures", Allowed: []auth.Role{auth.RolePartner}},
		{RPC: "GetPartnerDisclosure", Allowed: []auth.Role{auth.RolePartner}},
		{RPC: "RecordAccessRequest", Allowed: []auth.Role{manager, desk}},
		{RPC: "GetAccessRequest", Allowed: []auth.Role{manager}, WithPurpose: []auth.Role{maint}},
		{RPC: "ListOwnerAccessRequests", Allowed: []auth.Role{manager}, WithPurpose: []auth.Role{maint}},
		{RPC: "ExtendAccessRequest", Allowed: []auth.Role{manager}},
		{RPC: "GetAccessReport", Allowed: []auth.Role{manager}},
		{RPC: "GetAccessReportDocument", Allowed: []auth.Role{manager}},
		{RPC: "CreateErasureRequest", Allowed: []auth.Role{manager}},
		{RPC: "GetErasureRequest", Allowed: []auth.Role{manager}, WithPurpose: []auth.Role{maint}},
		{RPC: "ListOwnerErasureRequests", Allowed: []auth.Role{manager}, WithPurpose: []auth.Role{maint}},
		{RPC: "ResumeErasureRequest", Allowed: []auth.Role{manager}},
		{RPC: "ListRectificationRecipients", Allowed: []auth.Role{manager}, WithPurpose: []auth.Role{maint}},
		{RPC: "RunRetentionSweep", Allowed: []auth.Role{manager, maint}},
	})
}
