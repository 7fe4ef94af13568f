package domain

import (
	"fmt"
	"time"
)

// RecordClass is a class of the owner's records with one retention rule.
type RecordClass string

// The record classes of DESIGN rule 7.
const (
	// ClassPatientRecords: visits, treatments and diagnoses (the patient record).
	ClassPatientRecords RecordClass = "patient_records"
	// ClassMedicineRecords: medicines prescribed, dispensed or used.
	ClassMedicineRecords RecordClass = "medicine_records"
	// ClassInvoices: invoices and their references (bookkeeping material).
	ClassInvoices RecordClass = "invoices"
	// ClassIdentityCode: the owner's personal identity code, held for billing.
	ClassIdentityCode RecordClass = "identity_code"
)

// RecordClasses returns the classes in the order results list them.
func RecordClasses() []RecordClass {
	return []RecordClass{ClassPatientRecords, ClassMedicineRecords, ClassInvoices, ClassIdentityCode}
}

// Retention is the configured retention periods, in whole years. The defaults are the
// legal minima, and a configuration may lengthen them but never shorten them.
type Retention struct {
	// PatientRecordsYears counts from the last entry about the animal (MMMa
	// 6/EEO/2000 §7: at least three years).
	PatientRecordsYears int
	// MedicineRecordsYears counts from the last medicine entry.
	MedicineRecordsYears int
	// InvoiceYears counts from the end of the year of the invoice (Kirjanpitolaki
	// 2:10: six years from the end of the financial year; Lillvet's is the calendar
	// year).
	InvoiceYears int
}

// The legal minima and a sanity bound on the periods.
const (
	minPatientRecordsYears  = 3
	minMedicineRecordsYears = 5
	minInvoiceYears         = 6
	maxRetentionYears       = 50
)

// DefaultRetention returns the legal minima.
func DefaultRetention() Retention {
	return Retention{
		PatientRecordsYears: minPatientRecordsYears, MedicineRecordsYears: minMedicineRecordsYears,
		InvoiceYears: minInvoiceYears,
	}
}

// Validate reports a period below its legal minimum or above fifty years.
func (r Retention) Validate() error {
	for _, p := range []struct {
		name     string
		years    int
		minYears int
	}{
		{"patient records", r.PatientRecordsYears, minPatientRecordsYears},
		{"medicine records", r.MedicineRecordsYears, minMedicineRecordsYears},
		{"invoices", r.InvoiceYears, minInvoiceYears},
	} {
		if p.years < p.minYears || p.years > maxRetentionYears {
			return fmt.Errorf("retention of %s: %d years is outside [%d, %d]", p.name, p.years, p.minYears, maxRetentionYears)
		}
	}
	return nil
}

// RetentionFacts is what a service knows about one owner's records when it erases them.
// A zero time means the owner has no records of that class. Patient records are kept
// per animal ("from the last entry about the animal"): the history service decides them
// once per animal, with that animal's last entry.
type RetentionFacts struct {
	LastPatientEntry  time.Time
	LastMedicineEntry time.Time
	LastInvoice       time.Time
	HasIdentityCode   bool
	// UnpaidInvoices is set while an invoice of the owner is unpaid, which keeps the
	// identity code (needed to collect it).
	UnpaidInvoices bool
}

// RetentionDecision says of one record class whether it is kept, on what legal basis
// (a text key of the report texts) and until which day inclusive. Until is zero for
// what is kept only while a condition holds (the identity code) and for what is erased.
type RetentionDecision struct {
	Class RecordClass
	Keep  bool
	Basis string
	Until Date
}

// The legal-basis text keys of retention decisions.
const (
	BasisKeyVeterinaryRecords = "basis.veterinary_records"
	BasisKeyMedicineRecords   = "basis.medicine_records"
	BasisKeyBookkeeping       = "basis.bookkeeping"
	BasisKeyUnpaidInvoice     = "basis.unpaid_invoice"
)

// Decide returns, for each class the owner has records of, whether an erasure on the
// day today keeps it and until when, in the order of RecordClasses. A record is kept
// through its Until day and erased after it; loc is the clinic's time zone, in which
// entry times become days. Kept records are restricted, not used, until then.
func (r Retention) Decide(f RetentionFacts, today Date, loc *time.Location) []RetentionDecision {
	var out []RetentionDecision
	dated := func(c RecordClass, basis string, until Date) {
		d := RetentionDecision{Class: c}
		if !today.After(until) {
			d.Keep, d.Basis, d.Until = true, basis, until
		}
		out = append(out, d)
	}
	if !f.LastPatientEntry.IsZero() {
		dated(ClassPatientRecords, BasisKeyVeterinaryRecords, DateOf(f.LastPatientEntry, loc).AddYears(r.PatientRecordsYears))
	}
	if !f.LastMedicineEntry.IsZero() {
		dated(ClassMedicineRecords, BasisKeyMedicineRecords, DateOf(f.LastMedicineEntry, loc).AddYears(r.MedicineRecordsYears))
	}
	if !f.LastInvoice.IsZero() {
		year := DateOf(f.LastInvoice, loc).Year
		dated(ClassInvoices, BasisKeyBookkeeping, Date{Year: year + r.InvoiceYears, Month: time.December, Day: 31})
	}
	if f.HasIdentityCode {
		d := RetentionDecision{Class: ClassIdentityCode}
		if f.UnpaidInvoices {
			d.Keep, d.Basis = true, BasisKeyUnpaidInvoice
		}
		out = append(out, d)
	}
	return out
}
