package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
)

// RecordAccessRequest records an owner's request for their data, due a calendar month
// after receipt and flagged as possibly chargeable when the owner made another within
// the twelve months before. A retry with the same request id returns the first.
//
// Two documents are written without a transaction: the request, then its line in the
// owner's ledger. A crash between them leaves a request the ledger does not list yet:
// readable by id, and in the owner's favour (no other request is flagged against it).
// A retry with the same request id (or Idempotency-Key) lists it; a client that sends
// none gets a new request, and the first stays unlisted.
//
// The charge flags are read off the ledger, never stored, so a request received
// earlier but recorded later (a letter recorded days after it came) makes the requests
// received after it within the year further ones, and concurrent records cannot leave
// a stale flag behind.
func (s *Service) RecordAccessRequest(ctx context.Context, requestID string, r domain.AccessRequest) (domain.AccessRequest, error) {
	now := s.now()
	if err := validateAccessRequest(&r, now, s.loc); err != nil {
		return domain.AccessRequest{}, err
	}
	id, err := newID("access_request", requestID)
	if err != nil {
		return domain.AccessRequest{}, err
	}
	r.ID = id
	if requestID != "" {
		if first, err := s.repo.AccessRequest(ctx, id); err == nil {
			return s.replayAccessRequest(ctx, first, r)
		} else if !errors.Is(err, apperr.ErrNotFound) {
			return domain.AccessRequest{}, err
		}
	}
	status, err := s.owners.Status(ctx, r.OwnerID)
	if err != nil {
		return domain.AccessRequest{}, err
	}
	if !status.Exists {
		return domain.AccessRequest{}, apperr.New(apperr.ErrNotFound, "owner %s not found", r.OwnerID)
	}
	caller, _ := auth.FromContext(ctx)
	r.RecordedBy, r.CreatedAt = caller.Subject, now.UTC().Truncate(time.Millisecond)
	ledger, err := s.repo.AccessLedger(ctx, r.OwnerID)
	if err != nil {
		return domain.AccessRequest{}, err
	}
	if ledger.Full() {
		return domain.AccessRequest{}, ledgerFull()
	}
	stored, err := s.repo.CreateAccessRequest(ctx, r)
	if err != nil {
		return domain.AccessRequest{}, err
	}
	if !stored.CreatedAt.Equal(r.CreatedAt) {
		// A concurrent retry stored its request first: answer with that one.
		return s.replayAccessRequest(ctx, stored, r)
	}
	if err := s.listAccessRequest(ctx, &stored, ledger); err != nil {
		return domain.AccessRequest{}, err
	}
	return stored, s.record(ctx, accessEvent("access_request.record", stored))
}

// validateAccessRequest applies the domain's rules; the owner id must also be a UUID, and
// is written as the register issued it.
func validateAccessRequest(r *domain.AccessRequest, now time.Time, loc *time.Location) error {
	err := domain.PrepareAccessRequest(r, "access_request", now, loc)
	var v *apperr.ValidationError
	switch {
	case err == nil:
		v = &apperr.ValidationError{}
	case !errors.As(err, &v):
		return err
	}
	if r.OwnerID != "" {
		r.OwnerID = v.UUID("access_request.owner_id", r.OwnerID)
	}
	return v.Err()
}

func ledgerFull() error {
	return apperr.Precondition(domain.ReasonTooManyRequests,
		fmt.Sprintf("the owner has the maximum of %d access requests on record", domain.MaxAccessRequestsPerOwner))
}

// replayAccessRequest answers a retried record with the first request, and finishes
// what a crash may have left undone: listing it in the owner's ledger.
func (s *Service) replayAccessRequest(ctx context.Context, first, retry domain.AccessRequest) (domain.AccessRequest, error) {
	if first.OwnerID != retry.OwnerID {
		return domain.AccessRequest{}, apperr.RequestIDReused("an access request of another owner")
	}
	ledger, err := s.repo.AccessLedger(ctx, first.OwnerID)
	if err != nil {
		return domain.AccessRequest{}, err
	}
	if err := s.listAccessRequest(ctx, &first, ledger); err != nil {
		return domain.AccessRequest{}, err
	}
	return first, s.record(ctx, accessEvent("access_request.record", first))
}

// listAccessRequest adds a stored request to its owner's ledger, read at l, unless l
// lists it already, and flags it on the ledger that lists it: of two requests received
// at the same instant and recorded at once, only the first the store appended is free.
func (s *Service) listAccessRequest(ctx context.Context, r *domain.AccessRequest, l domain.AccessLedger) error {
	if !l.Lists(r.ID) {
		var err error
		if l, err = s.repo.AddToAccessLedger(ctx, r.OwnerID, domain.PriorRequest{ID: r.ID, ReceivedAt: r.ReceivedAt}); err != nil {
			return err
		}
	}
	r.FlagFurtherRequest(l.Requests, s.loc)
	return nil
}

// flagged reads r's owner's ledger and sets r's charge flag from it.
func (s *Service) flagged(ctx context.Context, r domain.AccessRequest) (domain.AccessRequest, error) {
	l, err := s.repo.AccessLedger(ctx, r.OwnerID)
	if err != nil {
		return domain.AccessRequest{}, err
	}
	r.FlagFurtherRequest(l.Requests, s.loc)
	return r, nil
}

// AccessRequest reads one access request.
func (s *Service) AccessRequest(ctx context.Context, id string) (domain.AccessRequest, error) {
	r, err := s.repo.AccessRequest(ctx, id)
	if err != nil {
		return domain.AccessRequest{}, err
	}
	if r, err = s.flagged(ctx, r); err != nil {
		return domain.AccessRequest{}, err
	}
	return r, s.record(ctx, accessEvent("access_request.read", r))
}

// OwnerAccessRequests lists an owner's access requests, most recently received first.
func (s *Service) OwnerAccessRequests(ctx context.Context, ownerID string, pageSize int, pageToken string) (domain.Page[domain.AccessRequest], error) {
	ledger, err := s.repo.AccessLedger(ctx, ownerID)
	if err != nil {
		return domain.Page[domain.AccessRequest]{}, err
	}
	page, err := s.repo.OwnerAccessRequests(ctx, ledger, pageSize, pageToken)
	if err != nil {
		return page, err
	}
	for i := range page.Items {
		page.Items[i].FlagFurtherRequest(ledger.Requests, s.loc)
	}
	return page, s.record(ctx, audit.Event{
		Action: "access_request.list", Resource: "owners/" + ownerID + "/accessRequests", SubjectOwnerID: ownerID,
	})
}

// ExtendAccessRequest extends the due date by two further months, once, before the
// one-month due date. A retry with the same reason returns the extended request.
func (s *Service) ExtendAccessRequest(ctx context.Context, id, reason string) (domain.AccessRequest, error) {
	reason, err := domain.CheckExtensionReason(reason)
	if err != nil {
		return domain.AccessRequest{}, err
	}
	r, err := s.repo.AccessRequest(ctx, id)
	if err != nil {
		return domain.AccessRequest{}, err
	}
	if !r.Extended() {
		if err := r.Extend(reason, s.now(), s.loc); err != nil {
			return domain.AccessRequest{}, err
		}
		if r, err = s.repo.ExtendAccessRequest(ctx, r); err != nil {
			return domain.AccessRequest{}, err
		}
	}
	// Extended already, by a concurrent call or an earlier one: the same reason is a
	// retry, another a second extension.
	if r.ExtensionReason != reason {
		return domain.AccessRequest{}, apperr.Precondition(domain.ReasonAlreadyExtended,
			"the access request has already been extended once")
	}
	if r, err = s.flagged(ctx, r); err != nil {
		return domain.AccessRequest{}, err
	}
	return r, s.record(ctx, accessEvent("access_request.extend", r))
}

func accessEvent(action string, r domain.AccessRequest) audit.Event {
	return audit.Event{Action: action, Resource: accessRequestResource(r.ID), SubjectOwnerID: r.OwnerID}
}

func accessRequestResource(id string) string { return "accessRequests/" + id }
