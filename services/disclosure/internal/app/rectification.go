package app

import (
	"context"
	"slices"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
)

// OwnerChange is one entry of an owner's change history: when, and which fields (never
// the values).
type OwnerChange struct {
	Time   time.Time
	Fields []string
}

// OwnerChanges reads the owner service's change histories.
type OwnerChanges interface {
	// Change returns the owner's change that produced version; apperr.ErrNotFound when
	// the owner or the version is unknown.
	Change(ctx context.Context, ownerID string, version int64) (OwnerChange, error)
	// PatientChange is Change for a patient.
	PatientChange(ctx context.Context, patientID string, version int64) (OwnerChange, error)
	// PatientOwner returns the owner the patient is with now; apperr.ErrNotFound when
	// the patient is unknown.
	PatientOwner(ctx context.Context, patientID string) (string, error)
}

// Rectification is what a rectification touched and whom to tell of it.
type Rectification struct {
	ChangedCategories []domain.Category
	ChangedAt         time.Time
	Recipients        []domain.Notification
}

// RectificationRecipients lists the recipients to tell of a change (GDPR Art. 19):
// those that received a category the change touched before it was made. The change is
// the owner's, or with a patient id that patient's, and then only the disclosures that
// covered the patient count (see patientLog for whose).
func (e *Erasure) RectificationRecipients(ctx context.Context, ownerID, patientID string, version int64) (Rectification, error) {
	change, touched := e.changes.Change, domain.ChangedCategories
	subject := ownerID
	if patientID != "" {
		change, touched, subject = e.changes.PatientChange, domain.ChangedPatientCategories, patientID
	}
	c, err := change(ctx, subject, version)
	if err != nil {
		return Rectification{}, err
	}
	r := Rectification{ChangedCategories: touched(c.Fields), ChangedAt: c.Time}
	log := e.ownerLog(ownerID)
	if patientID != "" {
		if log, err = e.patientLog(ctx, ownerID, patientID); err != nil {
			return Rectification{}, err
		}
	}
	// The entries listed may be about the patient's earlier owners too: each of them is
	// a subject of this reading, and their own access reports must show it.
	subjects := []string{ownerID}
	keep := func(rec domain.Record) bool {
		if !rec.CreatedAt.Before(c.Time) || (patientID != "" && !slices.Contains(rec.PatientIDs, patientID)) {
			return false
		}
		if !slices.Contains(subjects, rec.OwnerID) {
			subjects = append(subjects, rec.OwnerID)
		}
		return true
	}
	if len(r.ChangedCategories) > 0 {
		if r.Recipients, err = e.recipients(ctx, log, keep, r.ChangedCategories); err != nil {
			return Rectification{}, err
		}
	}
	events := make([]audit.Event, len(subjects))
	for i, id := range subjects {
		events[i] = audit.Event{
			Action: "disclosure.list_rectification_recipients", Resource: "owners/" + id + "/disclosures", SubjectOwnerID: id,
		}
	}
	return r, e.audit(ctx, events...)
}

// patientLog is where the recipients of a patient's change are found when asked under
// ownerID. For the patient's owner now it is every log entry naming the animal,
// whichever owner each was about: what a recipient got of the animal under an earlier
// owner is as wrong after the correction, and the owner the animal is with is the one
// the clinic asks under. For an earlier owner it stays that owner's own entries, as it
// always was: the animal's later owners' disclosures are not theirs.
func (e *Erasure) patientLog(ctx context.Context, ownerID, patientID string) (logPages, error) {
	now, err := e.changes.PatientOwner(ctx, patientID)
	if err != nil {
		return logPages{}, err
	}
	if now != ownerID {
		return e.ownerLog(ownerID), nil
	}
	return logPages{of: "patient " + patientID, read: func(ctx context.Context, size int, token string) (domain.Page[domain.Record], error) {
		return e.log.PatientRecords(ctx, patientID, size, token)
	}}, nil
}
