package grpc

import (
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// Role groups of the history service's policy (DESIGN rule 8). Subcontractors and
// partners are in none of them: what they receive goes through the disclosure service.
var (
	// clinicians treat the animals: they record and correct the clinical record.
	clinicians = []auth.Role{auth.RoleVeterinarian, auth.RoleNurse}
	// clinicStaff read the history and keep in touch with the customers.
	clinicStaff = []auth.Role{auth.RoleVeterinarian, auth.RoleNurse, auth.RoleReception, auth.RoleClinicManager}
	// visitReaders also include billing, which sees the invoice view of visits (invoice
	// references and their state, no clinical text).
	visitReaders = append(append([]auth.Role{}, clinicStaff...), auth.RoleBilling)
	// amenders are the clinicians and billing, which may correct only invoices (the
	// use case enforces the field rule).
	amenders = append(append([]auth.Role{}, clinicians...), auth.RoleBilling)
	// maintainer reads personal data only with a stated purpose, which is audited.
	maintainer = []auth.Role{auth.RoleMaintainer}
	// exporters read an owner's whole history in one stream: the clinic manager for the
	// customer's access report, and the staff who disclose (reception, veterinarians),
	// whose token the disclosure service forwards when a package holds visits,
	// medications, invoices or communications. Each of them reads the same visits and
	// communications through the lists already; billing, which sees only the invoice
	// view, does not export.
	exporters = clinicStaff
	// rightsHandlers answer the customers' access requests, and the erasure job carries
	// an erasure out (it may do nothing else).
	rightsHandlers = []auth.Role{auth.RoleClinicManager, auth.RoleErasureJob}
	// sweepers run the retention sweep: the clinic manager, and the maintainer, who
	// operates the system (the sweep deletes by date and returns no personal data).
	sweepers = []auth.Role{auth.RoleClinicManager, auth.RoleMaintainer}
)

// Policy is the history service's authorization table: who may call each RPC.
func Policy() auth.Policy {
	m := func(name string) string { return "/" + historyv1.HistoryService_ServiceDesc.ServiceName + "/" + name }
	return auth.Policy{
		m("RecordVisit"):             {Roles: clinicians},
		m("ListPatientVisits"):       {Roles: visitReaders, WithPurpose: maintainer},
		m("GetVisit"):                {Roles: visitReaders, WithPurpose: maintainer},
		m("AmendVisit"):              {Roles: amenders},
		m("RecordCommunication"):     {Roles: clinicStaff},
		m("ListOwnerCommunications"): {Roles: clinicStaff, WithPurpose: maintainer},
		m("ListOwnerTimeline"):       {Roles: visitReaders, WithPurpose: maintainer},
		m("ExportOwnerHistory"):      {Roles: exporters, WithPurpose: maintainer},
		m("EraseOwnerData"):          {Roles: rightsHandlers},
		m("RunRetentionSweep"):       {Roles: sweepers},
	}
}
