package app

import (
	"context"
	"slices"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
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
	// PatientOwnerAt returns the owner the patient had when the change that produced
	// version was made; apperr.ErrNotFound when the patient is unknown.
	PatientOwnerAt(ctx context.Context, patientID string, version int64) (string, error)
}

// VisitAmendment is an amendment of a visit, with what of the visit tells which
// disclosures carried it.
type VisitAmendment struct {
	// OwnerID is the patient's owner at the time of the visit, PatientID the patient.
	OwnerID, PatientID string
	// Recorded is when the visit was recorded; no disclosure before it carried it.
	Recorded time.Time
	Time     time.Time
	Fields   []string
}

// VisitAmendments reads the patient-history service's amendments.
type VisitAmendments interface {
	// Amendment returns the amendment that produced version of the visit;
	// apperr.ErrNotFound when the visit or the version is unknown.
	Amendment(ctx context.Context, visitID string, version int64) (VisitAmendment, error)
}

// Rectification is what a rectification touched and whom to tell of it.
type Rectification struct {
	ChangedCategories []domain.Category
	ChangedAt         time.Time
	Recipients        []domain.Notification
}

// RectificationQuery names a change asked about under an owner: the owner's own, or
// with PatientID a patient's, or with VisitID an amendment of a visit; Version is the
// version the change produced.
type RectificationQuery struct {
	OwnerID, PatientID, VisitID string
	Version                     int64
}

// rectified is a change as its recipients are found: what it touched, when, the log
// entries that may have carried it (read only when it touched something disclosed) and,
// of those, which did.
type rectified struct {
	categories []domain.Category
	at         time.Time
	log        func(context.Context) (logPages, error)
	carried    func(domain.Record) bool
}

// RectificationRecipients lists the recipients to tell of a change (GDPR Art. 19):
// those that received a category the change touched before it was made.
func (e *Erasure) RectificationRecipients(ctx context.Context, q RectificationQuery) (Rectification, error) {
	read := e.ownerRectified
	switch {
	case q.VisitID != "":
		read = e.visitRectified
	case q.PatientID != "":
		read = e.patientRectified
	}
	ch, err := read(ctx, q)
	if err != nil {
		return Rectification{}, err
	}
	r := Rectification{ChangedCategories: ch.categories, ChangedAt: ch.at}
	// The entries listed may be about other owners than the one asked under (a
	// patient's earlier owners): each of them is a subject of this reading, and their
	// own access reports must show it.
	subjects := []string{q.OwnerID}
	keep := func(rec domain.Record) bool {
		if !rec.CreatedAt.Before(ch.at) || !ch.carried(rec) {
			return false
		}
		if !slices.Contains(subjects, rec.OwnerID) {
			subjects = append(subjects, rec.OwnerID)
		}
		return true
	}
	if len(r.ChangedCategories) > 0 {
		log, err := ch.log(ctx)
		if err != nil {
			return Rectification{}, err
		}
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

// ownerRectified reads an owner's change: every disclosure about the owner may have
// carried it.
func (e *Erasure) ownerRectified(ctx context.Context, q RectificationQuery) (rectified, error) {
	c, err := e.changes.Change(ctx, q.OwnerID, q.Version)
	if err != nil {
		return rectified{}, err
	}
	return rectified{
		categories: domain.ChangedCategories(c.Fields), at: c.Time,
		log:     func(context.Context) (logPages, error) { return e.ownerLog(q.OwnerID), nil },
		carried: func(domain.Record) bool { return true },
	}, nil
}

// patientRectified reads a patient's change, carried by the disclosures that covered
// the patient: asked under the owner the patient had when the change was made, every
// one of them, whichever owner it was about (what a recipient got of the animal under
// an earlier owner is as wrong after the correction, and the clinic corrects under the
// owner the animal is with); asked under another owner, that owner's own (an earlier
// owner's disclosures are theirs, a later owner's came after the change). Who has the
// animal now does not count: the answer about a change must not shift when the animal
// moves on.
func (e *Erasure) patientRectified(ctx context.Context, q RectificationQuery) (rectified, error) {
	c, err := e.changes.PatientChange(ctx, q.PatientID, q.Version)
	if err != nil {
		return rectified{}, err
	}
	return rectified{
		categories: domain.ChangedPatientCategories(c.Fields), at: c.Time,
		log: func(ctx context.Context) (logPages, error) {
			then, err := e.changes.PatientOwnerAt(ctx, q.PatientID, q.Version)
			switch {
			case err != nil:
				return logPages{}, err
			case then == q.OwnerID:
				return e.patientLog(q.PatientID), nil
			default:
				return e.ownerLog(q.OwnerID), nil
			}
		},
		// What a patient's change touches (its basics, its microchip) went out only for
		// the animals a package did not name by their history alone.
		carried: func(rec domain.Record) bool {
			return slices.Contains(rec.PatientIDs, q.PatientID) && !slices.Contains(rec.HistoryOnlyPatientIDs, q.PatientID)
		},
	}, nil
}

// visitRectified reads an amendment of a visit, carried by the disclosures about the
// owner at the time of the visit (only theirs held the visit) that covered its patient
// and whose package was gathered after the visit was recorded (a disclosure logged just
// before may hold it); the change's time bounds them by their log time, taken before
// gathering. The visit must be the asking owner's, or its patient the asking owner's
// now.
func (e *Erasure) visitRectified(ctx context.Context, q RectificationQuery) (rectified, error) {
	a, err := e.visits.Amendment(ctx, q.VisitID, q.Version)
	if err != nil {
		return rectified{}, err
	}
	if a.OwnerID != q.OwnerID {
		now, err := e.changes.PatientOwner(ctx, a.PatientID)
		if err != nil {
			return rectified{}, err
		}
		if now != q.OwnerID {
			return rectified{}, apperr.New(apperr.ErrNotFound, "visit %s of owner %s not found", q.VisitID, q.OwnerID)
		}
	}
	return rectified{
		categories: domain.ChangedVisitCategories(a.Fields), at: a.Time,
		log: func(context.Context) (logPages, error) { return e.ownerLog(a.OwnerID), nil },
		carried: func(rec domain.Record) bool {
			return !gatheredAt(rec).Before(a.Recorded) && slices.Contains(rec.PatientIDs, a.PatientID)
		},
	}, nil
}

// gatheredAt is when the entry's package had been gathered: a visit recorded after the
// entry was logged, while its package was gathered, may be in it. An entry logged before
// the time was kept has its own time.
func gatheredAt(rec domain.Record) time.Time {
	if rec.GatheredAt.IsZero() {
		return rec.CreatedAt
	}
	return rec.GatheredAt
}

// patientLog reads the log entries naming the patient, whichever owner each was about.
func (e *Erasure) patientLog(patientID string) logPages {
	return logPages{of: "patient " + patientID, read: func(ctx context.Context, size int, token string) (domain.Page[domain.Record], error) {
		return e.log.PatientRecords(ctx, patientID, size, token)
	}}
}
