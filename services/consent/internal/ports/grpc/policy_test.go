package grpc

import (
	"testing"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestPolicyCoversEveryRPC keeps the table and the service in step: an RPC added to the
// proto without a rule would be denied to everyone, and a rule for a removed RPC is dead.
func TestPolicyCoversEveryRPC(t *testing.T) {
	servicetest.CheckPolicyCoversEveryRPC(t, Policy(), &consentv1.ConsentService_ServiceDesc)
}

// TestPolicy spells every rule out role by role, so that a change to a role group shows
// here as a changed expectation.
func TestPolicy(t *testing.T) {
	var (
		vet, nurse, desk = auth.RoleVeterinarian, auth.RoleNurse, auth.RoleReception
		manager, maint   = auth.RoleClinicManager, auth.RoleMaintainer
		staff            = []auth.Role{vet, nurse, desk, manager}
	)
	servicetest.CheckPolicy(t, Policy(), &consentv1.ConsentService_ServiceDesc, []servicetest.PolicyRule{
		{RPC: "RecordConsentDecision", Allowed: staff},
		{RPC: "ListConsentDecisions", Allowed: staff, WithPurpose: []auth.Role{maint}},
		{RPC: "ListConsents", Allowed: staff, WithPurpose: []auth.Role{maint}},
		{RPC: "CheckConsent", Allowed: staff, WithPurpose: []auth.Role{maint}},
		{RPC: "FilterConsents", Allowed: []auth.Role{manager}, WithPurpose: []auth.Role{maint}},
		{RPC: "SetOwnerRestriction", Allowed: []auth.Role{manager, auth.RoleErasureJob}},
		{RPC: "EraseOwnerData", Allowed: []auth.Role{manager, auth.RoleErasureJob}},
	})
}
