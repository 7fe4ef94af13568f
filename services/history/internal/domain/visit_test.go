package domain

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/retention"
)

func TestSameVisit(t *testing.T) {
	base := validVisit()
	other := Visit{
		Clinic: ClinicKangasala, StartTime: now.Add(-2 * time.Hour), Reason: "Vaccination",
		Anamnesis: "None.", Findings: "Healthy.", Staff: []Staff{{Name: "Vet Ville", Role: "veterinarian"}},
		Diagnoses: []Diagnosis{{Text: "Healthy"}}, Procedures: []Procedure{{Description: "Vaccination"}},
		Medications: []Medication{{Product: "Purevax", Dose: "1 ml", Route: RouteSubcutaneous}},
		WeightGrams: 4_200, FollowUp: "In a year.", Invoices: []Invoice{{Number: "2026-7", State: InvoicePaid}},
	}
	// Every field the author gives tells two visits apart.
	for _, p := range AmendableFields {
		changed := Apply(base, &other, []string{p})
		if SameVisit(&base, &changed) {
			t.Errorf("visits differing in %s are the same", p)
		}
	}
	// What the service sets, and what the store changes in form only, does not.
	for _, tc := range []struct {
		name   string
		change func(sent, stored *Visit)
	}{
		{"the service's fields", func(_, stored *Visit) {
			stored.ID, stored.PatientID, stored.OwnerID, stored.Version, stored.Restricted = "v-2", "p-2", "o-2", 3, true
			stored.Created, stored.Updated = now, now
		}},
		{"the same start in another zone", func(_, stored *Visit) {
			stored.StartTime = stored.StartTime.In(time.FixedZone("EET", 2*60*60))
		}},
		{"an empty list read back as none", func(sent, stored *Visit) { sent.Procedures, stored.Procedures = []Procedure{}, nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent, stored := base, base
			tc.change(&sent, &stored)
			if !SameVisit(&sent, &stored) {
				t.Errorf("%+v and %+v are not the same visit", sent, stored)
			}
		})
	}
}

func TestSameCommunication(t *testing.T) {
	base := Communication{
		PatientID: "p-1", VisitID: "v-1", Channel: ChannelPhone, Direction: DirectionInbound,
		Time: now, Subject: "Asks about invoice", Summary: "Will pay on Friday.",
	}
	for _, tc := range []struct {
		name   string
		change func(*Communication)
		same   bool
	}{
		{"the service's fields", func(c *Communication) {
			c.ID, c.OwnerID, c.Staff, c.Created = "c-2", "o-2", Staff{Subject: "s-2", Name: "Nurse Niina"}, now.Add(time.Hour)
		}, true},
		{"the same time in another zone", func(c *Communication) { c.Time = c.Time.In(time.FixedZone("EET", 2*60*60)) }, true},
		{"patient", func(c *Communication) { c.PatientID = "p-2" }, false},
		{"visit", func(c *Communication) { c.VisitID = "" }, false},
		{"channel", func(c *Communication) { c.Channel = ChannelEmail }, false},
		{"direction", func(c *Communication) { c.Direction = DirectionOutbound }, false},
		{"time", func(c *Communication) { c.Time = c.Time.Add(time.Millisecond) }, false},
		{"subject", func(c *Communication) { c.Subject = "Complaint about treatment" }, false},
		{"summary", func(c *Communication) { c.Summary = "" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored := base
			tc.change(&stored)
			if got := SameCommunication(&base, &stored); got != tc.same {
				t.Errorf("SameCommunication = %v, want %v", got, tc.same)
			}
		})
	}
}

// TestSameAmendment compares a move stored (by o-1, or by no owner when stored before
// amendments kept the owner they named) with a retry, in the order the service does.
func TestSameAmendment(t *testing.T) {
	base := Amendment{
		Version: 2, Time: now, Author: Staff{Subject: "s-1", Name: "Vet Ville"}, Reason: "paid", RequestID: "pay-1",
		Fields: []string{"invoices", "owner_id"}, Corrected: Visit{Invoices: []Invoice{{Number: "2026-7", State: InvoicePaid}}, OwnerID: "o-1"},
	}
	for _, tc := range []struct {
		name        string
		storedOwner string
		change      func(*Amendment)
		same        bool
	}{
		{"the service's fields", "o-1", func(a *Amendment) {
			a.Version, a.Time, a.Author, a.RequestID = 3, now.Add(time.Hour), Staff{Name: "Billing"}, "pay-2"
		}, true},
		{"fields", "o-1", func(a *Amendment) { a.Fields = []string{"invoices", "owner_id", "reason"} }, false},
		{"reason", "o-1", func(a *Amendment) { a.Reason = "paid twice" }, false},
		{"corrected values", "o-1", func(a *Amendment) { a.Corrected.Invoices = []Invoice{{Number: "2026-7", State: InvoiceOpen}} }, false},
		{"the owner named", "o-1", func(a *Amendment) { a.Corrected.OwnerID = "o-2" }, false},
		{"no owner named by the retry", "o-1", func(a *Amendment) { a.Corrected.OwnerID = "" }, false},
		{"stored before the owner was kept", "", func(*Amendment) {}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			retry := base
			tc.change(&retry)
			stored := base
			stored.Corrected.OwnerID = tc.storedOwner
			if got := SameAmendment(&stored, &retry); got != tc.same {
				t.Errorf("SameAmendment = %v, want %v", got, tc.same)
			}
		})
	}
}

func TestSettlesHeldInvoices(t *testing.T) {
	held := []Invoice{{Number: "2026-7", State: InvoiceOpen}, {Number: "2026-8", State: InvoicePaid}}
	for _, tc := range []struct {
		name    string
		sent    []Invoice
		settles bool
	}{
		{"unchanged", slices.Clone(held), true},
		{"the open one paid", []Invoice{{Number: "2026-7", State: InvoicePaid}, {Number: "2026-8", State: InvoicePaid}}, true},
		{"reordered", []Invoice{{Number: "2026-8", State: InvoicePaid}, {Number: "2026-7", State: InvoiceOpen}}, true},
		{"the paid one reopened", []Invoice{{Number: "2026-7", State: InvoicePaid}, {Number: "2026-8", State: InvoiceOpen}}, false},
		{"one added", append(slices.Clone(held), Invoice{Number: "2026-9", State: InvoiceOpen}), false},
		{"one removed", held[:1], false},
		{"one replaced", []Invoice{{Number: "2026-7", State: InvoiceOpen}, {Number: "2026-9", State: InvoicePaid}}, false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SettlesHeldInvoices(held, tc.sent); got != tc.settles {
				t.Errorf("SettlesHeldInvoices = %v, want %v", got, tc.settles)
			}
		})
	}
	if !SettlesHeldInvoices(nil, []Invoice{}) {
		t.Error("no invoices differ from none")
	}
}

// TestWithdraw withdraws the last amendment from a record: the view is replayed from
// the original through the amendments before it, one with another built on it stays,
// and a reduced record replays to its reduced view.
func TestWithdraw(t *testing.T) {
	original := Visit{ID: "v-1", Clinic: ClinicKangasala, StartTime: now, Reason: "check", Version: 1, Updated: now}
	findings := Amendment{Version: 2, Time: now.Add(time.Hour), Fields: []string{"findings"}, Corrected: Visit{Findings: "Fracture."}}
	invoice := Amendment{Version: 4, Time: now.Add(2 * time.Hour), Fields: []string{"invoices"},
		Corrected: Visit{Invoices: []Invoice{{Number: "2026-77", State: InvoiceOpen}}}}
	amended := func(amendments ...Amendment) VisitRecord {
		rec := VisitRecord{Original: original, Current: original, Amendments: amendments}
		for _, a := range amendments {
			rec.Current = Apply(rec.Current, &a.Corrected, a.Fields)
			rec.Current.Updated = a.Time
		}
		rec.Current.Version = 5
		return rec
	}
	withFindings := Apply(original, &findings.Corrected, findings.Fields)
	withFindings.Updated = findings.Time
	reduced := VisitRetention{InvoiceUntil: retention.DateOf(now.AddDate(6, 0, 0), time.UTC)}.
		Restrict(amended(findings, invoice))
	reduced.Current.Restricted = true
	// A start time corrected to the former owner's day moved the visit to them (from A
	// to B); every view of the record read names the owner it is filed under.
	moved := Amendment{Version: 4, Time: now.Add(2 * time.Hour), Fields: []string{"start_time"},
		Corrected: Visit{StartTime: now.Add(-48 * time.Hour)}, MovedFrom: "owner-a"}
	movedRec := amended(moved)
	movedRec.Original.OwnerID, movedRec.Current.OwnerID = "owner-b", "owner-b"
	unmoved := movedRec.Original
	unmoved.OwnerID = "owner-a"
	for _, tc := range []struct {
		name    string
		rec     VisitRecord
		version int64
		want    VisitRecord
		ok      bool
	}{
		{"the only amendment", amended(invoice), 4, VisitRecord{Original: original, Current: original, Amendments: []Amendment{}}, true},
		{"the last amendment", amended(findings, invoice), 4,
			VisitRecord{Original: original, Current: withFindings, Amendments: []Amendment{findings}}, true},
		{"one with another built on it", amended(findings, invoice), 2, amended(findings, invoice), false},
		{"a reduced record", reduced, 4, VisitRecord{Original: reduced.Original, Current: reduced.Original,
			Amendments: reduced.Amendments[:1], Retention: reduced.Retention}, true},
		{"none at that version", amended(findings), 3, amended(findings), false},
		{"one that moved the visit", movedRec, 4, VisitRecord{Original: movedRec.Original, Current: unmoved, Amendments: []Amendment{}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Withdraw(tc.rec, tc.version)
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			if ok {
				tc.want.Current.Version, tc.want.Current.Restricted = tc.rec.Current.Version+1, tc.rec.Current.Restricted
				if n := len(tc.want.Amendments); n > 0 {
					tc.want.Current.Updated = tc.want.Amendments[n-1].Time
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("withdrawn:\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}
