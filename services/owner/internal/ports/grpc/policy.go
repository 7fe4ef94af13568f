package grpc

import (
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// Role groups of the owner service's policy (DESIGN rule 8). Subcontractors and
// partners are in none of them: nothing of the owner register answers them directly;
// what they receive goes through the disclosure service.
var (
	// clinicStaff treat the animals and serve the customers.
	clinicStaff = []auth.Role{auth.RoleVeterinarian, auth.RoleNurse, auth.RoleReception, auth.RoleClinicManager}
	// readers also include billing, which needs the owner's contact data to invoice.
	readers = append(append([]auth.Role{}, clinicStaff...), auth.RoleBilling)
	// maintainer reads personal data only with a stated purpose, which is audited.
	maintainer = []auth.Role{auth.RoleMaintainer}
	// rights handle the customer's rights: restriction and erasure.
	rights = []auth.Role{auth.RoleClinicManager}
	// rightsAndJob also include the erasure job, which carries an erasure out.
	rightsAndJob = append(append([]auth.Role{}, rights...), auth.RoleErasureJob)
)

// Policy is the owner service's authorization table: who may call each RPC.
func Policy() auth.Policy {
	m := func(name string) string { return "/" + ownerv1.OwnerService_ServiceDesc.ServiceName + "/" + name }
	read := auth.Rule{Roles: readers, WithPurpose: maintainer}
	return auth.Policy{
		m("CreateOwner"):             {Roles: readers},
		m("GetOwner"):                read,
		m("UpdateOwner"):             {Roles: readers},
		m("ListOwners"):              read,
		m("FindOwnerByIdentityCode"): {Roles: []auth.Role{auth.RoleBilling, auth.RoleClinicManager}},
		m("RevealIdentityCode"):      {Roles: []auth.Role{auth.RoleBilling, auth.RoleClinicManager}},
		m("ListOwnerChanges"):        read,
		// The consent service asks with its caller's forwarded identity, so the same
		// roles as reading an owner, and the erasure job's (whose consent steps ask); the
		// answer is only existence and restriction.
		m("BatchGetOwnerStatus"): {Roles: append(append([]auth.Role{}, readers...), auth.RoleErasureJob), WithPurpose: maintainer},
		// The owner's own copy, identity code in full: the clinic manager answers
		// access requests, and states which (the audit event keeps it), as every
		// other way to the full identity code asks for a purpose.
		m("ExportOwner"):                 {WithPurpose: []auth.Role{auth.RoleClinicManager}},
		m("RegisterPatient"):             {Roles: clinicStaff},
		m("GetPatient"):                  read,
		m("UpdatePatient"):               {Roles: clinicStaff},
		m("ListOwnerPatients"):           read,
		m("FindPatientByCustomerNumber"): read,
		m("TransferPatient"): {Roles: []auth.Role{
			auth.RoleVeterinarian, auth.RoleReception, auth.RoleClinicManager,
		}},
		m("MarkPatientDeceased"): {Roles: clinicStaff},
		m("ListPatientChanges"):  read,
		// Restriction and erasure handle the customer's rights: the clinic manager's,
		// and the erasure job's, which may do nothing else.
		m("SetOwnerRestriction"): {Roles: rightsAndJob},
		m("EraseOwnerData"):      {Roles: rightsAndJob},
		// The sweep only removes what is due; the maintainer may run it to operate the
		// service, and it reads nothing back.
		m("RunRetentionSweep"): {Roles: append(append([]auth.Role{}, rights...), maintainer...)},
		// Only the history service's own job tells how long its records name an erased
		// owner: it only ever keeps names longer, and reads nothing back.
		m("ExtendNameRetention"): {Roles: []auth.Role{auth.RoleNameRetentionJob}},
		// The same job tells when no unpaid invoice needs an erased owner's identity
		// code: it only ever drops the code sooner, and reads nothing back.
		m("EndIdentityCodeRetention"): {Roles: []auth.Role{auth.RoleNameRetentionJob}},
	}
}
