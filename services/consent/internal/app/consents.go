package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lillvet/register/services/consent/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/paging"
)

// Page sizes of ListDecisions, and the bound of one filter.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
	MaxFilterOwners = 10_000
	// maxOwnerIDViolations bounds the invalid owner ids one filter reports: the first
	// ones are enough to fix the request, and ten thousand would not fit a status.
	maxOwnerIDViolations = 20
	// eraseAttempts bounds the re-reads of a ledger that took a decision while it was
	// being erased.
	eraseAttempts = 3
)

// RecordDecision is the input of RecordDecision.
type RecordDecision struct {
	OwnerID string
	// RequestID is the request's own; when empty, the Idempotency-Key the gateway
	// forwards (apperr.ValidationError.CheckRequestID).
	RequestID string
	// Entry is nil when the request holds no decision.
	Entry *domain.Entry
}

// RecordDecision appends one decision of an owner, who must exist in the owner service;
// a retry with the same request id returns the first entry.
func (s *Service) RecordDecision(ctx context.Context, in RecordDecision) (domain.Entry, error) {
	var v apperr.ValidationError
	in.OwnerID = v.UUID("owner_id", in.OwnerID)
	rid := v.CheckRequestID(ctx, in.RequestID)
	now := s.now().UTC().Truncate(time.Millisecond)
	id, err := entryID(in.OwnerID, rid)
	if err != nil {
		return domain.Entry{}, err
	}
	if in.Entry == nil {
		v.Add("decision", "is required")
	}
	if rid != "" && in.Entry != nil && v.Err() == nil {
		first, ok, err := s.requestEntry(ctx, in.OwnerID, id)
		if err != nil {
			return domain.Entry{}, err
		}
		if ok {
			return s.retried(ctx, in, first)
		}
	}
	var e domain.Entry
	if in.Entry != nil {
		e = *in.Entry
		domain.ValidateEntry(&e, "decision", now, s.links, &v)
	}
	if err := v.Err(); err != nil {
		return domain.Entry{}, err
	}
	if _, err := s.ownerStatus(ctx, in.OwnerID); err != nil {
		return domain.Entry{}, err
	}
	caller, _ := auth.FromContext(ctx)
	e.ID, e.OwnerID, e.Seq = id, in.OwnerID, 0
	e.RecordedBy, e.RecordedByName, e.RecordedAt = caller.Subject, caller.Name, now
	stored, err := s.repo.Append(ctx, e)
	if err != nil {
		return domain.Entry{}, fmt.Errorf("record a decision of owner %s: %w", in.OwnerID, err)
	}
	// A retry repeats the decision; a request id reused for another one must not be
	// answered as if that one were recorded (a withdrawal would silently not be, a
	// renewed grant would be answered with the expired one).
	if !domain.SameRequest(stored, e, in.Entry.EffectiveAt) {
		return domain.Entry{}, apperr.RequestIDReused("another decision of this owner")
	}
	return stored, s.record(ctx, "consent.decision.record", decisionsResource(in.OwnerID)+"/"+stored.ID, in.OwnerID)
}

// requestEntry is the entry a request id already recorded, found by the entry id derived
// from it; ok is false when none is.
func (s *Service) requestEntry(ctx context.Context, ownerID, entryID string) (e domain.Entry, ok bool, err error) {
	l, err := s.repo.Ledger(ctx, ownerID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return domain.Entry{}, false, nil
	case err != nil:
		return domain.Entry{}, false, fmt.Errorf("record a decision of owner %s: %w", ownerID, err)
	}
	e, ok = l.Entry(entryID)
	return e, ok, nil
}

// retried answers a request whose request id already recorded first: with first when
// the request asks for it (domain.IsRetryOf), REQUEST_ID_REUSED otherwise. It is judged
// by comparison, not by the rules of now: first met the rules when it was recorded, and
// a retry however late must find it, also when a rule has been tightened since (a
// statement version typed as free text before it had to be a label) or the clock has
// moved on (a grant valid until an hour that has since passed).
func (s *Service) retried(ctx context.Context, in RecordDecision, first domain.Entry) (domain.Entry, error) {
	if !domain.IsRetryOf(first, *in.Entry) {
		return domain.Entry{}, apperr.RequestIDReused("another decision of this owner")
	}
	if _, err := s.ownerStatus(ctx, in.OwnerID); err != nil {
		return domain.Entry{}, err
	}
	return first, s.record(ctx, "consent.decision.record", decisionsResource(in.OwnerID)+"/"+first.ID, in.OwnerID)
}

// ownerStatus asks the owner service about one owner (see ownerStatuses); an unknown
// owner is not found.
func (s *Service) ownerStatus(ctx context.Context, ownerID string) (OwnerStatus, error) {
	statuses, err := s.owners.Statuses(ctx, []string{ownerID})
	if err != nil {
		return OwnerStatus{}, fmt.Errorf("owner %s: %w", ownerID, err)
	}
	st := statuses[ownerID]
	if !st.Exists {
		return OwnerStatus{}, apperr.New(apperr.ErrNotFound, "owner %s not found", ownerID)
	}
	return st, nil
}

// ledger reads an owner's ledger. An owner without one gets an empty ledger, once the
// owner service says the owner exists.
func (s *Service) ledger(ctx context.Context, ownerID string) (*domain.Ledger, error) {
	l, err := s.repo.Ledger(ctx, ownerID)
	if err == nil {
		return l, nil
	}
	if !errors.Is(err, apperr.ErrNotFound) {
		return nil, err
	}
	if _, err := s.ownerStatus(ctx, ownerID); err != nil {
		return nil, err
	}
	return &domain.Ledger{OwnerID: ownerID}, nil
}

// verdictLedger reads what a verdict on an owner needs: the ledger (empty when the
// owner has none) and whether the owner service restricts the owner now. The owner
// service is asked even when the ledger exists, since its restriction (an objection or
// an Art. 18 restriction handled there) reaches the consent service no other way; an
// owner it does not know is not found.
func (s *Service) verdictLedger(ctx context.Context, ownerID string) (*domain.Ledger, bool, error) {
	st, err := s.ownerStatus(ctx, ownerID)
	if err != nil {
		return nil, false, err
	}
	l, err := s.repo.Ledger(ctx, ownerID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return &domain.Ledger{OwnerID: ownerID}, st.Restricted, nil
	case err != nil:
		return nil, false, err
	}
	return l, st.Restricted, nil
}

// Check answers whether purpose (with scope) may use the owner's data now.
func (s *Service) Check(ctx context.Context, ownerID string, purpose domain.Purpose, scope string) (domain.Verdict, time.Time, error) {
	var v apperr.ValidationError
	ownerID = v.UUID("owner_id", ownerID)
	if scope = validatePurpose(purpose, scope, &v); v.Err() != nil {
		return domain.Verdict{}, time.Time{}, v.Err()
	}
	l, ownerRestricted, err := s.verdictLedger(ctx, ownerID)
	if err != nil {
		return domain.Verdict{}, time.Time{}, fmt.Errorf("check consent of owner %s: %w", ownerID, err)
	}
	now := s.now().UTC()
	verdict := l.Verdict(purpose, scope, now, ownerRestricted)
	return verdict, now, s.record(ctx, "consent.check", consentsResource(ownerID)+checkedResource(purpose, scope), ownerID)
}

// States derives the current state of the owner's purposes, and tells whether the owner
// is restricted.
func (s *Service) States(ctx context.Context, ownerID string) ([]domain.State, bool, time.Time, error) {
	var v apperr.ValidationError
	if ownerID = v.UUID("owner_id", ownerID); v.Err() != nil {
		return nil, false, time.Time{}, v.Err()
	}
	l, ownerRestricted, err := s.verdictLedger(ctx, ownerID)
	if err != nil {
		return nil, false, time.Time{}, fmt.Errorf("consent state of owner %s: %w", ownerID, err)
	}
	now := s.now().UTC()
	states := l.States(now, ownerRestricted)
	return states, l.Restricted || ownerRestricted, now, s.record(ctx, "consent.state.read", consentsResource(ownerID), ownerID)
}

// ListDecisions lists the owner's decisions newest (highest sequence) first, paged. The
// page token is the sequence number the next page starts below.
func (s *Service) ListDecisions(ctx context.Context, ownerID string, pageSize int, pageToken string) ([]domain.Entry, string, error) {
	var v apperr.ValidationError
	ownerID = v.UUID("owner_id", ownerID)
	if pageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	before, err := decodePageToken(pageToken)
	if err != nil {
		v.Add("page_token", "is not a token this service issued")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	l, err := s.ledger(ctx, ownerID)
	if err != nil {
		return nil, "", fmt.Errorf("decisions of owner %s: %w", ownerID, err)
	}
	size := pageSizeOf(pageSize)
	var page []domain.Entry
	next := ""
	for i := len(l.Entries) - 1; i >= 0; i-- {
		e := l.Entries[i]
		if before > 0 && e.Seq >= before {
			continue
		}
		if len(page) == size {
			next = encodePageToken(page[len(page)-1].Seq)
			break
		}
		page = append(page, e)
	}
	return page, next, s.record(ctx, "consent.decision.list", decisionsResource(ownerID), ownerID)
}

// FilterResult is the answer of Filter.
type FilterResult struct {
	// Allowed and Unknown keep the order of the request.
	Allowed []string
	Unknown []string
	At      time.Time
}

// Filter keeps the owners whose data purpose (with scope) may use now: one query for
// the ledgers, and at most one call to the owner service, for the owners whose status
// it does not remember (see ownerStatuses). Each existing owner named gets an audit
// event, so that their access report shows the read (see auditFilter).
func (s *Service) Filter(ctx context.Context, ownerIDs []string, purpose domain.Purpose, scope string) (FilterResult, error) {
	var v apperr.ValidationError
	switch {
	case len(ownerIDs) == 0:
		v.Add("owner_ids", "must name at least one owner")
	case len(ownerIDs) > MaxFilterOwners:
		v.Add("owner_ids", fmt.Sprintf("must name at most %d owners", MaxFilterOwners))
	}
	ownerIDs = slices.Clone(ownerIDs)
	for i, id := range ownerIDs {
		if len(v.Violations) >= maxOwnerIDViolations {
			break
		}
		ownerIDs[i] = v.UUID(fmt.Sprintf("owner_ids[%d]", i), id)
	}
	scope = validatePurpose(purpose, scope, &v)
	if err := v.Err(); err != nil {
		return FilterResult{}, err
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(ownerIDs)))
	ledgers, err := s.repo.Ledgers(ctx, distinct)
	if err != nil {
		return FilterResult{}, fmt.Errorf("filter %d owners: %w", len(distinct), err)
	}
	statuses, err := s.owners.Statuses(ctx, distinct)
	if err != nil {
		return FilterResult{}, fmt.Errorf("filter %d owners: %w", len(distinct), err)
	}
	res := FilterResult{At: s.now().UTC()}
	seen := make(map[string]bool, len(distinct))
	for _, id := range ownerIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		st := statuses[id]
		if !st.Exists {
			res.Unknown = append(res.Unknown, id)
			continue
		}
		l, ok := ledgers[id]
		if !ok {
			l = &domain.Ledger{OwnerID: id}
		}
		if l.Verdict(purpose, scope, res.At, st.Restricted).Allowed {
			res.Allowed = append(res.Allowed, id)
		}
	}
	if err := s.auditFilter(ctx, distinct, statuses, purpose, scope); err != nil {
		return FilterResult{}, err
	}
	return res, nil
}

// auditFilter records a filter's read of each existing owner's consents for purpose,
// or one event without an owner when it named none (the read is still audited). Each
// resource names the purpose and scope checked (checkedResource). The events are
// stored before the answer rather than queued: a filter may name MaxFilterOwners
// owners, as many events as the audit queue holds, so queued they would fail the
// filter whenever anything else waits there, and refuse every other call meanwhile.
func (s *Service) auditFilter(ctx context.Context, ownerIDs []string, statuses map[string]OwnerStatus, purpose domain.Purpose, scope string) error {
	checked := checkedResource(purpose, scope)
	var events []audit.Event
	for _, id := range ownerIDs {
		if statuses[id].Exists {
			events = append(events, audit.Event{Action: "consent.filter", Resource: consentsResource(id) + checked, SubjectOwnerID: id, Outcome: audit.OutcomeSuccess})
		}
	}
	if len(events) == 0 {
		events = []audit.Event{{Action: "consent.filter", Resource: "consents:filter" + checked, Outcome: audit.OutcomeSuccess}}
	}
	if err := s.auditor.RecordNow(ctx, events...); err != nil {
		return fmt.Errorf("audit consent.filter of %d owners: %w", len(events), err)
	}
	return nil
}

// checkedResource names, after an owner's consents resource, the purpose and scope a
// check or filter read them for, so that the owner's access report and the clinic tell
// a marketing check from an insurer's; scope is a channel or a recipient id once
// validatePurpose has passed it, never text the caller wrote.
func checkedResource(purpose domain.Purpose, scope string) string {
	checked := "/" + string(purpose)
	if scope != "" {
		checked += "/" + scope
	}
	return checked
}

// SetRestriction sets or lifts the consent service's restriction of an existing owner,
// and returns the owner's id as the register issues ids, whatever form of it the caller
// wrote, for the answer to name. Only the clinic manager lifts one: the erasure job may restrict and erase
// (DATA_PROTECTION.md), and its long-lived token must not undo a restriction.
//
// A lift the caller may not make is audited as denied about the owner: the policy let
// the erasure job in, so no rpc.denied shows the attempt in the owner's access report.
func (s *Service) SetRestriction(ctx context.Context, ownerID string, restricted bool, reason string) (string, error) {
	var v apperr.ValidationError
	ownerID = v.UUID("owner_id", ownerID)
	caller, _ := auth.FromContext(ctx)
	// The refusal's event names the owner, so an owner id that is none is reported with
	// the other violations instead.
	if !restricted && !caller.Has(auth.RoleClinicManager) && v.Err() == nil {
		refusal := audit.Refusal("consent.restriction.lift", consentsResource(ownerID), ownerID, "only the clinic manager lifts a restriction")
		return "", fmt.Errorf("owner %s: %w", ownerID, audit.Deny(ctx, s.auditor, refusal))
	}
	reason = domain.NormalizeRestrictionReason(reason, "reason", s.links, &v)
	if err := v.Err(); err != nil {
		return "", err
	}
	if _, err := s.ownerStatus(ctx, ownerID); err != nil {
		return "", err
	}
	c := domain.RestrictionChange{
		Restricted: restricted, Reason: reason, ActorSubject: caller.Subject, ActorSystem: caller.System, Time: s.now(),
	}
	if err := s.repo.SetRestriction(ctx, ownerID, c); err != nil {
		return "", err
	}
	// A lift is its own action, so that the owner's access log never reads it as their
	// processing being restricted.
	// Each action is written as a literal at its call, as TestEveryActionNamed (in the
	// disclosure service) checks every action the services write.
	var err error
	if restricted {
		err = s.record(ctx, "consent.restriction.set", consentsResource(ownerID), ownerID)
	} else {
		err = s.record(ctx, "consent.restriction.lift", consentsResource(ownerID), ownerID)
	}
	if err != nil {
		return "", err
	}
	return ownerID, nil
}

// validatePurpose checks the purpose and returns the scope in normal form.
func validatePurpose(p domain.Purpose, scope string, v *apperr.ValidationError) string {
	if !p.Valid() {
		v.Add("purpose", "is not a known purpose")
		return scope
	}
	return domain.NormalizeScope(p, scope, "scope", v)
}

func pageSizeOf(n int) int {
	return paging.Size(n, DefaultPageSize, MaxPageSize)
}

func encodePageToken(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("before:" + strconv.FormatInt(seq, 10)))
}

// decodePageToken returns the sequence number a page starts below; 0 for the first page.
func decodePageToken(token string) (int64, error) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	var seq int64
	if err == nil {
		s, ok := strings.CutPrefix(string(raw), "before:")
		if seq, err = strconv.ParseInt(s, 10, 64); !ok || seq <= 0 {
			err = errors.New("bad token")
		}
	}
	if err != nil {
		return 0, fmt.Errorf("page token: %w", err)
	}
	return seq, nil
}

// EraseOwnerData erases the owner's ledger, keeps each direct-marketing prohibition in
// force as a suppression record without personal data, and leaves the owner
// restricted here for good (domain.PlanErasure). A retry with the same request id
// answers the first result; another request on an erased owner answers what is left.
func (s *Service) EraseOwnerData(ctx context.Context, ownerID, requestID string) ([]domain.Disposition, error) {
	var v apperr.ValidationError
	ownerID = v.UUID("owner_id", ownerID)
	// A UUID, the form of the erasure job's ids, since the id is kept in the ledger
	// after the erasure: free text there would outlive it.
	if requestID = strings.TrimSpace(requestID); requestID == "" {
		v.Add("request_id", "is required: the erasure request's id, a UUID")
	} else {
		requestID = v.UUID("request_id", requestID)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for range eraseAttempts {
		l, err := s.repo.Ledger(ctx, ownerID)
		exists := err == nil
		if !exists {
			if l, err = s.ledger(ctx, ownerID); err != nil {
				return nil, fmt.Errorf("erase the ledger of owner %s: %w", ownerID, err)
			}
		}
		if answer, ok := l.ErasureAnswer(requestID); ok {
			return answer, s.record(ctx, "consent.erase", consentsResource(ownerID), ownerID)
		}
		e := domain.PlanErasure(l, requestID, s.now().UTC(), s.loc)
		err = s.repo.Erase(ctx, ownerID, l.StoredEntries, exists, e)
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return e.Dispositions, s.record(ctx, "consent.erase", consentsResource(ownerID), ownerID)
	}
	return nil, fmt.Errorf("erase the ledger of owner %s: changed concurrently %d times: %w", ownerID, eraseAttempts, apperr.ErrUnavailable)
}
