package openapi

import (
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Partners generate their clients from the served document: it declares the X-Purpose
// header on every operation and Idempotency-Key on exactly the creates that honour it
// (the services' CheckRequestID callers).
func TestDocumentDeclaresHeaders(t *testing.T) {
	raw, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Parameters map[string]struct {
			Name, In, Type string
		}
		Paths map[string]map[string]struct {
			OperationID string `yaml:"operationId"`
			Parameters  []map[string]any
		}
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for key, name := range map[string]string{"X-Purpose": "X-Purpose", "Idempotency-Key": "Idempotency-Key"} {
		if p := doc.Parameters[key]; p.Name != name || p.In != "header" || p.Type != "string" {
			t.Errorf("parameters[%s] = %+v, want the %s header", key, p, name)
		}
	}
	var withKey []string
	operations := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			operations++
			refs := make([]any, 0, len(op.Parameters))
			for _, p := range op.Parameters {
				refs = append(refs, p["$ref"])
			}
			if !slices.Contains(refs, any("#/parameters/X-Purpose")) {
				t.Errorf("%s %s does not declare X-Purpose", method, path)
			}
			if slices.Contains(refs, any("#/parameters/Idempotency-Key")) {
				withKey = append(withKey, op.OperationID)
			}
		}
	}
	if operations < 40 {
		t.Errorf("only %d operations in the document", operations)
	}
	want := []string{
		"ConsentService_RecordConsentDecision",
		"DisclosureService_CreateDisclosure", "DisclosureService_CreateErasureRequest",
		"DisclosureService_CreateRecipient", "DisclosureService_RecordAccessRequest",
		"HistoryService_AmendVisit", "HistoryService_RecordCommunication", "HistoryService_RecordVisit",
		"OwnerService_CreateOwner", "OwnerService_RegisterPatient",
	}
	slices.Sort(withKey)
	if !slices.Equal(withKey, want) {
		t.Errorf("operations declaring Idempotency-Key = %q, want %q", withKey, want)
	}
}
