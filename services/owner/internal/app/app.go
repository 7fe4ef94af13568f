// Package app holds the owner service's use cases: one method per operation, each
// validating its input, applying the domain rules, storing through the repository and
// auditing the read or change of personal data.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"
	_ "time/tzdata" // built in, so that retention days do not depend on the host's zone files

	"github.com/google/uuid"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/docid"
)

// Auditor appends audit events. Record queues them (and fails while they cannot be
// stored, so nothing is read unaudited, except into the room Reserve keeps);
// RecordNow stores them before returning. Reserve keeps room for the events of a change
// (audit.Writer.Reserve): the server takes it for each call, the retention sweep for
// each owner it changes.
type Auditor interface {
	Record(ctx context.Context, events ...audit.Event) error
	RecordNow(ctx context.Context, events ...audit.Event) error
	Reserve(ctx context.Context) (_ context.Context, release func(), _ error)
}

// Options tune the use cases.
type Options struct {
	// AllowTemporaryIdentityCodes accepts individual numbers 900–999.
	AllowTemporaryIdentityCodes bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Location is the time zone whose days the retention days count in; nil means
	// the clinics' (Europe/Helsinki).
	Location *time.Location
	// Logger tells operators what a caller is not told (a patient left active under an
	// erased owner); nil discards it.
	Logger *slog.Logger
}

// Service implements the owner register's use cases.
type Service struct {
	repo    domain.Repository
	auditor Auditor
	opts    Options
}

// New builds the use cases on a repository and an auditor.
func New(repo domain.Repository, auditor Auditor, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Location == nil {
		loc, err := time.LoadLocation(domain.ClinicZone)
		if err != nil {
			return nil, fmt.Errorf("the clinics' time zone: %w", err)
		}
		opts.Location = loc
	}
	return &Service{repo: repo, auditor: auditor, opts: opts}, nil
}

// requestNamespace scopes ids derived from client request ids, so a retried create maps
// to the same document id.
var requestNamespace = uuid.MustParse("6f0c1c8e-7a43-4d7e-9a55-2f3b2c4d8e11")

// newID returns the id of a created document: derived from the client request id when
// there is one (so a retry finds the first document), else a fresh time-ordered UUID.
func newID(kind, requestID string) (string, error) {
	return docid.New(requestNamespace, requestID, kind)
}

// clinicNow is now on the clinics' clock: a date "today" is the clinics' calendar day.
func (s *Service) clinicNow() time.Time { return s.opts.Now().In(s.opts.Location) }

// change describes a change made now by the caller.
func (s *Service) change(ctx context.Context, fields []string, reason string) domain.Change {
	id, _ := auth.FromContext(ctx)
	return domain.Change{
		// The store keeps milliseconds; the answer to a write shows what a read will.
		Time:         s.opts.Now().UTC().Truncate(time.Millisecond),
		ActorSubject: id.Subject,
		ActorName:    id.Name,
		ActorRoles:   id.RoleNames(),
		ActorSystem:  id.System,
		Fields:       fields,
		Reason:       reason,
	}
}

// record audits a successful read or change of one owner's data.
func (s *Service) record(ctx context.Context, action, resource, ownerID string) error {
	return s.recordAll(ctx, action, resource, ownerID)
}

// recordAll audits a read that touched several owners: one event per owner, so each
// owner's access report lists it.
func (s *Service) recordAll(ctx context.Context, action, resource string, ownerIDs ...string) error {
	if len(ownerIDs) == 0 {
		return nil
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

// refuseReusedRequestID answers a create whose request id made another record
// (resource, of the owner ownerID) with apperr.RequestIDReused, used saying what for
// (see usedFor).
// The refusal is audited as denied about that owner before it is answered, as the
// service's other refusals are (audit.Deny): the request reached their record, and
// their access report shows the attempt. When the audit fails, its failure is the
// answer, and the caller's retry is refused again.
func (s *Service) refuseReusedRequestID(ctx context.Context, action, resource, ownerID, used string) error {
	if err := s.auditor.RecordNow(ctx, audit.Refusal(action, resource, ownerID, "REQUEST_ID_REUSED")); err != nil {
		return fmt.Errorf("audit a refused %s: %w", action, err)
	}
	return apperr.RequestIDReused(used)
}

// usedFor is what a refused create is told its request id was used for: what (as
// "another owner") for a record of its own, nothing for an erased one. An erased record
// matches every create (domain.SameOwnerCreate), the retry of its own among them, which
// "another" would misinform and a new request id would turn into the erased person
// registered again; a namesake is told the same, so the answer does not tell them apart.
func usedFor(erased bool, what string) string {
	if erased {
		return ""
	}
	return what
}

// maxReasonLen bounds the reason of a change and the purpose of a reveal: each is kept
// for good (in the change history, in the audit log), so one request must not be able
// to grow them by megabytes.
const maxReasonLen = 200

func validateReason(reason string, v *apperr.ValidationError) {
	if reason == "" {
		v.Add("reason", "is required: say why the data is changed")
	}
	v.CheckText("reason", reason, maxReasonLen)
}

func ownerResource(id string) string   { return "owners/" + id }
func patientResource(id string) string { return "patients/" + id }
