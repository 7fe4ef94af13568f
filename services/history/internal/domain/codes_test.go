package domain

import "testing"

// TestPaysInvoice: only an open invoice of the visit recorded paid is a payment; a paid
// one listed again, or another invoice's number, is not.
func TestPaysInvoice(t *testing.T) {
	open := Invoice{Number: "2026-118", State: InvoiceOpen}
	paid := Invoice{Number: "2026-118", State: InvoicePaid}
	other := Invoice{Number: "2026-119", State: InvoicePaid}
	for _, tc := range []struct {
		name       string
		held, next []Invoice
		want       bool
	}{
		{"the open invoice paid", []Invoice{open}, []Invoice{paid}, true},
		{"one of two paid", []Invoice{open, {Number: "2026-119", State: InvoiceOpen}}, []Invoice{paid, {Number: "2026-119", State: InvoiceOpen}}, true},
		{"left open", []Invoice{open}, []Invoice{open}, false},
		{"paid already", []Invoice{paid}, []Invoice{paid}, false},
		{"another number paid", []Invoice{open}, []Invoice{other}, false},
		{"no invoices", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PaysInvoice(tc.held, tc.next); got != tc.want {
				t.Errorf("PaysInvoice = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCodeKeptAndUnpaid: the code is told about only when an answer kept it, and only
// once no visit the erasure keeps holds an open invoice: one it missed, neither
// restricted nor held (written after its last read), is removed with its invoice.
func TestCodeKeptAndUnpaid(t *testing.T) {
	kept := &Erasure{Requests: []ErasureRequest{{}, {Result: ErasureResult{IdentityCodeNeededUntil: date(t, "2032-12-31")}}}}
	if !kept.CodeKept() {
		t.Error("an answer with identity_code_needed_until set did not keep the code")
	}
	if (&Erasure{Requests: []ErasureRequest{{}}}).CodeKept() {
		t.Error("an answer without identity_code_needed_until kept the code")
	}
	paid := []Invoice{{Number: "1", State: InvoicePaid}}
	open := []Invoice{{Number: "2", State: InvoicePaid}, {Number: "3", State: InvoiceOpen}}
	kept.Visits = []VisitRetention{{VisitID: "held"}}
	for _, tc := range []struct {
		name   string
		visits []*Visit
		want   bool
	}{
		{"paid invoices", []*Visit{{ID: "held", Invoices: paid}, {ID: "r", Restricted: true}}, false},
		{"an open invoice restricted", []*Visit{{ID: "held", Invoices: paid}, {ID: "r", Restricted: true, Invoices: open}}, true},
		{"an open invoice held, not restricted yet", []*Visit{{ID: "held", Invoices: open}}, true},
		{"an open invoice on a visit missed", []*Visit{{ID: "held", Invoices: paid}, {ID: "missed", Invoices: open}}, false},
	} {
		if got := kept.HoldsUnpaidInvoice(tc.visits); got != tc.want {
			t.Errorf("%s: holds an unpaid invoice %v, want %v", tc.name, got, tc.want)
		}
	}
}
