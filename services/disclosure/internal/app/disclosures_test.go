package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
)

// racedRepo is the store as a request sees it when another request with the same
// request id logged its record between this one's lookup and its own insert.
type racedRepo struct {
	domain.Repository
	recipient domain.Recipient
	first     domain.Record
}

func (r *racedRepo) Record(context.Context, string) (domain.Record, error) {
	return domain.Record{}, apperr.ErrNotFound
}

func (r *racedRepo) Recipient(context.Context, string) (domain.Recipient, error) {
	return r.recipient, nil
}

// AppendRecord answers as the store does for a taken id: with the record logged first.
func (r *racedRepo) AppendRecord(context.Context, domain.Record) (domain.Record, error) {
	return r.first, nil
}

type noAudit struct{}

func (noAudit) Record(context.Context, ...audit.Event) error    { return nil }
func (noAudit) RecordNow(context.Context, ...audit.Event) error { return nil }
func (noAudit) Reserve(ctx context.Context) (context.Context, func(), error) {
	return ctx, func() {}, nil
}

// refusingConsent has no grant for anyone.
type refusingConsent struct{ peers }

func (refusingConsent) Check(context.Context, string, domain.ConsentCheck) (domain.ConsentVerdict, error) {
	return domain.ConsentVerdict{Reason: "no_grant"}, nil
}

// TestRefusalRacingAReusedRequestID refuses a disclosure about owner B whose request id
// another request used a moment earlier for owner A's package: the answer is the
// reuse refused, never owner A's package.
func TestRefusalRacingAReusedRequestID(t *testing.T) {
	const recipient = "0190a0b0-0000-7000-8000-000000000001"
	ownerA, ownerB := "0190a0b0-0000-7000-8000-00000000000a", "0190a0b0-0000-7000-8000-00000000000b"
	repo := &racedRepo{
		recipient: domain.Recipient{ID: recipient, Kind: domain.KindKennelClub, Country: "FI", Active: true,
			Categories: domain.DefaultCategories(domain.KindKennelClub)},
		first: domain.Record{ID: "x", RecipientID: recipient, OwnerID: ownerA, Categories: []domain.Category{domain.CategoryOwnerName},
			Basis: domain.BasisConsent, Payload: []byte(`{"owner":{"familyName":"A"}}`), PayloadSHA256: "abc"},
	}
	svc, err := app.New(repo, app.Peers{Owners: peers{}, Consents: refusingConsent{}, History: history{}}, noAudit{}, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "vet", Roles: []auth.Role{auth.RoleVeterinarian}})
	rec, err := svc.Disclose(ctx, domain.DisclosureRequest{
		RecipientID: recipient, OwnerID: ownerB, Categories: []domain.Category{domain.CategoryOwnerName},
		CaseReference: "c", RequestID: "same-key",
	})
	var pe *apperr.PreconditionError
	if !errors.As(err, &pe) || pe.Reason != "REQUEST_ID_REUSED" || rec.Payload != nil {
		t.Fatalf("answered %v with owner %q's package %s, want REQUEST_ID_REUSED", err, rec.OwnerID, rec.Payload)
	}
}
