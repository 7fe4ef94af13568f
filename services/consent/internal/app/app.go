// Package app holds the consent service's use cases: one method per operation, each
// validating its input, applying the domain rules to the owner's ledger, and auditing
// the read or change of the owner's consent data.
package app

import (
	"context"
	"fmt"
	"time"
	_ "time/tzdata" // built in, so that suppression days do not depend on the host's zone files

	"github.com/google/uuid"

	"github.com/lillvet/register/services/consent/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/docid"
)

// Auditor appends audit events; Record fails while they cannot be stored, so nothing
// is read unaudited. RecordNow stores them before it returns, without the queue.
type Auditor interface {
	Record(ctx context.Context, events ...audit.Event) error
	RecordNow(ctx context.Context, events ...audit.Event) error
}

// OwnerStatus is what the consent service needs to know of an owner.
type OwnerStatus struct {
	Exists     bool
	Restricted bool
}

// Owners is the owner service, as the consent service uses it.
type Owners interface {
	// Statuses says for each of ids whether the owner exists and is restricted, in a
	// constant number of calls; ids the owner service does not answer for are absent.
	Statuses(ctx context.Context, ids []string) (map[string]OwnerStatus, error)
}

// Options tune the use cases.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Location is the time zone suppression records are dated in; nil means the
	// clinics' (Europe/Helsinki).
	Location *time.Location
	// OwnerStatusTTL is how long, on the clock Now, an owner's status from the owner
	// service answers for the owner (see ownerStatuses): 0 asks the owner service every
	// time, else at least MinOwnerStatusTTL.
	OwnerStatusTTL time.Duration
	// EvidenceLinkHosts are the clinic's form services whose submission links a
	// decision's evidence or a restriction's reason may be; none refuses links.
	EvidenceLinkHosts domain.LinkHosts
}

// Service implements the consent ledger's use cases.
type Service struct {
	repo    domain.Repository
	owners  *ownerStatuses
	auditor Auditor
	now     func() time.Time
	loc     *time.Location
	links   domain.LinkHosts
}

// New builds the use cases on a repository, the owner service and an auditor.
func New(repo domain.Repository, owners Owners, auditor Auditor, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		loc, err := time.LoadLocation(domain.ClinicZone)
		if err != nil {
			return nil, fmt.Errorf("the clinics' time zone: %w", err)
		}
		opts.Location = loc
	}
	statuses, err := newOwnerStatuses(owners, opts.OwnerStatusTTL, opts.Now)
	if err != nil {
		return nil, err
	}
	return &Service{repo: repo, owners: statuses, auditor: auditor, now: opts.Now, loc: opts.Location,
		links: opts.EvidenceLinkHosts}, nil
}

// requestNamespace scopes entry ids derived from client request ids.
var requestNamespace = uuid.MustParse("0d7f3a52-51c1-4b7e-8f0e-3c9a1e6b2d47")

// entryID returns the id of a new entry: derived from the owner and the client request
// id when there is one (so a retry finds the first entry), else a fresh time-ordered
// UUID.
func entryID(ownerID, requestID string) (string, error) {
	return docid.New(requestNamespace, requestID, ownerID)
}

// record audits a successful read or change of one owner's consent data.
func (s *Service) record(ctx context.Context, action, resource, ownerID string) error {
	e := audit.Event{Action: action, Resource: resource, SubjectOwnerID: ownerID, Outcome: audit.OutcomeSuccess}
	if err := s.auditor.Record(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func consentsResource(ownerID string) string  { return "owners/" + ownerID + "/consents" }
func decisionsResource(ownerID string) string { return "owners/" + ownerID + "/consentDecisions" }
