package domain

import (
	"fmt"
	"strings"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/identitycode"
)

// Limits of a record's parts. Generous for clinical use, small enough that one visit
// stays far below the store's document limit.
const (
	maxLine        = 500
	maxNote        = 20_000
	maxName        = 200
	maxCode        = 32
	maxInvoiceNo   = 40
	maxStaff       = 20
	maxDiagnoses   = 50
	maxProcedures  = 100
	maxMedications = 50
	maxInvoices    = 20
	maxWeightGrams = 2_000_000
	// clockSkew lets a client's clock run a little ahead of the server's.
	clockSkew = 5 * time.Minute
)

// earliest bounds times: nothing in the register happened before the clinics existed.
var earliest = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// NormalizeVisit validates v in place (trimming text, filling a missing start time with
// now), adding violations under prefix (e.g. "visit").
func NormalizeVisit(v *Visit, prefix string, now time.Time, errs *apperr.ValidationError) {
	switch v.Clinic {
	case ClinicSeinajoki, ClinicKangasala:
	default:
		errs.Add(prefix+".clinic", "is required: Seinäjoki or Kangasala")
	}
	v.StartTime = normalizeTime(v.StartTime, prefix+".start_time", now, errs)
	normalizeStaff(v.Staff, prefix+".staff", errs)
	v.Reason = line(errs, prefix+".reason", v.Reason, maxLine, true)
	v.Anamnesis = note(errs, prefix+".anamnesis", v.Anamnesis)
	v.Findings = note(errs, prefix+".findings", v.Findings)
	v.FollowUp = note(errs, prefix+".follow_up", v.FollowUp)
	if len(v.Diagnoses) > maxDiagnoses {
		errs.Add(prefix+".diagnoses", fmt.Sprintf("must be at most %d", maxDiagnoses))
	}
	for i := range v.Diagnoses {
		d, f := &v.Diagnoses[i], fmt.Sprintf("%s.diagnoses[%d]", prefix, i)
		d.Text = line(errs, f+".text", d.Text, maxLine, true)
		d.Code = code(errs, f+".code", d.Code)
	}
	if len(v.Procedures) > maxProcedures {
		errs.Add(prefix+".procedures", fmt.Sprintf("must be at most %d", maxProcedures))
	}
	for i := range v.Procedures {
		p, f := &v.Procedures[i], fmt.Sprintf("%s.procedures[%d]", prefix, i)
		p.Description = line(errs, f+".description", p.Description, maxLine, true)
		p.Code = code(errs, f+".code", p.Code)
	}
	normalizeMedications(v.Medications, prefix+".medications", errs)
	if v.WeightGrams < 0 || v.WeightGrams > maxWeightGrams {
		errs.Add(prefix+".weight_grams", fmt.Sprintf("must be between 0 (not weighed) and %d", maxWeightGrams))
	}
	normalizeInvoices(v.Invoices, prefix+".invoices", errs)
}

// NormalizeRestrictedVisit checks a correction of a restricted visit, which only
// billing makes and only to invoices: the visit may have been reduced to when it took
// place and its invoices, so nothing else is there to check.
func NormalizeRestrictedVisit(v *Visit, prefix string, errs *apperr.ValidationError) {
	normalizeInvoices(v.Invoices, prefix+".invoices", errs)
}

func normalizeStaff(staff []Staff, field string, errs *apperr.ValidationError) {
	if len(staff) > maxStaff {
		errs.Add(field, fmt.Sprintf("must be at most %d people", maxStaff))
	}
	for i := range staff {
		s, f := &staff[i], fmt.Sprintf("%s[%d]", field, i)
		s.Name = line(errs, f+".name", s.Name, maxName, true)
		s.Subject = line(errs, f+".subject", s.Subject, maxName, false)
		s.Role = line(errs, f+".role", s.Role, maxName, false)
	}
}

func normalizeMedications(meds []Medication, field string, errs *apperr.ValidationError) {
	if len(meds) > maxMedications {
		errs.Add(field, fmt.Sprintf("must be at most %d", maxMedications))
	}
	for i := range meds {
		m, f := &meds[i], fmt.Sprintf("%s[%d]", field, i)
		m.Product = line(errs, f+".product", m.Product, maxName, true)
		m.Dose = line(errs, f+".dose", m.Dose, maxName, true)
		m.Duration = line(errs, f+".duration", m.Duration, maxName, false)
		switch m.Route {
		case RouteOral, RouteSubcutaneous, RouteIntramuscular, RouteIntravenous, RouteTopical,
			RouteOphthalmic, RouteOtic, RouteInhaled, RouteRectal, RouteOther:
		default:
			errs.Add(f+".route", "is required")
		}
	}
}

func normalizeInvoices(invoices []Invoice, field string, errs *apperr.ValidationError) {
	if len(invoices) > maxInvoices {
		errs.Add(field, fmt.Sprintf("must be at most %d", maxInvoices))
	}
	seen := make(map[string]bool, len(invoices))
	for i := range invoices {
		inv, f := &invoices[i], fmt.Sprintf("%s[%d]", field, i)
		inv.Number = strings.TrimSpace(inv.Number)
		switch {
		case inv.Number == "":
			errs.Add(f+".number", "is required")
		case len(inv.Number) > maxInvoiceNo || strings.ContainsFunc(inv.Number, notInvoiceRune):
			errs.Add(f+".number", fmt.Sprintf("must be at most %d letters, digits, '-' or '/'", maxInvoiceNo))
		case identitycode.ContainsLettered(inv.Number):
			// Invoices outlive an owner's erasure (bookkeeping), so a code here would
			// too; one written as digits only passes, as ordinary invoice numbers
			// shaped like it must (see apperr.CheckNoIdentityCodeInNumber).
			errs.Add(f+".number", apperr.IdentityCodeInNumberViolation)
		case seen[inv.Number]:
			errs.Add(f+".number", "is listed twice")
		}
		seen[inv.Number] = true
		switch inv.State {
		case InvoiceOpen, InvoicePaid:
		default:
			errs.Add(f+".state", "is required: open or paid")
		}
	}
}

// NormalizeCommunication validates c in place, adding violations under prefix.
func NormalizeCommunication(c *Communication, prefix string, now time.Time, errs *apperr.ValidationError) {
	switch c.Channel {
	case ChannelPhone, ChannelEmail, ChannelSMS, ChannelLetter, ChannelInPerson, ChannelPortal:
	default:
		errs.Add(prefix+".channel", "is required")
	}
	switch c.Direction {
	case DirectionInbound, DirectionOutbound:
	default:
		errs.Add(prefix+".direction", "is required: inbound or outbound")
	}
	c.Time = normalizeTime(c.Time, prefix+".time", now, errs)
	c.Subject = line(errs, prefix+".subject", c.Subject, maxLine, true)
	c.Summary = note(errs, prefix+".summary", c.Summary)
}

// normalizeTime fills a zero time with now and refuses times in the future or before
// the register's earliest date. The store keeps milliseconds, so the answer to a write
// shows what a read will.
func normalizeTime(t time.Time, field string, now time.Time, errs *apperr.ValidationError) time.Time {
	if t.IsZero() {
		t = now
	}
	switch {
	case t.After(now.Add(clockSkew)):
		errs.Add(field, "must not be in the future")
	case t.Before(earliest):
		errs.Add(field, "must not be before 1990")
	}
	return t.UTC().Truncate(time.Millisecond)
}

// line trims a one-line text and checks it.
func line(errs *apperr.ValidationError, field, s string, maxLen int, required bool) string {
	s = strings.TrimSpace(s)
	if required && s == "" {
		errs.Add(field, "is required")
		return s
	}
	errs.CheckText(field, s, maxLen)
	return s
}

// note trims a multi-line text and checks it.
func note(errs *apperr.ValidationError, field, s string) string {
	s = strings.TrimSpace(s)
	errs.CheckMultilineText(field, s, maxNote)
	return s
}

// code checks an optional terminology code. Its character set is also that of an
// identity code, which is refused as in free text.
func code(errs *apperr.ValidationError, field, s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxCode || strings.ContainsFunc(s, notCodeRune) {
		errs.Add(field, fmt.Sprintf("must be at most %d letters, digits, '.', '-' or ':'", maxCode))
	} else {
		errs.CheckNoIdentityCodeInNumber(field, s)
	}
	return s
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func notCodeRune(r rune) bool { return !isASCIIAlnum(r) && r != '.' && r != '-' && r != ':' }

func notInvoiceRune(r rune) bool { return !isASCIIAlnum(r) && r != '-' && r != '/' }
