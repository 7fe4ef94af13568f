package app

import (
	"context"
	"slices"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// History is the patient-history service, as the disclosure service uses it. The call
// carries the caller's identity, so the history service authorises and audits the
// person who asked for the disclosure or the report.
type History interface {
	// Export reads everything the history service holds about the owner: the visits
	// recorded while they owned the patient (with originals and amendments), then their
	// communications, each oldest first.
	Export(ctx context.Context, ownerID string) (HistoryExport, error)
}

// HistoryExport is an owner's visits and communications.
type HistoryExport struct {
	Visits         []VisitRecord
	Communications []Communication
}

// StaffMember is a member of staff named in the history.
type StaffMember struct {
	Subject string `json:"subject,omitempty"`
	Name    string `json:"name,omitempty"`
	Role    string `json:"role,omitempty"`
}

// Diagnosis is a diagnosis, with its optional terminology code.
type Diagnosis struct {
	Text string `json:"text,omitempty"`
	Code string `json:"code,omitempty"`
}

// Procedure is a procedure or treatment performed.
type Procedure struct {
	Description string `json:"description,omitempty"`
	Code        string `json:"code,omitempty"`
}

// Medication is a medicine given or prescribed.
type Medication struct {
	Product  string `json:"product,omitempty"`
	Dose     string `json:"dose,omitempty"`
	Route    string `json:"route,omitempty"`
	Duration string `json:"duration,omitempty"`
}

// InvoiceReference is a visit's invoice in the billing system.
type InvoiceReference struct {
	Number string `json:"number,omitempty"`
	State  string `json:"state,omitempty"`
}

// Visit is a visit's clinical record as the history service gives it. The JSON names
// are the history API's, so that a package and the access report read the same.
type Visit struct {
	ID          string             `json:"id,omitempty"`
	PatientID   string             `json:"patientId,omitempty"`
	Clinic      string             `json:"clinic,omitempty"`
	StartTime   time.Time          `json:"startTime,omitzero"`
	Staff       []StaffMember      `json:"staff,omitempty"`
	Reason      string             `json:"reason,omitempty"`
	Anamnesis   string             `json:"anamnesis,omitempty"`
	Findings    string             `json:"findings,omitempty"`
	Diagnoses   []Diagnosis        `json:"diagnoses,omitempty"`
	Procedures  []Procedure        `json:"procedures,omitempty"`
	Medications []Medication       `json:"medications,omitempty"`
	WeightGrams int64              `json:"weightGrams,omitempty"`
	FollowUp    string             `json:"followUp,omitempty"`
	Invoices    []InvoiceReference `json:"invoices,omitempty"`
	Version     int64              `json:"version,omitempty"`
	CreateTime  time.Time          `json:"createTime,omitzero"`
	UpdateTime  time.Time          `json:"updateTime,omitzero"`
}

// Amendment is a correction of a visit: Corrected holds only the fields it names.
type Amendment struct {
	Version   int64       `json:"version"`
	Time      time.Time   `json:"time,omitzero"`
	Author    StaffMember `json:"author"`
	Reason    string      `json:"reason,omitempty"`
	Fields    []string    `json:"fields,omitempty"`
	Corrected Visit       `json:"corrected"`
}

// VisitRecord is a visit as it reads now, the original once it was amended, and the
// amendments.
type VisitRecord struct {
	Visit      Visit       `json:"visit"`
	Original   *Visit      `json:"original,omitempty"`
	Amendments []Amendment `json:"amendments,omitempty"`
}

// Communication is a contact between the clinic and the owner.
type Communication struct {
	ID         string      `json:"id"`
	PatientID  string      `json:"patientId,omitempty"`
	VisitID    string      `json:"visitId,omitempty"`
	Channel    string      `json:"channel,omitempty"`
	Direction  string      `json:"direction,omitempty"`
	Time       time.Time   `json:"time,omitzero"`
	Subject    string      `json:"subject,omitempty"`
	Summary    string      `json:"summary,omitempty"`
	Staff      StaffMember `json:"staff,omitzero"`
	CreateTime time.Time   `json:"createTime,omitzero"`
}

// historyPayload keeps of an owner's history what the package's categories allow, about
// the chosen patients only (all of the owner's when patients is nil): the visits'
// current view (no originals or amendments: a recipient gets the record as it reads
// now) with
//   - visit_history: the clinical record without medications and invoices,
//   - medications: the medicines,
//   - invoices: the invoice references,
//
// each visit keeping its id, patient, clinic and start time; and communications:
// those about a chosen patient (directly or through one of its visits), or every one
// when no patients were named.
func historyPayload(h HistoryExport, patients []string, has func(...domain.Category) bool) ([]Visit, []Communication) {
	chosen := func(id string) bool { return patients == nil || slices.Contains(patients, id) }
	var visits []Visit
	visitPatient := map[string]string{}
	for _, r := range h.Visits {
		v := r.Visit
		visitPatient[v.ID] = v.PatientID
		if !chosen(v.PatientID) || !has(domain.CategoryVisitHistory, domain.CategoryMedications, domain.CategoryInvoices) {
			continue
		}
		out := Visit{ID: v.ID, PatientID: v.PatientID, Clinic: v.Clinic, StartTime: v.StartTime}
		if has(domain.CategoryVisitHistory) {
			out = v
			out.Medications, out.Invoices = nil, nil
		}
		if has(domain.CategoryMedications) {
			out.Medications = v.Medications
		}
		if has(domain.CategoryInvoices) {
			out.Invoices = v.Invoices
		}
		visits = append(visits, out)
	}
	if !has(domain.CategoryCommunications) {
		return visits, nil
	}
	var comms []Communication
	for _, c := range h.Communications {
		about := c.PatientID
		if about == "" {
			about = visitPatient[c.VisitID]
		}
		if patients == nil || (about != "" && slices.Contains(patients, about)) {
			comms = append(comms, c)
		}
	}
	return visits, comms
}
