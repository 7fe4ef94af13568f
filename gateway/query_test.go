package gateway_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/proto/gen/openapi"
)

// TestUnknownQueryParameterIsRejected sends queries with keys the request has no field
// for: each is a 400 naming the key (a key that is no plain name, as the query), never
// the value sent, and the service is not called. grpc-gateway alone would drop the key
// and list the first page of every owner.
func TestUnknownQueryParameterIsRejected(t *testing.T) {
	h := start(t, options{})
	const code = "131052-308T"
	for _, tc := range []struct{ name, path, field string }{
		{"lower-cased JSON name", "/v1/owners?customernumber=100014", "customernumber"},
		{"misspelt name", "/v1/owners?nme=aija", "nme"},
		{"identity code as the value", "/v1/owners?pageSize=10&identityCode=" + code, "identityCode"},
		{"identity code as the key", "/v1/owners?" + code + "=1", "query"},
		{"identity code run into a word as the key", "/v1/owners?hetu010105A123B=1", "query"},
		{"identity code after a dot as the key", "/v1/owners?name.010105A123B=1", "query"},
		{"identity code with a letter sign as the key", "/v1/owners?_131052Y308T=1", "query"},
		{"path into a string", "/v1/owners?name.first=aija", "name.first"},
		{"map syntax on a string", "/v1/owners?name[" + code + "]=aija", "name"},
		{"field bound by the path, proto name", "/v1/owners/o-1/patients?owner_id=o-2", "owner_id"},
		{"field bound by the path, JSON name", "/v1/owners/o-1/patients?ownerId=o-2", "ownerId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, raw := h.do(t, h.request(t, http.MethodGet, tc.path, nil))
			wantFieldViolation(t, status, raw, tc.field, code, "100014", "010105A123B", "131052Y308T")
		})
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}

// TestKnownQueryParametersReachTheService lists owners with every parameter of the
// request, by proto and by JSON name: the service gets each value.
func TestKnownQueryParametersReachTheService(t *testing.T) {
	h := start(t, options{})
	want := &ownerv1.ListOwnersRequest{
		Name: "aija", Phone: "0401234567", CustomerNumber: "100014", Microchip: "246098100012345",
		PageSize: 10, PageToken: "t-1",
	}
	for _, tc := range []struct{ name, query string }{
		{"proto names", "name=aija&phone=0401234567&customer_number=100014&microchip=246098100012345&page_size=10&page_token=t-1"},
		{"JSON names", "name=aija&phone=0401234567&customerNumber=100014&microchip=246098100012345&pageSize=10&pageToken=t-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, _, raw := h.do(t, h.request(t, http.MethodGet, "/v1/owners?"+tc.query, nil)); status != http.StatusOK {
				t.Fatalf("status = %d, want 200: %s", status, raw)
			}
			if got := h.owner.last(t).req; !proto.Equal(got, want) {
				t.Errorf("the service got %v, want %v", got, want)
			}
		})
	}
}

// TestQueryOnARouteThatReadsNoneIsRejected: a route whose request takes all its fields
// from the path or the body refuses a query as the routes reading one refuse an unknown
// key (grpc-gateway alone would drop it unread), naming each key and quoting no value.
func TestQueryOnARouteThatReadsNoneIsRejected(t *testing.T) {
	h := start(t, options{})
	const code = "131052-308T"
	for _, tc := range []struct {
		name, method, path string
		fields             []string
	}{
		{"a read by id", http.MethodGet, "/v1/owners/o-1?x=1", []string{"x"}},
		{"paging on a history without it", http.MethodGet, "/v1/owners/o-1/changes?pageSize=10", []string{"pageSize"}},
		{"a list without parameters", http.MethodGet, "/v1/owners/o-1/consents?purpose=PURPOSE_DIRECT_MARKETING", []string{"purpose"}},
		{"the field the path binds", http.MethodGet, "/v1/owners/o-1?owner_id=o-2", []string{"owner_id"}},
		{"a create's field", http.MethodPost, "/v1/owners?requestId=r-1", []string{"requestId"}},
		{"an update's field", http.MethodPatch, "/v1/owners/o-1?updateMask=phone", []string{"updateMask"}},
		{"an identity code as a value", http.MethodPost, "/v1/owners:findByIdentityCode?identityCode=" + code, []string{"identityCode"}},
		{"an identity code as the key", http.MethodGet, "/v1/owners/o-1?" + code, []string{"query"}},
		{"no key=value pair", http.MethodGet, "/v1/owners/o-1?a;" + code, []string{"query"}},
		{"several keys, each named once in order", http.MethodGet, "/v1/owners/o-1?b=1&a=2&a=3&" + code + "=1&hetu010105A123B=2", []string{"query", "a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.method != http.MethodGet {
				body = strings.NewReader(`{}`)
			}
			status, _, raw := h.do(t, h.request(t, tc.method, tc.path, body))
			wantFieldViolations(t, status, raw, tc.fields, code, "010105A123B")
		})
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
	// A query without a key is no parameter.
	for _, path := range []string{"/v1/owners/o-1?", "/v1/owners/o-1?&"} {
		if status, _, raw := h.do(t, h.request(t, http.MethodGet, path, nil)); status != http.StatusOK {
			t.Errorf("GET %s: %d, want 200: %s", path, status, raw)
		}
	}
}

// TestSeveralUnknownQueryParametersAreEachNamed: a route that reads a query names every
// key it cannot take, in sorted order, so that the caller fixes them all at once; keys
// holding an identity code are the query's, once.
func TestSeveralUnknownQueryParametersAreEachNamed(t *testing.T) {
	h := start(t, options{})
	const code = "131052-308T"
	status, _, raw := h.do(t, h.request(t, http.MethodGet, "/v1/owners?phon=1&name=aija&nme=aija&"+code+"=1&_131052Y308T=2", nil))
	wantFieldViolations(t, status, raw, []string{"query", "nme", "phon"}, code, "131052Y308T", "aija")
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}

// TestQueryValueWithALineBreakIsNotSplit: grpc-gateway's message of a parameter given
// twice holds the values as sent, a line break included; a value that reads, after the
// break, as an unknown parameter's line is not taken for one, so the answer names the
// parameter given twice and echoes no part of the value.
func TestQueryValueWithALineBreakIsNotSplit(t *testing.T) {
	h := start(t, options{})
	for _, tt := range []struct {
		name, query string
		fields      []string
	}{
		{name: "unknown parameter after the break", query: "name=a&name=" + url.QueryEscape("b\nunknown query parameter \"Virtanen\""), fields: []string{"name"}},
		{name: "bare unknown parameter after the break", query: "name=a&name=" + url.QueryEscape("Virtanen\nunknown query parameter"), fields: []string{"name"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, raw := h.do(t, h.request(t, http.MethodGet, "/v1/owners?"+tt.query, nil))
			wantFieldViolations(t, status, raw, tt.fields, "Virtanen")
		})
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}

// TestQueryValueReadingAsAnotherMessageIsNotTaken: grpc-gateway's message of a parameter
// given twice ends in the values as sent; a value that reads as another decoding message
// (a surname quoted as a field) is not taken for it, so the answer names the parameter
// given twice and echoes no part of the value.
func TestQueryValueReadingAsAnotherMessageIsNotTaken(t *testing.T) {
	h := start(t, options{})
	for _, value := range []string{
		`parsing field "Virtanen"`,
		`parsing map key "Virtanen"`,
		`invalid value for string field Virtanen`,
		`unknown field "Virtanen"`,
		`duplicate field "Virtanen"`,
		`google.protobuf.FieldMask.paths contains invalid path: "Virtanen"`,
		`invalid grpc-timeout: Virtanen`,
	} {
		t.Run(value, func(t *testing.T) {
			status, _, raw := h.do(t, h.request(t, http.MethodGet, "/v1/owners?name=a&name="+url.QueryEscape(value), nil))
			wantFieldViolations(t, status, raw, []string{"name"}, "Virtanen")
		})
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}

// TestDocumentedQueryParametersAreTaken: every query parameter the OpenAPI document gives
// a route is one the gateway takes there: refuseQuery knows the routes that read a query
// from the document, and strictQueryParser checks their keys against the request.
func TestDocumentedQueryParametersAreTaken(t *testing.T) {
	h := start(t, options{})
	ops, err := openapi.Operations()
	if err != nil {
		t.Fatal(err)
	}
	taken := 0
	for op, params := range ops {
		for _, p := range params {
			path := pathVariables.ReplaceAllString(op.Path, "x-1") + "?" + url.Values{p: {"1"}}.Encode()
			_, _, raw := h.do(t, h.request(t, op.Method, path, nil))
			if strings.Contains(string(raw), "not a query parameter") {
				t.Errorf("%s %s: the documented parameter %s is refused: %s", op.Method, op.Path, p, raw)
			}
			taken++
		}
	}
	if taken == 0 {
		t.Fatal("the document gives no route a query parameter")
	}
}
