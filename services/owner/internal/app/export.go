package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
)

// OwnerExport is everything the service holds about one owner.
type OwnerExport struct {
	Owner *domain.Owner
	// IdentityCode is in full; empty when none is on record.
	IdentityCode string
	Patients     []*domain.Patient
	OwnerChanges []domain.Change
	// PatientChanges are each patient's changes in the owner's time with it
	// (domain.OwnersCopy), in the order of Patients.
	PatientChanges [][]domain.Change
	// FormerPatients are the patients the owner transferred to another owner, with the
	// changes of the owner's time with each: the owner's data were processed in them,
	// while the patients' details now are the new owner's.
	FormerPatients []FormerPatient
}

// FormerPatient is a patient the owner transferred away, as the owner's copy shows it.
type FormerPatient struct {
	ID             string
	CustomerNumber domain.CustomerNumber
	// Changes are those of the owner's time with the patient (domain.OwnersCopy).
	Changes []domain.Change
}

// exportPageSize reads an owner's patients in as few pages as the repository allows.
const exportPageSize = 200

// ExportOwner gathers an owner's data for the owner's own copy. The export holds the
// identity code in full, so its audit record is stored before it is returned.
func (s *Service) ExportOwner(ctx context.Context, ownerID string) (*OwnerExport, error) {
	o, err := s.repo.GetOwner(ctx, ownerID)
	if err != nil {
		return nil, fmt.Errorf("export owner %s: %w", ownerID, err)
	}
	out := &OwnerExport{Owner: o}
	if o.IdentityCodeMasked != "" {
		code, err := s.repo.IdentityCode(ctx, ownerID)
		if err != nil {
			return nil, fmt.Errorf("export owner %s: %w", ownerID, err)
		}
		out.IdentityCode = code.String()
	}
	if out.OwnerChanges, err = s.repo.OwnerChanges(ctx, ownerID); err != nil {
		return nil, fmt.Errorf("export owner %s changes: %w", ownerID, err)
	}
	for token := ""; ; {
		page, next, err := s.repo.ListOwnerPatients(ctx, ownerID, exportPageSize, token)
		if err != nil {
			return nil, fmt.Errorf("export owner %s patients: %w", ownerID, err)
		}
		out.Patients = append(out.Patients, page...)
		if token = next; token == "" {
			break
		}
	}
	// Read after the owner's patients: one transferred away from the owner meanwhile
	// is in one list or both, never in neither; one that came back meanwhile is found
	// here, under the owner again, and joins the owner's patients.
	former, err := s.repo.TransferredPatients(ctx, ownerID)
	if err != nil {
		return nil, fmt.Errorf("export owner %s former patients: %w", ownerID, err)
	}
	for _, p := range former {
		if p.OwnerID == ownerID && !slices.ContainsFunc(out.Patients, func(q *domain.Patient) bool { return q.ID == p.ID }) {
			out.Patients = append(out.Patients, p)
		}
	}
	for _, p := range out.Patients {
		changes, err := s.ownersCopy(ctx, p, ownerID)
		if err != nil {
			return nil, err
		}
		out.PatientChanges = append(out.PatientChanges, changes)
	}
	for _, p := range former {
		if p.OwnerID == ownerID {
			continue
		}
		changes, err := s.ownersCopy(ctx, p, ownerID)
		if err != nil {
			return nil, err
		}
		out.FormerPatients = append(out.FormerPatients, FormerPatient{ID: p.ID, CustomerNumber: p.CustomerNumber, Changes: changes})
	}
	e := audit.Event{Action: "owner.export", Resource: ownerResource(ownerID), SubjectOwnerID: ownerID, Outcome: audit.OutcomeSuccess}
	if err := s.auditor.RecordNow(ctx, e); err != nil {
		return nil, fmt.Errorf("audit export of owner %s: %w", ownerID, err)
	}
	return out, nil
}

// ownersCopy reads the patient's changes of ownerID's time with it (domain.OwnersCopy).
func (s *Service) ownersCopy(ctx context.Context, p *domain.Patient, ownerID string) ([]domain.Change, error) {
	changes, err := s.repo.PatientChanges(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("export patient %s changes: %w", p.ID, err)
	}
	return domain.OwnersCopy(changes, p.OwnerID, ownerID), nil
}
