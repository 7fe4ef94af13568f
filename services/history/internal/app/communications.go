package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
)

// RecordCommunication is the input of RecordCommunication.
type RecordCommunication struct {
	OwnerID       string
	RequestID     string
	Communication domain.Communication
}

// RecordCommunication records a communication with an owner. A patient it is about must
// be the owner's, now or at the communication's time; a visit it is about, recorded for
// the owner.
func (s *Service) RecordCommunication(ctx context.Context, in RecordCommunication) (*domain.Communication, error) {
	var v apperr.ValidationError
	c := in.Communication
	domain.NormalizeCommunication(&c, "communication", s.opts.Now(), &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	id, err := newID("communication", in.OwnerID, in.RequestID)
	if err != nil {
		return nil, err
	}
	// Refused once the erasure is applied, a retry still erases its communication: its
	// first call may have written it after the erasure and stopped before its own check.
	// A call without a request id is never retried; the sweep's missed check erases what
	// such a call left.
	retried := ""
	if in.RequestID != "" {
		retried = id
	}
	if err := s.settleCommunication(ctx, in.OwnerID, retried, false); err != nil {
		return nil, fmt.Errorf("record communication: %w", err)
	}
	timeGiven := !in.Communication.Time.IsZero()
	if in.RequestID != "" {
		// A retry returns the first communication even if the patient or the visit it
		// is about has moved to another owner since, as a visit's retry does.
		stored, err := s.repo.GetCommunication(ctx, id)
		switch {
		case err == nil:
			return s.retriedCommunication(ctx, stored, c, timeGiven)
		case !errors.Is(err, apperr.ErrNotFound):
			return nil, fmt.Errorf("record communication: %w", err)
		}
	}
	if err := s.checkAbout(ctx, in.OwnerID, &c); err != nil {
		return nil, fmt.Errorf("record communication: %w", err)
	}
	sent := c
	c.ID, c.OwnerID, c.Staff, c.Created = id, in.OwnerID, caller(ctx), s.now()
	created, err := s.repo.CreateCommunication(ctx, &c)
	if errors.Is(err, apperr.ErrAlreadyExists) {
		// Another call under the request id recorded it first, perhaps answered OK
		// before an erasure began: as at the first check, it goes here only once the
		// erasure is applied, else the erasure counts and erases it.
		if err := s.settleCommunication(ctx, in.OwnerID, id, false); err != nil {
			return nil, fmt.Errorf("record communication: %w", err)
		}
		stored, gerr := s.repo.GetCommunication(ctx, id)
		if gerr != nil {
			return nil, fmt.Errorf("record communication: %w", gerr)
		}
		return s.retriedCommunication(ctx, stored, sent, timeGiven)
	}
	if err != nil {
		return nil, fmt.Errorf("record communication: %w", err)
	}
	// Audited as soon as it is written: it stands unless the erasure's check below
	// refuses it, audited then too.
	audited := s.record(ctx, "communication.create", ownerResource(in.OwnerID)+"/communications/"+created.ID, in.OwnerID)
	settle, cancel := afterWrite(ctx)
	defer cancel()
	if err := s.settleCommunication(settle, in.OwnerID, id, true); err != nil {
		return nil, fmt.Errorf("record communication: %w", errors.Join(err, audited))
	}
	return created, audited
}

// settleCommunication handles an erasure of the owner, found before the write or after
// it (the check before the write raced it): the communication id, written by this
// call, a concurrent one under the same request id or an earlier one that stopped
// before its own check, goes, as the erasure erases every communication of the owner,
// and the caller is refused as after the erasure (audited about the owner). Before the
// erasure is applied, id goes only whileDeciding (the check after this call's own
// write): found at the first check, or stored by another call under the same request
// id, it may be a communication answered OK before the erasure began, which the
// erasure, still deciding, is yet to count, and its own delete after the count erases
// it; once applied it has erased everything counted, so id was written since. Only id goes, by _id: the others are the erasure's to count and erase, and a
// delete on the owner would scan the communications under the embedded store's write
// lock at every refused call. An empty id deletes nothing.
func (s *Service) settleCommunication(ctx context.Context, ownerID, id string, whileDeciding bool) error {
	e, err := s.checkNotErased(ctx, ownerID)
	if err == nil {
		return nil
	}
	if errors.Is(err, errOwnerErased) && id != "" && (whileDeciding || e.Applied) {
		err = s.refusedDespite(ctx, "communication_id", id, s.repo.DeleteCommunication(ctx, id))
	}
	return s.refusalAudited(ctx, "communication.create", ownerResource(ownerID)+"/communications", ownerID, err)
}

// retriedCommunication answers a retry of RecordCommunication with the communication
// first recorded under its request id. sent is the retry's communication, normalised
// as RecordCommunication stores it; timeGiven tells whether its time was the caller's
// or the server's now. A request id reused for another communication is refused
// (audited about the owner): answered with the first one, the caller would take the
// new one as recorded.
func (s *Service) retriedCommunication(ctx context.Context, stored *domain.Communication, sent domain.Communication, timeGiven bool) (*domain.Communication, error) {
	if !timeGiven {
		sent.Time = stored.Time
	}
	if !domain.SameCommunication(stored, &sent) {
		refusal := apperr.RequestIDReused("another communication with this owner")
		return nil, s.refusalAudited(ctx, "communication.create", ownerResource(stored.OwnerID)+"/communications", stored.OwnerID, refusal)
	}
	return stored, s.record(ctx, "communication.create", ownerResource(stored.OwnerID)+"/communications/"+stored.ID, stored.OwnerID)
}

// checkAbout checks that the owner exists and that the patient and the visit the
// communication c is about are theirs: the patient now or at c's time (a call from the
// former owner about the visit before the sale, written up after it, is theirs).
func (s *Service) checkAbout(ctx context.Context, ownerID string, c *domain.Communication) error {
	patientID, visitID := c.PatientID, c.VisitID
	err := s.registry.OwnerExists(ctx, ownerID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return apperr.Precondition("OWNER_NOT_FOUND", "no owner with this id is registered in the owner register")
	case err != nil:
		return fmt.Errorf("owner %s: %w", ownerID, err)
	}
	if patientID != "" {
		p, err := s.registry.Patient(ctx, patientID)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			return apperr.Precondition("PATIENT_NOT_FOUND", "no patient with this id is registered in the owner register")
		case err != nil:
			return fmt.Errorf("patient %s: %w", patientID, err)
		case p.OwnerID != ownerID:
			then, known, err := s.ownerAt(ctx, p, c.Time)
			if err != nil {
				return err
			}
			if !known || then != ownerID {
				return apperr.Precondition("PATIENT_OF_ANOTHER_OWNER", "the patient is not this owner's")
			}
		}
	}
	if visitID != "" {
		rec, err := s.repo.GetVisit(ctx, visitID)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			return apperr.Precondition("VISIT_NOT_FOUND", "no visit with this id is recorded")
		case err != nil:
			return err
		case rec.Current.OwnerID != ownerID:
			return apperr.Precondition("VISIT_OF_ANOTHER_OWNER", "the visit is not recorded for this owner")
		case patientID != "" && rec.Current.PatientID != patientID:
			return apperr.Precondition("VISIT_OF_ANOTHER_PATIENT", "the visit is not of this patient")
		}
	}
	return nil
}

// ListOwnerCommunications lists an owner's communications, newest first.
func (s *Service) ListOwnerCommunications(ctx context.Context, q domain.Query) ([]*domain.Communication, string, error) {
	comms, next, err := s.repo.ListOwnerCommunications(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("list communications: %w", err)
	}
	return comms, next, s.record(ctx, "communication.list", ownerResource(q.ID)+"/communications", q.ID)
}

// ListOwnerTimeline lists an owner's visits and communications merged by time,
// restricted visits only to their readers. Billing sees only the visits, as invoice
// views.
func (s *Service) ListOwnerTimeline(ctx context.Context, q domain.Query) ([]domain.TimelineEntry, string, error) {
	billing := invoicesOnly(ctx)
	q.Restricted = seesRestricted(ctx)
	entries, next, err := s.repo.ListOwnerTimeline(ctx, q, !billing)
	if err != nil {
		return nil, "", fmt.Errorf("list timeline: %w", err)
	}
	for i, e := range entries {
		if e.Visit != nil && invoiceView(ctx, e.Visit) {
			iv := domain.InvoiceView(*e.Visit)
			entries[i].Visit = &iv
		}
	}
	return entries, next, s.record(ctx, "timeline.read", ownerResource(q.ID)+"/timeline", q.ID)
}

// ExportOwnerHistory hands everything held about the owner to visit and communication,
// for the access report; each visit as GetVisit shows it to the caller (readable), a
// restricted one left out for those it is not kept for. The export is audited before
// any data leaves.
func (s *Service) ExportOwnerHistory(ctx context.Context, ownerID string, visit func(*domain.VisitRecord) error, communication func(*domain.Communication) error) error {
	if err := s.auditor.RecordNow(ctx, exportEvent(ownerID)); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	shown := func(rec *domain.VisitRecord) error {
		r, err := readable(ctx, rec)
		if errors.Is(err, errRestricted) {
			return nil
		}
		if err != nil {
			return err
		}
		return visit(r)
	}
	if err := s.repo.ExportOwner(ctx, ownerID, shown, communication); err != nil {
		return fmt.Errorf("export owner history: %w", err)
	}
	return nil
}
