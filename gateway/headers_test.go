package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
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

// The services take at most 64 KiB of metadata a call, and grpc-go's client refuses to
// send more with an internal error; the HTTP server takes somewhat more than 64 KiB of
// headers, and a purpose that is not ASCII goes on a third longer as x-purpose-bin. An
// over-long X-Purpose or Idempotency-Key is refused on its field instead, well within
// the bound and long before it: the services keep 200 bytes of a purpose and 128
// characters of a request id.
func TestOverlongHeadersAreRefused(t *testing.T) {
	tests := []struct {
		name   string
		header string
		values []string
		// field is the refused field; empty: the call reaches the service.
		field string
	}{
		{name: "purpose at the bound", header: "X-Purpose", values: []string{strings.Repeat("p", 1024)}},
		{name: "purpose over the bound", header: "X-Purpose", values: []string{strings.Repeat("p", 1025)}, field: "purpose"},
		{name: "purpose over the metadata bound", header: "X-Purpose", values: []string{strings.Repeat("p", 66<<10)}, field: "purpose"},
		{name: "Finnish purpose over the bound", header: "X-Purpose", values: []string{strings.Repeat("ä", 513)}, field: "purpose"},
		// 60 KiB of UTF-8, 80 KiB as x-purpose-bin.
		{name: "Finnish purpose over the metadata bound once encoded", header: "X-Purpose", values: []string{strings.Repeat("ä", 30<<10)}, field: "purpose"},
		{name: "purposes together over the bound", header: "X-Purpose", values: []string{strings.Repeat("p", 600), strings.Repeat("q", 600)}, field: "purpose"},
		{name: "key at the bound", header: "Idempotency-Key", values: []string{strings.Repeat("k", 128)}},
		{name: "key over the bound", header: "Idempotency-Key", values: []string{strings.Repeat("k", 129)}, field: "request_id"},
		{name: "key over the metadata bound", header: "Idempotency-Key", values: []string{strings.Repeat("k", 66<<10)}, field: "request_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, options{})
			req := h.request(t, http.MethodPost, "/v1/owners", strings.NewReader(`{"owner":{"familyName":"Test"}}`))
			for _, v := range tt.values {
				req.Header.Add(tt.header, v)
			}
			code, _, body := h.do(t, req)
			if tt.field == "" {
				if code != http.StatusOK {
					t.Fatalf("status = %d, want 200: %s", code, body)
				}
				return
			}
			wantFieldViolation(t, code, body, tt.field, tt.values[0][:64])
			if !strings.Contains(string(body), tt.header) {
				t.Errorf("the refusal does not name the %s header: %s", tt.header, body)
			}
			if n := len(h.owner.received()); n != 0 {
				t.Errorf("the service received %d calls, want none", n)
			}
		})
	}
}

// A valid bearer token so long that the call's metadata is over the services' bound
// (the identity provider's doing, not the caller's) is answered 431 with a message for
// the client, not 500 with grpc-go's internal text.
func TestTokenOverTheMetadataBound(t *testing.T) {
	h := start(t, options{})
	token := h.mint(t, devauth.Claims{Subject: "test-reception", Name: strings.Repeat("n", 48<<10), Roles: []auth.Role{auth.RoleReception}}, time.Hour)
	req := h.request(t, http.MethodGet, "/v1/owners/o-123", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	code, _, body := h.do(t, req)
	if code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status = %d, want 431: %s", code, body)
	}
	if e := decodeError(t, body); e.Code != codes.ResourceExhausted || !strings.Contains(e.Message, "bearer token") || strings.Contains(e.Message, "header list size") {
		t.Errorf("body = %s, want RESOURCE_EXHAUSTED naming the bearer token, without grpc-go's text", body)
	}
}
