package app

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/retention"
)

// today is the current day in the clinics' time zone.
func (s *Service) today() retention.Date { return retention.DateOf(s.opts.Now(), s.opts.Location) }

// EraseOwnerData erases what no law requires the clinic to keep of the owner's history
// and restricts the rest (DESIGN rule 7). The record, keyed by the owner, is stored
// before the owner's visits are read, then the decision, then it is applied; applying
// it again is harmless, so a retry after a crash completes the job, and a retry with
// the same request id answers the first result and changes nothing more.
func (s *Service) EraseOwnerData(ctx context.Context, ownerID, requestID string) (domain.ErasureResult, error) {
	res, err := s.eraseOwnerData(ctx, ownerID, requestID)
	if errors.Is(err, apperr.ErrConflict) {
		// A concurrent call decided first: answer (and finish) what it decided.
		res, err = s.eraseOwnerData(ctx, ownerID, requestID)
	}
	if err != nil {
		return domain.ErasureResult{}, fmt.Errorf("erase owner data: %w", err)
	}
	return res, nil
}

func (s *Service) eraseOwnerData(ctx context.Context, ownerID, requestID string) (domain.ErasureResult, error) {
	e, err := s.repo.GetErasure(ctx, ownerID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		// The record is stored before the visits are read, empty, so that a visit or an
		// amendment written meanwhile either is seen by the reads below or meets the
		// record in the check that follows its write (settleVisit, settleAmendment).
		e = &domain.Erasure{OwnerID: ownerID, Version: 1}
		if err := s.repo.SaveErasure(ctx, e); err != nil {
			return domain.ErasureResult{}, err
		}
	case err != nil:
		return domain.ErasureResult{}, err
	}
	// A pass may plan the owner's records longer than the day the owner service keeps
	// the names to (a request answered before the animal's later visit): the name
	// retention job checks it once the pass has stored its decision.
	if err := s.repo.MarkNamesCheck(ctx, ownerID); err != nil {
		return domain.ErasureResult{}, err
	}
	if req, ok := e.Request(requestID); ok {
		if e.Applied {
			if err := s.finishApplied(ctx, e); err != nil {
				return domain.ErasureResult{}, err
			}
			return req.Result, nil
		}
		// The first call stopped halfway: finish what it decided (or what a later
		// request decided, which covers it).
		return s.applyErasure(ctx, e, requestID)
	}
	visits, err := s.plannableVisits(ctx, e)
	if err != nil {
		return domain.ErasureResult{}, err
	}
	var touched []domain.VisitRetention
	if e.Answered < len(e.Requests) {
		// An earlier request, not yet answered, may have deleted or reduced visits
		// before it stopped: its answer, taken from this plan once it is made again,
		// still counts them.
		moved, err := s.movedAway(ctx, e, visits, s.today())
		if err != nil {
			return domain.ErasureResult{}, err
		}
		touched = e.Touched(visits, moved, s.today())
	}
	res, plan, err := s.plan(ctx, ownerID, visits, lastVisits{}, touched...)
	if err != nil {
		return domain.ErasureResult{}, err
	}
	e.Decided(domain.ErasureRequest{RequestID: requestID, DecidedAt: s.now(), Result: res}, plan, len(touched) > 0)
	if err := s.repo.SaveErasure(ctx, e); err != nil {
		return domain.ErasureResult{}, err
	}
	return s.applyErasure(ctx, e, requestID)
}

// finishApplied answers a retry of a request e applied: the first call may have died
// before scheduling the sweep, or before removing the visits e missed. The retry is
// audited as applyErasure is, stored before it may remove anything.
func (s *Service) finishApplied(ctx context.Context, e *domain.Erasure) error {
	if err := s.auditor.RecordNow(ctx, changeEvent("history.erase", e.OwnerID)); err != nil {
		return fmt.Errorf("audit erasure: %w", err)
	}
	if err := s.repo.ScheduleErasure(ctx, e); err != nil {
		return err
	}
	if err := s.markCodeKept(ctx, e); err != nil {
		return err
	}
	return s.removeMissedVisits(ctx, e, domain.SweepResult{})
}

// markCodeKept marks the owner's identity code to be checked once by the name retention
// job when applied erasure e kept it for an unpaid invoice (domain.Erasure.CodeKept).
// A belt for what no payment marks: only a payment on a restricted visit marks the
// code (markCodeBefore), and an answer stored before the code's day followed its plan
// (domain.Erasure.Replanned) may keep it for an invoice paid before its visit was
// restricted. The job finds the invoice still open, as it almost always is, and clears
// the mark without asking the owner service. A failure fails the call, whose retry
// (finishApplied) marks it again.
func (s *Service) markCodeKept(ctx context.Context, e *domain.Erasure) error {
	if !e.CodeKept() {
		return nil
	}
	return s.repo.MarkCodeCheck(ctx, e.OwnerID)
}

// plan decides, from visits, the owner's visits as read, what the erasure keeps of each;
// last holds the animals' last visits read already (the others are read into it);
// touched are the entries of the earlier plan for the visits the erasure has deleted or
// restricted since (see domain.Erasure.Touched and domain.PlanErasure).
func (s *Service) plan(ctx context.Context, ownerID string, visits []*domain.Visit, last lastVisits, touched ...domain.VisitRetention) (domain.ErasureResult, []domain.VisitRetention, error) {
	patients, comms, err := s.erasureFacts(ctx, ownerID, visits, last)
	if err != nil {
		return domain.ErasureResult{}, nil, err
	}
	res, plan := domain.PlanErasure(s.opts.Retention, patients, comms, s.today(), s.opts.Location, touched...)
	return res, plan, nil
}

// erasureFacts groups the owner's visits by patient with each animal's last entry (by
// last), and counts the communications.
func (s *Service) erasureFacts(ctx context.Context, ownerID string, visits []*domain.Visit, last lastVisits) ([]domain.PatientHistory, int, error) {
	var order []string
	byPatient := map[string]*domain.PatientHistory{}
	for _, v := range visits {
		ph, ok := byPatient[v.PatientID]
		if !ok {
			t, err := last.of(ctx, s.repo, v.PatientID)
			if err != nil {
				return nil, 0, err
			}
			ph = &domain.PatientHistory{LastEntry: t}
			byPatient[v.PatientID] = ph
			order = append(order, v.PatientID)
		}
		ph.Visits = append(ph.Visits, v)
	}
	out := make([]domain.PatientHistory, len(order))
	for i, id := range order {
		out[i] = *byPatient[id]
	}
	comms, err := s.repo.CountOwnerCommunications(ctx, ownerID)
	return out, comms, err
}

// erasurePasses bounds the passes of applyErasure over visits that others keep
// changing meanwhile; the erasure fails after them, and its retry goes on.
const erasurePasses = 5

// errVisitChanged tells a pass of applyErasure that a visit is no longer the one the
// plan was made from.
var errVisitChanged = errors.New("the visit changed since the erasure planned it")

// applyErasure restricts (or removes, or reduces) every visit the erasure holds and
// erases the communications, then records that it is applied, and answers the request
// with the id. Nothing written to the owner's history is undone for it: each pass
// reads the owner's visits, plans again those that are not as planned (an amendment or
// a visit that landed since the plan's read, a visit its recording withdrew) and
// stores the new plan, and the answer with it, then marks each visit by _id, and the
// version the mark replaced tells whether the visit changed once more in between, which
// takes another pass. Once a visit is marked an amendment built on an earlier read fails
// on its version. A pass that finds everything as planned is followed by close, after
// which a write the plan does not hold is refused by its own check (erasureMissed),
// and whatever came in before it is planned by another pass. The change is audited
// before the answer.
//
// Only a pass whose read came after close stored the erasure closing, or close's own
// read finding the visits as planned, lets it remove anything: a visit whose plan
// removes a part (or the whole visit) is left as it is until then, since a write
// answered OK before that read (a visit of the same animal today) may still change
// the plan, and the animal's later visit keeps its clinical record (DESIGN rule 7):
// what a reduction removed cannot be given back. It is not marked either, as its
// restriction would drop that part, which a plan made again takes as removed. Both
// also read each animal's last visit again, and plan again when one came since the
// plan: the animal's next owner, whom this erasure never refuses, may have brought it
// in (before a retry of a call that stopped after close, say).
func (s *Service) applyErasure(ctx context.Context, e *domain.Erasure, requestID string) (domain.ErasureResult, error) {
	if err := s.auditor.RecordNow(ctx, changeEvent("history.erase", e.OwnerID)); err != nil {
		return domain.ErasureResult{}, fmt.Errorf("audit erasure: %w", err)
	}
	for pass := 0; ; pass++ {
		if pass == erasurePasses {
			return domain.ErasureResult{}, fmt.Errorf("restrict the visits of owner %s: they changed at every pass: %w", e.OwnerID, apperr.ErrConflict)
		}
		closing := e.Closing
		pending, done, err := s.restrictPass(ctx, e, closing)
		if err != nil {
			return domain.ErasureResult{}, err
		}
		if !done {
			continue
		}
		if closing {
			// The pass read the visits after Closing was stored: a write checked
			// before that was among them.
			break
		}
		if done, err = s.close(ctx, e); err != nil {
			return domain.ErasureResult{}, err
		}
		if !done {
			continue
		}
		if done, err = s.reducePending(ctx, e, pending); err != nil {
			return domain.ErasureResult{}, err
		}
		if done {
			break
		}
	}
	if _, err := s.repo.DeleteOwnerCommunications(ctx, e.OwnerID); err != nil {
		return domain.ErasureResult{}, err
	}
	e.Applied, e.Answered = true, len(e.Requests)
	e.MissedCheckAfter = retention.DateOf(s.now().AddDate(0, 0, 1), s.opts.Location)
	e.Version++
	if err := s.repo.SaveErasure(ctx, e); err != nil {
		return domain.ErasureResult{}, err
	}
	if err := s.repo.ScheduleErasure(ctx, e); err != nil {
		return domain.ErasureResult{}, err
	}
	if err := s.markCodeKept(ctx, e); err != nil {
		return domain.ErasureResult{}, err
	}
	// Its passes noted the patients of what it holds: stored as noted, so that no start
	// reads the owner's visits to note them (NoteErasedPatientsOfAll), and only once it
	// is applied, by the rule of the starts. A failure fails nothing stored: the next
	// start or hourly comparison reads the erasure as not noted and notes it.
	if err := s.repo.SetErasureNoted(ctx, e.OwnerID); err != nil {
		s.opts.Logger.WarnContext(ctx, "an applied erasure was not stored as noted for the name retention job; the next start or hourly comparison notes it",
			"owner_id", e.OwnerID, "error", err)
	}
	if err := s.removeMissedVisits(ctx, e, domain.SweepResult{}); err != nil {
		return domain.ErasureResult{}, err
	}
	req, _ := e.Request(requestID)
	return req.Result, nil
}

// removeMissedVisits removes the owner's visits that e, applied, neither holds nor
// restricted: each was written after its last read, so every write to it is refused,
// but a recording whose visit was amended before its check leaves it while e is
// closing, as the amendment may have been answered OK; once e is applied none was (see
// settleVisit). They are read after e is stored applied: a visit written after this
// read is removed by its recording's own check, which finds e applied, or, when that
// call stopped before it, by the sweep after e.MissedCheckAfter. What it removes is
// counted in removed.
func (s *Service) removeMissedVisits(ctx context.Context, e *domain.Erasure, removed domain.SweepResult) error {
	visits, err := s.repo.OwnerVisits(ctx, e.OwnerID)
	if err != nil {
		return err
	}
	for _, v := range visits {
		if v.Restricted || e.Holds(v.ID) {
			continue
		}
		deleted, err := s.repo.DeleteMissedVisit(ctx, v.ID)
		if err != nil {
			return err
		}
		if deleted {
			removed.CountWhole(v)
		}
	}
	return nil
}

// close stores e closing, from when a write that e does not hold is refused, and reads
// the owner's visits once more, and the last visit of each of their animals: it
// reports whether they are still as planned, else another pass plans what came in
// before (a write checked before closing was answered OK, and the erasure must hold
// it; the animal's next owner, never refused, may have brought it in).
func (s *Service) close(ctx context.Context, e *domain.Erasure) (bool, error) {
	e.Closing = true
	e.Version++
	if err := s.repo.SaveErasure(ctx, e); err != nil {
		return false, err
	}
	visits, err := s.plannableVisits(ctx, e)
	if err != nil {
		return false, err
	}
	moved, err := s.movedAway(ctx, e, visits, s.today())
	if err != nil || !e.AsPlanned(visits, moved, s.today()) {
		return false, err
	}
	return s.animalsAsPlanned(ctx, e, visits, lastVisits{})
}

// movedAway returns, as a set, the ids of the visits e's plan removes on the day today
// that visits, the owner's visits as read, no longer holds but that are stored: under
// another owner, moved there after a read of the erasure (see domain.Erasure.Removed).
// Such a visit is no longer this erasure's to remove, nor to count erased.
func (s *Service) movedAway(ctx context.Context, e *domain.Erasure, visits []*domain.Visit, today retention.Date) (map[string]bool, error) {
	ids, err := s.repo.StoredVisits(ctx, e.Removed(visits, today))
	if err != nil {
		return nil, err
	}
	moved := make(map[string]bool, len(ids))
	for _, id := range ids {
		moved[id] = true
	}
	return moved, nil
}

// animalsAsPlanned reads into last the last visit of the animal of each of visits, the
// owner's visits as read, and reports whether e's plan was made from it (see
// domain.Erasure.AnimalsAsPlanned).
func (s *Service) animalsAsPlanned(ctx context.Context, e *domain.Erasure, visits []*domain.Visit, last lastVisits) (bool, error) {
	for _, v := range visits {
		if _, err := last.of(ctx, s.repo, v.PatientID); err != nil {
			return false, err
		}
	}
	return e.AnimalsAsPlanned(visits, last), nil
}

// plannableVisits reads the owner's visits that a plan of e may hold (see
// domain.Erasure.Plannable).
func (s *Service) plannableVisits(ctx context.Context, e *domain.Erasure) ([]*domain.Visit, error) {
	visits, err := s.repo.OwnerVisits(ctx, e.OwnerID)
	if err != nil {
		return nil, err
	}
	return e.Plannable(visits), nil
}

// restrictPass is one pass of applyErasure: it reports false when a visit changed
// before its mark, so that another pass plans it again. Without reduce it only marks,
// and returns the ids of the visits it left for reducePending (a set). With reduce it
// also reads the last visit of each animal, and plans again if one came since the plan
// (a retry after close may hold a plan made before the animal's next owner brought it
// in).
func (s *Service) restrictPass(ctx context.Context, e *domain.Erasure, reduce bool) (map[string]bool, bool, error) {
	// One read of the owner's visits tells which ones only need marking (one write
	// each); the others are read whole and removed or reduced.
	visits, err := s.plannableVisits(ctx, e)
	if err != nil {
		return nil, false, err
	}
	today := s.today()
	last := lastVisits{}
	moved, err := s.movedAway(ctx, e, visits, today)
	if err != nil {
		return nil, false, err
	}
	asPlanned := e.AsPlanned(visits, moved, today)
	if asPlanned && reduce {
		if asPlanned, err = s.animalsAsPlanned(ctx, e, visits, last); err != nil {
			return nil, false, err
		}
	}
	changed := false
	if !asPlanned {
		touched := e.Touched(visits, moved, today)
		res, plan, err := s.plan(ctx, e.OwnerID, visits, last, touched...)
		if err != nil {
			return nil, false, err
		}
		changed = e.Replanned(plan, res, today, len(touched) > 0)
	}
	if changed {
		e.Version++
		if err := s.repo.SaveErasure(ctx, e); err != nil {
			return nil, false, err
		}
	}
	current := make(map[string]*domain.Visit, len(visits))
	for _, v := range visits {
		current[v.ID] = v
	}
	// Noted before any visit is restricted, so that a visit of one of these animals
	// recorded later finds this owner to mark (markNamesBefore); stored as noted once
	// applied (applyErasure).
	if err := s.repo.NoteErasedPatients(ctx, e.OwnerID, heldPatients(e, current)); err != nil {
		return nil, false, err
	}
	done := true
	pending := map[string]bool{}
	var marks []domain.Mark
	var marked []*domain.VisitRetention
	for i := range e.Visits {
		r := &e.Visits[i]
		v, ok := current[r.VisitID]
		if !ok {
			continue
		}
		if left, gone := r.On(today); !gone && !left.MayReduce(v) {
			marks = append(marks, s.mark(e, left, v, today))
			marked = append(marked, r)
			continue
		}
		if !reduce {
			pending[r.VisitID] = true
			continue
		}
		ok, err := s.applyPlanned(ctx, e, r, today)
		if err != nil {
			return nil, false, err
		}
		done = done && ok
	}
	before, err := s.repo.MarkRestricted(ctx, e.OwnerID, marks)
	if err != nil {
		return nil, false, err
	}
	for i, r := range marked {
		if before[i] != r.Version {
			// Written to, removed or moved to another owner since the read: the next
			// pass plans it again.
			done = false
			continue
		}
		r.Version++
	}
	return pending, done, nil
}

// reducePending removes or reduces the visits of pending, which the last pass left as
// they were, once close found the visits as planned: from then on a write the plan
// does not hold is refused. It reports false when one changed since (an amendment
// checked before close), so that another pass plans it again.
func (s *Service) reducePending(ctx context.Context, e *domain.Erasure, pending map[string]bool) (bool, error) {
	today := s.today()
	done := true
	for i := range e.Visits {
		r := &e.Visits[i]
		if !pending[r.VisitID] {
			continue
		}
		ok, err := s.applyPlanned(ctx, e, r, today)
		if err != nil {
			return false, err
		}
		done = done && ok
	}
	return done, nil
}

// applyPlanned applies r to its visit, planned at r.Version, and raises r.Version with
// its write; it reports false when the visit changed since.
func (s *Service) applyPlanned(ctx context.Context, e *domain.Erasure, r *domain.VisitRetention, today retention.Date) (bool, error) {
	_, _, err := s.applyRetention(ctx, e, *r, today, domain.SweepResult{}, r.Version)
	switch {
	case errors.Is(err, errVisitChanged), errors.Is(err, apperr.ErrConflict):
		return false, nil
	case err != nil:
		return false, err
	}
	r.Version++
	return true, nil
}

// mark is the marking of v restricted with r on the day today, with its request
// digests once past their horizon; else e keeps the day after which the sweep removes
// them (the projected read does not tell whether v holds any).
func (s *Service) mark(e *domain.Erasure, r domain.VisitRetention, v *domain.Visit, today retention.Date) domain.Mark {
	until := domain.DigestsUntil(v, s.opts.Location)
	if !today.After(until) {
		e.DigestsUntil = e.DigestsUntil.Later(until)
		return domain.Mark{Retention: r}
	}
	return domain.Mark{Retention: r, DropDigests: true, Version: v.Version}
}

// applyRetention brings one visit of the erasure e in line with its retention r on the
// day today: removed when nothing of it is kept any more, else restricted and reduced
// to what is kept, without request digests past their horizon (e keeps the day after
// which the sweep removes the others). It returns what is left of r and counts what it
// removed. A version other than 0 is the one r was planned for: found at another, or
// under another owner (moved since the erasure read it), the visit is left for the
// erasure to plan again (errVisitChanged), as is one written to between the read and
// its deletion (the sweep then fails, and the next one reads it again).
func (s *Service) applyRetention(ctx context.Context, e *domain.Erasure, r domain.VisitRetention, today retention.Date, removed domain.SweepResult, version int64) (domain.VisitRetention, bool, error) {
	rec, err := s.repo.GetVisit(ctx, r.VisitID)
	if errors.Is(err, apperr.ErrNotFound) {
		left, _ := r.On(today)
		return left, true, nil
	}
	if err != nil {
		return r, false, err
	}
	if rec.Current.OwnerID != e.OwnerID || version != 0 && rec.Current.Version != version {
		return r, false, errVisitChanged
	}
	return s.retain(ctx, e, r, rec, today, removed, version)
}

// retain is applyRetention once the visit's record rec is read.
func (s *Service) retain(ctx context.Context, e *domain.Erasure, r domain.VisitRetention, rec *domain.VisitRecord, today retention.Date, removed domain.SweepResult, version int64) (domain.VisitRetention, bool, error) {
	left, gone := r.On(today)
	removed.Count(*rec, r, left)
	if gone {
		// Conditional on the version read: an invoice billing added since (answered OK)
		// must be planned, not deleted with what the read held.
		deleted, err := s.repo.DeleteVisit(ctx, e.OwnerID, r.VisitID, rec.Current.Version)
		if err == nil && !deleted {
			err = errVisitChanged
		}
		return left, err == nil, err
	}
	kept := left.Restrict(*rec)
	if domain.HasDigests(rec) {
		if until := domain.DigestsUntil(&rec.Current, s.opts.Location); today.After(until) {
			kept = domain.WithoutDigests(kept)
		} else {
			e.DigestsUntil = e.DigestsUntil.Later(until)
		}
	}
	if reflect.DeepEqual(&kept, rec) {
		before, err := s.repo.MarkRestricted(ctx, e.OwnerID, []domain.Mark{{Retention: left}})
		if err == nil && version != 0 && before[0] != version {
			return left, false, errVisitChanged
		}
		return left, false, err
	}
	return left, false, s.repo.ReduceVisit(ctx, e.OwnerID, left, &kept)
}

// RunRetentionSweep removes what has passed its retention day (in the clinics' time
// zone) from the erased owners' visits and reports how much of each class it removed.
// Only the erasure records scheduled with something due are read, so a sweep with
// nothing due is one query on the small schedule documents. A sweep stopped halfway is
// completed by the next.
func (s *Service) RunRetentionSweep(ctx context.Context) (domain.SweepResult, error) {
	today := s.today()
	due, err := s.repo.ErasuresDue(ctx, today)
	if err != nil {
		return nil, fmt.Errorf("retention sweep: %w", err)
	}
	removed := domain.SweepResult{}
	last := lastVisits{}
	for _, e := range due {
		if err := s.sweepOwner(ctx, e, today, removed, last); err != nil {
			return removed, fmt.Errorf("retention sweep: %w", err)
		}
	}
	return removed, nil
}

// lastVisits holds, for one sweep or one pass of an erasure, the start of each animal's
// last visit (by any owner) by patient id, read once per animal.
type lastVisits map[string]time.Time

// sweepOwner removes what is due of one erased owner's visits, records what is left
// and reschedules the record. A record scheduled too early (its last sweep died before
// rescheduling) is only rescheduled.
func (s *Service) sweepOwner(ctx context.Context, e *domain.Erasure, today retention.Date, removed domain.SweepResult, last lastVisits) error {
	if next := e.NextDue(); next.IsZero() || !today.After(next) {
		return s.repo.ScheduleErasure(ctx, e)
	}
	if err := s.auditor.RecordNow(ctx, changeEvent("history.retention_sweep", e.OwnerID)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	// The sweep may keep a clinical record past the day the owner service was told
	// (the animal's last visit holds it): marked before the record is saved, so that
	// the name retention job tells it even if the process dies after the save.
	if err := s.repo.MarkNamesCheck(ctx, e.OwnerID); err != nil {
		return err
	}
	if !e.DigestsUntil.IsZero() && today.After(e.DigestsUntil) {
		if err := s.dropDigests(ctx, e, today); err != nil {
			return err
		}
	}
	if !e.MissedCheckAfter.IsZero() && today.After(e.MissedCheckAfter) {
		if err := s.removeMissedVisits(ctx, e, removed); err != nil {
			return err
		}
		// Every communication written since the erasure was refused, but one whose
		// call stopped before its own check is still stored.
		n, err := s.repo.DeleteOwnerCommunications(ctx, e.OwnerID)
		if err != nil {
			return err
		}
		removed[domain.ClassCommunications] += n
		e.MissedCheckAfter = retention.Date{}
	}
	var held []domain.VisitRetention
	for _, r := range e.Visits {
		if !today.After(r.Next()) {
			held = append(held, r)
			continue
		}
		left, gone, err := s.sweepVisit(ctx, e, r, today, removed, last)
		if err != nil {
			return err
		}
		if !gone {
			held = append(held, left)
		}
	}
	e.Visits = held
	e.Version++
	if err := s.repo.SaveErasure(ctx, e); err != nil {
		return err
	}
	return s.repo.ScheduleErasure(ctx, e)
}

// sweepVisit applies r, something of which is due on the day today, to its visit. A
// clinical record past its day is kept instead, with the medications kept as its part,
// while the animal's last visit (by any owner: one its next owner recorded since the
// erasure) keeps it under rule 7; the visit's restriction and the entry returned, which
// the erasure record stores, then keep it to that day. A visit no longer the owner's
// is gone from this erasure, and its entry with it: moved to another owner after the
// erasure's last read (a record stored before the erasure looked its removed visits up,
// see movedAway), it was not erased by this erasure, and the sweep counts nothing of
// it (the answer given then counted it erased, as planned).
func (s *Service) sweepVisit(ctx context.Context, e *domain.Erasure, r domain.VisitRetention, today retention.Date, removed domain.SweepResult, last lastVisits) (domain.VisitRetention, bool, error) {
	rec, err := s.repo.GetVisit(ctx, r.VisitID)
	if errors.Is(err, apperr.ErrNotFound) || err == nil && rec.Current.OwnerID != e.OwnerID {
		return r, true, nil
	}
	if err != nil {
		return r, false, err
	}
	if r.RecordPassed(today) {
		t, err := last.of(ctx, s.repo, rec.Current.PatientID)
		if err != nil {
			return r, false, err
		}
		r = r.RecordKeptTo(s.opts.Retention.PatientRecordsUntil(t, s.opts.Location))
	}
	return s.retain(ctx, e, r, rec, today, removed, 0)
}

// of returns the start of the animal's last visit, read at its first call.
func (l lastVisits) of(ctx context.Context, repo domain.Repository, patientID string) (time.Time, error) {
	if t, ok := l[patientID]; ok {
		return t, nil
	}
	t, err := repo.LastVisitTime(ctx, patientID)
	if err != nil {
		return time.Time{}, err
	}
	l[patientID] = t
	return t, nil
}

// dropDigests removes the request digests of the erased owner's visits past their
// horizon on the day today, which the erasure or a sweep kept as they were recent: one
// read of the visits, projected, and one write by _id each. A visit with a request
// since (a payment) keeps e scheduled for its own. A visit changed since the read is
// skipped, and keeps e due the day after today, so that the next sweep reads it again:
// an amendment without a request id (billing may send none) stores no digest and
// raises no day of e, and the visit's older digests would otherwise stay until its
// next retention day.
func (s *Service) dropDigests(ctx context.Context, e *domain.Erasure, today retention.Date) error {
	visits, err := s.repo.OwnerVisits(ctx, e.OwnerID)
	if err != nil {
		return err
	}
	e.DigestsUntil = retention.Date{}
	var past []*domain.Visit
	for _, v := range visits {
		if until := domain.DigestsUntil(v, s.opts.Location); today.After(until) {
			past = append(past, v)
		} else {
			e.DigestsUntil = e.DigestsUntil.Later(until)
		}
	}
	skipped, err := s.repo.DropDigests(ctx, past)
	if err != nil {
		return err
	}
	if skipped > 0 {
		e.DigestsUntil = e.DigestsUntil.Later(today)
	}
	return nil
}

// changeEvent is the audit event of an erasure or sweep change of an owner's history,
// by the caller or, for the periodic sweep, the service (auth.SystemIdentity).
func changeEvent(action, ownerID string) audit.Event {
	return audit.Event{Action: action, Resource: ownerResource(ownerID) + "/history", SubjectOwnerID: ownerID, Outcome: audit.OutcomeSuccess}
}

// heldPatients are the patients of the visits e holds among current, each once.
func heldPatients(e *domain.Erasure, current map[string]*domain.Visit) []string {
	var out []string
	for _, r := range e.Visits {
		if v, ok := current[r.VisitID]; ok && !slices.Contains(out, v.PatientID) {
			out = append(out, v.PatientID)
		}
	}
	return out
}
