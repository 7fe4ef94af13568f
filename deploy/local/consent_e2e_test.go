package main

import (
	"bytes"
	"testing"
)

// TestConsentEndToEnd starts the runner as the README does and drives the consent API
// over HTTP through the gateway: the routes of issue 4, the owner service asked behind
// them, idempotent records, roles and errors as a REST client sees them.
func TestConsentEndToEnd(t *testing.T) {
	r := startRunner(t)
	reception, manager, partner := r.token(t, "reception"), r.token(t, "clinic_manager"), r.token(t, "partner")

	r.expectServing(t, "consent", "/v1/consents:filter")
	id, other := r.createOwner(t, reception, "Mäkinen", ""), r.createOwner(t, reception, "Virtanen", "")
	check := "/v1/owners/" + id + "/consents:check?purpose=PURPOSE_DIRECT_MARKETING&scope=email"

	before := r.expect(t, 200, "GET", check, manager, nil)
	if field(before.body, "allowed") != true || field(before.body, "reason") != "REASON_DEFAULT_OPT_OUT" {
		t.Fatalf("check before any decision: %s", before.raw)
	}
	objection := map[string]any{"decision": map[string]any{
		"purpose": "PURPOSE_DIRECT_MARKETING", "scope": "email",
		"decision": "DECISION_OBJECTED", "method": "METHOD_IN_PERSON",
	}}
	recorded, entryID := r.createTwice(t, "/v1/owners/"+id+"/consentDecisions", reception, objection, "e2e-objection-1", "decision")
	if field(recorded.body, "decision", "recordedBy") != "dev-reception" {
		t.Fatalf("record: %s", recorded.raw)
	}

	after := r.expect(t, 200, "GET", check, manager, nil)
	if field(after.body, "allowed") == true || field(after.body, "reason") != "REASON_OBJECTION" ||
		field(after.body, "decidingDecision", "id") != entryID {
		t.Fatalf("check after the objection: %s", after.raw)
	}
	history := r.expect(t, 200, "GET", "/v1/owners/"+id+"/consentDecisions", reception, nil)
	if ds, _ := field(history.body, "decisions").([]any); len(ds) != 1 {
		t.Fatalf("history: %s", history.raw)
	}
	state := r.expect(t, 200, "GET", "/v1/owners/"+id+"/consents", reception, nil)
	if cs, _ := field(state.body, "consents").([]any); len(cs) != 7 {
		t.Fatalf("current state: %s", state.raw)
	}
	filtered := r.expect(t, 200, "POST", "/v1/consents:filter", manager, map[string]any{
		"ownerIds": []string{id, other}, "purpose": "PURPOSE_DIRECT_MARKETING", "scope": "email",
	})
	if ids, _ := field(filtered.body, "allowedOwnerIds").([]any); len(ids) != 1 || ids[0] != other {
		t.Fatalf("filter: %s", filtered.raw)
	}

	r.expect(t, 403, "GET", "/v1/owners/"+id+"/consentDecisions", partner, nil)
	r.expect(t, 403, "POST", "/v1/consents:filter", reception, map[string]any{"ownerIds": []string{id}, "purpose": "PURPOSE_STATISTICAL_RESEARCH"})
	r.expect(t, 404, "GET", "/v1/owners/0190b1b4-0000-7000-8000-000000000000/consents", reception, nil)
	bad := r.expect(t, 400, "POST", "/v1/owners/"+id+"/consentDecisions", reception, map[string]any{"decision": map[string]any{
		"purpose": "PURPOSE_DIRECT_MARKETING", "decision": "DECISION_OBJECTED", "method": "METHOD_IN_PERSON",
	}})
	if !bytes.Contains(bad.raw, []byte("fieldViolations")) || !bytes.Contains(bad.raw, []byte("decision.scope")) {
		t.Fatalf("bad input without field violations: %s", bad.raw)
	}
}
