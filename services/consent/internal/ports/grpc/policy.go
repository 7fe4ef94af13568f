package grpc

import (
	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// Role groups of the consent service's policy (DESIGN rule 8). Subcontractors and
// partners are in none of them: they never read an owner's ledger. The disclosure
// service calls with the identity of the staff member who asked for the disclosure
// (forwarded by the platform's client), so its checks fall under that person's role.
var (
	// recorders take the customer's decision at the desk, in the surgery or on the phone.
	recorders = []auth.Role{auth.RoleVeterinarian, auth.RoleNurse, auth.RoleReception, auth.RoleClinicManager}
	// readers see the ledger to answer the customer and to act on it.
	readers = recorders
	// exporters run marketing and statistics exports.
	exporters = []auth.Role{auth.RoleClinicManager}
	// rightsAndJob restrict and erase for a customer's request: the clinic manager and
	// the erasure job.
	rightsAndJob = []auth.Role{auth.RoleClinicManager, auth.RoleErasureJob}
	// maintainer reads consent data only with a stated purpose, which is audited.
	maintainer = []auth.Role{auth.RoleMaintainer}
)

// Policy is the consent service's authorization table: who may call each RPC.
func Policy() auth.Policy {
	m := func(name string) string { return "/" + consentv1.ConsentService_ServiceDesc.ServiceName + "/" + name }
	read := auth.Rule{Roles: readers, WithPurpose: maintainer}
	return auth.Policy{
		m("RecordConsentDecision"): {Roles: recorders},
		m("ListConsentDecisions"):  read,
		m("ListConsents"):          read,
		m("CheckConsent"):          read,
		// An export touches thousands of owners: the clinic manager decides on it; a
		// maintainer runs one only with a stated purpose.
		m("FilterConsents"): {Roles: exporters, WithPurpose: maintainer},
		// The clinic manager handling a customer's request, and the erasure job, which
		// may do nothing else here, and lift no restriction (app.SetRestriction).
		m("SetOwnerRestriction"): {Roles: rightsAndJob},
		m("EraseOwnerData"):      {Roles: rightsAndJob},
	}
}
