package main

import (
	"bytes"
	"testing"
)

// TestHistoryEndToEnd starts the runner as the README does and drives the
// patient-history API through the gateway, with the owner service behind it.
func TestHistoryEndToEnd(t *testing.T) {
	r := startRunner(t)
	reception, vet, billing := r.token(t, "reception"), r.token(t, "veterinarian"), r.token(t, "billing")

	r.expectServing(t, "history", "/v1/owners/{ownerId}/timeline")
	created := r.expect(t, 200, "POST", "/v1/owners", reception, map[string]any{"owner": map[string]any{
		"givenNames": "Aino", "familyName": "Äijälä", "phone": "040 123 4567", "homeClinic": "CLINIC_KANGASALA",
		"address": map[string]any{"street": "Kuohunharjuntie 1", "postalCode": "36200", "city": "Kangasala"},
	}})
	ownerID, _ := field(created.body, "owner", "id").(string)
	pet := r.expect(t, 200, "POST", "/v1/owners/"+ownerID+"/patients", reception, map[string]any{
		"patient": map[string]any{"name": "Nappi", "species": "SPECIES_CAT"},
	})
	petID, _ := field(pet.body, "patient", "id").(string)

	newVisit := map[string]any{"visit": map[string]any{
		"clinic": "CLINIC_KANGASALA", "reason": "Vaccination", "findings": "Healthy.",
		"medications": []any{map[string]any{"product": "Purevax", "dose": "1 ml", "route": "ROUTE_SUBCUTANEOUS"}},
		"invoices":    []any{map[string]any{"number": "2026-7", "state": "INVOICE_STATE_OPEN"}},
		"weightGrams": 4200,
	}}
	visits := "/v1/patients/" + petID + "/visits"
	rec, visitID := r.createTwice(t, visits, vet, newVisit, "e2e-visit-1", "visit")
	if field(rec.body, "visit", "ownerId") != ownerID {
		t.Fatalf("record visit: %s", rec.raw)
	}
	// The key of a retry sent with another visit is refused, as the owner service
	// refuses one sent with another owner, rather than answered with the first visit.
	otherVisit := map[string]any{"visit": map[string]any{"clinic": "CLINIC_KANGASALA", "reason": "Limping"}}
	if reused := r.expect(t, 400, "POST", visits, vet, otherVisit, "Idempotency-Key", "e2e-visit-1"); !bytes.Contains(reused.raw, []byte("REQUEST_ID_REUSED")) {
		t.Fatalf("another visit under a used Idempotency-Key: %s", reused.raw)
	}
	r.expect(t, 403, "POST", visits, reception, newVisit)
	bad := r.expect(t, 400, "POST", visits, vet, map[string]any{"visit": map[string]any{"reason": "x"}})
	if !bytes.Contains(bad.raw, []byte("fieldViolations")) || !bytes.Contains(bad.raw, []byte("visit.clinic")) {
		t.Fatalf("bad input without field violations: %s", bad.raw)
	}
	unknown := r.expect(t, 400, "POST", "/v1/patients/0b6d4f3e-2c59-4f0a-9e57-8d1f3a6c2b74/visits", vet, newVisit)
	if !bytes.Contains(unknown.raw, []byte("PATIENT_NOT_FOUND")) {
		t.Fatalf("unknown patient: %s", unknown.raw)
	}

	amended := r.expect(t, 200, "POST", "/v1/visits/"+visitID+"/amendments", vet, map[string]any{
		"visit": map[string]any{"findings": "Healthy; mild gingivitis."}, "updateMask": "findings", "version": 1,
		"reason": "dental check missed",
	})
	if field(amended.body, "visit", "version") != "2" {
		t.Fatalf("amend: %s", amended.raw)
	}
	got := r.expect(t, 200, "GET", "/v1/visits/"+visitID, reception, nil)
	if field(got.body, "original", "findings") != "Healthy." || field(got.body, "visit", "findings") != "Healthy; mild gingivitis." {
		t.Fatalf("get visit: %s", got.raw)
	}
	if as, _ := field(got.body, "amendments").([]any); len(as) != 1 {
		t.Fatalf("amendment trail: %s", got.raw)
	}
	// The recipients to tell of the amendment (none: nothing was disclosed); visitId
	// makes changeVersion the visit's, which the owner, still at version 1, lacks.
	notify := r.expect(t, 200, "GET", "/v1/owners/"+ownerID+"/disclosures:recipientsToNotify?changeVersion=2&visitId="+visitID,
		r.token(t, "clinic_manager"), nil)
	if cats, _ := field(notify.body, "changedCategories").([]any); len(cats) != 1 || cats[0] != "DATA_CATEGORY_VISIT_HISTORY" ||
		field(notify.body, "changeTime") == nil {
		t.Fatalf("recipients to tell of the amendment: %s", notify.raw)
	}
	if inv := r.expect(t, 200, "GET", "/v1/visits/"+visitID, billing, nil); bytes.Contains(inv.raw, []byte("gingivitis")) ||
		!bytes.Contains(inv.raw, []byte("2026-7")) {
		t.Fatalf("billing's view: %s", inv.raw)
	}
	list := r.expect(t, 200, "GET", visits+"?pageSize=10", reception, nil)
	if vs, _ := field(list.body, "visits").([]any); len(vs) != 1 {
		t.Fatalf("patient's visits: %s", list.raw)
	}

	comms := "/v1/owners/" + ownerID + "/communications"
	r.expect(t, 200, "POST", comms, reception, map[string]any{"communication": map[string]any{
		"channel": "CHANNEL_PHONE", "direction": "DIRECTION_INBOUND", "subject": "Booster", "patientId": petID,
		"visitId": visitID, "time": "2026-01-02T10:00:00Z",
	}}, "Idempotency-Key", "e2e-call-1")
	if cs := r.expect(t, 200, "GET", comms, reception, nil); len(field(cs.body, "communications").([]any)) != 1 {
		t.Fatalf("communications: %s", cs.raw)
	}
	timeline := r.expect(t, 200, "GET", "/v1/owners/"+ownerID+"/timeline?pageSize=1", reception, nil)
	entries, _ := field(timeline.body, "entries").([]any)
	next, _ := field(timeline.body, "nextPageToken").(string)
	if len(entries) != 1 || field(entries[0].(map[string]any), "visit", "id") != visitID || next == "" {
		t.Fatalf("timeline page 1: %s", timeline.raw)
	}
	page2 := r.expect(t, 200, "GET", "/v1/owners/"+ownerID+"/timeline?pageSize=1&pageToken="+next, reception, nil)
	if entries, _ := field(page2.body, "entries").([]any); len(entries) != 1 || field(entries[0].(map[string]any), "communication", "subject") != "Booster" {
		t.Fatalf("timeline page 2: %s", page2.raw)
	}
}
