// Package app holds the disclosure service's use cases: the recipients register,
// disclosures with their log, and the owners' access requests. Each use case validates its input, applies the domain's
// rules, asks the owner, consent and patient-history services what it needs through the interfaces
// declared here, and audits the read or change of personal data.
package app

import (
	"context"
	"fmt"
	"html/template"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/metadata"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/docid"
	"github.com/lillvet/register/services/platform/retention"
)

// ServiceName names the disclosure service: in traces, logs and metrics, and as the
// system its own work is audited as (auth.SystemIdentity). It lives here, the
// innermost package that needs it, so that the use cases and the service's package
// (whose ServiceName it is) name the service alike.
const ServiceName = "disclosure"

// Auditor appends audit events. Record queues them; RecordNow stores them before it
// returns, for a package about to leave. Both fail while events cannot be stored, so
// nothing is read or disclosed unaudited, except that Record queues into the room
// Reserve keeps for the events of a change (audit.Writer.Reserve): the server takes it
// for each call, the erasure job for each step.
type Auditor interface {
	Record(ctx context.Context, events ...audit.Event) error
	RecordNow(ctx context.Context, events ...audit.Event) error
	Reserve(ctx context.Context) (_ context.Context, release func(), _ error)
}

// OwnerStatus is whether an owner exists and is restricted.
type OwnerStatus struct {
	Exists     bool
	Restricted bool
}

// Address is an owner's postal address.
type Address struct {
	Street     string `json:"street,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	City       string `json:"city,omitempty"`
	Country    string `json:"country,omitempty"`
}

// OwnerData is the owner's basic data as the owner service gives it, without the
// identity code (which no recipient kind receives).
type OwnerData struct {
	GivenNames string
	FamilyName string
	Phone      string
	Email      string
	Address    Address
}

// PatientData is one of the owner's animals as the owner service gives it.
type PatientData struct {
	ID             string
	CustomerNumber string
	Name           string
	Species        string
	Breed          string
	Sex            string
	BirthDate      string
	Microchip      string
}

// Owners is the owner service, as the disclosure service uses it. Every call carries
// the caller's identity, so the owner service authorises and audits the person who
// asked for the disclosure.
type Owners interface {
	// Status says whether the owner exists and is restricted, and nothing else.
	Status(ctx context.Context, ownerID string) (OwnerStatus, error)
	// Owner reads the owner's basic data.
	Owner(ctx context.Context, ownerID string) (OwnerData, error)
	// Patients reads all of the owner's patients.
	Patients(ctx context.Context, ownerID string) ([]PatientData, error)
	// Export reads everything the owner service holds about the owner, the identity
	// code in full: the owner's own copy.
	Export(ctx context.Context, ownerID string) (OwnerExport, error)
}

// Consents is the consent service: may the check's purpose use the owner's data now?
type Consents interface {
	Check(ctx context.Context, ownerID string, c domain.ConsentCheck) (domain.ConsentVerdict, error)
	// Restricted says whether the consent service restricts the owner now: its own
	// restriction, or the owner service's as it sees it. A Check's verdict includes it;
	// a disclosure that asks for no verdict (a subcontractor's) asks this.
	Restricted(ctx context.Context, ownerID string) (bool, error)
	// Ledger reads the owner's consents now and every decision behind them.
	Ledger(ctx context.Context, ownerID string) (ConsentLedger, error)
}

// Peers are the other services the use cases ask, and the audit logs the access
// report reads.
type Peers struct {
	Owners   Owners
	Consents Consents
	History  History
	// AccessLogs are every service's audit log, this one's included: who at the
	// clinic accessed the owner's data.
	AccessLogs []AccessLog
}

// Options tune the use cases.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Location is the clinics' time zone, in which deadlines are counted; nil means
	// retention.ClinicZone.
	Location *time.Location
	// Retention is the configured retention periods the access report states; a zero
	// part means its default.
	Retention domain.StatedRetention
}

// Service implements the disclosure service's use cases.
type Service struct {
	repo      domain.Repository
	owners    Owners
	consents  Consents
	history   History
	logs      []AccessLog
	auditor   Auditor
	now       func() time.Time
	loc       *time.Location
	retention domain.StatedRetention
	document  *template.Template
}

// New builds the use cases.
func New(repo domain.Repository, peers Peers, auditor Auditor, opts Options) (*Service, error) {
	var err error
	if opts.Now, opts.Location, err = clock(opts.Now, opts.Location); err != nil {
		return nil, err
	}
	if opts.Retention.Records == (retention.Policy{}) {
		opts.Retention.Records = retention.DefaultPolicy()
	}
	if err := opts.Retention.Records.Validate(); err != nil {
		return nil, err
	}
	if opts.Retention.LogYears == 0 {
		opts.Retention.LogYears = domain.DefaultRecordsRetentionYears
	}
	if opts.Retention.AuditYears == 0 {
		opts.Retention.AuditYears = audit.DefaultRetentionYears
	}
	document, err := parseReportTemplate()
	if err != nil {
		return nil, err
	}
	return &Service{
		repo: repo, owners: peers.Owners, consents: peers.Consents, history: peers.History, logs: peers.AccessLogs,
		auditor: auditor, now: opts.Now, loc: opts.Location, retention: opts.Retention,
		document: document,
	}, nil
}

// clock fills a clock and a time zone left nil: time.Now and the clinics' zone.
func clock(now func() time.Time, loc *time.Location) (func() time.Time, *time.Location, error) {
	if now == nil {
		now = time.Now
	}
	if loc == nil {
		var err error
		if loc, err = retention.ClinicLocation(); err != nil {
			return nil, nil, err
		}
	}
	return now, loc, nil
}

// requestNamespace scopes ids derived from client request ids, so that a retried
// create maps to the id of the first.
var requestNamespace = uuid.MustParse("3b8e2f6a-9c1d-4e57-a0b4-7d2c5e8f1a93")

// newID returns the id of a new resource: derived from the client's request id when
// there is one, else a fresh time-ordered UUID.
func newID(kind, requestID string) (string, error) {
	return docid.New(requestNamespace, requestID, kind)
}

// record audits a successful read or change.
func (s *Service) record(ctx context.Context, events ...audit.Event) error {
	return recordWith(ctx, s.auditor, events...)
}

// recordWith audits events with a, success unless an event says otherwise.
func recordWith(ctx context.Context, a Auditor, events ...audit.Event) error {
	for i := range events {
		if events[i].Outcome == "" {
			events[i].Outcome = audit.OutcomeSuccess
		}
	}
	if err := a.Record(ctx, events...); err != nil {
		return fmt.Errorf("audit %s: %w", events[0].Action, err)
	}
	return nil
}

// auditUnanswered returns what FinalizeRecord calls when the retention sweep, the
// owner's erasure or the recipient's deactivation finds a pending entry becoming
// refused: it records the refusal as a refused disclosure, which its caller, who never
// had an answer, did not have audited. The event is pendingRefusalEvent, stored once
// however many of them find the entry pending, before or after one of them stopped
// between its claim and the entry becoming final.
func auditUnanswered(ctx context.Context, a Auditor) func(domain.Record) error {
	return func(rec domain.Record) error {
		if err := a.RecordNow(asRequester(ctx), pendingRefusalEvent(rec)); err != nil {
			return fmt.Errorf("audit the refusal of pending disclosure %s: %w", rec.ID, err)
		}
		return nil
	}
}

// pendingRefusalEvent is the audit event of refused, an entry logged pending and then
// refused. Its id is the entry's, the same for every caller that audits the refusal
// (the disclosure answering it, its retry, the erasure job, the deactivation, the
// sweep), so that the refusal is stored once: the audit log counts an id stored before
// as stored. Whichever stores it, it names the staff member who asked for the
// disclosure, with their name and stated purpose, as the entry holds them, not the
// caller that found it pending: it is the only audit record of their request, and the
// owner's access report shows who asked and why. Record it with asRequester's context.
func pendingRefusalEvent(refused domain.Record) audit.Event {
	ev := disclosureEvent(refused)
	ev.ID = disclosureResource(refused.ID) + "/unanswered"
	ev.ActorSubject, ev.ActorName, ev.Roles = refused.RequestedBy, refused.RequestedByName, refused.RequestedByRoles
	ev.Purpose = refused.RequestedPurpose
	return ev
}

// asRequester is ctx for recording a pendingRefusalEvent: without the caller's stated
// purpose, which the audit writer would otherwise give an event without one (an entry
// logged before the purpose was kept), the caller being the erasure job, the sweep or
// a clinic manager deactivating the recipient as often as the staff member who asked.
func asRequester(ctx context.Context) context.Context {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	md = md.Copy()
	md.Delete(auth.MetadataPurpose)
	md.Delete(auth.MetadataPurposeBin)
	return metadata.NewIncomingContext(ctx, md)
}

func recipientResource(id string) string  { return "recipients/" + id }
func disclosureResource(id string) string { return "disclosures/" + id }
