// Package app holds the history service's use cases: one method per operation, each
// validating its input, applying the rules, storing through the repository and auditing
// the read or change of personal data.
package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/docid"
)

// Auditor appends audit events. Record queues them (and fails while they cannot be
// stored, so nothing is read unaudited); RecordNow stores them before returning.
type Auditor interface {
	Record(ctx context.Context, events ...audit.Event) error
	RecordNow(ctx context.Context, events ...audit.Event) error
}

// Patient is what this service needs to know of a patient.
type Patient struct {
	ID      string
	OwnerID string
	// DeathDate is YYYY-MM-DD when the patient is deceased ("" if the date is unknown).
	Deceased  bool
	DeathDate string
}

// Registry is the owner service, asked with the caller's identity. Unknown ids fail
// with apperr.ErrNotFound; an unreachable service with apperr.ErrUnavailable.
type Registry interface {
	Patient(ctx context.Context, id string) (Patient, error)
	// OwnerExists fails with apperr.ErrNotFound when there is no such owner.
	OwnerExists(ctx context.Context, id string) error
}

// Options tune the use cases.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service implements the history service's use cases.
type Service struct {
	repo     domain.Repository
	registry Registry
	auditor  Auditor
	opts     Options
}

// New builds the use cases.
func New(repo domain.Repository, registry Registry, auditor Auditor, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{repo: repo, registry: registry, auditor: auditor, opts: opts}
}

// requestNamespace scopes ids derived from client request ids, so that a retried create
// maps to the same document id.
var requestNamespace = uuid.MustParse("0b6d4f3e-2c59-4f0a-9e57-8d1f3a6c2b74")

// newID returns the id of a created document: derived from the client request id and
// the parent it is created under when there is one (so a retry finds the first
// document, and the same request id under another parent is another document), else a
// fresh time-ordered UUID.
func newID(kind, parent, requestID string) (string, error) {
	return docid.New(requestNamespace, requestID, kind, parent)
}

// now is the current time as the store keeps it.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// clinicalRoles read clinical text; a caller with none of them but billing sees only
// invoice references.
var clinicalRoles = []auth.Role{
	auth.RoleVeterinarian, auth.RoleNurse, auth.RoleReception, auth.RoleClinicManager, auth.RoleMaintainer,
}

// invoicesOnly reports whether the caller may read only invoice references (billing).
func invoicesOnly(ctx context.Context) bool {
	id, _ := auth.FromContext(ctx)
	for _, r := range clinicalRoles {
		if id.Has(r) {
			return false
		}
	}
	return true
}

// caller is the calling staff member, with the first of their roles that names what
// they did.
func caller(ctx context.Context) domain.Staff {
	id, _ := auth.FromContext(ctx)
	s := domain.Staff{Subject: id.Subject, Name: id.Name}
	for _, r := range slices.Concat(clinicalRoles, []auth.Role{auth.RoleBilling}) {
		if id.Has(r) {
			s.Role = string(r)
			break
		}
	}
	if s.Name == "" {
		s.Name = id.Subject
	}
	return s
}

// record audits a read or change of the data of the given owners: one event per owner,
// so each owner's access report lists it, or one event without an owner when the read
// found nothing (the read of a patient's empty history is still a read).
func (s *Service) record(ctx context.Context, action, resource string, ownerIDs ...string) error {
	if len(ownerIDs) == 0 {
		ownerIDs = []string{""}
	}
	events := make([]audit.Event, len(ownerIDs))
	for i, id := range ownerIDs {
		events[i] = audit.Event{Action: action, Resource: resource, SubjectOwnerID: id, Outcome: audit.OutcomeSuccess}
	}
	if err := s.auditor.Record(ctx, events...); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func visitResource(id string) string   { return "visits/" + id }
func patientResource(id string) string { return "patients/" + id }
func ownerResource(id string) string   { return "owners/" + id }

func exportEvent(ownerID string) audit.Event {
	return audit.Event{Action: "history.export", Resource: ownerResource(ownerID) + "/history", SubjectOwnerID: ownerID, Outcome: audit.OutcomeSuccess}
}
