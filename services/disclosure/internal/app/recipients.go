package app

import (
	"context"
	"fmt"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
)

// CreateRecipient registers a recipient; a retry with the same request id returns the
// first one. A country outside the EU/EEA is a precondition failure, and so is a second
// active recipient of a kind only one of which may be active (domain.KindTaken, which
// the repository decides).
func (s *Service) CreateRecipient(ctx context.Context, requestID string, r domain.Recipient) (domain.Recipient, error) {
	if err := domain.PrepareRecipient(&r, "recipient"); err != nil {
		return domain.Recipient{}, err
	}
	id, err := newID("recipient", requestID)
	if err != nil {
		return domain.Recipient{}, err
	}
	r.ID, r.CreatedAt = id, s.now().UTC().Truncate(time.Millisecond)
	stored, err := s.repo.CreateRecipient(ctx, r)
	if err != nil {
		return domain.Recipient{}, err
	}
	// A retry registers the same organisation; a request id reused for another one is
	// refused, not answered with the first (a disclosure meant for B would go to A).
	if stored.Name != r.Name || stored.Kind != r.Kind || stored.BusinessID != r.BusinessID || stored.Country != r.Country {
		return domain.Recipient{}, apperr.RequestIDReused("another recipient")
	}
	return stored, s.record(ctx, audit.Event{Action: "recipient.create", Resource: recipientResource(stored.ID)})
}

// Recipient reads one recipient.
func (s *Service) Recipient(ctx context.Context, id string) (domain.Recipient, error) {
	r, err := s.repo.Recipient(ctx, id)
	if err != nil {
		return domain.Recipient{}, err
	}
	return r, s.record(ctx, audit.Event{Action: "recipient.read", Resource: recipientResource(id)})
}

// ListRecipients lists recipients oldest first, paged.
func (s *Service) ListRecipients(ctx context.Context, pageSize int, pageToken string) (domain.Page[domain.Recipient], error) {
	page, err := s.repo.ListRecipients(ctx, pageSize, pageToken)
	if err != nil {
		return page, err
	}
	return page, s.record(ctx, audit.Event{Action: "recipient.list", Resource: fmt.Sprintf("recipients (%d)", len(page.Items))})
}

// DeactivateRecipient stops every disclosure to a recipient from the moment it answers.
// After the recipient is stored inactive its pending disclosures are refused
// RECIPIENT_INACTIVE, each refusal audited as the erasure job's are (its caller never
// had one audited): a disclosure logs its entry pending before its last read of the
// recipient, so either that read finds the recipient inactive, or this finds the entry
// pending and the first to claim it decides; one made disclosed first was disclosed
// before the deactivation answered. A retry, which finds the recipient inactive
// already, refuses what an earlier attempt left pending.
//
// The deactivation is audited as soon as it is stored: the recipient is inactive from
// then on even if refusing its pending disclosures fails, and the audit log must say
// who made it so. A retry audits it again.
func (s *Service) DeactivateRecipient(ctx context.Context, id string) (domain.Recipient, error) {
	r, err := s.repo.DeactivateRecipient(ctx, id, s.now())
	if err != nil {
		return domain.Recipient{}, err
	}
	if err := s.record(ctx, audit.Event{Action: "recipient.deactivate", Resource: recipientResource(id)}); err != nil {
		return domain.Recipient{}, err
	}
	refusal := domain.Refusal{Reason: domain.RefusalRecipientInactive}
	if _, err := s.repo.RefuseRecipientPending(ctx, id, refusal, auditUnanswered(ctx, s.auditor)); err != nil {
		return domain.Recipient{}, fmt.Errorf("deactivate recipient %s: %w", id, err)
	}
	return r, nil
}
