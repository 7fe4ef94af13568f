package main

import (
	"testing"
	"time"
)

// TestErasureEndToEnd reads the recipients to tell of a change, then plays an erasure
// request through the gateway on the runner as the
// README starts it: the clinic manager records it (a retry with the same
// Idempotency-Key is the same request), the job runs with the runner's development
// job token, and the request ends done with every step's result; reception may not
// read it.
func TestErasureEndToEnd(t *testing.T) {
	r := startRunner(t)
	reception, manager := r.token(t, "reception"), r.token(t, "clinic_manager")
	r.expectServing(t, "disclosure", "/v1/erasureRequests")
	ownerID := r.createOwner(t, reception, "Lahtinen", "")
	// The owner's creation (version 1) was disclosed to nobody: nobody to tell of it.
	notify := r.expect(t, 200, "GET", "/v1/owners/"+ownerID+"/disclosures:recipientsToNotify?changeVersion=1", manager, nil)
	if recipients, _ := field(notify.body, "recipients").([]any); len(recipients) != 0 || field(notify.body, "changeTime") == nil {
		t.Fatalf("recipients to notify of the creation: %s", notify.raw)
	}
	body := map[string]any{"erasureRequest": map[string]any{
		"ownerId": ownerID, "channel": "ACCESS_CHANNEL_EMAIL",
		"identification": "IDENTIFICATION_METHOD_REGISTERED_CONTACT", "identifiedBy": "staff-manager",
	}}
	_, id := r.createTwice(t, "/v1/erasureRequests", manager, body, "e2e-erasure-1", "erasureRequest")

	deadline := time.Now().Add(2 * time.Minute)
	var got response
	for {
		got = r.expect(t, 200, "GET", "/v1/erasureRequests/"+id, manager, nil)
		if field(got.body, "erasureRequest", "state") == "ERASURE_REQUEST_STATE_DONE" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the erasure request did not finish: %s", got.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	steps, _ := field(got.body, "erasureRequest", "steps").([]any)
	if len(steps) != 6 || field(got.body, "erasureRequest", "finishTime") == nil {
		t.Fatalf("done request: %s", got.raw)
	}
	for _, s := range steps {
		if st, _ := s.(map[string]any); st["state"] != "ERASURE_STEP_STATE_DONE" {
			t.Errorf("step not done: %v", st)
		}
	}
	listed := r.expect(t, 200, "GET", "/v1/owners/"+ownerID+"/erasureRequests", manager, nil)
	if entries, _ := field(listed.body, "erasureRequests").([]any); len(entries) != 1 {
		t.Fatalf("the owner's erasure requests: %s", listed.raw)
	}
	r.expect(t, 403, "GET", "/v1/erasureRequests/"+id, reception, nil)
	r.expect(t, 400, "POST", "/v1/erasureRequests/"+id+":resume", manager, map[string]any{})
}
