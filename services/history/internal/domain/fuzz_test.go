package domain

import (
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
)

// FuzzNormalizeVisit feeds arbitrary text to every free-text field: validation never
// panics, and whatever it accepts is trimmed, valid text within the limits.
func FuzzNormalizeVisit(f *testing.F) {
	f.Add("limping", "Lame\nsince Monday", "VeNom:1", "2026-118", int64(1000), int64(-3600))
	f.Add("", "\x00", "a b", "", int64(-1), int64(1<<40))
	f.Add(" \u00a0x", "\xff", "", "x/1", int64(maxWeightGrams+1), int64(0))
	f.Fuzz(func(t *testing.T, text, notes, code, invoice string, weight, offsetSeconds int64) {
		v := Visit{
			Clinic: ClinicKangasala, StartTime: now.Add(time.Duration(offsetSeconds%(1<<33)) * time.Second),
			Reason: text, Anamnesis: notes, Findings: notes, FollowUp: notes, WeightGrams: weight,
			Staff:       []Staff{{Name: text, Role: text, Subject: code}},
			Diagnoses:   []Diagnosis{{Text: text, Code: code}},
			Procedures:  []Procedure{{Description: text, Code: code}},
			Medications: []Medication{{Product: text, Dose: text, Route: RouteOther, Duration: text}},
			Invoices:    []Invoice{{Number: invoice, State: InvoicePaid}},
		}
		var errs apperr.ValidationError
		NormalizeVisit(&v, "visit", now, &errs)
		if errs.Err() != nil {
			return
		}
		var again apperr.ValidationError
		NormalizeVisit(&v, "visit", now, &again)
		if again.Err() != nil {
			t.Fatalf("an accepted visit fails a second validation: %v", again.Err())
		}
		if v.Reason == "" || v.Diagnoses[0].Text == "" || v.Invoices[0].Number == "" {
			t.Fatal("a required field was accepted empty")
		}
		if v.StartTime.After(now.Add(clockSkew)) || v.StartTime.Before(earliest) {
			t.Fatalf("start time %v accepted", v.StartTime)
		}
	})
}

// FuzzNormalizeCommunication does the same for communications.
func FuzzNormalizeCommunication(f *testing.F) {
	f.Add("phone", "inbound", "Vaccination", "Asked about\nboosters.")
	f.Add("", "x", "", "\x1b")
	f.Fuzz(func(t *testing.T, channel, direction, subject, summary string) {
		c := Communication{Channel: Channel(channel), Direction: Direction(direction), Subject: subject, Summary: summary}
		var errs apperr.ValidationError
		NormalizeCommunication(&c, "communication", now, &errs)
		if errs.Err() != nil {
			return
		}
		if c.Subject == "" || c.Time.IsZero() {
			t.Fatalf("accepted %+v", c)
		}
		var again apperr.ValidationError
		NormalizeCommunication(&c, "communication", now, &again)
		if again.Err() != nil {
			t.Fatalf("an accepted communication fails a second validation: %v", again.Err())
		}
	})
}
