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
// covered the patient count.
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
	keep := func(rec domain.Record) bool {
		return rec.CreatedAt.Before(c.Time) && (patientID == "" || slices.Contains(rec.PatientIDs, patientID))
	}
	if len(r.ChangedCategories) > 0 {
		if r.Recipients, err = e.recipients(ctx, ownerID, keep, r.ChangedCategories); err != nil {
			return Rectification{}, err
		}
	}
	return r, e.audit(ctx, audit.Event{
		Action: "disclosure.list_rectification_recipients", Resource: "owners/" + ownerID + "/disclosures", SubjectOwnerID: ownerID,
	})
}
