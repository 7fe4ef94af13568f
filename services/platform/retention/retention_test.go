package retention

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/config"
)

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Policy)
		ok     bool
	}{
		{"longer patient records", func(p *Policy) { p.PatientRecordsYears = 10 }, true},
		{"patient records below the decree", func(p *Policy) { p.PatientRecordsYears = 2 }, false},
		{"medicine records below the minimum", func(p *Policy) { p.MedicineRecordsYears = 4 }, false},
		{"invoices below the Accounting Act", func(p *Policy) { p.InvoiceYears = 5 }, false},
		{"a century", func(p *Policy) { p.InvoiceYears = 100 }, false},
		{"zero", func(p *Policy) { *p = Policy{} }, false},
	} {
		p := DefaultPolicy()
		tc.change(&p)
		if err := p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestDecide(t *testing.T) {
	loc := helsinki(t)
	today := day(2026, 11, 25)
	for _, tc := range []struct {
		name   string
		policy func(*Policy)
		facts  Facts
		want   []Decision
	}{
		{name: "nothing on record", want: nil},
		{name: "recent customer with an unpaid invoice", facts: Facts{
			LastPatientEntry: noon(2026, 10, 1), LastMedicineEntry: noon(2026, 9, 15), LastInvoice: noon(2026, 10, 1),
			HasIdentityCode: true, UnpaidInvoices: true,
		}, want: []Decision{
			{ClassPatientRecords, true, BasisVeterinaryRecords, day(2029, 10, 1)},
			{ClassMedicineRecords, true, BasisMedicineRecords, day(2031, 9, 15)},
			{ClassInvoices, true, BasisBookkeeping, day(2032, 12, 31)},
			{ClassIdentityCode, true, BasisUnpaidInvoice, Date{}},
		}},
		{name: "everything paid: the identity code goes", facts: Facts{
			LastPatientEntry: noon(2026, 10, 1), LastInvoice: noon(2026, 10, 1), HasIdentityCode: true,
		}, want: []Decision{
			{ClassPatientRecords, true, BasisVeterinaryRecords, day(2029, 10, 1)},
			{ClassInvoices, true, BasisBookkeeping, day(2032, 12, 31)},
			{Class: ClassIdentityCode},
		}},
		{name: "old customer: all past retention", facts: Facts{
			LastPatientEntry: noon(2019, 1, 1), LastMedicineEntry: noon(2019, 1, 1), LastInvoice: noon(2019, 12, 31),
		}, want: []Decision{
			{Class: ClassPatientRecords}, {Class: ClassMedicineRecords}, {Class: ClassInvoices},
		}},
		{name: "kept through the last day", facts: Facts{
			LastPatientEntry: noon(2023, 11, 25), LastMedicineEntry: noon(2021, 11, 24), LastInvoice: noon(2020, 6, 1),
		}, want: []Decision{
			{ClassPatientRecords, true, BasisVeterinaryRecords, day(2026, 11, 25)},
			{Class: ClassMedicineRecords},
			{ClassInvoices, true, BasisBookkeeping, day(2026, 12, 31)},
		}},
		{name: "invoice late on New Year's Eve in Helsinki", facts: Facts{
			LastInvoice: time.Date(2020, 12, 31, 22, 30, 0, 0, time.UTC), // 1 January 2021 in Helsinki
		}, want: []Decision{{ClassInvoices, true, BasisBookkeeping, day(2027, 12, 31)}}},
		{name: "leap day", facts: Facts{LastPatientEntry: noon(2024, 2, 29)},
			want: []Decision{{ClassPatientRecords, true, BasisVeterinaryRecords, day(2027, 2, 28)}}},
		{name: "configured longer", policy: func(p *Policy) { p.PatientRecordsYears = 10 },
			facts: Facts{LastPatientEntry: noon(2019, 1, 1)},
			want:  []Decision{{ClassPatientRecords, true, BasisVeterinaryRecords, day(2029, 1, 1)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			if got := p.Decide(tc.facts, today, loc); !slices.Equal(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestPolicyFromEnvironment keeps the environment's defaults at the legal minima and
// refuses a shorter period.
func TestPolicyFromEnvironment(t *testing.T) {
	var p Policy
	if err := config.LoadFrom(&p, map[string]string{}); err != nil || p != DefaultPolicy() {
		t.Fatalf("defaults %+v, %v", p, err)
	}
	if err := config.LoadFrom(&p, map[string]string{"RETENTION_INVOICE_YEARS": "10"}); err != nil || p.InvoiceYears != 10 {
		t.Fatalf("invoices %+v, %v", p, err)
	}
	if err := config.LoadFrom(&p, map[string]string{"RETENTION_PATIENT_RECORDS_YEARS": "2"}); err == nil {
		t.Fatal("two years of patient records accepted")
	}
}

// TestPolicyErrorsNameTheVariable: a bad period stops the service with a message naming
// the variable to change (README), and every bad one is named at once.
func TestPolicyErrorsNameTheVariable(t *testing.T) {
	const (
		patient  = "RETENTION_PATIENT_RECORDS_YEARS"
		medicine = "RETENTION_MEDICINE_RECORDS_YEARS"
		invoice  = "RETENTION_INVOICE_YEARS"
	)
	for _, tc := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{patient: "1"}, []string{patient}},
		{map[string]string{patient: "51"}, []string{patient}},
		{map[string]string{patient: "three"}, []string{patient}},
		{map[string]string{medicine: "4"}, []string{medicine}},
		{map[string]string{medicine: "-5"}, []string{medicine}},
		{map[string]string{invoice: "5"}, []string{invoice}},
		{map[string]string{invoice: "100"}, []string{invoice}},
		{map[string]string{patient: "0", medicine: "0", invoice: "0"}, []string{patient, medicine, invoice}},
	} {
		var p Policy
		err := config.LoadFrom(&p, tc.env)
		if err == nil {
			t.Errorf("%v accepted", tc.env)
			continue
		}
		for _, v := range tc.want {
			if !strings.Contains(err.Error(), v) {
				t.Errorf("%v: %q does not name %s", tc.env, err, v)
			}
		}
	}
}

// FuzzPolicyValidate: a policy is accepted exactly when every period lies between its
// legal minimum and fifty years, and each refused one is named by its variable.
func FuzzPolicyValidate(f *testing.F) {
	f.Add(3, 5, 6)
	f.Add(2, 51, -1)
	f.Fuzz(func(t *testing.T, patient, medicine, invoice int) {
		err := Policy{PatientRecordsYears: patient, MedicineRecordsYears: medicine, InvoiceYears: invoice}.Validate()
		for _, c := range []struct {
			variable       string
			years, minimum int
		}{
			{"RETENTION_PATIENT_RECORDS_YEARS", patient, 3},
			{"RETENTION_MEDICINE_RECORDS_YEARS", medicine, 5},
			{"RETENTION_INVOICE_YEARS", invoice, 6},
		} {
			bad := c.years < c.minimum || c.years > 50
			if named := err != nil && strings.Contains(err.Error(), c.variable); named != bad {
				t.Errorf("%s=%d: %v", c.variable, c.years, err)
			}
		}
	})
}
