package domain

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/lillvet/register/services/platform/apperr"
)

// DisclosureRequest asks for a package of the owner's data to be sent to a recipient.
type DisclosureRequest struct {
	RecipientID string
	OwnerID     string
	// PatientIDs narrows the package to these animals; empty means all of the owner's.
	PatientIDs []string
	Categories []Category
	// CaseReference ties the disclosure to its cause (an insurance claim number, a
	// health-examination record), so that the log answers "why".
	CaseReference string
	// RequestID makes a retried request return the first one's disclosure.
	RequestID string
}

// Bounds on a disclosure request.
const (
	maxIDLen          = 128
	maxPatientIDs     = 50
	maxCaseRefLen     = 200
	maxCategoriesSent = 32
)

// ValidateDisclosureRequest validates r in place: ids present, categories known (and
// deduplicated in order), a case reference. Whether the recipient may receive the
// categories is Evaluate's question, because a refusal is logged and bad input is not.
func ValidateDisclosureRequest(r *DisclosureRequest, prefix string, v *apperr.ValidationError) {
	r.RecipientID = strings.TrimSpace(r.RecipientID)
	requireText(v, prefix+".recipient_id", r.RecipientID, maxIDLen)
	r.OwnerID = strings.TrimSpace(r.OwnerID)
	requireText(v, prefix+".owner_id", r.OwnerID, maxIDLen)
	if len(r.PatientIDs) > maxPatientIDs {
		v.Add(prefix+".patient_ids", fmt.Sprintf("must list at most %d patients", maxPatientIDs))
	} else {
		r.PatientIDs = normalizeIDs(r.PatientIDs, prefix+".patient_ids", v)
	}
	switch {
	case len(r.Categories) == 0:
		v.Add(prefix+".categories", "must name at least one data category")
	case len(r.Categories) > maxCategoriesSent:
		v.Add(prefix+".categories", fmt.Sprintf("must list at most %d categories", maxCategoriesSent))
	default:
		r.Categories = NormalizeCategories(r.Categories, prefix+".categories", v)
	}
	r.CaseReference = strings.TrimSpace(r.CaseReference)
	requireText(v, prefix+".case_reference", r.CaseReference, maxCaseRefLen)
	r.RequestID = strings.TrimSpace(r.RequestID)
	v.CheckText(prefix+".request_id", r.RequestID, maxIDLen)
}

// normalizeIDs trims ids, drops duplicates keeping the first, and records empty or
// malformed ones as violations of field[i].
func normalizeIDs(ids []string, field string, v *apperr.ValidationError) []string {
	var out []string
	seen := map[string]bool{}
	for i, id := range ids {
		id = strings.TrimSpace(id)
		f := fmt.Sprintf("%s[%d]", field, i)
		requireText(v, f, id, maxIDLen)
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// RefusalReason says why a disclosure was refused. The values are the precondition
// reasons clients see.
type RefusalReason string

// The refusal reasons, in the order Evaluate checks them.
const (
	RefusalRecipientInactive  RefusalReason = "RECIPIENT_INACTIVE"
	RefusalOutsideEEA         RefusalReason = ReasonOutsideEEA
	RefusalCategoryNotAllowed RefusalReason = "CATEGORY_NOT_ALLOWED"
	RefusalOwnerRestricted    RefusalReason = "OWNER_RESTRICTED"
	RefusalNoLegalBasis       RefusalReason = "NO_LEGAL_BASIS"
)

// RefusalNotCompleted is a disclosure whose last read of the owner's restriction was
// never made: the call refuses it itself when the read fails, and an entry left
// pending (the refusal not written, the process stopped) is refused by its retry, its
// package gathered before and perhaps since changed, or by the retention sweep when no
// retry came, so that the log holds no entry forever neither disclosed nor refused.
// Nothing was handed out. It is answered ABORTED: the caller starts over under a new
// request id, since a resend of the same call only meets the same refusal.
const RefusalNotCompleted RefusalReason = "NOT_COMPLETED"

// Refusal is a refused disclosure: it is logged, and answered as a precondition failure
// (NOT_COMPLETED as aborted, see RefusalNotCompleted).
type Refusal struct {
	Reason RefusalReason
	// ConsentReason is why a RefusalNoLegalBasis has none: the consent verdict's reason,
	// or one of the ConsentReason constants below.
	ConsentReason string
	// Categories are those the recipient may not receive, for RefusalCategoryNotAllowed.
	Categories []Category
}

// Err returns the refusal as an apperr.Precondition (apperr.Aborted for
// RefusalNotCompleted) whose description says why without any personal data.
func (r *Refusal) Err() error {
	var d string
	switch r.Reason {
	case RefusalRecipientInactive:
		d = "the recipient is deactivated"
	case RefusalOutsideEEA:
		d = "the recipient's country is outside the EU/EEA"
	case RefusalCategoryNotAllowed:
		d = "the recipient may not receive these data categories: " + joinCategories(r.Categories)
	case RefusalOwnerRestricted:
		d = "the owner's data is restricted (an erasure or objection is pending) and is not disclosed"
	case RefusalNotCompleted:
		return apperr.Aborted(string(r.Reason), "the disclosure was not completed, since a check before handing out the data "+
			"could not be made, and nothing was disclosed; disclose again under a new request id, "+
			"which gathers the data as they are now (they may have changed since the first attempt)")
	case RefusalNoLegalBasis:
		d = "no legal basis for the disclosure now"
		if r.ConsentReason != "" {
			d += ": " + r.ConsentReason
		}
	default:
		d = "the disclosure is refused"
	}
	return apperr.Precondition(string(r.Reason), d)
}

// The ConsentReason values this service adds to the consent service's own.
const (
	// ConsentReasonNoContract: a subcontractor without an agreement on record.
	ConsentReasonNoContract = "no_contract"
	// ConsentReasonNotChecked: the consent service's verdict is missing.
	ConsentReasonNotChecked = "not_checked"
	// ConsentReasonNoEntry: an allowing verdict that names no ledger entry.
	ConsentReasonNoEntry = "no_entry"
	// ConsentReasonUnknownKind: a recipient kind with no legal basis at all.
	ConsentReasonUnknownKind = "unknown_kind"
)

// Outcome is the decision about one disclosure request: either the basis it rests on,
// or the refusal. Both are logged.
type Outcome struct {
	// Refusal is nil when the disclosure may go ahead.
	Refusal *Refusal
	Basis   Basis
	// ConsentEntryID is the ledger entry that allowed it, when the basis is consent.
	ConsentEntryID string
	// Categories are what the package holds: exactly the requested ones when allowed.
	Categories []Category
}

// Evaluate decides a validated request to recipient r now. ownerRestricted is the owner
// service's restriction flag; verdict is the consent service's answer to the check
// LegalBasis asked for (nil when none was needed). The checks run in order: the
// recipient is active, in the EU/EEA, may receive every requested category (a recipient
// is never sent more than asked, nor anything outside its set: the identity code only
// ever reaches the data subject), the kind has a basis, the owner is not restricted,
// and the consent verdict allows.
//
// The data subject's own copy skips the EU/EEA check (giving people their own data is
// not a transfer) and the restriction (restriction limits processing, not access).
func Evaluate(r Recipient, req DisclosureRequest, ownerRestricted bool, verdict *ConsentVerdict) Outcome {
	refuse := func(f Refusal) Outcome { return Outcome{Refusal: &f, Categories: req.Categories} }
	self := r.Kind == KindDataSubject
	switch {
	case !r.Active:
		return refuse(Refusal{Reason: RefusalRecipientInactive})
	case !self && !InEEA(r.Country):
		return refuse(Refusal{Reason: RefusalOutsideEEA})
	}
	// The recipient's own set, cut back to its kind's should a stored set be wider (after
	// a rule change); the data subject has no stored set.
	allowed := DefaultCategories(r.Kind)
	if !self {
		allowed = Intersect(r.Categories, allowed)
	}
	if outside := NotIn(req.Categories, allowed); len(outside) > 0 {
		return refuse(Refusal{Reason: RefusalCategoryNotAllowed, Categories: outside})
	}
	basis, consent, ok := LegalBasis(r)
	switch {
	case !ok:
		return refuse(Refusal{Reason: RefusalNoLegalBasis, ConsentReason: ConsentReasonUnknownKind})
	case r.Kind == KindSubcontractor && r.AgreementRef == "":
		return refuse(Refusal{Reason: RefusalNoLegalBasis, ConsentReason: ConsentReasonNoContract})
	case ownerRestricted && RestrictionRefuses(r):
		return refuse(Refusal{Reason: RefusalOwnerRestricted})
	}
	out := Outcome{Basis: basis, Categories: req.Categories}
	if consent == nil {
		return out
	}
	switch {
	case verdict == nil:
		return refuse(Refusal{Reason: RefusalNoLegalBasis, ConsentReason: ConsentReasonNotChecked})
	case !verdict.Allowed:
		return refuse(Refusal{Reason: RefusalNoLegalBasis, ConsentReason: verdict.Reason})
	case verdict.EntryID == "":
		// An opt-in purpose is allowed only by a grant on record, and the log must name it.
		return refuse(Refusal{Reason: RefusalNoLegalBasis, ConsentReason: ConsentReasonNoEntry})
	}
	out.ConsentEntryID = verdict.EntryID
	return out
}

// RestrictionRefuses reports whether the owner's restriction refuses a disclosure to r:
// to every recipient but the data subject, whose own copy a restriction does not refuse
// (a restriction limits processing, not access).
func RestrictionRefuses(r Recipient) bool { return r.Kind != KindDataSubject }

// SameRequest reports whether req, sent under the request id that logged rec, is the
// request that logged it, rather than the id reused for another: the same recipient,
// owner, categories, case reference and patients named, the categories and patients in
// any order (the package answers the set). An entry logged before the patients named
// were kept (Record.Requested nil) is compared without them: the patients it covers
// are every animal the package named, which a request naming none does not list.
func SameRequest(rec Record, req DisclosureRequest) bool {
	same := rec.RecipientID == req.RecipientID && rec.OwnerID == req.OwnerID &&
		rec.CaseReference == req.CaseReference && sameSet(rec.Categories, req.Categories)
	if rec.Requested == nil {
		return same
	}
	return same && sameSet(rec.Requested.PatientIDs, req.PatientIDs)
}

// sameSet reports whether a and b hold the same values, in any order and however often.
func sameSet[T cmp.Ordered](a, b []T) bool {
	return slices.Equal(sortedSet(a), sortedSet(b))
}

func sortedSet[T cmp.Ordered](in []T) []T {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
