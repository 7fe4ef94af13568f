package app

import (
	"context"
	"errors"
	"testing"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
)

// errAuditDown is the audit log's failure to store an event.
var errAuditDown = errors.New("audit log unreachable")

// storelessAuditor takes events to write later but cannot store one now.
type storelessAuditor struct{ nopAuditor }

func (storelessAuditor) RecordNow(context.Context, ...audit.Event) error { return errAuditDown }

// TestRevealNeedsItsAuditRecord: a reveal whose record cannot be stored fails with
// that error, and the caller gets no identity code: the full code leaves only once
// its reveal is on record.
func TestRevealNeedsItsAuditRecord(t *testing.T) {
	repo, plain, _, ctx := raceSetup(t)
	o, err := plain.CreateOwner(ctx, CreateOwner{Owner: domain.Owner{GivenNames: "Aino", FamilyName: "Laine", Phone: "040 123 4567",
		HomeClinic: domain.ClinicSeinajoki}, IdentityCode: "131052-308T"})
	if err != nil {
		t.Fatal(err)
	}
	unrecorded, err := New(repo, storelessAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	billing := auth.WithIdentity(t.Context(), auth.Identity{Subject: "bill", Roles: []auth.Role{auth.RoleBilling}})
	code, err := unrecorded.RevealIdentityCode(billing, o.ID, "invoice 2026-118 to collection")
	if !errors.Is(err, errAuditDown) || code != "" {
		t.Errorf("reveal without its audit record = %q, %v; want no code and %v", code, err, errAuditDown)
	}
	if code, err := plain.RevealIdentityCode(billing, o.ID, "invoice 2026-118 to collection"); err != nil || code != "131052-308T" {
		t.Errorf("reveal on record = %q, %v; want the code", code, err)
	}
}
