package domain

import (
	"slices"
	"time"
)

// CodeNotice is the durable outbox of one erased owner's identity code: the owner
// service keeps the code to the day the erasure answered (the bookkeeping end of the
// owner's open invoices), and is told to drop it once no visit of the owner holds an
// unpaid invoice (DESIGN rule 7). A payment recorded on a restricted visit marks the
// owner before it writes, kept due until the write's bound has passed (PendingUntil),
// and again after (Checks); the job that tells the owner service clears the marks it
// read once it told it, or found an invoice still open and no write pending.
type CodeNotice struct {
	OwnerID string
	// Checks counts the marks since the last clear; the job clears only the marks it
	// read, so a mark set while it pushed is checked again at its next run.
	Checks int64
	// PendingUntil is the latest bound of a payment marked before it: until it has
	// passed the payment may still land, so a check that found the invoice open cannot
	// clear the marks.
	PendingUntil time.Time
	// AskAfter: the owner service answered that it had not erased the owner yet, or
	// the check failed, and is not asked again before then, since each refusal is
	// audited about the owner.
	AskAfter time.Time
	// Failures counts the checks that failed in a row (but for the owner service
	// answering that it had not erased the owner yet, or not answering at all): each
	// waits longer before the next (see app.PushCodeRelease).
	Failures int64
}

// Pending reports whether a payment marked before it may still land at now.
func (n CodeNotice) Pending(now time.Time) bool {
	return now.Before(n.PendingUntil)
}

// PaysInvoice reports whether next records the payment of an invoice of held that was
// open.
func PaysInvoice(held, next []Invoice) bool {
	return slices.ContainsFunc(held, func(h Invoice) bool {
		return h.State == InvoiceOpen && slices.ContainsFunc(next, func(n Invoice) bool {
			return n.Number == h.Number && n.State == InvoicePaid
		})
	})
}

// HoldsUnpaidInvoice reports whether any of visits, the owner's visits as read, that
// erasure e keeps holds an open invoice: a visit restricted, or one e holds (its pass
// restricts it). Any other was written after the erasure's last read and is removed
// (Erasure.Missed), with its invoice: it keeps no identity code.
func (e *Erasure) HoldsUnpaidInvoice(visits []*Visit) bool {
	return slices.ContainsFunc(visits, func(v *Visit) bool {
		return (v.Restricted || e.Holds(v.ID)) &&
			slices.ContainsFunc(v.Invoices, func(i Invoice) bool { return i.State == InvoiceOpen })
	})
}

// CodeKept reports whether an answer of erasure e kept the owner's identity code for
// an open invoice (IdentityCodeNeededUntil): only then does the owner service keep it
// by this service's word, and only then is it told when the code is needed no more.
func (e *Erasure) CodeKept() bool {
	return slices.ContainsFunc(e.Requests, func(r ErasureRequest) bool { return !r.Result.IdentityCodeNeededUntil.IsZero() })
}
