// Package domain holds the patient-history service's entities and rules: visits (the
// clinical record) with their append-only amendments, and the communications between
// the clinic and the owners.
package domain

import (
	"slices"
	"time"
)

// Clinic is where a visit took place.
type Clinic string

// The clinics of Lillvet Oy.
const (
	ClinicSeinajoki Clinic = "seinajoki"
	ClinicKangasala Clinic = "kangasala"
)

// Route is how a medication is given.
type Route string

// The routes of administration.
const (
	RouteOral          Route = "oral"
	RouteSubcutaneous  Route = "subcutaneous"
	RouteIntramuscular Route = "intramuscular"
	RouteIntravenous   Route = "intravenous"
	RouteTopical       Route = "topical"
	RouteOphthalmic    Route = "ophthalmic"
	RouteOtic          Route = "otic"
	RouteInhaled       Route = "inhaled"
	RouteRectal        Route = "rectal"
	RouteOther         Route = "other"
)

// InvoiceState says whether an invoice is paid. The erasure rules keep the owner's
// billing data while any invoice is open.
type InvoiceState string

// The invoice states.
const (
	InvoiceOpen InvoiceState = "open"
	InvoicePaid InvoiceState = "paid"
)

// Staff is a member of staff named on a record. Subject is empty for people named by
// others rather than taken from a token.
type Staff struct {
	Subject string
	Name    string
	Role    string
}

// Diagnosis is a diagnosis with an optional terminology code.
type Diagnosis struct {
	Text string
	Code string
}

// Procedure is a procedure or treatment performed.
type Procedure struct {
	Description string
	Code        string
}

// Medication is a medicine given or prescribed.
type Medication struct {
	Product  string
	Dose     string
	Route    Route
	Duration string
}

// Invoice is a reference to an invoice in the billing system.
type Invoice struct {
	Number string
	State  InvoiceState
}

// Visit is the clinical record of one visit, as currently corrected.
type Visit struct {
	ID        string
	PatientID string
	// OwnerID is the owner the visit belongs to, whose data it is (timeline, access
	// report, erasure): the patient's owner at the visit's start or now, named by the
	// caller when those differ (see app.ownerOfVisit).
	OwnerID     string
	Clinic      Clinic
	StartTime   time.Time
	Staff       []Staff
	Reason      string
	Anamnesis   string
	Findings    string
	Diagnoses   []Diagnosis
	Procedures  []Procedure
	Medications []Medication
	WeightGrams int64
	FollowUp    string
	Invoices    []Invoice
	// Version is 1 when recorded and grows by one with each amendment and each time an
	// erasure restricts or reduces the visit.
	Version int64
	Created time.Time
	Updated time.Time
	// Restricted is set once the owner's data is erased and the visit is kept only for
	// its retention period (see the ports' restriction rules).
	Restricted bool
	// Restriction is what a restricted visit keeps (see VisitRecord.Retention), in the
	// owner's visits as an erasure reads them (Repository.OwnerVisits) only: a plan made
	// again does not give back a part it no longer keeps (see PlanErasure).
	Restriction VisitRetention
}

// Amendment is one correction of a visit: who made it, when and why, and the corrected
// values of the fields it names. Amendments are only ever appended.
type Amendment struct {
	Version int64
	Time    time.Time
	Author  Staff
	Reason  string
	Fields  []string
	// Corrected holds the corrected values of Fields; its OwnerID is the owner a
	// correction naming "owner_id" filed the visit under (empty in amendments stored
	// before amendments kept it).
	Corrected Visit
	// RequestID is the client's id of the amendment, so that a retry finds it.
	RequestID string
	// Digest is a keyed digest of what the request sent (the fields, the reason and the
	// corrected values), stored with the request id so that a retry can be compared
	// after an erasure has reduced them; empty when none was made.
	Digest string
	// MovedFrom is the owner the visit was filed under before the amendment filed it
	// under another (its update mask naming owner_id); empty when it stayed.
	MovedFrom string
}

// VisitRecord is a visit with its full trail: the current view, the original as first
// recorded, and every amendment, oldest first.
type VisitRecord struct {
	Current    Visit
	Original   Visit
	Amendments []Amendment
	// Retention is, for a restricted visit, the retention the record was last reduced
	// by (Restrict): what it keeps, and how a retry is reduced to be compared with it.
	Retention VisitRetention
	// Digest is a keyed digest of the visit its request sent (see Amendment.Digest);
	// empty when none was made.
	Digest string
}

// AmendableFields are the paths an amendment may correct, in the order a visit's
// violations are reported. Ids, the owner, the version and the times are the service's
// to set.
var AmendableFields = []string{
	"clinic", "start_time", "staff", "reason", "anamnesis", "findings", "follow_up",
	"diagnoses", "procedures", "medications", "weight_grams", "invoices",
}

// IsAmendableField reports whether path may appear in an amendment's mask.
func IsAmendableField(path string) bool { return slices.Contains(AmendableFields, path) }

// Apply returns v with the fields named in paths taken from corrected.
func Apply(v Visit, corrected *Visit, paths []string) Visit {
	for _, p := range paths {
		switch p {
		case "clinic":
			v.Clinic = corrected.Clinic
		case "start_time":
			v.StartTime = corrected.StartTime
		case "staff":
			v.Staff = corrected.Staff
		case "reason":
			v.Reason = corrected.Reason
		case "anamnesis":
			v.Anamnesis = corrected.Anamnesis
		case "findings":
			v.Findings = corrected.Findings
		case "diagnoses":
			v.Diagnoses = corrected.Diagnoses
		case "procedures":
			v.Procedures = corrected.Procedures
		case "medications":
			v.Medications = corrected.Medications
		case "weight_grams":
			v.WeightGrams = corrected.WeightGrams
		case "follow_up":
			v.FollowUp = corrected.FollowUp
		case "invoices":
			v.Invoices = corrected.Invoices
		}
	}
	return v
}

// Withdraw returns rec without its last amendment, made at version, its current view
// replayed from the original through the amendments before it, at the version after
// rec's; ok is false when the last amendment is not the one made at version (none
// was, or another was built on it). A reduced record replays to its reduced view:
// Restrict reduces every part alike.
func Withdraw(rec VisitRecord, version int64) (out VisitRecord, ok bool) {
	i := len(rec.Amendments) - 1
	if i < 0 || rec.Amendments[i].Version != version {
		return rec, false
	}
	out = rec
	out.Amendments = slices.Clone(rec.Amendments[:i])
	out.Current = rec.Original
	for _, a := range out.Amendments {
		out.Current = Apply(out.Current, &a.Corrected, a.Fields)
		out.Current.Updated = a.Time
	}
	out.Current.Version, out.Current.Restricted = rec.Current.Version+1, rec.Current.Restricted
	if from := rec.Amendments[i].MovedFrom; from != "" {
		out.Current.OwnerID = from
	}
	return out, true
}

// SameVisit reports whether a and b record the same visit: the fields its author gives
// (AmendableFields), compared as stored. Ids, the owner, the version, the times of
// writing and the restriction are the service's.
func SameVisit(a, b *Visit) bool {
	return a.Clinic == b.Clinic && a.StartTime.Equal(b.StartTime) && slices.Equal(a.Staff, b.Staff) &&
		a.Reason == b.Reason && a.Anamnesis == b.Anamnesis && a.Findings == b.Findings &&
		slices.Equal(a.Diagnoses, b.Diagnoses) && slices.Equal(a.Procedures, b.Procedures) &&
		slices.Equal(a.Medications, b.Medications) && a.WeightGrams == b.WeightGrams &&
		a.FollowUp == b.FollowUp && slices.Equal(a.Invoices, b.Invoices)
}

// SettlesHeldInvoices reports whether next lists the invoices held, whatever their
// order, with none that was paid open again: a restricted visit's correction may only
// record payments, since the erasure planned how long its invoices are kept from the
// ones it had then and told the owner service which open ones still need the identity
// code, which is dropped once none does.
func SettlesHeldInvoices(held, next []Invoice) bool {
	return len(held) == len(next) && !slices.ContainsFunc(held, func(h Invoice) bool {
		i := slices.IndexFunc(next, func(n Invoice) bool { return n.Number == h.Number })
		return i < 0 || h.State == InvoicePaid && next[i].State != InvoicePaid
	})
}

// SameAmendment reports whether retry makes the correction stored made: the fields,
// the reason and the corrected values, compared as stored, with the owner named. The
// version, the times, the author and the request id are the service's. An amendment
// stored before amendments kept the owner they named compares as it did then, blind
// to the owner; a retry naming no owner is another request (one the service refuses)
// and does not pass for a stored move.
func SameAmendment(stored, retry *Amendment) bool {
	sameOwner := stored.Corrected.OwnerID == "" || stored.Corrected.OwnerID == retry.Corrected.OwnerID
	return slices.Equal(stored.Fields, retry.Fields) && stored.Reason == retry.Reason && sameOwner && SameVisit(&stored.Corrected, &retry.Corrected)
}

// Only returns a visit holding just the fields named in paths of v (the corrected
// values an amendment keeps).
func Only(v *Visit, paths []string) Visit {
	return Apply(Visit{}, v, paths)
}

// InvoiceView is what a caller who may read only invoice references sees of a visit:
// who, when and where, and the invoices; no clinical text.
func InvoiceView(v Visit) Visit {
	return Visit{
		ID: v.ID, PatientID: v.PatientID, OwnerID: v.OwnerID, Clinic: v.Clinic, StartTime: v.StartTime,
		Invoices: v.Invoices, Version: v.Version, Created: v.Created, Updated: v.Updated, Restricted: v.Restricted,
	}
}

// InvoiceRecord is the invoice view of a whole record: the amendments that corrected
// invoices, with only their invoices and no reason (which may be clinical).
func InvoiceRecord(r VisitRecord) VisitRecord {
	out := VisitRecord{Current: InvoiceView(r.Current), Original: InvoiceView(r.Original)}
	for _, a := range r.Amendments {
		if !slices.Contains(a.Fields, "invoices") {
			continue
		}
		out.Amendments = append(out.Amendments, Amendment{
			Version: a.Version, Time: a.Time, Author: a.Author, Fields: []string{"invoices"},
			Corrected: Visit{Invoices: a.Corrected.Invoices},
		})
	}
	return out
}
