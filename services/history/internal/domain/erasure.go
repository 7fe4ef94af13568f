package domain

import (
	"slices"
	"time"

	"github.com/lillvet/register/services/platform/retention"
)

// The record classes this service answers for (retention.RecordClass values, and the
// communications, which no law keeps).
const (
	ClassPatientRecords  = string(retention.ClassPatientRecords)
	ClassMedicineRecords = string(retention.ClassMedicineRecords)
	ClassInvoices        = string(retention.ClassInvoices)
	ClassCommunications  = "communications"
)

// dispositionClasses is the order in which results list the classes.
var dispositionClasses = []string{ClassPatientRecords, ClassMedicineRecords, ClassInvoices, ClassCommunications}

// Disposition says what an erasure did with some records of one class: erased them, or
// kept them (restricted) on a legal basis through KeptUntil.
type Disposition struct {
	Class     string
	Kept      bool
	Basis     string
	KeptUntil retention.Date
	Count     int
}

// ErasureResult is the answer to an erasure request.
type ErasureResult struct {
	// Dispositions list, per class, what was kept on each basis (through the latest
	// day anything of the class is kept on it) and what was erased now; classes
	// without records are left out.
	Dispositions []Disposition
	// OwnerNamedUntil is the last day a kept record names the owner; zero when nothing
	// is kept.
	OwnerNamedUntil retention.Date
	// IdentityCodeNeededUntil is the bookkeeping end of the owner's open invoices; zero
	// when none is open.
	IdentityCodeNeededUntil retention.Date
}

// VisitRetention is how long each part of one restricted visit is kept: the clinical
// record (patient records), the medications (also while the clinical record is kept:
// they are part of it) and the invoice references. A zero day means the part is not
// kept (erased, or the visit has none). Past its last day a part is removed, and the
// visit once every part is.
type VisitRetention struct {
	VisitID       string
	RecordUntil   retention.Date
	MedicineUntil retention.Date
	InvoiceUntil  retention.Date
	// Version is the version of the visit the erasure planned from, raised with each of
	// its own writes while it applies the plan: a visit found at another version
	// changed meanwhile (an amendment landed before the marking) and is planned again.
	// The sweep does not use it.
	Version int64
	// Medications and Invoices are the counts of the entry, fixed when the visit is
	// planned from a read of it unrestricted (the erasure has not written to it: each of
	// its writes restricts the visit or, conditional on the version planned, deletes it):
	// what it held then. A plan made again once the erasure has written to the visit
	// keeps, for a part the entry erases, the count fixed (a reduction may have removed
	// that part since), and counts a part the entry keeps as the visit holds it (see
	// fixedFor). For a visit deleted they are what it erased.
	Medications bool
	Invoices    int
	// LastEntry is the start of the animal's last visit (by any owner) as read when the
	// visit was planned; zero when unknown (a plan stored before it was kept). A later
	// one, its next owner's visit, keeps the animal's earlier clinical records longer
	// (DESIGN rule 7), so the erasure plans again before it removes anything (see
	// Erasure.AnimalsAsPlanned). Only the erasure record keeps it.
	LastEntry time.Time
}

// erasesMedications reports whether r's plan erases the visit's medications.
func (r VisitRetention) erasesMedications() bool {
	return r.Medications && r.medicinesUntil().IsZero()
}

// medicinesUntil is the last day r keeps the visit's medications: as long as the
// clinical record, of which they are part, or longer on their own; zero when neither
// is kept. Reduce, the answer and the sweep's count all keep to it.
func (r VisitRetention) medicinesUntil() retention.Date {
	return r.MedicineUntil.Later(r.RecordUntil)
}

// medicinesBasis is the legal basis on which r keeps the visit's medications until
// medicinesUntil: the clinical record's when it outlasts their own.
func (r VisitRetention) medicinesBasis() string {
	if r.RecordUntil.After(r.MedicineUntil) {
		return retention.BasisVeterinaryRecords
	}
	return retention.BasisMedicineRecords
}

// within returns r without the parts that kept, the visit's restriction, has dropped:
// a reduction removed them (the clinical record, the medications), and as only billing
// writes to a restricted visit, and only its invoices, nothing brings them back. A
// later entry of the animal (its next owner's visit: the erasure reduces only once a
// visit its owner records is refused) lengthens what the visit still holds, never
// gives back what it lost. The
// invoices are planned as the visit holds them: one billing added before the mark
// stands.
func (r VisitRetention) within(kept VisitRetention) VisitRetention {
	if kept.RecordUntil.IsZero() {
		r.RecordUntil = retention.Date{}
	}
	if kept.medicinesUntil().IsZero() {
		r.MedicineUntil = retention.Date{}
	}
	return r
}

// RecordPassed reports whether r keeps the clinical record, and its last day has passed
// on the day today.
func (r VisitRetention) RecordPassed(today retention.Date) bool {
	return !r.RecordUntil.IsZero() && today.After(r.RecordUntil)
}

// RecordKeptTo returns r keeping the clinical record at least through until, the day
// the animal's last visit keeps it to: a visit of the animal after the erasure (by its
// next owner) lengthens it. A clinical record r no longer keeps stays removed.
func (r VisitRetention) RecordKeptTo(until retention.Date) VisitRetention {
	if !r.RecordUntil.IsZero() {
		r.RecordUntil = r.RecordUntil.Later(until)
	}
	return r
}

// erasedInvoices is the number of invoice references r's plan erases.
func (r VisitRetention) erasedInvoices() int {
	if r.InvoiceUntil.IsZero() {
		return r.Invoices
	}
	return 0
}

// fixedFor returns the counts of next, planned again from a visit the erasure has
// written to, with those r, its earlier entry, fixed for the parts r erases: the
// answer counts what the erasure erased of the visit as the visit held it when first
// planned, and what it keeps as the visit holds it now.
func (r VisitRetention) fixedFor(next VisitRetention) VisitRetention {
	next.Medications = next.Medications || r.erasesMedications()
	if n := r.erasedInvoices(); n > 0 {
		next.Invoices = n
	}
	return next
}

// SameDays reports whether r and o keep the same parts of the same visit for as long.
func (r VisitRetention) SameDays(o VisitRetention) bool {
	r.Version, r.Medications, r.Invoices, r.LastEntry = o.Version, o.Medications, o.Invoices, o.LastEntry
	return r == o
}

// Until is the last day anything of the visit is kept; zero when nothing is.
func (r VisitRetention) Until() retention.Date {
	return r.RecordUntil.Later(r.MedicineUntil).Later(r.InvoiceUntil)
}

// On returns what is left of the retention on the day today: each part whose last day
// has passed is no longer kept. Gone reports that nothing is.
func (r VisitRetention) On(today retention.Date) (left VisitRetention, gone bool) {
	left = r
	for _, d := range []*retention.Date{&left.RecordUntil, &left.MedicineUntil, &left.InvoiceUntil} {
		if today.After(*d) {
			*d = retention.Date{}
		}
	}
	return left, left.Until().IsZero()
}

// Next is the earliest day after which a part of the visit is removed; zero when
// nothing is kept.
func (r VisitRetention) Next() retention.Date {
	var next retention.Date
	for _, d := range []retention.Date{r.RecordUntil, r.MedicineUntil, r.InvoiceUntil} {
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	return next
}

// Restrict returns the record reduced to what r keeps: without the clinical record the
// visit keeps only when and where it took place, the medications while they are kept
// and the invoice references while they are kept, in its current view, its original and
// every amendment (an amendment keeps its reason only with the clinical record, as the
// reason may be clinical).
func (r VisitRetention) Restrict(rec VisitRecord) VisitRecord {
	if !r.RecordUntil.IsZero() && !r.InvoiceUntil.IsZero() {
		return rec
	}
	out := rec
	out.Current, out.Original, out.Amendments = r.Reduce(rec.Current), r.Reduce(rec.Original), nil
	for _, a := range rec.Amendments {
		out.Amendments = append(out.Amendments, r.ReduceAmendment(a))
	}
	return out
}

// Reduce returns v as Restrict keeps a visit's current view and original.
func (r VisitRetention) Reduce(v Visit) Visit {
	out := v
	if r.RecordUntil.IsZero() {
		out = InvoiceView(v)
		if !r.medicinesUntil().IsZero() {
			out.Medications = v.Medications
		}
	}
	if r.InvoiceUntil.IsZero() {
		out.Invoices = nil
	}
	return out
}

// ReduceAmendment returns a as Restrict keeps an amendment.
func (r VisitRetention) ReduceAmendment(a Amendment) Amendment {
	a.Corrected = r.Reduce(a.Corrected)
	if r.RecordUntil.IsZero() {
		a.Reason = ""
	}
	return a
}

// MayReduce reports whether Restrict may change the record whose current view is v:
// when the clinical record is no longer kept, or the invoices are not while the visit
// has some now or had some before an amendment.
func (r VisitRetention) MayReduce(v *Visit) bool {
	return r.RecordUntil.IsZero() || r.InvoiceUntil.IsZero() && (len(v.Invoices) > 0 || v.Version > 1)
}

// RequestDigestDays is how many days past a visit's latest request (Visit.Updated) its
// request digests are kept. They only tell a retry from a request id reused for
// something else, and retries come within minutes or hours, while a digest is a keyed
// hash of what the request sent, clinical text and invoice numbers that a reduction
// removes: a restriction or reduction past the horizon removes them, and the sweep
// removes those it kept once the horizon has passed.
const RequestDigestDays = 7

// DigestsUntil is the last day, in loc, the request digests of v may still tell a retry.
func DigestsUntil(v *Visit, loc *time.Location) retention.Date {
	return retention.DateOf(v.Updated.AddDate(0, 0, RequestDigestDays), loc)
}

// HasDigests reports whether rec holds a request digest, or an amendment's request id.
func HasDigests(rec *VisitRecord) bool {
	return rec.Digest != "" || slices.ContainsFunc(rec.Amendments, func(a Amendment) bool { return a.Digest != "" || a.RequestID != "" })
}

// WithoutDigests returns rec without its request digests, and without its amendments'
// request ids: the client's text, up to 128 characters of anything, which only finds
// the amendment for a retry and goes with the digest that tells the retry apart (a
// visit's request id is kept only as its id's hash).
func WithoutDigests(rec VisitRecord) VisitRecord {
	rec.Digest = ""
	rec.Amendments = slices.Clone(rec.Amendments)
	for i := range rec.Amendments {
		rec.Amendments[i].Digest, rec.Amendments[i].RequestID = "", ""
	}
	return rec
}

// Mark is a visit to mark restricted with its retention. With DropDigests its request
// digests (and its amendments' request ids, see WithoutDigests) are removed in the same
// write: its own and its amendments', fewer than Version, the version read (a visit's
// version counts its amendments until it is first marked, so an amendment that lands
// after the read keeps its digest).
type Mark struct {
	Retention   VisitRetention
	DropDigests bool
	Version     int64
}

// PatientHistory is what an erasure needs to know of one of the owner's patients: the
// owner's visits of it and the last entry about the animal (by any owner).
type PatientHistory struct {
	Visits    []*Visit
	LastEntry time.Time
}

// PlanErasure decides, on the day today, what an erasure of an owner keeps of each of
// their visits (per animal, by p) and answers for it with communications erased now.
// loc is the clinic's time zone. The answer counts what is kept as the visits hold it
// now, and what is erased by the counts of each entry (see VisitRetention.Medications).
// touched are the entries of an earlier plan for the visits the erasure has written to
// since (see Erasure.Touched): one no longer among the patients' visits was deleted,
// and the plan holds it still and counts it erased whole; one read restricted keeps the
// counts its entry fixed for the parts it erases. A visit read restricted (by this
// erasure or an earlier request) keeps no part its restriction has dropped (see
// VisitRetention.within).
func PlanErasure(p retention.Policy, patients []PatientHistory, communications int, today retention.Date, loc *time.Location, touched ...VisitRetention) (ErasureResult, []VisitRetention) {
	var plan []VisitRetention
	tally := newTally()
	earlier := make(map[string]VisitRetention, len(touched))
	for _, r := range touched {
		earlier[r.VisitID] = r
	}
	read := map[string]bool{}
	for _, ph := range patients {
		for _, v := range ph.Visits {
			read[v.ID] = true
		}
	}
	for _, r := range touched {
		if !read[r.VisitID] {
			plan = append(plan, r)
			tally.add(ClassPatientRecords, "", retention.Date{}, 1)
			if r.Medications {
				tally.add(ClassMedicineRecords, "", retention.Date{}, 1)
			}
			tally.add(ClassInvoices, "", retention.Date{}, r.Invoices)
		}
	}
	var res ErasureResult
	for _, ph := range patients {
		facts := retention.Facts{LastPatientEntry: ph.LastEntry}
		for _, v := range ph.Visits {
			facts.LastPatientEntry = latest(facts.LastPatientEntry, v.StartTime)
			if len(v.Medications) > 0 {
				facts.LastMedicineEntry = latest(facts.LastMedicineEntry, v.StartTime)
			}
		}
		animal := keptUntil(p.Decide(facts, today, loc))
		for _, v := range ph.Visits {
			r := VisitRetention{VisitID: v.ID, RecordUntil: animal[retention.ClassPatientRecords], Version: v.Version,
				Medications: len(v.Medications) > 0, Invoices: len(v.Invoices), LastEntry: ph.LastEntry}
			if len(v.Medications) > 0 {
				r.MedicineUntil = animal[retention.ClassMedicineRecords]
			}
			if len(v.Invoices) > 0 {
				r.InvoiceUntil = keptUntil(p.Decide(retention.Facts{LastInvoice: v.StartTime}, today, loc))[retention.ClassInvoices]
				if slices.ContainsFunc(v.Invoices, func(i Invoice) bool { return i.State == InvoiceOpen }) {
					res.IdentityCodeNeededUntil = res.IdentityCodeNeededUntil.Later(r.InvoiceUntil)
				}
			}
			if v.Restricted {
				r = r.within(v.Restriction)
			}
			r = earlier[v.ID].fixedFor(r)
			tally.add(ClassPatientRecords, retention.BasisVeterinaryRecords, r.RecordUntil, 1)
			if r.Medications {
				tally.add(ClassMedicineRecords, r.medicinesBasis(), r.medicinesUntil(), 1)
			}
			tally.add(ClassInvoices, retention.BasisBookkeeping, r.InvoiceUntil, r.Invoices)
			res.OwnerNamedUntil = res.OwnerNamedUntil.Later(r.Until())
			plan = append(plan, r)
		}
	}
	tally.add(ClassCommunications, "", retention.Date{}, communications)
	res.Dispositions = tally.dispositions()
	return res, plan
}

// SweepResult counts what a retention sweep removed, per class: visits whose clinical
// record or medications were removed, invoice references and communications.
type SweepResult map[string]int

// CountWhole adds what removing v whole removes (a visit the erasure missed).
func (s SweepResult) CountWhole(v *Visit) {
	s[ClassPatientRecords]++
	if len(v.Medications) > 0 {
		s[ClassMedicineRecords]++
	}
	s[ClassInvoices] += len(v.Invoices)
}

// Count adds what removing the parts of rec that left no longer keeps removes.
func (s SweepResult) Count(rec VisitRecord, before, left VisitRetention) {
	if !before.RecordUntil.IsZero() && left.RecordUntil.IsZero() {
		s[ClassPatientRecords]++
	}
	if !before.Until().IsZero() && len(rec.Current.Medications) > 0 && left.medicinesUntil().IsZero() {
		s[ClassMedicineRecords]++
	}
	if !before.InvoiceUntil.IsZero() && left.InvoiceUntil.IsZero() {
		s[ClassInvoices] += len(rec.Current.Invoices)
	}
}

// Dispositions lists the counts as erased dispositions, in the order of the classes.
func (s SweepResult) Dispositions() []Disposition {
	var out []Disposition
	for _, c := range dispositionClasses {
		if s[c] > 0 {
			out = append(out, Disposition{Class: c, Count: s[c]})
		}
	}
	return out
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// keptUntil maps the kept classes of decisions to their last day.
func keptUntil(ds []retention.Decision) map[retention.RecordClass]retention.Date {
	out := map[retention.RecordClass]retention.Date{}
	for _, d := range ds {
		if d.Keep {
			out[d.Class] = d.Until
		}
	}
	return out
}

// keptBases is the order in which results list the bases a class is kept on.
var keptBases = []string{retention.BasisVeterinaryRecords, retention.BasisMedicineRecords, retention.BasisBookkeeping}

// tally sums the dispositions of an erasure: what is kept per class and basis, and
// what is erased per class.
type tally struct {
	kept   map[keptOn]int
	until  map[keptOn]retention.Date
	erased map[string]int
}

// keptOn is a class kept on one basis.
type keptOn struct{ class, basis string }

func newTally() *tally {
	return &tally{kept: map[keptOn]int{}, until: map[keptOn]retention.Date{}, erased: map[string]int{}}
}

// add counts n records of class kept through until on basis, or erased when until is
// zero. A class kept on more than one basis (medicines, kept with the clinical record
// or longer on their own) is answered once for each, through the latest day it keeps
// some on it, so that the answer does not depend on the order the visits are read in.
func (t *tally) add(class, basis string, until retention.Date, n int) {
	if until.IsZero() {
		t.erased[class] += n
		return
	}
	k := keptOn{class, basis}
	t.kept[k] += n
	t.until[k] = t.until[k].Later(until)
}

// dispositions lists, per class in order, what is kept on each basis in order and
// then what is erased.
func (t *tally) dispositions() []Disposition {
	var out []Disposition
	for _, c := range dispositionClasses {
		for _, b := range keptBases {
			if k := (keptOn{c, b}); t.kept[k] > 0 {
				out = append(out, Disposition{Class: c, Kept: true, Basis: b, KeptUntil: t.until[k], Count: t.kept[k]})
			}
		}
		if n := t.erased[c]; n > 0 {
			out = append(out, Disposition{Class: c, Count: n})
		}
	}
	return out
}

// Erasure is the record of the erasures of one owner's history: each request with the
// result first answered to it, and the visits still held under it with their retention.
// It is stored before anything is erased (the decision), and applying it again is
// harmless, so that a retry after a crash completes the job.
type Erasure struct {
	OwnerID  string
	Requests []ErasureRequest
	Visits   []VisitRetention
	// Closing is set once a pass of the erasure found every visit as planned and
	// restricted it, before the read of the visits that confirms nothing came in
	// meanwhile: a write to an unrestricted visit checked before it is stored comes
	// before that read, so the erasure plans it (see Missed). Once stored it stays set,
	// for a later request too (see Decided and Plannable).
	Closing bool
	// Applied is set once every visit is restricted (or removed) and the
	// communications are erased.
	Applied bool
	// Answered counts the requests, from the first, answered already: those decided
	// before the record was last applied, whose retries answer their stored result. A
	// plan made again updates the answers of the others (see Replanned).
	Answered int
	// Version grows with each change; the store writes conditionally on it.
	Version int64
	// DigestsUntil is the last day a request digest the erasure or a sweep kept on a
	// visit (its request was recent) may still tell a retry; the sweep removes them
	// after it. Zero when none was kept.
	DigestsUntil retention.Date
	// CountsHeld tells that the plan's entries keep their counts
	// (VisitRetention.Medications and Invoices): set by a plan made from the visits
	// alone, kept by one made again from the entries of such a plan (see Touched). A
	// record stored before the entries kept them lacks it: its entries count nothing
	// of what the erasure removed, so once the erasure has written to a visit its
	// answers keep the erased counts as first answered (see erasedAsAnswered). Decided
	// and erasedAsAnswered are the only places such a record is treated otherwise.
	CountsHeld bool
	// MissedCheckAfter is the day after which the sweep reads the owner's visits once
	// more and removes those the erasure missed (written once it was applied, by a call
	// that stopped before its own check), set the day after the erasure is applied so
	// that every call checked before the erasure began has ended; zero once done.
	MissedCheckAfter retention.Date
}

// ErasureRequest is one erasure request and its answer.
type ErasureRequest struct {
	RequestID string
	DecidedAt time.Time
	Result    ErasureResult
}

// Request returns the request with the id, if it was made.
func (e *Erasure) Request(id string) (ErasureRequest, bool) {
	i := slices.IndexFunc(e.Requests, func(r ErasureRequest) bool { return r.RequestID == id })
	if i < 0 {
		return ErasureRequest{}, false
	}
	return e.Requests[i], true
}

// Missed reports whether a write to the unrestricted visit, checked against e after
// it was written, came too late for the erasure: e is closing or applied and its plan
// does not hold the visit. Before Closing is stored every write checked is read by
// the erasure's passes, which plan it before the erasure answers.
func (e *Erasure) Missed(visitID string) bool {
	return (e.Closing || e.Applied) && !e.Holds(visitID)
}

// Plannable returns those of visits, the owner's visits as read, that a plan of e may
// hold: once a request was answered, only those e holds. Any other was written after
// the read that confirmed the answered plan, and as a later request leaves e closing,
// its own check refuses it (Missed); planning it would keep it, restricted, while the
// answer given says nothing of it.
func (e *Erasure) Plannable(visits []*Visit) []*Visit {
	if e.Answered == 0 {
		return visits
	}
	return slices.DeleteFunc(slices.Clone(visits), func(v *Visit) bool { return !e.Holds(v.ID) })
}

// Holds reports whether the plan holds the visit.
func (e *Erasure) Holds(visitID string) bool {
	return slices.ContainsFunc(e.Visits, func(r VisitRetention) bool { return r.VisitID == visitID })
}

// AsPlanned reports whether visits, the owner's visits as read now on the day today,
// are those the plan was made from: each held at the version planned, and every
// visit held found, but those the plan removes that are stored no more. moved are the
// ids of the visits held that are stored under another owner now (see Removed).
func (e *Erasure) AsPlanned(visits []*Visit, moved map[string]bool, today retention.Date) bool {
	found := make(map[string]int64, len(visits))
	for _, v := range visits {
		found[v.ID] = v.Version
	}
	held := 0
	for _, r := range e.Visits {
		version, ok := found[r.VisitID]
		if _, gone := r.On(today); !ok && gone && !moved[r.VisitID] {
			continue
		}
		if !ok || version != r.Version {
			return false
		}
		held++
	}
	return held == len(visits)
}

// AnimalsAsPlanned reports whether last, the start of each animal's last visit (by any
// owner) by patient id as read now, is no later than the one the plan's entry for each
// of visits, the owner's visits as read now, was made from. The owner's erasure never
// refuses the animal's next owner, whose visit since keeps the earlier clinical
// records longer (DESIGN rule 7). An entry stored before plans kept the animal's last
// visit, which may have been planned before such a visit too, has a zero one, earlier
// than any, and is not as planned.
func (e *Erasure) AnimalsAsPlanned(visits []*Visit, last map[string]time.Time) bool {
	planned := make(map[string]time.Time, len(e.Visits))
	for _, r := range e.Visits {
		planned[r.VisitID] = r.LastEntry
	}
	for _, v := range visits {
		if from, ok := planned[v.ID]; ok && last[v.PatientID].After(from) {
			return false
		}
	}
	return true
}

// Replanned takes plan and res, made from the visits as they are now, in place of the
// plan e holds, and updates the answers to the requests not answered yet (see
// Answered; two requests may be applying at once, and either one's retry answers once
// applied). An answer keeps the communications erased as first answered: those counted
// then are erased (some by a racing recording's check, before the erasure's passes
// count them again), and any written since is refused. Its other counts are those of
// res. Its days change only when the plan keeps other parts or for another time than
// the one answered (an amendment added an invoice, say), but for the identity code's
// day, which follows the plan: later when an open invoice needs the code longer,
// earlier when an invoice was paid since (billing paid an invoice the plan read open
// before the visit was restricted: the payment stands, and only one on a restricted
// visit marks the code to be checked). A request is answered only once applied, after
// a pass that read every visit held, so its day is that of the invoices as they are
// then; the answers given already (before e.Answered) are never changed. wrote tells
// that the erasure has deleted or restricted a visit of the plan (Touched is not
// empty), which matters only for a record stored before its plan's entries kept their
// counts (see Erasure.CountsHeld). It reports whether an answer changed, which must
// then be stored before it is given.
func (e *Erasure) Replanned(plan []VisitRetention, res ErasureResult, today retention.Date, wrote bool) bool {
	same := sameDays(e.Visits, plan, today)
	e.Visits = plan
	changed := false
	for i := e.Answered; i < len(e.Requests); i++ {
		answer := &e.Requests[i].Result
		next := res
		if same && !res.IdentityCodeNeededUntil.After(answer.IdentityCodeNeededUntil) {
			next.OwnerNamedUntil = answer.OwnerNamedUntil
		}
		answered, asAnswered := answer.Dispositions, e.erasedAsAnswered(same, wrote)
		if asAnswered {
			answered = withoutMedicinesKeptWithRecord(answered, plan)
		}
		next.Dispositions = recount(res.Dispositions, answered, asAnswered)
		if !next.equal(*answer) {
			*answer, changed = next, true
		}
	}
	return changed
}

// equal reports whether r and o answer the same.
func (r ErasureResult) equal(o ErasureResult) bool {
	return r.OwnerNamedUntil == o.OwnerNamedUntil && r.IdentityCodeNeededUntil == o.IdentityCodeNeededUntil &&
		slices.Equal(r.Dispositions, o.Dispositions)
}

// Decided records req, a new request answered from plan, in e, to be stored before it
// is applied. tookOver tells that plan holds entries of the earlier plan (see Touched),
// which keep their counts only if that plan's did (see CountsHeld). A record once
// closing stays closing: an earlier request may have confirmed its visits and be
// reducing them by its plan, and a visit of the animal accepted now (its check finding
// the record not closing) would keep the clinical records that plan removes (DESIGN
// rule 7); this request's read came after Closing was stored, so it holds every write
// checked before. Once a request was answered the record is closing: a visit written
// after the read that confirmed that answer is refused by its own check, not planned
// by this one, so the answer given stays true.
func (e *Erasure) Decided(req ErasureRequest, plan []VisitRetention, tookOver bool) {
	e.Requests = append(e.Requests, req)
	e.Visits, e.Closing, e.Applied = plan, e.Closing || e.Answered > 0, false
	e.CountsHeld = e.CountsHeld || !tookOver
	e.Version++
}

// erasedAsAnswered tells whether an answer keeps every erased count as first answered,
// not only the communications: only on a record stored before its plan's entries kept
// their counts, once the erasure has written to a visit (the plan no longer counts
// what it removed: its entries have no counts, see CountsHeld) and while the plan
// keeps the same parts as long (less the medications kept with their clinical record,
// see withoutMedicinesKeptWithRecord). A plan keeping other parts replaces the answer,
// and counts a visit such a record deleted as a patient record only.
func (e *Erasure) erasedAsAnswered(same, wrote bool) bool {
	return !e.CountsHeld && wrote && same
}

// Removed returns the ids of the visits the plan removes on the day today that
// visits, the owner's visits as read then, does not hold: deleted, or moved to another
// owner after a read of the erasure (a correction naming owner_id, checked before the
// erasure was recorded), which only a read by id tells apart.
func (e *Erasure) Removed(visits []*Visit, today retention.Date) []string {
	read := make(map[string]bool, len(visits))
	for _, v := range visits {
		read[v.ID] = true
	}
	var out []string
	for _, r := range e.Visits {
		if _, gone := r.On(today); gone && !read[r.VisitID] {
			out = append(out, r.VisitID)
		}
	}
	return out
}

// Touched returns the entries of the plan for the visits the erasure has written to,
// by visits, the owner's visits as read on the day today: those it deleted (keeping
// nothing, no longer read and not among moved, the ids of those stored under another
// owner now: see Removed) and those read restricted (perhaps reduced). A plan made
// from visits alone would leave what it removed of them out of the answer's erased
// counts (see PlanErasure). Besides the erasure, only the retention sweep deletes a
// visit the plan holds: once a request was applied, past the visit's last day, and it
// may do so while a later request applies (the sweep's save of the record then fails
// on its version, and the next sweep reads it again); such a visit is taken for one
// the erasure deleted, and that request's answer counts it erased as planned, which by
// then it is.
func (e *Erasure) Touched(visits []*Visit, moved map[string]bool, today retention.Date) []VisitRetention {
	restricted := restrictedByID(visits)
	var out []VisitRetention
	for _, r := range e.Visits {
		was, found := restricted[r.VisitID]
		if _, gone := r.On(today); !found && gone && !moved[r.VisitID] || was {
			out = append(out, r)
		}
	}
	return out
}

// restrictedByID tells, by id, whether each of visits is restricted.
func restrictedByID(visits []*Visit) map[string]bool {
	restricted := make(map[string]bool, len(visits))
	for _, v := range visits {
		restricted[v.ID] = v.Restricted
	}
	return restricted
}

// recount lists, in the order of the classes, the kept dispositions of res and its
// erased ones but the communications, which are those of answered; with asAnswered,
// every erased one is answered's.
func recount(res, answered []Disposition, asAnswered bool) []Disposition {
	var out []Disposition
	for _, c := range dispositionClasses {
		erased := res
		if asAnswered || c == ClassCommunications {
			erased = answered
		}
		for _, d := range res {
			if d.Class == c && d.Kept {
				out = append(out, d)
			}
		}
		for _, d := range erased {
			if d.Class == c && !d.Kept {
				out = append(out, d)
			}
		}
	}
	return out
}

// withoutMedicinesKeptWithRecord returns answered, whose erased counts an answer keeps
// (see erasedAsAnswered), without the medications plan keeps only as part of their
// clinical record (their own days passed) among the erased, when answered was given
// before such medications were answered kept: it has no medicines kept on the clinical
// record's basis, and counted them erased, while the plan's answer counts them kept.
func withoutMedicinesKeptWithRecord(answered []Disposition, plan []VisitRetention) []Disposition {
	n := 0
	for _, r := range plan {
		if r.Medications && r.MedicineUntil.IsZero() && !r.RecordUntil.IsZero() {
			n++
		}
	}
	if n == 0 || slices.ContainsFunc(answered, func(d Disposition) bool {
		return d.Class == ClassMedicineRecords && d.Kept && d.Basis == retention.BasisVeterinaryRecords
	}) {
		return answered
	}
	out := make([]Disposition, 0, len(answered))
	for _, d := range answered {
		if d.Class == ClassMedicineRecords && !d.Kept {
			if d.Count -= min(n, d.Count); d.Count == 0 {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

// sameDays reports whether plan keeps what old keeps, leaving out what old keeps
// nothing of any more on the day today.
func sameDays(old, plan []VisitRetention, today retention.Date) bool {
	n := 0
	for _, o := range old {
		j := slices.IndexFunc(plan, func(p VisitRetention) bool { return p.VisitID == o.VisitID })
		if j < 0 {
			if _, gone := o.On(today); gone {
				continue
			}
			return false
		}
		if !plan[j].SameDays(o) {
			return false
		}
		n++
	}
	return n == len(plan)
}

// NextDue is the earliest day after which the sweep has something to remove; zero when
// nothing is held.
func (e *Erasure) NextDue() retention.Date {
	var next retention.Date
	days := []retention.Date{e.DigestsUntil, e.MissedCheckAfter}
	for _, v := range e.Visits {
		days = append(days, v.Next())
	}
	for _, d := range days {
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	return next
}
