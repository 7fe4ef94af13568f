package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// TestDisclosureEndToEnd starts the runner as the README does and plays the issue's
// scenarios over HTTP through the gateway: a recipient in the USA is refused; an insurer
// without the customer's agreement gets nothing and the refusal is logged; with it, the
// package goes out without the identity code, logged with the consent decision, and the
// insurer's partner token fetches it and checks its hash, while another partner sees
// nothing of it. Then the customer's access requests: a second within a year is flagged,
// and the access report lists the insurer.
func TestDisclosureEndToEnd(t *testing.T) {
	r := startRunner(t)
	reception, manager := r.token(t, "reception"), r.token(t, "clinic_manager")

	r.expectServing(t, "disclosure", "/v1/partner/disclosures")
	ownerID := r.createOwner(t, reception, "Mäkinen", "131052-308T")
	insurer := func(name, country string) map[string]any {
		return map[string]any{"recipient": map[string]any{
			"name": name, "kind": "RECIPIENT_KIND_INSURER", "businessId": "2923530-5", "country": country,
			"contact": map[string]any{"email": "claims@example.fi"},
		}}
	}
	usa := r.expect(t, 400, "POST", "/v1/recipients", manager, insurer("Acme Pet Insurance Inc.", "US"))
	if !strings.Contains(string(usa.raw), "RECIPIENT_OUTSIDE_EEA") {
		t.Fatalf("USA recipient: %s", usa.raw)
	}
	_, insurerID := r.createTwice(t, "/v1/recipients", manager, insurer("LähiTapiola", "FI"), "e2e-insurer", "recipient")
	other, _ := field(r.expect(t, 200, "POST", "/v1/recipients", manager, insurer("If", "SE")).body, "recipient", "id").(string)

	claim := map[string]any{
		"recipientId": insurerID, "ownerId": ownerID, "caseReference": "claim 2026-117",
		"categories": []string{"DATA_CATEGORY_OWNER_NAME", "DATA_CATEGORY_PATIENT_BASICS"},
	}
	refused := r.expect(t, 400, "POST", "/v1/disclosures", reception, claim)
	if !strings.Contains(string(refused.raw), "NO_LEGAL_BASIS") {
		t.Fatalf("without agreement: %s", refused.raw)
	}
	grant := r.expect(t, 200, "POST", "/v1/owners/"+ownerID+"/consentDecisions", reception, map[string]any{"decision": map[string]any{
		"purpose": "PURPOSE_INSURER_DISCLOSURE", "scope": insurerID, "decision": "DECISION_GRANTED",
		"method": "METHOD_WRITTEN", "evidenceRef": "form-7", "statementVersion": "2026-01",
	}})
	grantID, _ := field(grant.body, "decision", "id").(string)
	sent, disclosureID := r.createTwice(t, "/v1/disclosures", reception, claim, "e2e-claim-117", "disclosure")
	if field(sent.body, "disclosure", "consentDecisionId") != grantID || field(sent.body, "disclosure", "basis") != "LEGAL_BASIS_INSURER_AGREEMENT" {
		t.Fatalf("disclosure: %s", sent.raw)
	}
	payload := decodePayload(t, sent.body)
	if !strings.Contains(payload, "Mäkinen") || strings.Contains(payload, "131052") || strings.Contains(payload, "Ruukintie") {
		t.Fatalf("package: %s", payload)
	}
	sum := sha256.Sum256([]byte(payload))
	if hex.EncodeToString(sum[:]) != field(sent.body, "disclosure", "payloadSha256") {
		t.Fatal("the package's hash does not match the log")
	}
	log := r.expect(t, 200, "GET", "/v1/owners/"+ownerID+"/disclosures", reception, nil)
	if entries, _ := field(log.body, "disclosures").([]any); len(entries) != 2 {
		t.Fatalf("the log holds the refusal and one disclosure: %s", log.raw)
	}

	mine, theirs := r.token(t, "partner", "--recipient", insurerID), r.token(t, "partner", "--recipient", other)
	list := r.expect(t, 200, "GET", "/v1/partner/disclosures", mine, nil)
	if entries, _ := field(list.body, "disclosures").([]any); len(entries) != 1 {
		t.Fatalf("the insurer's list: %s", list.raw)
	}
	fetched := r.expect(t, 200, "GET", "/v1/partner/disclosures/"+disclosureID, mine, nil)
	if decodePayload(t, fetched.body) != payload {
		t.Fatal("the partner fetched another package")
	}
	if entries, _ := field(r.expect(t, 200, "GET", "/v1/partner/disclosures", theirs, nil).body, "disclosures").([]any); len(entries) != 0 {
		t.Fatal("another partner sees the insurer's disclosure")
	}
	r.expect(t, 404, "GET", "/v1/partner/disclosures/"+disclosureID, theirs, nil)
	r.expect(t, 403, "GET", "/v1/owners/"+ownerID, mine, nil)
	r.expect(t, 403, "GET", "/v1/owners/"+ownerID+"/disclosures", mine, nil)
	r.expect(t, 403, "GET", "/v1/owners/"+ownerID+"/consents", mine, nil)

	// The customer asks for their data twice within a year: the second request is flagged
	// as possibly chargeable, naming the first; a retried record adds nothing.
	access := func(received string) map[string]any {
		return map[string]any{"accessRequest": map[string]any{
			"ownerId": ownerID, "receiveTime": received, "channel": "ACCESS_CHANNEL_LETTER",
			"identification": "IDENTIFICATION_METHOD_REGISTERED_CONTACT", "identifiedBy": "staff-manager",
		}}
	}
	first := r.expect(t, 200, "POST", "/v1/accessRequests", manager, access("2026-01-31T09:00:00Z"), "Idempotency-Key", "e2e-access-1")
	firstID, _ := field(first.body, "accessRequest", "id").(string)
	if field(first.body, "accessRequest", "dueDate") != "2026-02-28" || field(first.body, "accessRequest", "possiblyChargeable") == true {
		t.Fatalf("first access request: %s", first.raw)
	}
	r.expect(t, 200, "POST", "/v1/accessRequests", manager, access("2026-01-31T09:00:00Z"), "Idempotency-Key", "e2e-access-1")
	second := r.expect(t, 200, "POST", "/v1/accessRequests", reception, access("2026-06-15T09:00:00Z"))
	secondID, _ := field(second.body, "accessRequest", "id").(string)
	if field(second.body, "accessRequest", "possiblyChargeable") != true || field(second.body, "accessRequest", "earlierRequestId") != firstID {
		t.Fatalf("second access request: %s", second.raw)
	}
	listed := r.expect(t, 200, "GET", "/v1/owners/"+ownerID+"/accessRequests", manager, nil)
	if entries, _ := field(listed.body, "accessRequests").([]any); len(entries) != 2 {
		t.Fatalf("the owner's access requests: %s", listed.raw)
	}
	if got := r.expect(t, 200, "GET", "/v1/accessRequests/"+secondID, manager, nil); field(got.body, "accessRequest", "dueDate") != "2026-07-15" {
		t.Fatalf("get access request: %s", got.raw)
	}
	// An id in capitals in a path is a UUID too: it reaches the same handler, which
	// answers the record it names, under its id as issued.
	for _, c := range []struct {
		path, token string
		id          []string
		want        string
	}{
		{"/v1/owners/" + strings.ToUpper(ownerID), reception, []string{"owner", "id"}, ownerID},
		{"/v1/disclosures/" + strings.ToUpper(disclosureID), manager, []string{"disclosure", "id"}, disclosureID},
		{"/v1/partner/disclosures/" + strings.ToUpper(disclosureID), mine, []string{"disclosure", "id"}, disclosureID},
		{"/v1/accessRequests/" + strings.ToUpper(secondID), manager, []string{"accessRequest", "id"}, secondID},
	} {
		if got := r.expect(t, 200, "GET", c.path, c.token, nil); field(got.body, c.id...) != c.want {
			t.Fatalf("GET %s: %s", c.path, got.raw)
		}
	}
	late := r.expect(t, 400, "POST", "/v1/accessRequests/"+firstID+":extend", manager, map[string]any{"reason": "many pets"})
	if !strings.Contains(string(late.raw), "ACCESS_REQUEST_EXTENSION_LATE") {
		t.Fatalf("late extension: %s", late.raw)
	}
	r.expect(t, 403, "GET", "/v1/accessRequests/"+firstID, reception, nil)
	r.expect(t, 403, "GET", "/v1/accessRequests/"+firstID, mine, nil)

	// The access report lists that recipient: the JSON copy, with the identity code in
	// full, and the readable document in Swedish on request; both are logged. Both hold
	// the owner's access requests, the one answered marked, and their erasure requests
	// (none).
	report := r.expect(t, 200, "GET", "/v1/accessRequests/"+firstID+"/report", manager, nil)
	recipients, _ := field(report.body, "recipients").([]any)
	requests, _ := field(report.body, "accessRequests").([]any)
	erasures, isList := field(report.body, "erasureRequests").([]any)
	if report.header.Get("Content-Type") != "application/json" || len(recipients) != 1 ||
		field(recipients[0].(map[string]any), "id") != insurerID || field(report.body, "owner", "identityCode") != "131052-308T" ||
		len(requests) != 2 || field(requests[0].(map[string]any), "id") != firstID || field(requests[0].(map[string]any), "current") != true ||
		field(requests[1].(map[string]any), "id") != secondID || !isList || len(erasures) != 0 {
		t.Fatalf("access report (%s): %s", report.header.Get("Content-Type"), report.raw)
	}
	doc := r.expect(t, 200, "GET", "/v1/accessRequests/"+firstID+"/report.html?language=sv", manager, nil)
	if doc.header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(doc.raw), "Dataombudsmannens byrå") ||
		!strings.Contains(string(doc.raw), "LähiTapiola") || !strings.Contains(string(doc.raw), "<h2>Dina begäranden om tillgång</h2>") ||
		!strings.Contains(string(doc.raw), "denna begäran</h3>") {
		t.Fatalf("readable report (%s): %.300s", doc.header.Get("Content-Type"), doc.raw)
	}
	if got := r.expect(t, 200, "GET", "/v1/accessRequests/"+firstID, manager, nil); field(got.body, "accessRequest", "status") != "ACCESS_REQUEST_STATUS_ANSWERED" {
		t.Fatalf("answered request: %s", got.raw)
	}
	if entries, _ := field(r.expect(t, 200, "GET", "/v1/owners/"+ownerID+"/disclosures", manager, nil).body, "disclosures").([]any); len(entries) != 4 {
		t.Fatalf("the two copies are not in the log: %d entries", len(entries))
	}
	r.expect(t, 403, "GET", "/v1/accessRequests/"+firstID+"/report", reception, nil)
	r.expect(t, 403, "GET", "/v1/accessRequests/"+firstID+"/report.html", mine, nil)
	r.expect(t, 404, "GET", "/v1/accessRequests/0b6d4f3e-2c59-4f0a-9e57-8d1f3a6c2b74/report.html", manager, nil)
}

func decodePayload(t *testing.T, body map[string]any) string {
	t.Helper()
	enc, _ := field(body, "contents", "payload").(string)
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(raw) == 0 {
		t.Fatalf("no payload in %v: %v", body, err)
	}
	return string(raw)
}
