package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/patientowner"
	"github.com/lillvet/register/services/platform/protomap"
	"github.com/lillvet/register/services/platform/requestdigest"
)

// RecordVisit is the input of RecordVisit.
type RecordVisit struct {
	PatientID string
	RequestID string
	// OwnerID is the owner the caller files the visit under; "" leaves it to the
	// service, which asks for it when the patient changed owner since (see ownerOfVisit).
	OwnerID string
	Visit   domain.Visit
}

// RecordVisit records a visit of a living patient under its owner (see ownerOfVisit),
// with the caller as the first attending staff member.
func (s *Service) RecordVisit(ctx context.Context, in RecordVisit) (*domain.Visit, error) {
	var v apperr.ValidationError
	visit := in.Visit
	domain.NormalizeVisit(&visit, "visit", s.opts.Now(), &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	// Only the caller's entry names an account; the others are people the caller names.
	for i := range visit.Staff {
		visit.Staff[i].Subject = ""
	}
	id, err := newID("visit", in.PatientID, in.RequestID)
	if err != nil {
		return nil, err
	}
	timeGiven := !in.Visit.StartTime.IsZero()
	if in.RequestID != "" {
		// A retry returns the first visit even if the patient has died since.
		rec, err := s.repo.GetVisit(ctx, id)
		switch {
		case err == nil:
			return s.retriedVisit(ctx, rec, visit, in.OwnerID, timeGiven)
		case !errors.Is(err, apperr.ErrNotFound):
			return nil, fmt.Errorf("record visit: %w", err)
		}
	}
	if domain.CheckRoomForRecorder(&visit, "visit", &v); v.Err() != nil {
		return nil, v.Err()
	}
	p, err := s.livingPatient(ctx, in.PatientID, s.clinicDate(visit.StartTime))
	if err != nil {
		return nil, fmt.Errorf("record visit: %w", err)
	}
	ownerID, err := s.ownerOfVisit(ctx, p, visit.StartTime, in.OwnerID)
	if err != nil {
		return nil, fmt.Errorf("record visit: %w", err)
	}
	if _, err := s.checkNotErased(ctx, ownerID); err != nil {
		return nil, fmt.Errorf("record visit: %w", s.refusalAudited(ctx, "visit.create", patientResource(p.ID)+"/visits", ownerID, err))
	}
	sent := visit
	var digest string
	if in.RequestID != "" {
		digest = s.digests.visit(&sent)
	}
	visit.ID, visit.PatientID, visit.OwnerID = id, p.ID, ownerID
	visit.Staff = append([]domain.Staff{caller(ctx)}, visit.Staff...)
	visit.Created = s.now()
	// The visit may be the animal's last one, which keeps the clinical records of its
	// erased owners longer: marked before the write, pending until its bound, and
	// again after it (see markNamesBefore).
	writeCtx, cancel, err := s.markNamesBefore(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("record visit: %w", err)
	}
	defer cancel()
	created, err := s.repo.CreateVisit(writeCtx, &visit, digest)
	if errors.Is(err, apperr.ErrAlreadyExists) {
		// A concurrent retry recorded it first.
		rec, gerr := s.repo.GetVisit(ctx, id)
		if gerr != nil {
			return nil, fmt.Errorf("record visit: %w", gerr)
		}
		return s.retriedVisit(ctx, rec, sent, in.OwnerID, timeGiven)
	}
	if err != nil {
		return nil, fmt.Errorf("record visit: %w", err)
	}
	// Audited as soon as it is written: it stands unless the erasure's check below
	// refuses it, audited then too.
	audited := s.record(ctx, "visit.create", visitResource(created.ID), created.OwnerID)
	// The mark has its own bound: settle's starts after it, so that a slow mark does not
	// use up the check's time.
	s.markNamesAfter(ctx, p.ID, created.ID)
	settle, cancelSettle := afterWrite(ctx)
	defer cancelSettle()
	if err := s.settleVisit(settle, created, false); err != nil {
		refused := s.refusalAudited(settle, "visit.create", patientResource(p.ID)+"/visits", ownerID, err)
		return nil, fmt.Errorf("record visit: %w", errors.Join(refused, audited))
	}
	return created, audited
}

// retriedVisit answers a retry of RecordVisit with the visit first recorded under its
// request id, as GetVisit shows it. sent is the retry's visit, normalised as
// RecordVisit stores it; named is the owner_id the retry sent ("" for none);
// timeGiven tells whether its start time was the caller's or the server's now. A
// request id reused for another visit is refused: answered with the first one, the
// caller would take the new visit as recorded. Both refusals are audited about the
// visit's owner.
func (s *Service) retriedVisit(ctx context.Context, rec *domain.VisitRecord, sent domain.Visit, named string, timeGiven bool) (*domain.Visit, error) {
	resource := patientResource(rec.Current.PatientID) + "/visits"
	shown, err := readable(ctx, rec)
	if err != nil {
		return nil, s.refusalAudited(ctx, "visit.create", resource, rec.Current.OwnerID, err)
	}
	first := rec.Original
	if !timeGiven {
		sent.StartTime = first.StartTime
	}
	// The digest is of the request's visit, without the caller, whom a reduced record
	// may no longer name.
	digest := s.digests.visit(&sent)
	// The first entry is the first caller, from their token, not the request.
	sent.Staff = append(slices.Clone(first.Staff[:min(1, len(first.Staff))]), sent.Staff...)
	// A visit filed under one owner is no retry of a request naming another, whatever
	// moved it since.
	sameOwner := named == "" || named == filedFirst(rec)
	same := sameOwner && domain.SameVisit(&first, &sent)
	if !same && sameOwner && rec.Current.Restricted {
		// An erasure may have reduced the record to what its retention keeps: the
		// digest stored with it tells; a record stored without one is compared with the
		// retry reduced the same way, which cannot see a difference in what was removed.
		var known bool
		if same, known = requestdigest.Compare(rec.Digest, digest); !known {
			reduced := rec.Retention.Reduce(sent)
			same = domain.SameVisit(&first, &reduced)
		}
	}
	if !same {
		return nil, s.refusalAudited(ctx, "visit.create", resource, rec.Current.OwnerID, apperr.RequestIDReused("another visit of this patient"))
	}
	// The first call may have stopped, or failed to mark, after its write.
	s.markNamesAfter(ctx, rec.Current.PatientID, rec.Current.ID)
	if !rec.Current.Restricted {
		// The first call may still be settling with an erasure, or have stopped before.
		if err := s.settleVisit(ctx, &rec.Current, true); err != nil {
			return nil, fmt.Errorf("record visit: %w", s.refusalAudited(ctx, "visit.create", resource, rec.Current.OwnerID, err))
		}
	}
	return &shown.Current, s.record(ctx, "visit.create", visitResource(rec.Current.ID), rec.Current.OwnerID)
}

// filedFirst is the owner rec was first filed under: the one its first move left, else
// the one it is filed under.
func filedFirst(rec *domain.VisitRecord) string {
	for _, a := range rec.Amendments {
		if a.MovedFrom != "" {
			return a.MovedFrom
		}
	}
	return rec.Current.OwnerID
}

// errErasureClosing answers the retry of a write the owner's erasure, now confirming
// its passes, does not hold: the first call may have been answered OK before the
// erasure began closing, and the erasure then plans the write; or it came after, and
// the erasure leaves it out. Only the erasure's end tells which, so the retry is
// answered once it is applied.
var errErasureClosing = apperr.New(apperr.ErrUnavailable, "the owner's erasure is being applied; retry once it is done")

// erasureMissed returns the erasure of the owner when it missed the visit (see
// domain.Erasure.Missed), which a call checks after writing to the unrestricted visit;
// nil otherwise. No erasure, or one not closing yet, will see the write: its passes
// read the owner's visits again before it answers, and plan again what changed (see
// applyErasure). A retry, whose first call may have been answered OK, is refused only
// once the erasure is applied without the visit, which then came after the erasure's
// last read.
func (s *Service) erasureMissed(ctx context.Context, ownerID, visitID string, retry bool) (*domain.Erasure, error) {
	e, err := s.repo.GetErasure(ctx, ownerID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case !e.Missed(visitID):
		return nil, nil
	case retry && !e.Applied:
		return nil, errErasureClosing
	}
	return e, nil
}

// settleVisit handles an erasure of the owner decided while v was being recorded (the
// check before the write raced it): a visit the erasure missed would have been
// refused, so it is removed and the caller told, unless the erasure restricted it
// meanwhile (it then holds it, and plans it before answering). While the erasure is
// closing, a visit amended since stays: the amendment may have been answered OK
// before the erasure began closing, and the erasure then plans it (if not, the erasure
// removes it once applied, see removeMissedVisits). Once the erasure is applied the
// visit goes whatever was written to it since: written after the erasure's last read,
// every write to it is refused by its own check (a retry while the erasure was closing
// was told to retry), and no later request plans or restricts it (see
// domain.Erasure.Plannable), so nothing of it was answered OK. retry tells a retry of
// the recording from its first call.
func (s *Service) settleVisit(ctx context.Context, v *domain.Visit, retry bool) error {
	e, err := s.erasureMissed(ctx, v.OwnerID, v.ID, retry)
	if err != nil || e == nil {
		return err
	}
	if e.Applied {
		_, err := s.repo.DeleteMissedVisit(ctx, v.ID)
		return s.refusedDespite(ctx, "visit_id", v.ID, err)
	}
	removed, err := s.repo.DeleteUnamendedVisit(ctx, v.ID)
	if err != nil || removed {
		return s.refusedDespite(ctx, "visit_id", v.ID, err)
	}
	return s.heldByErasure(ctx, v.ID, 0)
}

// heldByErasure answers a write to a visit the erasure missed that could not be
// undone as the visit changed since: when the erasure has restricted it with the write
// (the amendment at version; 0 for the recording), it holds the write and plans it
// again before answering; else the write stays refused.
func (s *Service) heldByErasure(ctx context.Context, id string, version int64) error {
	rec, err := s.repo.GetVisit(ctx, id)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return errOwnerErased
	case err != nil:
		return s.refusedDespite(ctx, "visit_id", id, err)
	case rec.Current.Restricted && (version == 0 || slices.ContainsFunc(rec.Amendments, func(a domain.Amendment) bool { return a.Version == version })):
		return nil
	}
	return errOwnerErased
}

// clinicDate is the clinics' calendar day of t, the kind of day a death date is.
func (s *Service) clinicDate(t time.Time) string {
	return t.In(s.opts.Location).Format(time.DateOnly)
}

// errBeforeBirth answers a visit dated before the patient was born.
var errBeforeBirth = &apperr.PreconditionError{
	Reason: "VISIT_BEFORE_BIRTH", Field: "visit.start_time",
	Description: "the visit is dated before the patient's birth date in the owner register",
}

// livingPatient asks the owner service for the patient; a visit on date needs the
// patient alive that day: born by then, when its birth date is known, and not dead (a
// visit may be recorded afterwards for the day the animal died). It need not have been
// registered by then: clinics write up a history from before the registration.
func (s *Service) livingPatient(ctx context.Context, id, date string) (Patient, error) {
	p, err := s.registry.Patient(ctx, id)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return p, apperr.Precondition("PATIENT_NOT_FOUND", "no patient with this id is registered in the owner register")
	case err != nil:
		return p, fmt.Errorf("patient %s: %w", id, err)
	case p.BirthDate != "" && date < p.BirthDate:
		return p, errBeforeBirth
	case p.Deceased && (p.DeathDate == "" || date > p.DeathDate):
		return p, apperr.Precondition("PATIENT_DECEASED", "the patient is recorded as deceased; no visit can be recorded after its death")
	}
	return p, nil
}

// errOwnerChanged refuses to guess whose a visit is: the patient's transfers tell its
// owner at the visit's start, but a transfer is dated when reception records it, not
// when the animal was sold. The buyer often brings the animal in and the transfer is
// recorded at the desk during the appointment, the visit written up afterwards with
// the appointment's start: filed by the transfers it would go to the seller (the
// buyer's account in the seller's data), filed by the owner now a visit before the
// sale would go to the buyer. The caller, who knows who was in the room, names one.
var errOwnerChanged = &apperr.PreconditionError{
	Reason: "OWNER_CHANGED_SINCE_VISIT", Field: "visit.owner_id",
	Description: "the patient's owner changed after the visit's start time (a transfer is recorded when the clinic learns of it, " +
		"which may be after the sale): name the owner the visit belongs to in owner_id, the patient's owner at the visit's time " +
		"or its current owner",
}

// ownerOfVisit returns the owner a visit of p at t is filed under, named the one the
// caller names ("" for none). Without a transfer recorded after t it is p's owner now,
// and a named owner must be that one. Otherwise, when the owner at t by the transfers
// (see ownerAt) is not the owner now, or cannot be told, the caller must name one of
// the two (errOwnerChanged).
func (s *Service) ownerOfVisit(ctx context.Context, p Patient, t time.Time, named string) (string, error) {
	then, known, err := s.ownerAt(ctx, p, t)
	if err != nil {
		return "", err
	}
	owners := []string{p.OwnerID}
	if known && then != p.OwnerID {
		owners = append(owners, then)
	}
	switch {
	case named == "" && known && then == p.OwnerID:
		return p.OwnerID, nil
	case named == "":
		return "", errOwnerChanged
	case !slices.Contains(owners, named):
		return "", invalidOwner("is neither the patient's owner now nor its owner at the visit's start time")
	}
	return named, nil
}

// invalidOwner refuses the owner a visit is named under.
func invalidOwner(description string) error {
	var v apperr.ValidationError
	v.Add("visit.owner_id", description)
	return v.Err()
}

// ownerAt returns whose p was at t by its transfers, and whether that can be told (see
// patientowner.OwnerAt). The change history is read only for a record changed since t,
// so a visit written up the day it happens costs no more than the patient's read.
func (s *Service) ownerAt(ctx context.Context, p Patient, t time.Time) (string, bool, error) {
	transfers, err := s.transfersSince(ctx, p, t)
	if err != nil {
		return "", false, err
	}
	owner, known := patientowner.OwnerAt(transfers, t, p.OwnerID)
	return owner, known, nil
}

// transfersSince returns p's transfers when its record changed after t (every transfer
// changes it), else none.
func (s *Service) transfersSince(ctx context.Context, p Patient, t time.Time) ([]patientowner.Transfer, error) {
	if !p.Updated.After(t) {
		return nil, nil
	}
	transfers, err := s.registry.Transfers(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("transfers of patient %s: %w", p.ID, err)
	}
	return transfers, nil
}

// GetVisit reads a visit with its original and amendments. Billing sees the invoice view.
func (s *Service) GetVisit(ctx context.Context, id string) (*domain.VisitRecord, error) {
	rec, err := s.repo.GetVisit(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get visit: %w", err)
	}
	shown, err := readable(ctx, rec)
	if err != nil {
		return nil, s.refusalAudited(ctx, "visit.read", visitResource(id), rec.Current.OwnerID, err)
	}
	return shown, s.record(ctx, "visit.read", visitResource(id), rec.Current.OwnerID)
}

// readable is rec as the caller may read it: a restricted visit only by those it is
// kept for, and billing sees the invoice view.
func readable(ctx context.Context, rec *domain.VisitRecord) (*domain.VisitRecord, error) {
	if rec.Current.Restricted && !seesRestricted(ctx) {
		return nil, errRestricted
	}
	if invoiceView(ctx, &rec.Current) {
		r := domain.InvoiceRecord(*rec)
		return &r, nil
	}
	return rec, nil
}

// AmendVisit is the input of AmendVisit.
type AmendVisit struct {
	ID        string
	RequestID string
	Visit     domain.Visit
	// OwnerID is the owner the visit is filed under, when Paths names ownerPath.
	OwnerID string
	Paths   []string
	Version int64
	Reason  string
}

// ownerPath is the update-mask path that files a visit under another owner (see
// movedTo). It is no field of the visit's record: the amendment keeps the owner it
// left (MovedFrom).
const ownerPath = "owner_id"

// maskPaths are the paths a correction's update mask may name.
var maskPaths = append(slices.Clone(domain.AmendableFields), ownerPath)

// correctable names the fields a correction may name, as gRPC's update_mask takes them
// and as REST's updateMask does (by their JSON names, which the gateway turns into
// these before the call).
func correctable() string {
	return fmt.Sprintf("correctable: %s (in REST's updateMask: %s)",
		strings.Join(maskPaths, ", "), strings.Join(protomap.All(maskPaths, protomap.JSONName), ", "))
}

// AmendVisit appends a correction of the fields named in Paths at the expected
// version. Billing may correct only invoices, and of a restricted visit only record
// the payment of those it holds. Only a correction naming ownerPath moves the visit to
// another owner (see movedTo). Its refusals of a caller the policy let in are audited
// about the visit's owner.
func (s *Service) AmendVisit(ctx context.Context, in AmendVisit) (*domain.Visit, *domain.Amendment, error) {
	var v apperr.ValidationError
	if len(in.Paths) == 0 {
		v.Add("update_mask", "is required: name the corrected fields")
	}
	// A path is named by its place in the mask, never its text, which is the
	// caller's and may hold anything, an identity code included.
	for i, p := range in.Paths {
		if !slices.Contains(maskPaths, p) {
			v.Add("update_mask", fmt.Sprintf("paths[%d] names no field that can be corrected; %s", i, correctable()))
		}
	}
	if in.Version <= 0 {
		v.Add("version", "is required: send the version you read")
	}
	if in.Reason == "" {
		v.Add("reason", "is required: say why the record is corrected")
	}
	v.CheckText("reason", in.Reason, 500)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	rec, err := s.repo.GetVisit(ctx, in.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("amend visit: %w", err)
	}
	// The author's retry is answered with the correction first made, under the rules it
	// was made by; anyone else's is held to the rule on who corrects what first, or a
	// retry under another's request id would tell billing whether a guess of a
	// clinician's correction is right.
	done := amendmentWithRequest(rec, in.RequestID)
	if done != nil && done.Author.Subject == caller(ctx).Subject {
		return s.retriedAmendment(ctx, rec, done, in)
	}
	billing := asBilling(ctx, in.Paths)
	if !billing && !correctsClinically(ctx) {
		refusal := audit.Refusal("visit.amend", visitResource(in.ID), rec.Current.OwnerID, "billing may correct only invoices")
		return nil, nil, fmt.Errorf("amend visit: %w", audit.Deny(ctx, s.auditor, refusal))
	}
	if done != nil {
		return s.retriedAmendment(ctx, rec, done, in)
	}
	if rec.Current.Version != in.Version {
		// The correction is built on the record read here; applied at another version
		// it would undo the amendments in between.
		return nil, nil, apperr.New(apperr.ErrVersionMismatch, "version %d is not the current version of visit %s; read it again", in.Version, in.ID)
	}
	if rec.Current.Restricted && !billing {
		// Only billing still corrects a restricted visit: an invoice gets paid (see
		// errInvoicesHeld).
		return nil, nil, s.refusalAudited(ctx, "visit.amend", visitResource(in.ID), rec.Current.OwnerID, errRestricted)
	}
	if slices.Contains(in.Paths, "staff") {
		// A corrected list may keep the accounts the record names, not name new ones.
		for i, st := range in.Visit.Staff {
			if st.Subject != "" && !slices.ContainsFunc(rec.Current.Staff, func(c domain.Staff) bool { return c.Subject == st.Subject }) {
				v.Add(fmt.Sprintf("visit.staff[%d].subject", i), "is not an account the visit names; leave it empty for people named by others")
			}
		}
		if err := v.Err(); err != nil {
			return nil, nil, err
		}
	}
	if slices.Contains(in.Paths, "start_time") {
		if in.Visit.StartTime.IsZero() {
			v.Add("visit.start_time", "is required when it is corrected")
			return nil, nil, v.Err()
		}
	}
	if slices.Contains(in.Paths, ownerPath) && in.OwnerID == "" {
		v.Add("visit.owner_id", "is required when it is corrected")
		return nil, nil, v.Err()
	}
	// Only what the correction sets is checked: a restricted visit may have been reduced
	// to when it took place and its invoices, which billing alone corrects, and an
	// unrestricted one may hold what older rules let in. It is checked before the owner
	// is looked up: an invalid time has no owner to refuse it for.
	next := domain.Apply(rec.Current, &in.Visit, in.Paths)
	domain.NormalizeCorrection(&next, in.Paths, "visit", s.opts.Now(), &v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	ownerID, err := s.movedTo(ctx, in, &rec.Current, next.StartTime)
	if err != nil {
		return nil, nil, fmt.Errorf("amend visit: %w", err)
	}
	next.OwnerID = ownerID
	if rec.Current.Restricted && !domain.SettlesHeldInvoices(rec.Current.Invoices, next.Invoices) {
		return nil, nil, s.refusalAudited(ctx, "visit.amend", visitResource(in.ID), rec.Current.OwnerID, errInvoicesHeld)
	}
	a := domain.Amendment{
		Version: in.Version + 1, Time: s.now(), Author: corrector(ctx, billing), Reason: in.Reason,
		Fields: amendedFields(in.Paths), Corrected: corrected(&next, in.Paths, ownerID),
		RequestID: in.RequestID,
	}
	if ownerID != rec.Current.OwnerID {
		a.MovedFrom = rec.Current.OwnerID
	}
	if in.RequestID != "" {
		a.Digest = s.digests.amendment(&a)
	}
	next.Version, next.Updated = a.Version, a.Time
	var original *domain.Visit
	if len(rec.Amendments) == 0 {
		original = &rec.Original
	}
	// A new start time, or another owner, may move the animal's last visit, which holds
	// the clinical records of its erased owners: marked before the write, pending until
	// its bound, and again after it (see markNamesBefore).
	movesLast := slices.Contains(in.Paths, "start_time") || ownerID != rec.Current.OwnerID
	writeCtx := ctx
	if movesLast {
		var cancel context.CancelFunc
		if writeCtx, cancel, err = s.markNamesBefore(ctx, rec.Current.PatientID); err != nil {
			return nil, nil, fmt.Errorf("amend visit: %w", err)
		}
		defer cancel()
	}
	if paysHeld(&rec.Current, &next) {
		var settled func()
		if writeCtx, settled, err = s.markCodeBefore(writeCtx, &rec.Current); err != nil {
			return nil, nil, fmt.Errorf("amend visit: %w", err)
		}
		defer settled()
	}
	if err := s.repo.AmendVisit(writeCtx, in.ID, in.Version, a, original, &next); err != nil {
		if errors.Is(err, apperr.ErrConflict) && in.RequestID != "" {
			// A concurrent retry of the same amendment may have won the version.
			if again, gerr := s.repo.GetVisit(ctx, in.ID); gerr == nil {
				if done := amendmentWithRequest(again, in.RequestID); done != nil {
					return s.retriedAmendment(ctx, again, done, in)
				}
			}
		}
		return nil, nil, fmt.Errorf("amend visit: %w", err)
	}
	// Audited as soon as it is written: it stands unless the erasure's check below
	// withdraws it, audited then too.
	audited := s.auditAmendment(ctx, &next, &a)
	if movesLast {
		s.markNamesAfter(ctx, rec.Current.PatientID, in.ID)
	}
	// After the mark, which has its own bound (see RecordVisit).
	settle, cancel := afterWrite(ctx)
	defer cancel()
	if rec.Current.Restricted {
		if a.Digest != "" {
			// The payment's digest is kept through its horizon like the erasure's own.
			if err := s.keepDigestsOf(settle, &next); err != nil {
				return nil, nil, fmt.Errorf("amend visit: %w", errors.Join(err, audited))
			}
		}
	} else if err := s.settleAmendment(settle, &next, a.Version, false); err != nil {
		// Refused about the owners its success was audited about.
		refused := s.refusalAuditedAbout(settle, "visit.amend", visitResource(in.ID), amendmentOwners(&next, &a), err)
		return nil, nil, fmt.Errorf("amend visit: %w", errors.Join(refused, audited))
	}
	shown, amendment := amendmentView(ctx, &next, &a)
	return shown, amendment, audited
}

// movedTo returns the owner v is filed under once amended by in, start being its
// start time then. A correction of the start time never moves the visit by itself:
// when a transfer was recorded between the old and the new start and the owner at the
// new one is not v's owner, or cannot be told, the correction must name the owner
// (errOwnerChanged), as RecordVisit asks (see ownerOfVisit). A correction naming
// ownerPath may file the visit under the patient's owner at start or now, or leave it
// with v's. The patient must have been alive at start, whatever owner is named. A
// move between owners is refused while either has an erasure record: the erasure of
// the one it leaves plans the visit among their data, and nothing more is recorded
// for the one it joins.
func (s *Service) movedTo(ctx context.Context, in AmendVisit, v *domain.Visit, start time.Time) (string, error) {
	timed, named := slices.Contains(in.Paths, "start_time"), slices.Contains(in.Paths, ownerPath)
	stays := named && in.OwnerID == v.OwnerID
	if !timed && (!named || stays) {
		return v.OwnerID, nil
	}
	p, err := s.livingPatient(ctx, v.PatientID, s.clinicDate(start))
	if err != nil {
		return "", err
	}
	if stays {
		return v.OwnerID, nil
	}
	transfers, err := s.transfersSince(ctx, p, earlier(v.StartTime, start))
	if err != nil {
		return "", err
	}
	then, known := patientowner.OwnerAt(transfers, start, p.OwnerID)
	switch {
	case !named && (!patientowner.Between(transfers, v.StartTime, start) || known && then == v.OwnerID):
		return v.OwnerID, nil
	case !named:
		return "", errOwnerChanged
	case in.OwnerID != p.OwnerID && (!known || in.OwnerID != then):
		return "", invalidOwner("is neither the visit's owner, the patient's owner at the visit's start time nor its owner now")
	}
	for _, id := range []string{v.OwnerID, in.OwnerID} {
		if _, err := s.checkNotErased(ctx, id); err != nil {
			return "", s.refusalAudited(ctx, "visit.amend", visitResource(v.ID), id, err)
		}
	}
	return in.OwnerID, nil
}

// earlier returns the earlier of a and b.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// settleAttempts bounds the re-reads of a visit that others keep changing while an
// amendment settles with an erasure.
const settleAttempts = 5

// settleAmendment handles an erasure of the owner of v decided while the amendment at
// version was being written to the unrestricted v. An erasure that will see the write
// (see erasureMissed) keeps it and answers for it. One that missed the visit (recorded
// after the erasure's last read) would have refused it: the amendment alone is
// withdrawn, and only while nothing is built on it, so that nothing answered to anyone
// else is undone; the caller is told. If the erasure restricted the visit with the
// amendment meanwhile, it holds it and the amendment stands. retry tells a retry of
// the amendment from its first call.
func (s *Service) settleAmendment(ctx context.Context, v *domain.Visit, version int64, retry bool) error {
	e, err := s.erasureMissed(ctx, v.OwnerID, v.ID, retry)
	if err != nil || e == nil {
		return err
	}
	for range settleAttempts {
		rec, err := s.repo.GetVisit(ctx, v.ID)
		if err != nil {
			return s.heldByErasure(ctx, v.ID, version)
		}
		back, ok := domain.Withdraw(*rec, version)
		if !ok || rec.Current.Restricted {
			return s.heldByErasure(ctx, v.ID, version)
		}
		err = s.repo.WithdrawAmendments(ctx, &back, rec.Current.Version)
		switch {
		case err == nil, errors.Is(err, apperr.ErrNotFound):
			return errOwnerErased
		case !errors.Is(err, apperr.ErrConflict):
			return s.refusedDespite(ctx, "visit_id", v.ID, err)
		}
	}
	if err := s.heldByErasure(ctx, v.ID, version); !errors.Is(err, errOwnerErased) {
		return err
	}
	// Refused, and still stored: the visit changed at each attempt to withdraw it.
	return s.refusedDespite(ctx, "visit_id", v.ID, errKeptChanging)
}

// errKeptChanging is what refusedDespite logs of an amendment settleAmendment could
// not withdraw as the visit changed at each of its attempts.
var errKeptChanging = fmt.Errorf("the visit changed at each of %d attempts to withdraw the refused amendment", settleAttempts)

// keepDigestsOf keeps the owner's erasure record scheduled for the request digests
// stored on their restricted visit v until the end of the digests' horizon, after which
// the sweep removes them. It runs once the amendment that stored them stands, so the
// record's day is raised by a write that never conflicts (the erasure's passes and the
// sweep, which keep changing the record, conflict with it instead). The applied record
// is scheduled even when its day reached the digests' already: the call that raised it
// may have stopped before scheduling it. A store error fails the amendment, whose retry,
// answered with it, does both again.
func (s *Service) keepDigestsOf(ctx context.Context, v *domain.Visit) error {
	e, err := s.repo.RaiseDigestsUntil(ctx, v.OwnerID, domain.DigestsUntil(v, s.opts.Location))
	if err != nil || !e.Applied {
		return err // the erasure schedules the record once applied
	}
	return s.repo.ScheduleErasure(ctx, e)
}

// corrected is what an amendment with the mask paths keeps of v: the values of the
// fields it corrects, and owner, when it names ownerPath, so that a retry naming
// another owner is told from it.
func corrected(v *domain.Visit, paths []string, owner string) domain.Visit {
	out := domain.Only(v, paths)
	if slices.Contains(paths, ownerPath) {
		out.OwnerID = owner
	}
	return out
}

// amendedFields are the fields an amendment with the mask paths corrects, as it keeps them.
func amendedFields(paths []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(paths)))
}

// retriedAmendment answers a retry of AmendVisit with the amendment done, first made
// under its request id, by GetVisit's rule for restricted visits. A request id reused
// for another correction is refused (audited about the visit's owner): answered with
// the first one, the caller would take the new correction as made. The expected
// version is not compared: a client that read the record again before retrying sends
// the version the first one made.
func (s *Service) retriedAmendment(ctx context.Context, rec *domain.VisitRecord, done *domain.Amendment, in AmendVisit) (*domain.Visit, *domain.Amendment, error) {
	if _, err := readable(ctx, rec); err != nil {
		return nil, nil, s.refusalAudited(ctx, "visit.amend", visitResource(in.ID), rec.Current.OwnerID, err)
	}
	sent := in.Visit
	var ignored apperr.ValidationError
	domain.NormalizeCorrection(&sent, in.Paths, "visit", s.opts.Now(), &ignored)
	retry := domain.Amendment{Reason: in.Reason, Fields: amendedFields(in.Paths), Corrected: corrected(&sent, in.Paths, in.OwnerID)}
	same := domain.SameAmendment(done, &retry)
	if !same && rec.Current.Restricted {
		// The erasure (or a later sweep) may have reduced the amendment to what the
		// retention keeps: the digest stored with it tells, made of the retry as the
		// amendment was (one stored before amendments kept the owner they named was
		// made without it). One stored without a digest is compared with the retry
		// reduced the same way, which cannot see a difference in what was removed.
		digested := retry
		if done.Corrected.OwnerID == "" {
			digested.Corrected.OwnerID = ""
		}
		var known bool
		if same, known = requestdigest.Compare(done.Digest, s.digests.amendment(&digested)); !known {
			reduced := rec.Retention.ReduceAmendment(retry)
			same = domain.SameAmendment(done, &reduced)
		}
	}
	if !same {
		return nil, nil, s.refusalAudited(ctx, "visit.amend", visitResource(in.ID), rec.Current.OwnerID, apperr.RequestIDReused("another correction of this visit"))
	}
	if slices.Contains(done.Fields, "start_time") || done.MovedFrom != "" {
		// The first call may have stopped, or failed to mark, after its write.
		s.markNamesAfter(ctx, rec.Current.PatientID, rec.Current.ID)
	}
	if rec.Current.Restricted && slices.Contains(done.Fields, "invoices") {
		// The first call may have stopped before its mark after the payment.
		s.markCodeAfter(ctx, &rec.Current)
	}
	if !rec.Current.Restricted {
		// The first call may still be settling with an erasure, or have stopped before.
		if err := s.settleAmendment(ctx, &rec.Current, done.Version, true); err != nil {
			refused := s.refusalAuditedAbout(ctx, "visit.amend", visitResource(in.ID), amendmentOwners(&rec.Current, done), err)
			return nil, nil, fmt.Errorf("amend visit: %w", refused)
		}
	} else if done.Digest != "" {
		// The first call may have stopped before it kept the erasure scheduled for the
		// digest (a payment on the restricted visit).
		if err := s.keepDigestsOf(ctx, &rec.Current); err != nil {
			return nil, nil, fmt.Errorf("amend visit: %w", err)
		}
	}
	return s.amended(ctx, &rec.Current, done)
}

// amended audits an amendment and answers it (amendmentView).
func (s *Service) amended(ctx context.Context, v *domain.Visit, a *domain.Amendment) (*domain.Visit, *domain.Amendment, error) {
	if err := s.auditAmendment(ctx, v, a); err != nil {
		return nil, nil, err
	}
	shown, amendment := amendmentView(ctx, v, a)
	return shown, amendment, nil
}

// auditAmendment audits the amendment a of v (amendmentOwners).
func (s *Service) auditAmendment(ctx context.Context, v *domain.Visit, a *domain.Amendment) error {
	return s.record(ctx, "visit.amend", visitResource(v.ID), amendmentOwners(v, a)...)
}

// amendmentOwners are the owners whose data the amendment a of v changed: v's, and
// the owner a moved it from, whose access report shows it too.
func amendmentOwners(v *domain.Visit, a *domain.Amendment) []string {
	owners := []string{v.OwnerID}
	if a.MovedFrom != "" && a.MovedFrom != v.OwnerID {
		owners = append(owners, a.MovedFrom)
	}
	return owners
}

// amendmentView is the amendment a of v as the caller is answered it; billing gets the
// invoice view.
func amendmentView(ctx context.Context, v *domain.Visit, a *domain.Amendment) (*domain.Visit, *domain.Amendment) {
	if invoiceView(ctx, v) {
		r := domain.InvoiceRecord(domain.VisitRecord{Current: *v, Amendments: []domain.Amendment{*a}})
		if len(r.Amendments) == 0 {
			// A retried amendment that corrected more than invoices, by someone else.
			r.Amendments = []domain.Amendment{{Version: a.Version, Time: a.Time, Author: a.Author}}
		}
		return &r.Current, &r.Amendments[0]
	}
	return v, a
}

func amendmentWithRequest(rec *domain.VisitRecord, requestID string) *domain.Amendment {
	if requestID == "" {
		return nil
	}
	for i := range rec.Amendments {
		if rec.Amendments[i].RequestID == requestID {
			return &rec.Amendments[i]
		}
	}
	return nil
}

// ListPatientVisits lists a patient's visits, newest first, restricted ones only to
// their readers. Billing sees invoice views.
func (s *Service) ListPatientVisits(ctx context.Context, q domain.Query) ([]*domain.Visit, string, error) {
	q.Restricted = seesRestricted(ctx)
	visits, next, err := s.repo.ListPatientVisits(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("list visits: %w", err)
	}
	var owners []string
	for i, v := range visits {
		if !slices.Contains(owners, v.OwnerID) {
			owners = append(owners, v.OwnerID)
		}
		if invoiceView(ctx, v) {
			iv := domain.InvoiceView(*v)
			visits[i] = &iv
		}
	}
	return visits, next, s.record(ctx, "visit.list", patientResource(q.ID)+"/visits", owners...)
}
