// Package retention is the register's retention law (DESIGN rule 7), shared by the
// services: which classes of an owner's records an erasure keeps, on what legal basis
// and until which day. The history service decides with it what it keeps of an erased
// owner's visits; the disclosure service reports the periods in the access report.
package retention

import (
	"errors"
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

// Policy is the configured retention periods, in whole years, read from the
// environment by every service that applies or reports them. The defaults are the
// legal minima, and a configuration may lengthen them but never shorten them.
type Policy struct {
	// PatientRecordsYears counts from the last entry about the animal (MMMa
	// 6/EEO/2000 §7: at least three years).
	PatientRecordsYears int `env:"RETENTION_PATIENT_RECORDS_YEARS" envDefault:"3"`
	// MedicineRecordsYears counts from the last medicine entry.
	MedicineRecordsYears int `env:"RETENTION_MEDICINE_RECORDS_YEARS" envDefault:"5"`
	// InvoiceYears counts from the end of the year of the invoice (Kirjanpitolaki
	// 2:10: six years from the end of the financial year; Lillvet's is the calendar
	// year).
	InvoiceYears int `env:"RETENTION_INVOICE_YEARS" envDefault:"6"`
}

// The legal minima and a sanity bound on the periods.
const (
	minPatientRecordsYears  = 3
	minMedicineRecordsYears = 5
	minInvoiceYears         = 6
	maxYears                = 50
)

// DefaultPolicy returns the legal minima.
func DefaultPolicy() Policy {
	return Policy{
		PatientRecordsYears: minPatientRecordsYears, MedicineRecordsYears: minMedicineRecordsYears,
		InvoiceYears: minInvoiceYears,
	}
}

// Validate reports every period below its legal minimum or above fifty years, each by
// its environment variable: that is what an operator has to change.
func (p Policy) Validate() error {
	var errs []error
	for _, c := range []struct {
		variable string
		years    int
		minYears int
	}{
		{"RETENTION_PATIENT_RECORDS_YEARS", p.PatientRecordsYears, minPatientRecordsYears},
		{"RETENTION_MEDICINE_RECORDS_YEARS", p.MedicineRecordsYears, minMedicineRecordsYears},
		{"RETENTION_INVOICE_YEARS", p.InvoiceYears, minInvoiceYears},
	} {
		if c.years < c.minYears || c.years > maxYears {
			errs = append(errs, fmt.Errorf("%s must be %d–%d years, got %d", c.variable, c.minYears, maxYears, c.years))
		}
	}
	return errors.Join(errs...)
}

// PatientRecordsUntil is the last day patient records are kept whose animal's last
// entry was at t; loc is the clinic's time zone, in which times become days.
func (p Policy) PatientRecordsUntil(t time.Time, loc *time.Location) Date {
	return DateOf(t, loc).AddYears(p.PatientRecordsYears)
}

// MedicineRecordsUntil is the last day medicine records are kept whose last entry was
// at t.
func (p Policy) MedicineRecordsUntil(t time.Time, loc *time.Location) Date {
	return DateOf(t, loc).AddYears(p.MedicineRecordsYears)
}

// InvoiceUntil is the last day an invoice dated t is kept: 31 December of the year of
// t plus the period.
func (p Policy) InvoiceUntil(t time.Time, loc *time.Location) Date {
	return Date{Year: DateOf(t, loc).Year + p.InvoiceYears, Month: time.December, Day: 31}
}

// Facts is what a service knows about one owner's records when it erases them.
// A zero time means the owner has no records of that class. Patient records are kept
// per animal ("from the last entry about the animal"): the history service decides them
// once per animal, with that animal's last entry.
type Facts struct {
	LastPatientEntry  time.Time
	LastMedicineEntry time.Time
	LastInvoice       time.Time
	HasIdentityCode   bool
	// UnpaidInvoices is set while an invoice of the owner is unpaid, which keeps the
	// identity code (needed to collect it).
	UnpaidInvoices bool
}

// Decision says of one record class whether it is kept, on what legal basis (a text
// key of the report texts) and until which day inclusive. Until is zero for what is
// kept only while a condition holds (the identity code) and for what is erased.
type Decision struct {
	Class RecordClass
	Keep  bool
	Basis string
	Until Date
}

// The legal-basis keys of retention decisions.
const (
	BasisVeterinaryRecords = "basis.veterinary_records"
	BasisMedicineRecords   = "basis.medicine_records"
	BasisBookkeeping       = "basis.bookkeeping"
	BasisUnpaidInvoice     = "basis.unpaid_invoice"
)

// Decide returns, for each class the owner has records of, whether an erasure on the
// day today keeps it and until when, in the order of RecordClasses. A record is kept
// through its Until day and erased after it; loc is the clinic's time zone, in which
// entry times become days. Kept records are restricted, not used, until then.
func (p Policy) Decide(f Facts, today Date, loc *time.Location) []Decision {
	var out []Decision
	dated := func(c RecordClass, basis string, until Date) {
		d := Decision{Class: c}
		if !today.After(until) {
			d.Keep, d.Basis, d.Until = true, basis, until
		}
		out = append(out, d)
	}
	if !f.LastPatientEntry.IsZero() {
		dated(ClassPatientRecords, BasisVeterinaryRecords, p.PatientRecordsUntil(f.LastPatientEntry, loc))
	}
	if !f.LastMedicineEntry.IsZero() {
		dated(ClassMedicineRecords, BasisMedicineRecords, p.MedicineRecordsUntil(f.LastMedicineEntry, loc))
	}
	if !f.LastInvoice.IsZero() {
		dated(ClassInvoices, BasisBookkeeping, p.InvoiceUntil(f.LastInvoice, loc))
	}
	if f.HasIdentityCode {
		d := Decision{Class: ClassIdentityCode}
		if f.UnpaidInvoices {
			d.Keep, d.Basis = true, BasisUnpaidInvoice
		}
		out = append(out, d)
	}
	return out
}
