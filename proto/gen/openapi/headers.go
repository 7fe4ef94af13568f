package openapi

import "strings"

// The headers the gateway forwards to the services besides Authorization (a security
// definition), which no proto declares: they are metadata, not fields. declareHeaders
// declares each once under the document's parameters and refers to it from the
// operations that read it.
const (
	purposeParameter        = "X-Purpose"
	idempotencyKeyParameter = "Idempotency-Key"
)

func headerParameters() map[string]any {
	return map[string]any{
		purposeParameter: map[string]any{
			"name": purposeParameter, "in": "header", "required": false, "type": "string",
			"description": "Why the caller reads or changes the data, written to the audit log with the call " +
				"and passed on to every service it reaches. A maintainer must state one to read personal data. " +
				"UTF-8 text in any language (\"Häiriöselvitys, tiketti 42\"), without control characters; " +
				"the first 200 bytes are kept. Text holding a personal identity code, or bytes that are not " +
				"UTF-8, are a 400 with a field violation on purpose.",
		},
		idempotencyKeyParameter: map[string]any{
			"name": idempotencyKeyParameter, "in": "header", "required": false, "type": "string",
			"description": "The request id of this create when the body has no requestId: a retry with the same " +
				"key answers with what the first call created instead of creating it again. One key, sent once: " +
				"printable ASCII without commas, at most 128 characters, no personal identity code; anything else is a 400 with a field " +
				"violation on request_id.",
		},
	}
}

// declareHeaders adds X-Purpose to every operation of doc, and Idempotency-Key to every
// create: an operation whose body has a requestId, which the key stands in for.
func declareHeaders(doc map[string]any) {
	doc["parameters"] = headerParameters()
	definitions, _ := doc["definitions"].(map[string]any)
	paths, _ := doc["paths"].(map[string]any)
	for _, path := range paths {
		ops, _ := path.(map[string]any)
		for _, o := range ops {
			op, ok := o.(map[string]any)
			if !ok {
				continue
			}
			params, _ := op["parameters"].([]any)
			params = append(params, ref(purposeParameter))
			if bodyHasRequestID(params, definitions) {
				params = append(params, ref(idempotencyKeyParameter))
			}
			op["parameters"] = params
		}
	}
}

func ref(parameter string) map[string]any {
	return map[string]any{"$ref": "#/parameters/" + parameter}
}

// bodyHasRequestID reports whether the body parameter among params is a definition
// with a requestId property.
func bodyHasRequestID(params []any, definitions map[string]any) bool {
	for _, p := range params {
		param, _ := p.(map[string]any)
		if param["in"] != "body" {
			continue
		}
		schema, _ := param["schema"].(map[string]any)
		target, _ := schema["$ref"].(string)
		name, ok := strings.CutPrefix(target, "#/definitions/")
		if !ok {
			return false
		}
		def, _ := definitions[name].(map[string]any)
		props, _ := def["properties"].(map[string]any)
		_, ok = props["requestId"]
		return ok
	}
	return false
}
