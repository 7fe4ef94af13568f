package domain

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lillvet/register/services/platform/changereason"
)

// ClinicZone is the time zone whose calendar days the retention days count in.
const ClinicZone = "Europe/Helsinki"

// The record classes of the owner service's part of an erasure (stable keys, shared
// with the other services and the access report).
const (
	// ClassContactDetails is the owner's phone, e-mail and preferred language.
	ClassContactDetails = "contact_details"
	// ClassOwnerNameAddress is the owner's names and postal address.
	ClassOwnerNameAddress = "owner_name_address"
	// ClassPatients is the personal details of the owner's patients.
	ClassPatients = "patients"
	// ClassIdentityCode is the sealed identity code and its blind index.
	ClassIdentityCode = "identity_code"
)

// The legal bases on which an erasure keeps owner data (stable text keys).
const (
	// BasisVeterinaryRecords: the patient records the history service keeps name the
	// animal and its owner (MMMa 6/EEO/2000 §7).
	BasisVeterinaryRecords = "basis.veterinary_records"
	// BasisUnpaidInvoice: collecting an unpaid invoice needs the identity code.
	BasisUnpaidInvoice = "basis.unpaid_invoice"
)

// maxKeptYears bounds how far ahead a kept-until day may lie: the longest legal period
// is six years from the end of a year, so a day decades ahead is a caller's mistake.
const maxKeptYears = 50

// Disposition is what an erasure did with one class of an owner's records.
type Disposition struct {
	Class string
	// Kept is true when the records are kept (restricted) rather than erased now.
	Kept  bool
	Basis string
	// KeptUntil is the last day (YYYY-MM-DD) they are kept; empty when erased.
	KeptUntil string
	Count     int
}

// Today is the calendar day of now in loc (the clinic's zone), as YYYY-MM-DD.
func Today(now time.Time, loc *time.Location) string {
	return now.In(loc).Format(time.DateOnly)
}

// ErrDay is the error of a day that is not a valid YYYY-MM-DD date.
var ErrDay = errors.New("must be a date YYYY-MM-DD")

// ParseKeptUntil validates a kept-until day: empty (nothing is kept) or a real date
// YYYY-MM-DD no more than fifty years after today. A day already past is valid: what it
// kept is then erased now. It returns the day in normal form.
func ParseKeptUntil(s, today string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || d.Format(time.DateOnly) != s {
		return "", ErrDay
	}
	t, err := time.Parse(time.DateOnly, today)
	if err != nil {
		return "", fmt.Errorf("today %q: %w", today, ErrDay)
	}
	if d.After(t.AddDate(maxKeptYears, 0, 0)) {
		return "", fmt.Errorf("must be at most %d years ahead", maxKeptYears)
	}
	return s, nil
}

// ErasureRequest is one erasure request as the owner service applies it.
type ErasureRequest struct {
	ID string
	// NameKeptUntil and IdentityKeptUntil are valid days (ParseKeptUntil) or empty.
	NameKeptUntil     string
	IdentityKeptUntil string
}

// ErasurePlan is what one erasure request, or one retention sweep, does to an owner:
// the changes to apply, the change-history fields they touch, and the answer.
type ErasurePlan struct {
	Restrict       bool
	ClearContact   bool
	AnonymiseNames bool
	// KeepNamesUntil is the new kept-until day of the names, address and patients;
	// empty when they are anonymised now or were already.
	KeepNamesUntil string
	// ExtendNamesUntil is the day the history service told, stored as the owner's
	// NameExtendedUntil, also when it does not move KeepNamesUntil (a write without a
	// change record or a new version); empty when there is nothing to store.
	ExtendNamesUntil string
	DropIdentity     bool
	// KeepIdentityUntil is the new kept-until day of the identity code.
	KeepIdentityUntil string
	// Patients is the number of the owner's patients not yet anonymised; they are
	// anonymised now (AnonymisePatients) or kept restricted (RestrictPatients).
	Patients          int
	AnonymisePatients bool
	RestrictPatients  bool
	Fields            []string
	Dispositions      []Disposition
}

// AppliedTo is the plan's answer once applied, covering patients of the owner's
// patients: the number counted when it was planned may have changed before the
// erasure reached them (a patient transferred away, a registration taken back, one
// written meanwhile), and the answer tells what was done. A class of patients none of
// which was left is no longer listed.
func (p *ErasurePlan) AppliedTo(patients int) []Disposition {
	out := make([]Disposition, 0, len(p.Dispositions))
	for _, d := range p.Dispositions {
		if d.Class == ClassPatients {
			if patients == 0 {
				continue
			}
			d.Count = patients
		}
		out = append(out, d)
	}
	return out
}

// Changes reports whether the plan changes the owner's data (and so needs a change
// record and a new version).
func (p *ErasurePlan) Changes() bool { return len(p.Fields) > 0 }

// PlanErasure decides what an erasure request does to owner o, who has patients
// patients not yet anonymised, on the day today (DESIGN rule 7):
//   - the contact details (phone, e-mail, preferred language) are erased now;
//   - the names, the address and the patients' details are kept until
//     NameKeptUntil when that day has not passed, else anonymised now;
//   - the identity code is kept until IdentityKeptUntil when that day has not passed,
//     else dropped now (ciphertext and blind index);
//   - the owner is restricted and marked erased.
//
// The dispositions list only the classes the owner still has records of, so a second
// request on an erased owner answers what is left. A later request may move a
// kept-until day either way (it carries the history service's answer of that moment),
// but never keeps the names to a day before the one the history service last told
// (NameExtendedUntil): that day came after the answers it had given, and the history
// service, having told it, does not tell it again.
func PlanErasure(o *Owner, patients int, req ErasureRequest, today string) ErasurePlan {
	p := ErasurePlan{Restrict: !o.Restricted, Patients: patients}
	if p.Restrict {
		p.Fields = append(p.Fields, "restricted")
	}
	if !o.Erased {
		p.Fields = append(p.Fields, "erased")
	}
	if o.Phone != "" || o.Email != "" || o.Language != "" {
		p.ClearContact = true
		p.Fields = append(p.Fields, "phone", "email", "preferred_language")
		p.Dispositions = append(p.Dispositions, Disposition{Class: ClassContactDetails, Count: 1})
	}
	namesUntil := max(req.NameKeptUntil, o.NameExtendedUntil)
	keepNames := namesUntil != "" && namesUntil >= today
	if !o.Anonymised {
		d := Disposition{Class: ClassOwnerNameAddress, Count: 1}
		if keepNames {
			p.KeepNamesUntil = namesUntil
			d.Kept, d.Basis, d.KeptUntil = true, BasisVeterinaryRecords, namesUntil
		} else {
			p.AnonymiseNames = true
			p.Fields = append(p.Fields, "given_names", "family_name", "address")
		}
		p.Dispositions = append(p.Dispositions, d)
	}
	if patients > 0 {
		d := Disposition{Class: ClassPatients, Count: patients}
		if keepNames {
			p.RestrictPatients = true
			d.Kept, d.Basis, d.KeptUntil = true, BasisVeterinaryRecords, namesUntil
		} else {
			p.AnonymisePatients = true
		}
		p.Dispositions = append(p.Dispositions, d)
	}
	if o.IdentityCodeMasked != "" {
		d := Disposition{Class: ClassIdentityCode, Count: 1}
		if req.IdentityKeptUntil != "" && req.IdentityKeptUntil >= today {
			p.KeepIdentityUntil = req.IdentityKeptUntil
			d.Kept, d.Basis, d.KeptUntil = true, BasisUnpaidInvoice, req.IdentityKeptUntil
		} else {
			p.DropIdentity = true
			p.Fields = append(p.Fields, "identity_code")
		}
		p.Dispositions = append(p.Dispositions, d)
	}
	return p
}

// PlanSweep decides what the retention sweep does to an erased owner on the day today:
// the names, address and patients whose kept-until day has passed are anonymised, an
// identity code whose day has passed is dropped, and what is still within its day is
// left as it is. The dispositions list what was removed.
func PlanSweep(o *Owner, patients int, today string) ErasurePlan {
	p := ErasurePlan{KeepNamesUntil: o.NameKeptUntil, KeepIdentityUntil: o.IdentityKeptUntil}
	if !o.Erased {
		return p
	}
	if !o.Anonymised && o.NameKeptUntil != "" && today > o.NameKeptUntil {
		p.AnonymiseNames, p.KeepNamesUntil = true, ""
		p.Fields = append(p.Fields, "given_names", "family_name", "address")
		p.Dispositions = append(p.Dispositions, Disposition{Class: ClassOwnerNameAddress, Count: 1})
		if patients > 0 {
			p.Patients, p.AnonymisePatients = patients, true
			p.Dispositions = append(p.Dispositions, Disposition{Class: ClassPatients, Count: patients})
		}
	}
	if o.IdentityCodeMasked != "" && o.IdentityKeptUntil != "" && today > o.IdentityKeptUntil {
		p.DropIdentity, p.KeepIdentityUntil = true, ""
		p.Fields = append(p.Fields, "identity_code")
		p.Dispositions = append(p.Dispositions, Disposition{Class: ClassIdentityCode, Count: 1})
	}
	return p
}

var (
	// ErrNamesNotKept: the erased owner's names cannot be kept longer, since the
	// erasure kept none or they were anonymised already.
	ErrNamesNotKept = errors.New("the owner's names are not kept by an erasure")
	// ErrOwnerNotErased: no erasure keeps the owner's names (yet).
	ErrOwnerNotErased = errors.New("the owner is not erased")
)

// PlanExtension keeps erased owner o's names, address and patients through until when
// that is later than their kept-until day: records of the history service name the
// owner until then (its sweep holds a clinical record against the animal's last visit,
// by its next owner since the erasure). Nothing is removed; the day and the schedule
// move, as the owner's change of name_kept_until. An equal or earlier day changes no
// data: the day is never shortened, so a resent day changes nothing. Either way a day
// later than the one told before is kept as the owner's NameExtendedUntil, which a
// later erasure request does not undo: the history service stores the day as told and
// does not tell it again, also when a later request's answer kept the names longer
// then. An owner not erased (its erasure's step here still to come) is
// ErrOwnerNotErased, one whose names are gone or were never kept ErrNamesNotKept.
func PlanExtension(o *Owner, until string) (ErasurePlan, error) {
	if !o.Erased {
		return ErasurePlan{}, ErrOwnerNotErased
	}
	if o.Anonymised || o.NameKeptUntil == "" {
		return ErasurePlan{}, ErrNamesNotKept
	}
	p := ErasurePlan{KeepNamesUntil: o.NameKeptUntil, KeepIdentityUntil: o.IdentityKeptUntil}
	if until > o.NameKeptUntil {
		p.KeepNamesUntil, p.Fields = until, []string{"name_kept_until"}
	}
	if until > o.NameExtendedUntil {
		p.ExtendNamesUntil = until
	}
	return p, nil
}

// PlanCodeRelease drops erased owner o's identity code now, the history service having
// told that no unpaid invoice needs it any more (DESIGN rule 7): its ciphertext and
// blind index go, as the owner's change of identity_code, and nothing else moves. An
// owner whose code is gone already (dropped by an erasure, the sweep or an earlier
// call) is planned with no change: a resend changes nothing. An owner not erased (its
// erasure's step here still to come) is ErrOwnerNotErased.
func PlanCodeRelease(o *Owner) (ErasurePlan, error) {
	if !o.Erased {
		return ErasurePlan{}, ErrOwnerNotErased
	}
	p := ErasurePlan{KeepNamesUntil: o.NameKeptUntil, KeepIdentityUntil: o.IdentityKeptUntil}
	if o.IdentityCodeMasked != "" {
		p.DropIdentity, p.KeepIdentityUntil = true, ""
		p.Fields = []string{"identity_code"}
		p.Dispositions = []Disposition{{Class: ClassIdentityCode, Count: 1}}
	}
	return p, nil
}

// NextDue is the earliest kept-until day still ahead after plan p, or empty when
// nothing is kept: the day after it the sweep has work for this owner.
func (p *ErasurePlan) NextDue() string {
	switch {
	case p.KeepNamesUntil == "":
		return p.KeepIdentityUntil
	case p.KeepIdentityUntil == "" || p.KeepNamesUntil < p.KeepIdentityUntil:
		return p.KeepNamesUntil
	default:
		return p.KeepIdentityUntil
	}
}

// LatePatient reports whether patient q, under owner o, is one no erasure of o covered
// yet: o is erased and q is active, or only kept restricted while o's names are gone.
func LatePatient(o *Owner, q *Patient) bool {
	return o.Erased && !q.Anonymised && (o.Anonymised || !q.Erased)
}

// PlanLatePatients decides how an erasure covers the patients under the erased owner o
// that no erasure covered yet (LatePatient): a registration or transfer back to the
// owner whose taking back failed, or that landed after the erasure had listed the
// owner's patients. They are covered as the owner's erasure covered its own: kept and
// restricted while the owner's names are kept, anonymised once those are gone. The
// owner's own data do not change (no fields), and its kept-until days stay. The
// dispositions list the patients anonymised, as the retention sweep answers what it
// removed. Nothing is planned for an owner not erased.
func PlanLatePatients(o *Owner, patients []*Patient) ErasurePlan {
	p := ErasurePlan{KeepNamesUntil: o.NameKeptUntil, KeepIdentityUntil: o.IdentityKeptUntil}
	for _, q := range patients {
		if LatePatient(o, q) {
			p.Patients++
		}
	}
	if p.Patients > 0 {
		p.AnonymisePatients, p.RestrictPatients = o.Anonymised, !o.Anonymised
	}
	if p.AnonymisePatients {
		p.Dispositions = []Disposition{{Class: ClassPatients, Count: p.Patients}}
	}
	return p
}

// CoveredPatients counts the patients an erasure request (or, with an empty id, the
// retention sweep) covers: those not yet anonymised, and those this same request
// anonymised before it was interrupted, so that its retry answers as it would have.
func CoveredPatients(patients []*Patient, requestID string) int {
	n := 0
	for _, p := range patients {
		if !p.Anonymised || (requestID != "" && p.ErasedBy == requestID) {
			n++
		}
	}
	return n
}

// ScrubbedReason is the reason a change keeps once its owner is erased: the reasons the
// service writes itself (a registration, a transfer taken back, the erasure requests
// requestIDs, a late patient's covering, the retention sweep) name no one and stay, so
// the history still tells what happened and which request did it; any other becomes
// changereason.Erased. Such a reason is free text staff typed ("Aino Mäkinen called, new
// number 040…") that may repeat anything the erasure removes, and the owner service
// cannot tell which of it a retention rule still covers; the change itself (who changed
// which fields when) stays, so the rectifications remain demonstrable.
func ScrubbedReason(reason string, requestIDs []string) string {
	switch reason {
	case changereason.Registered, changereason.Untransfer, changereason.LateErasure, changereason.RetentionEnded,
		changereason.RetentionExtended, changereason.Erased:
		return reason
	}
	for _, id := range requestIDs {
		if reason == changereason.Erasure(id) {
			return reason
		}
	}
	return changereason.Erased
}
