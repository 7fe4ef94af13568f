package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// grpc-gateway forwards only printable ASCII header values and drops any other without
// a word: a retried create whose Idempotency-Key lost its key made a second record, and
// a maintainer's Finnish purpose never reached the audit. A key is refused instead, a
// purpose goes as x-purpose-bin, and neither refusal repeats the value. More than one key
// (repeated headers, or a comma-separated list) is refused too: the services took the
// first one without a word.
func TestHeadersGRPCTextMetadataCannotHold(t *testing.T) {
	tests := []struct {
		name    string
		headers [][2]string
		// field is the refused field; empty: the call reaches the service.
		field string
		// wantMD is the metadata the service receives.
		wantMD map[string][]string
	}{
		{
			name:    "key with Finnish letters",
			headers: [][2]string{{"Idempotency-Key", "lomake-Äijälä-0001"}},
			field:   "request_id",
		},
		{
			name:    "key with a tab",
			headers: [][2]string{{"Idempotency-Key", "lomake\t0001"}},
			field:   "request_id",
		},
		{
			name:    "second key value",
			headers: [][2]string{{"Idempotency-Key", "lomake-0001"}, {"Idempotency-Key", "Äijälä"}},
			field:   "request_id",
		},
		{
			name:    "two keys",
			headers: [][2]string{{"Idempotency-Key", "lomake-0001"}, {"Idempotency-Key", "lomake-0002"}},
			field:   "request_id",
		},
		{
			name:    "the same key twice",
			headers: [][2]string{{"Idempotency-Key", "lomake-0001"}, {"Idempotency-Key", "lomake-0001"}},
			field:   "request_id",
		},
		{
			name:    "a comma-separated list of keys",
			headers: [][2]string{{"Idempotency-Key", "lomake-0001, lomake-0002"}},
			field:   "request_id",
		},
		{
			name:    "Finnish purpose",
			headers: [][2]string{{"X-Purpose", "Häiriöselvitys, tiketti 42"}, {"Idempotency-Key", "lomake-0001"}},
			wantMD:  map[string][]string{"x-purpose-bin": {"Häiriöselvitys, tiketti 42"}, "x-purpose": nil, "idempotency-key": {"lomake-0001"}},
		},
		{
			// The services refuse a purpose with a control character; sent as
			// x-purpose-bin, they get to.
			name:    "purpose with a tab",
			headers: [][2]string{{"X-Purpose", "ticket\t42"}},
			wantMD:  map[string][]string{"x-purpose-bin": {"ticket\t42"}, "x-purpose": nil},
		},
		{
			name:    "ASCII and Finnish purposes",
			headers: [][2]string{{"X-Purpose", "incident 7"}, {"X-Purpose", "Häiriö"}},
			wantMD:  map[string][]string{"x-purpose-bin": {"incident 7", "Häiriö"}, "x-purpose": nil},
		},
		{
			name:    "ASCII purpose",
			headers: [][2]string{{"X-Purpose", "incident 7"}},
			wantMD:  map[string][]string{"x-purpose": {"incident 7"}, "x-purpose-bin": nil},
		},
		{
			name:    "purpose not UTF-8",
			headers: [][2]string{{"X-Purpose", "H\xe4iri\xf6selvitys"}},
			field:   "purpose",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, options{})
			req := h.request(t, http.MethodPost, "/v1/owners", strings.NewReader(`{"owner":{"familyName":"Test"}}`))
			for _, kv := range tt.headers {
				req.Header.Add(kv[0], kv[1])
			}
			code, _, body := h.do(t, req)
			if tt.field != "" {
				if code != http.StatusBadRequest {
					t.Fatalf("status = %d, want 400: %s", code, body)
				}
				if e := decodeError(t, body); e.Code != codes.InvalidArgument || !slices.Equal(violationFields(t, e), []string{tt.field}) {
					t.Errorf("body = %s, want INVALID_ARGUMENT on %s", body, tt.field)
				}
				if tt.field == "request_id" && !strings.Contains(string(body), "Idempotency-Key") {
					t.Errorf("the refusal does not name the Idempotency-Key header: %s", body)
				}
				for _, kv := range tt.headers {
					if strings.Contains(string(body), kv[1]) || strings.Contains(string(body), "ijäl") {
						t.Errorf("the error body repeats the header: %s", body)
					}
				}
				if n := len(h.owner.received()); n != 0 {
					t.Errorf("the service received %d calls, want none", n)
				}
				return
			}
			if code != http.StatusOK {
				t.Fatalf("status = %d: %s", code, body)
			}
			md := h.owner.last(t).md
			for key, want := range tt.wantMD {
				if got := md.Get(key); !slices.Equal(got, want) {
					t.Errorf("metadata %s = %q, want %q", key, got, want)
				}
			}
		})
	}
}

// violationFields names the fields of the error's field violations.
func violationFields(t *testing.T, e errorBody) []string {
	t.Helper()
	var fields []string
	for _, d := range e.Details {
		violations, _ := d["fieldViolations"].([]any)
		for _, v := range violations {
			m, _ := v.(map[string]any)
			field, _ := m["field"].(string)
			fields = append(fields, field)
		}
	}
	return fields
}
