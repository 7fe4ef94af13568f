package app

import (
	"bytes"
	"testing"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/requestdigest"
)

// TestRequestDigests: two visits have the same digest exactly when domain.SameVisit
// says they are the same, and a digest is compared only under the key it was made with.
func TestRequestDigests(t *testing.T) {
	d := newRequestDigests(bytes.Repeat([]byte{1}, MinRequestKey))
	start := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	base := domain.Visit{Clinic: domain.ClinicKangasala, StartTime: start, Reason: "Limping",
		Invoices: []domain.Invoice{{Number: "2026-15", State: domain.InvoiceOpen}}}
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*domain.Visit)
	}{
		{"unchanged", func(*domain.Visit) {}},
		{"empty lists for none", func(v *domain.Visit) {
			v.Staff, v.Diagnoses, v.Medications = []domain.Staff{}, []domain.Diagnosis{}, []domain.Medication{}
		}},
		{"the start in another zone", func(v *domain.Visit) { v.StartTime = start.In(helsinki) }},
		{"ids, version and times", func(v *domain.Visit) { v.ID, v.Version, v.Created, v.Restricted = "v-1", 3, start, true }},
		{"another reason", func(v *domain.Visit) { v.Reason = "Vaccination" }},
		{"another invoice", func(v *domain.Visit) { v.Invoices = []domain.Invoice{{Number: "2026-16", State: domain.InvoiceOpen}} }},
		{"the invoice paid", func(v *domain.Visit) { v.Invoices = []domain.Invoice{{Number: "2026-15", State: domain.InvoicePaid}} }},
		{"no invoices", func(v *domain.Visit) { v.Invoices = nil }},
		{"another start", func(v *domain.Visit) { v.StartTime = start.Add(time.Millisecond) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := base
			tc.change(&other)
			same, known := requestdigest.Compare(d.visit(&base), d.visit(&other))
			if want := domain.SameVisit(&base, &other); !known || same != want {
				t.Errorf("match = %v, %v; want %v, true", same, known, want)
			}
		})
	}
	a := domain.Amendment{Fields: []string{"invoices"}, Reason: "paid", Corrected: domain.Visit{Invoices: base.Invoices}}
	b := a
	b.Reason = "paid twice"
	if same, known := requestdigest.Compare(d.amendment(&a), d.amendment(&b)); same || !known {
		t.Errorf("amendments for other reasons: match = %v, %v", same, known)
	}
	toSeller, toBuyer := domain.Amendment{Fields: []string{"owner_id"}, Reason: "filed wrongly"}, domain.Amendment{Fields: []string{"owner_id"}, Reason: "filed wrongly"}
	toSeller.Corrected.OwnerID, toBuyer.Corrected.OwnerID = "seller", "buyer"
	if same, known := requestdigest.Compare(d.amendment(&toSeller), d.amendment(&toBuyer)); same || !known {
		t.Errorf("moves to other owners: match = %v, %v", same, known)
	}
	another := newRequestDigests(bytes.Repeat([]byte{2}, MinRequestKey))
	for name, stored := range map[string]string{"none stored": "", "made under another key": another.visit(&base)} {
		if _, known := requestdigest.Compare(stored, d.visit(&base)); known {
			t.Errorf("%s: compared", name)
		}
	}
	none := newRequestDigests(nil)
	if got := none.visit(&base); got != "" {
		t.Errorf("digest without a key: %q", got)
	}
}

// TestRequestDigestsStoredBefore: digests stored before the digests moved to the
// platform's requestdigest (made here under a fixed key, written down then) are
// compared as they were: the same request is the same, another is known to differ.
func TestRequestDigestsStoredBefore(t *testing.T) {
	d := newRequestDigests(bytes.Repeat([]byte{7}, MinRequestKey))
	visit := domain.Visit{Clinic: domain.ClinicKangasala, StartTime: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC), Reason: "Limping",
		WeightGrams: 31200, Invoices: []domain.Invoice{{Number: "2026-15", State: domain.InvoiceOpen}}}
	paid := domain.Amendment{Fields: []string{"invoices"}, Reason: "paid",
		Corrected: domain.Visit{Invoices: []domain.Invoice{{Number: "2026-15", State: domain.InvoicePaid}}}}
	const (
		storedVisit     = "JVYtCsOM.i_Yw8Y3gANco0KfhujuGQQeNf6O2FfaCfNfXldVM9Yo"
		storedAmendment = "JVYtCsOM.YcTbW4yPyjpsjJkUg1M7T0yp6AdfHF37m55vBS-S_V0"
	)
	heavier := visit
	heavier.WeightGrams = 31300
	for _, tc := range []struct {
		name         string
		stored, sent string
		same         bool
	}{
		{name: "the visit", stored: storedVisit, sent: d.visit(&visit), same: true},
		{name: "another visit", stored: storedVisit, sent: d.visit(&heavier)},
		{name: "the amendment", stored: storedAmendment, sent: d.amendment(&paid), same: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if same, known := requestdigest.Compare(tc.stored, tc.sent); !known || same != tc.same {
				t.Errorf("Compare = %v, %v; want %v, true", same, known, tc.same)
			}
		})
	}
}
