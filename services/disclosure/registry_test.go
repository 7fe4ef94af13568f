package disclosure_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/platform/auth"
)

func chipRegistry(name string) *disclosurev1.Recipient {
	return &disclosurev1.Recipient{
		Name: name, Kind: disclosurev1.RecipientKind_RECIPIENT_KIND_MICROCHIP_REGISTRY, BusinessId: "2923530-5", Country: "FI",
		Contact: &disclosurev1.Contact{Email: "rekisteri@example.fi"},
	}
}

// unscopedRegistryGrant is the id of the microchip registry grant an earlier version
// stored without a scope.
const unscopedRegistryGrant = "0190f5a4-1f00-7000-8000-00000000c0de"

// pushUnscopedRegistryGrant records an objection to e-mail marketing, which starts the
// owner's consent ledger, and appends to it, as an earlier version stored it, a
// microchip registry grant without a scope: the purpose took none then.
func (s *system) pushUnscopedRegistryGrant(t *testing.T, ownerID string) {
	t.Helper()
	if _, err := s.consents.RecordConsentDecision(s.as(t, auth.RoleReception), &consentv1.RecordConsentDecisionRequest{
		OwnerId: ownerID, Decision: &consentv1.ConsentDecision{
			Purpose: consentv1.Purpose_PURPOSE_DIRECT_MARKETING, Scope: "email",
			Decision: consentv1.Decision_DECISION_OBJECTED, Method: consentv1.Method_METHOD_IN_PERSON,
		},
	}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	_, err := s.raw.Database(consentDatabase).Collection("ledgers").UpdateByID(t.Context(), ownerID, bson.M{"$push": bson.M{
		"entries": bson.M{
			"id": unscopedRegistryGrant, "purpose": "microchip_registry_disclosure", "decision": "granted",
			"method": "written", "evidence_ref": "siru-2025/4", "statement_version": "2025-01",
			"effective_at": at, "recorded_by": "test-reception", "recorded_at": at,
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMicrochipRegistryGrantNamesTheRegistry is the reviewer's case: Finland has
// several chip registries, and the owner's grant to one is no grant to another. A grant
// an earlier version stored without naming a registry allows none of them; a grant to
// registry A lets the chip registration go to A and refuses B with NO_LEGAL_BASIS
// (no_grant), logged. The access report still gathers the owner's consents, the
// unscoped grant among them, shown as allowing nothing.
func TestMicrochipRegistryGrantNamesTheRegistry(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Sirunen")
	a, b := s.register(t, chipRegistry("Turvasiru")), s.register(t, chipRegistry("Sirurekisteri B"))
	registration := func(r *disclosurev1.Recipient) *disclosurev1.CreateDisclosureRequest {
		req := claim(r.GetId(), ownerID, ownerName, ownerContact, microchip)
		req.CaseReference = "chip registration 2026-31"
		return req
	}
	vet := s.as(t, auth.RoleVeterinarian)
	refused := func(r *disclosurev1.Recipient, when string) {
		t.Helper()
		_, err := s.disclosure.CreateDisclosure(vet, registration(r))
		if got := refusalReason(t, err); got != "NO_LEGAL_BASIS" || !strings.Contains(err.Error(), "no_grant") {
			t.Fatalf("%s, to %s: %s (%v), want NO_LEGAL_BASIS for no_grant", when, r.GetName(), got, err)
		}
	}

	s.pushUnscopedRegistryGrant(t, ownerID)
	refused(a, "with the unscoped grant")
	refused(b, "with the unscoped grant")

	grant := s.grant(t, ownerID, consentv1.Purpose_PURPOSE_MICROCHIP_REGISTRY_DISCLOSURE, strings.ToUpper(a.GetId()))
	res, err := s.disclosure.CreateDisclosure(vet, registration(a))
	if err != nil {
		t.Fatalf("to the registry the owner agreed to: %v", err)
	}
	if d := res.GetDisclosure(); d.GetOutcome() != disclosurev1.DisclosureOutcome_DISCLOSURE_OUTCOME_DISCLOSED ||
		d.GetBasis() != disclosurev1.LegalBasis_LEGAL_BASIS_CONSENT || d.GetConsentDecisionId() != grant.GetId() {
		t.Fatalf("disclosure to A %v, want disclosed on A's grant %s", d, grant.GetId())
	}
	refused(b, "with A's grant")

	type entry struct{ recipient, outcome, consentReason, decision string }
	var got []entry
	for _, d := range s.ownerLog(t, ownerID) {
		got = append(got, entry{d.GetRecipientId(), d.GetOutcome().String(), d.GetConsentReason(), d.GetConsentDecisionId()})
	}
	const disclosed, refusedOutcome = "DISCLOSURE_OUTCOME_DISCLOSED", "DISCLOSURE_OUTCOME_REFUSED"
	want := []entry{
		{b.GetId(), refusedOutcome, "no_grant", ""},
		{a.GetId(), disclosed, "", grant.GetId()},
		{b.GetId(), refusedOutcome, "no_grant", ""},
		{a.GetId(), refusedOutcome, "no_grant", ""},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("owner's log, newest first:\n%+v\nwant\n%+v", got, want)
	}

	request := s.recordAccess(t, s.as(t, auth.RoleClinicManager), "", letter(ownerID, nil))
	report, err := s.disclosure.GetAccessReport(s.as(t, auth.RoleClinicManager), &disclosurev1.GetAccessReportRequest{AccessRequestId: request.GetId()})
	if err != nil {
		t.Fatalf("access report with an unscoped grant: %v", err)
	}
	var rep struct {
		Consents struct {
			Current   []struct{ Purpose, Scope, Reason, DecisionID string }
			Decisions []struct{ ID, Scope string }
		}
	}
	if err := json.Unmarshal(report.GetReport().GetData(), &rep); err != nil {
		t.Fatal(err)
	}
	var chipStates []string
	for _, c := range rep.Consents.Current {
		if c.Purpose == "microchip_registry_disclosure" {
			chipStates = append(chipStates, c.Scope+" "+c.Reason+" "+c.DecisionID)
		}
	}
	if want := []string{" no_grant ", a.GetId() + " explicit_grant " + grant.GetId()}; !slices.Equal(chipStates, want) {
		t.Errorf("the report's registry consents %q, want %q", chipStates, want)
	}
	if d := rep.Consents.Decisions; len(d) != 3 || d[1].ID != unscopedRegistryGrant || d[1].Scope != "" || d[2].Scope != a.GetId() {
		t.Errorf("the report's decisions %+v, want the unscoped grant as recorded, then A's", d)
	}
	if _, err := s.disclosure.GetAccessReportDocument(s.as(t, auth.RoleClinicManager),
		&disclosurev1.GetAccessReportDocumentRequest{AccessRequestId: request.GetId()}); err != nil {
		t.Errorf("readable report with an unscoped grant: %v", err)
	}
}

// TestAccessReportNamesTheRegistry: the owner's readable report names the microchip
// registry a consent is for by the name the register holds for it, in the consent
// state, the consent history and the access log alike, and says in words why each
// consent stands as it does, in every language; the registry's id appears nowhere. A
// consent for a registry the register does not hold shows the id as recorded, the only
// thing the report can tell of it. The JSON copy keeps the scope and the reason as
// recorded and adds the registry's name beside the scope.
func TestAccessReportNamesTheRegistry(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Sirunen")
	const registryName, unknown = "Evira / Ruokavirasto", "0190f5a4-3333-7000-8000-00000000abcd"
	registry := s.register(t, chipRegistry(registryName))
	reception := s.as(t, auth.RoleReception)
	s.grant(t, ownerID, consentv1.Purpose_PURPOSE_MICROCHIP_REGISTRY_DISCLOSURE, registry.GetId())
	s.grant(t, ownerID, consentv1.Purpose_PURPOSE_MICROCHIP_REGISTRY_DISCLOSURE, unknown)
	for _, d := range []*consentv1.ConsentDecision{
		{Purpose: consentv1.Purpose_PURPOSE_MICROCHIP_REGISTRY_DISCLOSURE, Scope: unknown, Decision: consentv1.Decision_DECISION_WITHDRAWN},
		{Purpose: consentv1.Purpose_PURPOSE_DIRECT_MARKETING, Scope: "email", Decision: consentv1.Decision_DECISION_OBJECTED},
	} {
		d.Method = consentv1.Method_METHOD_IN_PERSON
		if _, err := s.consents.RecordConsentDecision(reception, &consentv1.RecordConsentDecisionRequest{OwnerId: ownerID, Decision: d}); err != nil {
			t.Fatal(err)
		}
	}
	registration := claim(registry.GetId(), ownerID, ownerName, ownerContact, microchip)
	registration.CaseReference = "chip registration 2026-32"
	if _, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleVeterinarian), registration); err != nil {
		t.Fatal(err)
	}
	s.waitAudited(t, consentDatabase, bson.M{"action": "consent.check", "subject_owner_id": ownerID})
	manager := s.as(t, auth.RoleClinicManager)
	request := s.recordAccess(t, manager, "", letter(ownerID, nil))

	tests := []struct {
		language string
		want     []string
	}{
		{"fi", []string{
			"<td>tietojen luovutus mikrosirurekisteriin (Evira / Ruokavirasto)</td><td>kyllä</td><td>olet antanut suostumuksesi</td>",
			"<td>tietojen luovutus mikrosirurekisteriin (" + unknown + ")</td><td>ei</td><td>olet perunut suostumuksesi</td>",
			"<td>suoramarkkinointi (sähköposti)</td><td>ei</td><td>olet kieltänyt</td>",
			"<td>suoramarkkinointi (tekstiviesti)</td><td>kyllä</td><td>et ole kieltänyt</td>",
			"<td>tietojen luovutus mikrosirurekisteriin (Evira / Ruokavirasto)</td><td>suostumus annettu</td>",
			`<td class="resource">Suostumukset ja kiellot: tietojen luovutus mikrosirurekisteriin (Evira / Ruokavirasto)</td>`,
		}},
		{"sv", []string{
			"<td>utlämnande till mikrochipsregister (Evira / Ruokavirasto)</td><td>ja</td><td>du har gett ditt samtycke</td>",
			"<td>utlämnande till mikrochipsregister (" + unknown + ")</td><td>nej</td><td>du har återkallat ditt samtycke</td>",
			"<td>direktmarknadsföring (e-post)</td><td>nej</td><td>du har förbjudit det</td>",
			"<td>direktmarknadsföring (sms)</td><td>ja</td><td>du har inte förbjudit det</td>",
			"<td>utlämnande till mikrochipsregister (Evira / Ruokavirasto)</td><td>samtycke givet</td>",
			`<td class="resource">Samtycken och förbud: utlämnande till mikrochipsregister (Evira / Ruokavirasto)</td>`,
		}},
		{"en", []string{
			"<td>disclosure to microchip registries (Evira / Ruokavirasto)</td><td>yes</td><td>you have given your consent</td>",
			"<td>disclosure to microchip registries (" + unknown + ")</td><td>no</td><td>you have withdrawn your consent</td>",
			"<td>direct marketing (e-mail)</td><td>no</td><td>you have objected</td>",
			"<td>direct marketing (text message)</td><td>yes</td><td>you have not objected</td>",
			"<td>disclosure to microchip registries (Evira / Ruokavirasto)</td><td>consent given</td>",
			`<td class="resource">Consents and prohibitions: disclosure to microchip registries (Evira / Ruokavirasto)</td>`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.language, func(t *testing.T) {
			res, err := s.disclosure.GetAccessReportDocument(manager, &disclosurev1.GetAccessReportDocumentRequest{
				AccessRequestId: request.GetId(), Language: tt.language,
			})
			if err != nil {
				t.Fatal(err)
			}
			doc := string(res.GetDocument().GetData())
			for _, w := range tt.want {
				if !strings.Contains(doc, w) {
					t.Errorf("the document lacks %q", w)
				}
			}
			for _, raw := range []string{registry.GetId(), strings.ToUpper(registry.GetId()), "explicit_grant", "default_opt_out", ">withdrawal<", ">objection<"} {
				if strings.Contains(doc, raw) {
					t.Errorf("the document shows %q as recorded", raw)
				}
			}
		})
	}

	report, err := s.disclosure.GetAccessReport(manager, &disclosurev1.GetAccessReportRequest{AccessRequestId: request.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Consents struct {
			Current   []struct{ Purpose, Scope, ScopeName, Reason string }
			Decisions []struct{ Scope, ScopeName, Decision string }
		}
	}
	if err := json.Unmarshal(report.GetReport().GetData(), &rep); err != nil {
		t.Fatal(err)
	}
	var states, decisions []string
	for _, c := range rep.Consents.Current {
		if c.Purpose == "microchip_registry_disclosure" {
			states = append(states, c.Scope+"|"+c.ScopeName+"|"+c.Reason)
		}
	}
	for _, d := range rep.Consents.Decisions {
		decisions = append(decisions, d.Scope+"|"+d.ScopeName+"|"+d.Decision)
	}
	wantStates := []string{unknown + "||withdrawal", registry.GetId() + "|" + registryName + "|explicit_grant"}
	slices.Sort(wantStates)
	slices.Sort(states)
	if !slices.Equal(states, wantStates) {
		t.Errorf("the JSON copy's registry consents %q, want %q", states, wantStates)
	}
	wantDecisions := []string{registry.GetId() + "|" + registryName + "|granted", unknown + "||granted", unknown + "||withdrawn", "email||objected"}
	if !slices.Equal(decisions, wantDecisions) {
		t.Errorf("the JSON copy's decisions %q, want %q", decisions, wantDecisions)
	}
}
