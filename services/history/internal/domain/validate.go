package domain

import (
	"fmt"
	"slices"
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

// NormalizeVisit validates a visit to be recorded in place (trimming text, filling a
// missing start time with now), adding violations under prefix (e.g. "visit").
func NormalizeVisit(v *Visit, prefix string, now time.Time, errs *apperr.ValidationError) {
	normalizeFields(v, AmendableFields, prefix, now, errs)
}

// CheckRoomForRecorder checks that a new visit's staff, the people the recording caller
// names, leave room for the caller, who is added to them within the limit every later
// correction keeps to. It is checked apart from NormalizeVisit, once a retry has been
// ruled out: a visit stored under the rule before it (20 named, stored with 21) is still
// answered to its retry.
func CheckRoomForRecorder(v *Visit, prefix string, errs *apperr.ValidationError) {
	if len(v.Staff) > maxStaff-1 {
		errs.Add(prefix+".staff", fmt.Sprintf("must be at most %d people: the one recording the visit is added to them, and a visit names at most %d", maxStaff-1, maxStaff))
	}
}

// NormalizeCorrection validates in place the fields of v named in paths, as a
// correction sets them: only those, since what it leaves as it was may have been
// recorded under older rules (text served without the identity code it holds), and a
// correction that cannot keep it would have to rewrite fields its author may neither
// see nor change (billing, recording a payment). Violations are added under prefix in
// the visit's order.
func NormalizeCorrection(v *Visit, paths []string, prefix string, now time.Time, errs *apperr.ValidationError) {
	normalizeFields(v, paths, prefix, now, errs)
}

// normalizeFields validates the fields of v named in paths, in the visit's order.
func normalizeFields(v *Visit, paths []string, prefix string, now time.Time, errs *apperr.ValidationError) {
	for _, p := range AmendableFields {
		if slices.Contains(paths, p) {
			normalizeField(v, p, prefix, now, errs)
		}
	}
}

func normalizeField(v *Visit, path, prefix string, now time.Time, errs *apperr.ValidationError) {
	f := prefix + "." + path
	switch path {
	case "clinic":
		switch v.Clinic {
		case ClinicSeinajoki, ClinicKangasala:
		default:
			errs.Add(f, "is required: Seinäjoki or Kangasala")
		}
	case "start_time":
		v.StartTime = normalizeTime(v.StartTime, f, now, errs)
	case "staff":
		normalizeStaff(v.Staff, f, errs)
	case "reason":
		v.Reason = line(errs, f, v.Reason, maxLine, true)
	case "anamnesis":
		v.Anamnesis = note(errs, f, v.Anamnesis)
	case "findings":
		v.Findings = note(errs, f, v.Findings)
	case "follow_up":
		v.FollowUp = note(errs, f, v.FollowUp)
	case "diagnoses":
		normalizeDiagnoses(v.Diagnoses, f, errs)
	case "procedures":
		normalizeProcedures(v.Procedures, f, errs)
	case "medications":
		normalizeMedications(v.Medications, f, errs)
	case "weight_grams":
		if v.WeightGrams < 0 || v.WeightGrams > maxWeightGrams {
			errs.Add(f, fmt.Sprintf("must be between 0 (not weighed) and %d", maxWeightGrams))
		}
	case "invoices":
		normalizeInvoices(v.Invoices, f, errs)
	}
}

func normalizeDiagnoses(diagnoses []Diagnosis, field string, errs *apperr.ValidationError) {
	if len(diagnoses) > maxDiagnoses {
		errs.Add(field, fmt.Sprintf("must be at most %d", maxDiagnoses))
	}
	for i := range diagnoses {
		d, f := &diagnoses[i], fmt.Sprintf("%s[%d]", field, i)
		d.Text = line(errs, f+".text", d.Text, maxLine, true)
		d.Code = code(errs, f+".code", d.Code)
	}
}

func normalizeProcedures(procedures []Procedure, field string, errs *apperr.ValidationError) {
	if len(procedures) > maxProcedures {
		errs.Add(field, fmt.Sprintf("must be at most %d", maxProcedures))
	}
	for i := range procedures {
		p, f := &procedures[i], fmt.Sprintf("%s[%d]", field, i)
		p.Description = line(errs, f+".description", p.Description, maxLine, true)
		p.Code = code(errs, f+".code", p.Code)
	}
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
