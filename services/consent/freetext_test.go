package consent_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/consent"
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

// TestLedgerKeepsNoFreeText: "The ledger holds ids, enums and references only: no
// names, addresses or free-text notes" (DATA_PROTECTION.md). A note typed as a
// decision's evidence, its statement version or a restriction's reason is refused on
// that field and never stored; a reference and the erasure job's reason are kept.
func TestLedgerKeepsNoFreeText(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Laine")
	const name = "Aino Laine"
	restrict := func(reason string) error {
		_, err := s.consent.SetOwnerRestriction(s.as(t, auth.RoleClinicManager),
			&consentv1.SetOwnerRestrictionRequest{OwnerId: id, Restricted: true, Reason: reason})
		return err
	}
	evidence := func(ref string) error {
		d := objection(marketing, "email")
		d.Method, d.EvidenceRef = consentv1.Method_METHOD_WRITTEN, ref
		_, err := s.consent.RecordConsentDecision(s.as(t, auth.RoleReception),
			&consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: d})
		return err
	}
	servicetest.Refused(t, name, []servicetest.Refusal{
		{Name: "a letter as evidence", Field: "decision.evidence_ref", Call: func() error {
			return evidence("kirje: Aino Laine, Ruukintie 1, 040 123 4567")
		}},
		{Name: "a name as evidence", Field: "decision.evidence_ref", Call: func() error { return evidence("AinoLaine") }},
		{Name: "a name, an address and a phone number as the statement version", Field: "decision.statement_version",
			Call: func() error {
				d := decision(kennel, "", granted)
				d.StatementVersion = "Aino Laine, Ruukintie 1, 040-1234567"
				_, err := s.consent.RecordConsentDecision(s.as(t, auth.RoleReception),
					&consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: d})
				return err
			}},
		{Name: "a call as the reason", Field: "reason", Call: func() error {
			return restrict("Aino Laine soitti: kieltää kaiken, vaimo sairaalassa")
		}},
		{Name: "a name in an erasure request", Field: "reason", Call: func() error { return restrict("erasure request Aino Laine") }},
	})
	if err := evidence("kirje-2026/117"); err != nil {
		t.Fatalf("a reference as evidence: %v", err)
	}
	if err := restrict("erasure request " + jobOne); err != nil {
		t.Fatalf("the erasure job's reason: %v", err)
	}
	s.stop()
	s.stopOwners()
	servicetest.NotStored(t, s.env, "Laine", consentDatabase)
}

// TestEvidenceOfMessagesAndForms: an e-mail or online-form decision needs evidence, and
// what the clinic has of one is the message's Message-ID (often longer than a filed
// number may be) or the submission's link to one of its form services
// (CONSENT_EVIDENCE_LINK_HOSTS); both are kept as sent. An e-mail address is still
// refused: it names the owner; so is a link to any other host, whose path could hold
// anything.
func TestEvidenceOfMessagesAndForms(t *testing.T) {
	s := start(t, func(c *consent.Config) { c.EvidenceLinkHosts = []string{"lomakkeet.example.fi"} })
	id := s.newOwner(t, "Viesti")
	record := func(m consentv1.Method, ref string) (*consentv1.RecordConsentDecisionResponse, error) {
		d := objection(marketing, "email")
		d.Method, d.EvidenceRef = m, ref
		return s.consent.RecordConsentDecision(s.as(t, auth.RoleReception),
			&consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: d})
	}
	for _, tc := range []struct {
		name   string
		method consentv1.Method
		ref    string
	}{
		{"a Gmail Message-ID", consentv1.Method_METHOD_EMAIL, "<CAF3jK8x9+1234@mail.gmail.com>"},
		{"an Outlook Message-ID", consentv1.Method_METHOD_EMAIL,
			"<AM6PR08MB41180B2C1F8F3E2D7A8E3C1D3B3A40@AM6PR08MB4118.eurprd08.prod.outlook.com>"},
		{"a submission's link", consentv1.Method_METHOD_ONLINE_FORM, "https://lomakkeet.example.fi/vastaus?id=8841"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := record(tc.method, tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.GetDecision().GetEvidenceRef(); got != tc.ref {
				t.Fatalf("evidence kept as %q, want %q", got, tc.ref)
			}
		})
	}
	servicetest.Refused(t, "laine", []servicetest.Refusal{
		{Name: "an e-mail address", Field: "decision.evidence_ref", Call: func() error {
			_, err := record(consentv1.Method_METHOD_EMAIL, "aino.laine85@example.fi")
			return err
		}},
		{Name: "a link with an e-mail address", Field: "decision.evidence_ref", Call: func() error {
			_, err := record(consentv1.Method_METHOD_ONLINE_FORM, "https://lomakkeet.example.fi/vastaus?email=aino.laine85@example.fi")
			return err
		}},
		{Name: "a link to another host", Field: "decision.evidence_ref", Call: func() error {
			_, err := record(consentv1.Method_METHOD_ONLINE_FORM, "https://aino-laine.example.fi/vastaus?id=8841")
			return err
		}},
		{Name: "a link with a note in its fragment", Field: "decision.evidence_ref", Call: func() error {
			_, err := record(consentv1.Method_METHOD_ONLINE_FORM, "https://lomakkeet.example.fi/vastaus?id=8841#Aino+Laine+soitti")
			return err
		}},
	})
}

// TestEvidenceLinksNeedAFormService: with no CONSENT_EVIDENCE_LINK_HOSTS, the default,
// a submission's link is refused, and the setting names host names only.
func TestEvidenceLinksNeedAFormService(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Linkki")
	d := objection(marketing, "email")
	d.Method, d.EvidenceRef = consentv1.Method_METHOD_ONLINE_FORM, "https://lomakkeet.example.fi/vastaus?id=8841"
	_, err := s.consent.RecordConsentDecision(s.as(t, auth.RoleReception),
		&consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: d})
	if got := servicetest.Violations(t, err); !slices.Equal(got, []string{"decision.evidence_ref"}) {
		t.Fatalf("violations on %v, want decision.evidence_ref", got)
	}
	cfg := consent.Config{EvidenceLinkHosts: []string{"https://lomakkeet.example.fi"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "CONSENT_EVIDENCE_LINK_HOSTS") {
		t.Fatalf("Validate = %v, want CONSENT_EVIDENCE_LINK_HOSTS refused", err)
	}
}
