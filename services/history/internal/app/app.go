// Package app holds the history service's use cases: one method per operation, each
// validating its input, applying the rules, storing through the repository and auditing
// the read or change of personal data.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/docid"
	"github.com/lillvet/register/services/platform/patientowner"
	"github.com/lillvet/register/services/platform/retention"
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
	// BirthDate is YYYY-MM-DD ("" if unknown).
	BirthDate string
	// DeathDate is YYYY-MM-DD when the patient is deceased ("" if the date is unknown).
	Deceased  bool
	DeathDate string
	// Updated is when the patient's record last changed: no transfer came after it.
	Updated time.Time
}

// Registry is the owner service, asked with the caller's identity. Unknown ids fail
// with apperr.ErrNotFound; an unreachable service with apperr.ErrUnavailable.
type Registry interface {
	Patient(ctx context.Context, id string) (Patient, error)
	// Transfers lists the changes of the patient's owner its change history records.
	Transfers(ctx context.Context, patientID string) ([]patientowner.Transfer, error)
	// OwnerExists fails with apperr.ErrNotFound when there is no such owner.
	OwnerExists(ctx context.Context, id string) error
}

// Options tune the use cases.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Retention is the retention periods an erasure applies; zero means the legal
	// minima.
	Retention retention.Policy
	// Location is the clinics' time zone, in which retention days are counted; nil
	// means retention.ClinicZone.
	Location *time.Location
	// RequestKey (at least 32 bytes) keys the digests stored of what each visit's and
	// amendment's request sent, by which a retry is told from a reused request id
	// after an erasure reduced the record. Without it none is stored, and a retry of a
	// reduced record is compared as reduced, blind to what the reduction removed.
	RequestKey []byte
	// Logger tells operators what a caller is not told (a mark for the name retention
	// job that failed after a write stood, a refused write that could not be taken
	// back); nil discards it.
	Logger *slog.Logger
}

// MinRequestKey is the length in bytes of the shortest request key: the HMAC-SHA256
// output's.
const MinRequestKey = 32

// Service implements the history service's use cases.
type Service struct {
	repo     domain.Repository
	registry Registry
	auditor  Auditor
	opts     Options
	digests  requestDigests
}

// New builds the use cases.
func New(repo domain.Repository, registry Registry, auditor Auditor, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Retention == (retention.Policy{}) {
		opts.Retention = retention.DefaultPolicy()
	}
	if err := opts.Retention.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Location == nil {
		loc, err := retention.ClinicLocation()
		if err != nil {
			return nil, err
		}
		opts.Location = loc
	}
	if n := len(opts.RequestKey); n > 0 && n < MinRequestKey {
		return nil, fmt.Errorf("request key has %d bytes, want at least %d", n, MinRequestKey)
	}
	return &Service{repo: repo, registry: registry, auditor: auditor, opts: opts, digests: newRequestDigests(opts.RequestKey)}, nil
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
	return !slices.ContainsFunc(clinicalRoles, func(r auth.Role) bool { return acts(ctx, r) })
}

// acts reports whether the caller acts in role r here: the maintainer only with a
// stated purpose, as the policy admits them (auth.Rule.WithPurpose). A token that
// also holds billing or reception is let in through that role without a purpose, and
// must then read as that role, not with the maintainer's wider view.
func acts(ctx context.Context, r auth.Role) bool {
	id, _ := auth.FromContext(ctx)
	return id.Has(r) && (r != auth.RoleMaintainer || auth.Purpose(ctx) != "")
}

// clinicalCorrectors correct a visit's clinical content; anyone else AmendVisit's policy
// lets in came through billing and corrects only invoices, whatever other roles the token
// holds: reading clinical text (clinicalRoles) is not a right to rewrite it.
var clinicalCorrectors = []auth.Role{auth.RoleVeterinarian, auth.RoleNurse}

// correctsClinically reports whether the caller corrects a visit as a clinician.
func correctsClinically(ctx context.Context) bool {
	return slices.ContainsFunc(clinicalCorrectors, func(r auth.Role) bool { return acts(ctx, r) })
}

// asBilling reports whether a correction of the fields in paths is billing's: it
// names only invoices and the caller holds billing, whatever other roles the token
// holds, so that a clinician who also bills records a payment on a restricted visit.
func asBilling(ctx context.Context, paths []string) bool {
	return acts(ctx, auth.RoleBilling) && !slices.ContainsFunc(paths, func(p string) bool { return p != "invoices" })
}

// corrector is the calling staff member as the author of a correction: billing's
// (asBilling), or a clinician's.
func corrector(ctx context.Context, billing bool) domain.Staff {
	s := caller(ctx)
	if billing {
		s.Role = string(auth.RoleBilling)
	}
	return s
}

// restrictionReaders see restricted visits (kept after an erasure only for their
// retention period): the clinic manager, who answers the customers' rights and the
// authorities; billing, which still collects and books their invoices (invoice view
// only); the maintainer, with a stated purpose. Everyone else is treating animals or
// serving customers, which a restricted record may no longer be used for.
var restrictionReaders = []auth.Role{auth.RoleClinicManager, auth.RoleBilling, auth.RoleMaintainer}

// invoiceView reports whether the caller gets the invoice view of v: billing always,
// and of a restricted visit whoever sees it only through billing (not as the clinic
// manager, nor as the maintainer with a purpose), whatever other roles the token
// holds: a restricted visit is kept for billing only for its invoices.
func invoiceView(ctx context.Context, v *domain.Visit) bool {
	return invoicesOnly(ctx) || v.Restricted && !slices.ContainsFunc(restrictionReaders, func(r auth.Role) bool {
		return r != auth.RoleBilling && acts(ctx, r)
	})
}

// seesRestricted reports whether the caller may read restricted visits.
func seesRestricted(ctx context.Context) bool {
	return slices.ContainsFunc(restrictionReaders, func(r auth.Role) bool { return acts(ctx, r) })
}

// errRestricted answers a use of a restricted visit by someone it is not kept for.
var errRestricted = apperr.Precondition("VISIT_RESTRICTED",
	"the visit is restricted: the owner's data was erased and it is kept only for its legal retention period")

// errInvoicesHeld answers billing adding an invoice to a restricted visit, removing one
// or reopening a paid one: the erasure planned how long the visit is kept from the
// invoices it had then and told the owner service which open ones still need the
// identity code, so a new one would be deleted with the clinical record before its
// bookkeeping period ends, a removed one would leave the books, and a reopened one could
// no longer be collected once the code is dropped. Recording a payment settles one.
var errInvoicesHeld = apperr.Precondition("VISIT_RESTRICTED",
	"the visit is restricted: the owner's data was erased; only the payment of an open invoice it holds may be recorded: none added, removed or reopened")

// errOwnerErased answers an attempt to add to an erased owner's history.
var errOwnerErased = apperr.Precondition("OWNER_ERASED", "the owner's data was erased; nothing more can be recorded for them")

// refusedDespite answers errOwnerErased for a write the owner's erasure refuses when
// taking it back, or reading it again to tell whether the erasure holds it, failed
// (storeErr; nil when it did not). The caller is told only that the owner was erased,
// and the write may stay stored until its retry, the erasure or the retention sweep
// settles it, so the operator is told by the record's id (key names it).
func (s *Service) refusedDespite(ctx context.Context, key, id string, storeErr error) error {
	if storeErr != nil {
		s.opts.Logger.ErrorContext(ctx, "a write refused as the owner's data was erased could not be taken back or read again; "+
			"it may stay stored until its retry, the owner's erasure or the retention sweep settles it", key, id, "error", storeErr)
	}
	return errOwnerErased
}

// auditedRefusals are the reasons of the refusals the service makes itself, after the
// policy let the call in, that concern the owner's data: the owner erased, a
// restricted visit used by someone it is not kept for, a request id used for another
// record of theirs.
var auditedRefusals = []string{"OWNER_ERASED", "VISIT_RESTRICTED", "REQUEST_ID_REUSED"}

// refusalAudited audits err, when it is one of auditedRefusals, as a denied action
// about the owner (audit.Refusal), so that the owner's access report shows the
// attempt, as it shows the policy's own refusals; it returns err, with the audit's
// failure.
func (s *Service) refusalAudited(ctx context.Context, action, resource, ownerID string, err error) error {
	return s.refusalAuditedAbout(ctx, action, resource, []string{ownerID}, err)
}

// refusalAuditedAbout is refusalAudited about each of the owners.
func (s *Service) refusalAuditedAbout(ctx context.Context, action, resource string, ownerIDs []string, err error) error {
	var refusal *apperr.PreconditionError
	if !errors.As(err, &refusal) || !slices.Contains(auditedRefusals, refusal.Reason) {
		return err
	}
	events := make([]audit.Event, len(ownerIDs))
	for i, id := range ownerIDs {
		events[i] = audit.Refusal(action, resource, id, refusal.Reason)
	}
	if aerr := s.auditor.Record(ctx, events...); aerr != nil {
		return errors.Join(err, fmt.Errorf("audit %s: %w", action, aerr))
	}
	return err
}

// checkNotErased fails with errOwnerErased when the owner's history was erased, and
// returns the erasure record then, so that the caller can tell how far the erasure went.
func (s *Service) checkNotErased(ctx context.Context, ownerID string) (*domain.Erasure, error) {
	e, err := s.repo.GetErasure(ctx, ownerID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return e, errOwnerErased
}

// settleTimeout bounds what a write leaves to do once it has landed (afterWrite).
const settleTimeout = 10 * time.Second

// afterWrite is the context of what a visit's, amendment's or communication's write
// leaves to do once it has landed: settling with an erasure of the owner, and taking
// the write back when the erasure refuses it. The write is audited before (rule 8
// holds for every change that lands, and the call's room in the audit queue is kept
// for it); a deadline or disconnect hitting right after the write would otherwise fail
// the check, leaving a refused write stored, or a valid one answered as failed.
func afterWrite(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
}

// caller is the calling staff member, with the first of their roles that names what
// they did.
func caller(ctx context.Context) domain.Staff {
	id, _ := auth.FromContext(ctx)
	s := domain.Staff{Subject: id.Subject, Name: id.Name}
	for _, r := range slices.Concat(clinicalRoles, []auth.Role{auth.RoleBilling}) {
		if acts(ctx, r) {
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
