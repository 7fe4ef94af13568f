package consent_test

import (
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

const (
	chip = consentv1.Purpose_PURPOSE_MICROCHIP_REGISTRY_DISCLOSURE
	// registryA and registryB are two microchip registries' recipient ids in the
	// disclosure service.
	registryA = "0190f5a4-1f00-7000-8000-0000000000b1"
	registryB = "0190f5a4-1f00-7000-8000-0000000000b2"
)

// pushUnscopedRegistryGrant appends to the owner's ledger, as an earlier version
// stored it, a microchip registry grant without a scope: the purpose took none then.
func (s *system) pushUnscopedRegistryGrant(t *testing.T, ownerID string) {
	t.Helper()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	_, err := s.raw.Database(consentDatabase).Collection("ledgers").UpdateByID(t.Context(), ownerID, bson.M{"$push": bson.M{
		"entries": bson.M{
			"id": "0190f5a4-1f00-7000-8000-00000000c0de", "purpose": "microchip_registry_disclosure",
			"decision": "granted", "method": "written", "evidence_ref": "siru-2025/4", "statement_version": "2025-01",
			"effective_at": at, "recorded_by": "test-reception", "recorded_at": at,
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMicrochipRegistryGrantNamesTheRegistry: a microchip registry grant names its
// registry by recipient id (required, any spelling kept canonical) and allows that
// registry only. A grant an earlier version stored without a scope allows no registry,
// and every read still answers: the history lists it as recorded, the state shows the
// purpose unscoped as no grant without a deciding decision, checks and filters for a
// registry find no grant, and the erasure erases it without keeping a suppression.
func TestMicrochipRegistryGrantNamesTheRegistry(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Sirunen")
	s.record(t, id, objection(marketing, "email"))
	s.pushUnscopedRegistryGrant(t, id)
	reception, manager := s.as(t, auth.RoleReception), s.as(t, auth.RoleClinicManager)

	history, err := s.consent.ListConsentDecisions(reception, &consentv1.ListConsentDecisionsRequest{OwnerId: id})
	if err != nil {
		t.Fatalf("history with an unscoped grant: %v", err)
	}
	if d := history.GetDecisions(); len(d) != 2 || d[0].GetPurpose() != chip || d[0].GetScope() != "" ||
		d[0].GetDecision() != granted || d[0].GetEvidenceRef() != "siru-2025/4" {
		t.Fatalf("history %v, want the unscoped grant as recorded, newest first", d)
	}
	chipState := func() *consentv1.ConsentState {
		t.Helper()
		state, err := s.consent.ListConsents(reception, &consentv1.ListConsentsRequest{OwnerId: id})
		if err != nil {
			t.Fatalf("state with an unscoped grant: %v", err)
		}
		var found *consentv1.ConsentState
		for _, c := range state.GetConsents() {
			if c.GetPurpose() == chip && c.GetScope() == "" {
				found = c
			}
		}
		return found
	}
	if c := chipState(); c == nil || c.GetAllowed() || c.GetReason() != consentv1.Reason_REASON_NO_GRANT || c.GetDecidingDecision() != nil {
		t.Fatalf("the unscoped grant's state is %v, want not allowed, no grant, no deciding decision", c)
	}
	for _, registry := range []string{registryA, registryB} {
		if res := s.check(t, id, chip, registry); res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_NO_GRANT {
			t.Fatalf("the unscoped grant answers registry %s with %v", registry, res)
		}
		if s.allowedFor(t, id, chip, registry) {
			t.Fatalf("a filter for registry %s keeps the owner of an unscoped grant", registry)
		}
	}
	_, err = s.consent.CheckConsent(manager, &consentv1.CheckConsentRequest{OwnerId: id, Purpose: chip})
	if got := violations(t, err); !slices.Equal(got, []string{"scope"}) {
		t.Fatalf("check without a registry: violations %v, want scope", got)
	}
	_, err = s.consent.FilterConsents(manager, &consentv1.FilterConsentsRequest{OwnerIds: []string{id}, Purpose: chip})
	if got := violations(t, err); !slices.Equal(got, []string{"scope"}) {
		t.Fatalf("filter without a registry: violations %v, want scope", got)
	}
	for _, scope := range []string{"", "Turvasiru"} {
		_, err = s.consent.RecordConsentDecision(reception, &consentv1.RecordConsentDecisionRequest{
			OwnerId: id, Decision: decision(chip, scope, granted),
		})
		if got := violations(t, err); !slices.Equal(got, []string{"decision.scope"}) {
			t.Fatalf("a grant to registry %q: violations %v, want decision.scope", scope, got)
		}
	}

	grant := s.record(t, id, decision(chip, " 0190F5A4-1F00-7000-8000-0000000000B1 ", granted))
	if grant.GetScope() != registryA {
		t.Fatalf("the grant's scope is %q, want the registry's id %s", grant.GetScope(), registryA)
	}
	if res := s.check(t, id, chip, registryA); !res.GetAllowed() || res.GetDecidingDecision().GetId() != grant.GetId() {
		t.Fatalf("registry A with its grant: %v", res)
	}
	if res := s.check(t, id, chip, registryB); res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_NO_GRANT {
		t.Fatalf("registry B with registry A's grant: %v", res)
	}
	if !s.allowedFor(t, id, chip, registryA) || s.allowedFor(t, id, chip, registryB) {
		t.Fatal("a filter tells the registries apart only by the grant's registry")
	}
	if c := chipState(); c == nil || c.GetAllowed() {
		t.Fatalf("the unscoped state after a scoped grant: %v, want still listed and not allowed", c)
	}

	s.restrictInOwnerService(t, id)
	servicetest.EqualMessages(t, s.erase(t, id, jobOne), []*consentv1.RecordDisposition{
		{RecordClass: "consent_ledger", Count: 3},
		{RecordClass: "marketing_suppression", Kept: true, LegalBasis: "basis.marketing_objection", Count: 1},
	})
	var doc struct {
		Suppressions []struct{ Purpose, Scope string } `bson:"suppressions"`
	}
	if err := s.raw.Database(consentDatabase).Collection("ledgers").FindOne(t.Context(), bson.M{"_id": id}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suppressions) != 1 || doc.Suppressions[0].Purpose != "direct_marketing" || doc.Suppressions[0].Scope != "email" {
		t.Fatalf("suppressions %+v, want the e-mail objection's only", doc.Suppressions)
	}
}
