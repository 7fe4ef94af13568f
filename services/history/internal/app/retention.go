package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/retention"
)

// GetOwnerRetention answers the last day a record this service holds names the owner,
// as kept now: from the owner's erasure record, each visit still the owner's kept to
// its latest part, its clinical record held against the animal's last visit (by any
// owner) read now, as the sweep would hold it. The two sweeps run on their own
// schedules, often on the same day, so the days the history sweep stored last are not
// enough: a next owner's visit since then keeps the record longer. Zero when the owner
// was never erased here or nothing of it is kept. It reads and changes nothing else,
// and is audited about the owner as the other reads are.
func (s *Service) GetOwnerRetention(ctx context.Context, ownerID string) (retention.Date, error) {
	until, err := s.ownerNamedUntil(ctx, ownerID)
	if err != nil {
		return retention.Date{}, fmt.Errorf("retention of owner %s: %w", ownerID, err)
	}
	// Stored before the answer, as the export's is: the caller is a sweep that acts
	// on it at once.
	event := audit.Event{Action: "history.retention.read", Resource: ownerResource(ownerID) + "/history", SubjectOwnerID: ownerID, Outcome: audit.OutcomeSuccess}
	if err := s.auditor.RecordNow(ctx, event); err != nil {
		return retention.Date{}, fmt.Errorf("audit the retention read of owner %s: %w", ownerID, err)
	}
	return until, nil
}

func (s *Service) ownerNamedUntil(ctx context.Context, ownerID string) (retention.Date, error) {
	e, err := s.repo.GetErasure(ctx, ownerID)
	if errors.Is(err, apperr.ErrNotFound) {
		return retention.Date{}, nil
	}
	if err != nil {
		return retention.Date{}, err
	}
	if len(e.Visits) == 0 {
		return retention.Date{}, nil
	}
	visits, err := s.repo.OwnerVisits(ctx, ownerID)
	if err != nil {
		return retention.Date{}, err
	}
	// A held visit not among the owner's now was moved to another owner or removed:
	// it names this owner no more, as the sweep drops its entry.
	patientOf := make(map[string]string, len(visits))
	for _, v := range visits {
		patientOf[v.ID] = v.PatientID
	}
	last := lastVisits{}
	var until retention.Date
	for _, r := range e.Visits {
		patient, ok := patientOf[r.VisitID]
		if !ok {
			continue
		}
		if !r.RecordUntil.IsZero() {
			t, err := last.of(ctx, s.repo, patient)
			if err != nil {
				return retention.Date{}, err
			}
			r = r.RecordKeptTo(s.opts.Retention.PatientRecordsUntil(t, s.opts.Location))
		}
		until = until.Later(r.Until())
	}
	return until, nil
}
