package consent_test

import (
	"testing"

	"google.golang.org/grpc/metadata"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestFreeTextRefusesIdentityCodes: an identity code typed into a decision's evidence,
// a restriction's reason or the stated purpose is refused on that field, never stored
// (ledger, state or audit log) and not repeated in the error.
func TestFreeTextRefusesIdentityCodes(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Hetu")
	const text = "puhelu, hetu 131052-308T"
	record := func(d *consentv1.ConsentDecision) error {
		_, err := s.consent.RecordConsentDecision(s.as(t, auth.RoleReception),
			&consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: d})
		return err
	}
	servicetest.Refused(t, "131052", []servicetest.Refusal{
		{Name: "evidence of a decision", Field: "decision.evidence_ref", Call: func() error {
			d := decision(kennel, "", granted)
			d.EvidenceRef = text
			return record(d)
		}},
		{Name: "statement version", Field: "decision.statement_version", Call: func() error {
			d := decision(kennel, "", granted)
			d.StatementVersion = "2026-01 131052-308t"
			return record(d)
		}},
		{Name: "restriction reason", Field: "reason", Call: func() error {
			_, err := s.consent.SetOwnerRestriction(s.as(t, auth.RoleClinicManager),
				&consentv1.SetOwnerRestrictionRequest{OwnerId: id, Restricted: true, Reason: text})
			return err
		}},
		{Name: "stated purpose", Field: "purpose", Call: func() error {
			ctx := metadata.AppendToOutgoingContext(s.as(t, auth.RoleClinicManager), auth.MetadataPurpose, text)
			_, err := s.consent.ListConsents(ctx, &consentv1.ListConsentsRequest{OwnerId: id})
			return err
		}},
	})
	if state := s.check(t, id, stats, ""); !state.GetAllowed() {
		t.Errorf("statistics after a refused restriction: %v, want allowed", state)
	}
	s.stop()
	servicetest.NotStored(t, s.env, "131052-308", consentDatabase)
}
