package grpc

import (
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// Role groups of the disclosure service's policy (DESIGN rule 8).
var (
	// managers decide whom the clinic discloses to: registering and deactivating a
	// recipient is a controller decision (its country, its contract).
	managers = []auth.Role{auth.RoleClinicManager}
	// disclosers send a package: the clinic manager; a veterinarian (health
	// examinations for Kennelliitto and Kissaliitto, insurance claims, microchip
	// registrations) and reception (insurance claims at the customer's request). Only the
	// clinic manager discloses to a subcontractor, which the use case enforces per kind.
	// Nurses and billing do not disclose; billing's invoices go out through the
	// patient-history service's data, not this door.
	disclosers = []auth.Role{auth.RoleClinicManager, auth.RoleVeterinarian, auth.RoleReception}
	// readers see the recipients and the log, to answer the customer.
	readers = []auth.Role{auth.RoleVeterinarian, auth.RoleNurse, auth.RoleReception, auth.RoleClinicManager}
	// maintainer reads only with a stated purpose, which is audited.
	maintainer = []auth.Role{auth.RoleMaintainer}
	// accessRecorders record an access request: the clinic manager, who handles the
	// customer's rights, and reception, where a customer hands in a letter or asks in
	// person. Recording at the desk starts the one-month clock on the day the request
	// arrived; everything after it (extending, answering, reading the requests back) is
	// the clinic manager's.
	accessRecorders = []auth.Role{auth.RoleClinicManager, auth.RoleReception}
	// partners are registered recipients: they read what was disclosed to them, and
	// nothing else in the register answers them.
	partners = []auth.Role{auth.RolePartner}
)

// Policy is the disclosure service's authorization table: who may call each RPC.
func Policy() auth.Policy {
	m := func(name string) string {
		return "/" + disclosurev1.DisclosureService_ServiceDesc.ServiceName + "/" + name
	}
	read := auth.Rule{Roles: readers, WithPurpose: maintainer}
	return auth.Policy{
		m("CreateRecipient"):        {Roles: managers},
		m("GetRecipient"):           read,
		m("ListRecipients"):         read,
		m("DeactivateRecipient"):    {Roles: managers},
		m("CreateDisclosure"):       {Roles: disclosers},
		m("GetDisclosure"):          read,
		m("ListOwnerDisclosures"):   read,
		m("ListPartnerDisclosures"): {Roles: partners},
		m("GetPartnerDisclosure"):   {Roles: partners},
		// Access requests are the clinic manager's; a maintainer reads them only with a
		// stated purpose.
		m("RecordAccessRequest"):     {Roles: accessRecorders},
		m("GetAccessRequest"):        {Roles: managers, WithPurpose: maintainer},
		m("ListOwnerAccessRequests"): {Roles: managers, WithPurpose: maintainer},
		m("ExtendAccessRequest"):     {Roles: managers},
		// The report holds the identity code in full and everything else about the
		// owner: only the clinic manager, who answers the request, gives it; a
		// maintainer never reads it, whatever the purpose.
		m("GetAccessReport"):         {Roles: managers},
		m("GetAccessReportDocument"): {Roles: managers},
		// Erasure requests are the clinic manager's, who handles the customer's rights:
		// recording one starts erasing the owner everywhere, and resuming a stuck one is
		// deciding that the cause was fixed. A maintainer operating the job reads it
		// (the steps, their error codes) only with a stated purpose.
		m("CreateErasureRequest"):     {Roles: managers},
		m("GetErasureRequest"):        {Roles: managers, WithPurpose: maintainer},
		m("ListOwnerErasureRequests"): {Roles: managers, WithPurpose: maintainer},
		m("ResumeErasureRequest"):     {Roles: managers},
		// Telling recipients of a rectification is the controller's duty (Art. 19),
		// carried out by the clinic manager.
		m("ListRectificationRecipients"): {Roles: managers, WithPurpose: maintainer},
		// The retention sweep removes only what the rules say is due; the clinic
		// manager or a maintainer runs it on demand (it also runs periodically).
		m("RunRetentionSweep"): {Roles: append(append([]auth.Role{}, managers...), maintainer...)},
	}
}
