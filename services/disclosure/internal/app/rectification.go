package app

import (
	"context"
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

// OwnerChanges reads the owner service's change history.
type OwnerChanges interface {
	// Change returns the change that produced version; apperr.ErrNotFound when the
	// owner or the version is unknown.
	Change(ctx context.Context, ownerID string, version int64) (OwnerChange, error)
}

// Rectification is what a rectification touched and whom to tell of it.
type Rectification struct {
	ChangedCategories []domain.Category
	ChangedAt         time.Time
	Recipients        []domain.Notification
}

// RectificationRecipients lists the recipients to tell of an owner change (GDPR Art.
// 19): those that received a category the change touched before it was made.
func (e *Erasure) RectificationRecipients(ctx context.Context, ownerID string, version int64) (Rectification, error) {
	c, err := e.changes.Change(ctx, ownerID, version)
	if err != nil {
		return Rectification{}, err
	}
	r := Rectification{ChangedCategories: domain.ChangedCategories(c.Fields), ChangedAt: c.Time}
	if len(r.ChangedCategories) > 0 {
		if r.Recipients, err = e.recipients(ctx, ownerID, c.Time, r.ChangedCategories); err != nil {
			return Rectification{}, err
		}
	}
	return r, e.audit(ctx, audit.Event{
		Action: "disclosure.list_rectification_recipients", Resource: "owners/" + ownerID + "/disclosures", SubjectOwnerID: ownerID,
	})
}
