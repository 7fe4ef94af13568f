package gateway_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/gateway"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/proto/gen/openapi"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/servicetest"
)

// errorBody is a google.rpc.Status as the gateway writes it.
type errorBody struct {
	Code    codes.Code       `json:"code"`
	Message string           `json:"message"`
	Details []map[string]any `json:"details"`
}

func decodeError(t *testing.T, body []byte) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, body)
	}
	return e
}

// wantFieldViolation checks an answer to a request the gateway refuses: a 400
// INVALID_ARGUMENT with one field violation, of field, quoting none of the values sent.
func wantFieldViolation(t *testing.T, status int, body []byte, field string, sent ...string) {
	t.Helper()
	wantFieldViolations(t, status, body, []string{field}, sent...)
}

// wantFieldViolations checks a 400 INVALID_ARGUMENT whose field violations are fields,
// in that order, in one google.rpc.BadRequest, quoting none of the values sent.
func wantFieldViolations(t *testing.T, status int, body []byte, fields []string, sent ...string) {
	t.Helper()
	if status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400: %s", status, body)
	}
	for _, v := range sent {
		if strings.Contains(string(body), v) {
			t.Errorf("the error body quotes the value sent: %s", body)
		}
	}
	e := decodeError(t, body)
	if got := violationFields(t, e); e.Code != codes.InvalidArgument || len(e.Details) != 1 || !slices.Equal(got, fields) {
		t.Errorf("body = %s, want INVALID_ARGUMENT with one detail on %q", body, fields)
	}
}

func TestGetOwnerRouteMapsToGetOwner(t *testing.T) {
	h := start(t, options{})
	code, header, body := h.do(t, h.request(t, http.MethodGet, "/v1/owners/o-123", nil))
	if code != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", code, body)
	}
	c := h.owner.last(t)
	if c.method != "GetOwner" || c.req.(*ownerv1.GetOwnerRequest).GetOwnerId() != "o-123" {
		t.Fatalf("service got %s %v, want GetOwner with owner_id o-123", c.method, c.req)
	}
	var got struct {
		Owner map[string]any `json:"owner"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.Owner["givenNames"] != "Aino" || got.Owner["id"] != "o-123" {
		t.Errorf("owner = %v, want lowerCamelCase fields givenNames and id", got.Owner)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

func TestServiceErrorsMapToHTTPStatus(t *testing.T) {
	h := start(t, options{})
	tests := []struct {
		name string
		code codes.Code
		want int
	}{
		{"failed precondition", codes.FailedPrecondition, http.StatusBadRequest},
		{"unauthenticated", codes.Unauthenticated, http.StatusUnauthorized},
		{"permission denied", codes.PermissionDenied, http.StatusForbidden},
		{"not found", codes.NotFound, http.StatusNotFound},
		{"aborted", codes.Aborted, http.StatusConflict},
		{"already exists", codes.AlreadyExists, http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.owner.fail(status.Error(tt.code, tt.name))
			defer h.owner.fail(nil)
			code, header, body := h.do(t, h.request(t, http.MethodGet, "/v1/owners/o-1", nil))
			if code != tt.want {
				t.Fatalf("status = %d, want %d: %s", code, tt.want, body)
			}
			e := decodeError(t, body)
			if e.Code != tt.code || e.Message != tt.name {
				t.Errorf("body = %+v, want code %d and the service's message", e, tt.code)
			}
			if tt.code == codes.Unauthenticated && header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("WWW-Authenticate = %q, want Bearer", header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestHungBackendAnswers504: every backend call ends at GATEWAY_BACKEND_TIMEOUT, so that
// a service that never answers gets the client a 504 with the status JSON instead of
// holding the request until the client gives up. A client's shorter Grpc-Timeout still
// ends the call first, and a longer one does not extend the cap.
func TestHungBackendAnswers504(t *testing.T) {
	tests := []struct {
		name    string
		cap     time.Duration
		timeout string // the client's Grpc-Timeout; empty: none
	}{
		{name: "no Grpc-Timeout", cap: 200 * time.Millisecond},
		{name: "a longer Grpc-Timeout is capped", cap: 200 * time.Millisecond, timeout: "1H"},
		{name: "a shorter Grpc-Timeout wins", cap: time.Hour, timeout: "200m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, options{backendTimeout: tt.cap})
			h.owner.hang(true)
			req := h.request(t, http.MethodGet, "/v1/owners/o-1", nil)
			if tt.timeout != "" {
				req.Header.Set("Grpc-Timeout", tt.timeout)
			}
			code, header, body := h.do(t, req)
			if code != http.StatusGatewayTimeout {
				t.Fatalf("status = %d, want 504: %s", code, body)
			}
			if e := decodeError(t, body); e.Code != codes.DeadlineExceeded || header.Get("Content-Type") != "application/json" {
				t.Errorf("body = %+v (%s), want a DEADLINE_EXCEEDED status in JSON", e, header.Get("Content-Type"))
			}
		})
	}
}

// slowBody hands its bytes out one at a time, pausing before each.
type slowBody struct {
	data  []byte
	pause time.Duration
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(b.pause)
	p[0] = b.data[0]
	b.data = b.data[1:]
	return 1, nil
}

// TestSlowUploadStillGetsItsAnswer: net/http counts the write timeout from the end of the
// request headers, so it must leave room for the body's upload (which the read timeout
// bounds) before the backend call and the answer. A body that took longer than the cap
// and the answer's time together to arrive had its answer cut, a 504 included.
func TestSlowUploadStillGetsItsAnswer(t *testing.T) {
	tests := []struct {
		name string
		hung bool
		want int
	}{
		{name: "the backend answers", want: http.StatusOK},
		{name: "the backend hangs", hung: true, want: http.StatusGatewayTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The upload takes about 1.5 s: well within the read timeout, past the
			// cap and the answer's time together.
			h := start(t, options{backendTimeout: 200 * time.Millisecond, readTimeout: 5 * time.Second, answerTime: 300 * time.Millisecond})
			h.owner.hang(tt.hung)
			body := []byte(`{"owner":{"familyName":"Test"}}`)
			req := h.request(t, http.MethodPost, "/v1/owners", &slowBody{data: body, pause: 1500 * time.Millisecond / time.Duration(len(body))})
			req.ContentLength = int64(len(body))
			resp, err := h.client.Do(req)
			if err != nil {
				t.Fatalf("the answer was cut: %v", err)
			}
			defer func() { _ = resp.Body.Close() }()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("the answer was cut while read: %v", err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.want, raw)
			}
		})
	}
}

func TestFieldViolationsAppearInDetails(t *testing.T) {
	h := start(t, options{})
	st, err := status.New(codes.InvalidArgument, "invalid owner").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "owner.phone", Description: "not a phone number"}},
	})
	if err != nil {
		t.Fatalf("details: %v", err)
	}
	h.owner.fail(st.Err())
	code, _, body := h.do(t, h.request(t, http.MethodPost, "/v1/owners", strings.NewReader(`{"owner":{"familyName":"Test"}}`)))
	if code != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400: %s", code, body)
	}
	e := decodeError(t, body)
	if len(e.Details) != 1 || e.Details[0]["@type"] != "type.googleapis.com/google.rpc.BadRequest" {
		t.Fatalf("details = %v, want one google.rpc.BadRequest", e.Details)
	}
	violations, _ := e.Details[0]["fieldViolations"].([]any)
	if len(violations) != 1 {
		t.Fatalf("fieldViolations = %v", e.Details[0]["fieldViolations"])
	}
	if v, _ := violations[0].(map[string]any); v["field"] != "owner.phone" || v["description"] != "not a phone number" {
		t.Errorf("violation = %v", violations[0])
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	h := start(t, options{})
	code, _, body := h.do(t, h.request(t, http.MethodGet, "/v1/nothing-here", nil))
	if code != http.StatusNotFound || decodeError(t, body).Code != codes.NotFound {
		t.Fatalf("status = %d, body %s; want 404 with code NOT_FOUND", code, body)
	}
}

func TestUnknownJSONFieldIsRejected(t *testing.T) {
	h := start(t, options{})
	code, _, body := h.do(t, h.request(t, http.MethodPost, "/v1/owners", strings.NewReader(`{"owner":{"familyNmae":"Test"}}`)))
	if code != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400: %s", code, body)
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}

// TestUndecodableRequestsNameTheFieldNotTheValue sends requests the gateway cannot
// decode (a body, a query parameter, a Grpc-Timeout header), most carrying an identity
// code where it does not belong: the answer is a 400 with the field that was wrong as a
// field violation, and never the value sent.
func TestUndecodableRequestsNameTheFieldNotTheValue(t *testing.T) {
	h := start(t, options{})
	const code = "131052-308T"
	for _, tc := range []struct {
		name, method, path, body, field string
		timeout                         string // a Grpc-Timeout header
	}{
		{"enum value", http.MethodPost, "/v1/owners", `{"owner":{"familyName":"Test","homeClinic":"` + code + `"}}`, "homeClinic", ""},
		{"number for a string", http.MethodPost, "/v1/owners", `{"owner":{"familyName":131052308}}`, "familyName", ""},
		{"misspelt field", http.MethodPost, "/v1/owners", `{"owner":{"familyNmae":"` + code + `"}}`, "familyNmae", ""},
		{"a value as a field name", http.MethodPost, "/v1/owners", `{"owner":{"` + code + `":"x"}}`, "body", ""},
		{"an identity code run into a word as a field name", http.MethodPost, "/v1/owners", `{"owner":{"hetu010105A123B":"x"}}`, "body", ""},
		{"not JSON", http.MethodPost, "/v1/owners", `{"identityCode":` + code, "body", ""},
		{"query parameter", http.MethodGet, "/v1/owners?pageSize=" + code, "", "page_size", ""},
		{"body field given twice", http.MethodPost, "/v1/owners", `{"owner":{"familyName":"x","family_name":"` + code + `"}}`, "family_name", ""},
		{"query parameter given under both names", http.MethodGet, "/v1/owners?pageSize=1&page_size=" + code, "", "page_size", ""},
		{"update mask by proto names", http.MethodPatch, "/v1/owners/o-1", `{"updateMask":"identity_code","identityCode":"` + code + `"}`, "updateMask", ""},
		// grpc-gateway sets the backend call's deadline from it; only a malformed one is refused.
		{"timeout without a unit", http.MethodGet, "/v1/owners/o-1", "", "grpc-timeout", code},
		{"negative timeout", http.MethodGet, "/v1/owners/o-1", "", "grpc-timeout", "-5S"},
		{"timeout beyond 64 bits", http.MethodGet, "/v1/owners/o-1", "", "grpc-timeout", "99999999999999999999H"},
		{"timeout unit alone", http.MethodGet, "/v1/owners/o-1", "", "grpc-timeout", "S"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := h.request(t, tc.method, tc.path, body)
			if tc.timeout != "" {
				req.Header.Set("Grpc-Timeout", tc.timeout)
			}
			status, _, raw := h.do(t, req)
			wantFieldViolation(t, status, raw, tc.field, code, "131052308", "010105A123B")
		})
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}

// createBody is a valid CreateOwner body of exactly n bytes.
func createBody(t *testing.T, n int) []byte {
	t.Helper()
	const head, tail = `{"requestId":"r-1","owner":{"familyName":"`, `"}}`
	pad := n - len(head) - len(tail)
	if pad < 0 {
		t.Fatalf("body of %d bytes is too small", n)
	}
	return []byte(head + strings.Repeat("a", pad) + tail)
}

// chunked hides the body's length so the client sends it chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestBodyLimit(t *testing.T) {
	const limit = 1024
	h := start(t, options{maxBodyBytes: limit})
	tests := []struct {
		name    string
		size    int
		chunked bool
		want    int
	}{
		{"at the limit with content length", limit, false, http.StatusOK},
		{"at the limit chunked", limit, true, http.StatusOK},
		{"over the limit with content length", 4 * limit, false, http.StatusRequestEntityTooLarge},
		{"over the limit chunked", 4 * limit, true, http.StatusRequestEntityTooLarge},
		{"one byte over chunked", limit + 1, true, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.owner.received())
			var body io.Reader = bytes.NewReader(createBody(t, tt.size))
			if tt.chunked {
				body = chunked{body}
			}
			req := h.request(t, http.MethodPost, "/v1/owners", body)
			if tt.chunked && req.ContentLength != 0 {
				t.Fatalf("request has a content length of %d, want none (chunked)", req.ContentLength)
			}
			code, header, respBody := h.do(t, req)
			if code != tt.want {
				t.Fatalf("status = %d, want %d: %s", code, tt.want, respBody)
			}
			calls := len(h.owner.received()) - before
			if tt.want != http.StatusOK {
				if calls != 0 {
					t.Errorf("the service received %d calls for a body over the limit", calls)
				}
				if ct := header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want JSON", ct)
				}
				if e := decodeError(t, respBody); e.Code != codes.ResourceExhausted {
					t.Errorf("code = %d, want RESOURCE_EXHAUSTED", e.Code)
				}
				return
			}
			if calls != 1 {
				t.Fatalf("the service received %d calls, want 1", calls)
			}
			if got := len(h.owner.last(t).req.(*ownerv1.CreateOwnerRequest).GetOwner().GetFamilyName()); got != tt.size-len(`{"requestId":"r-1","owner":{"familyName":""}}`) {
				t.Errorf("the service got a family name of %d bytes: the body was cut", got)
			}
		})
	}
}

func TestHeadersForwardedAsMetadata(t *testing.T) {
	h := start(t, options{})
	req := h.request(t, http.MethodPost, "/v1/owners", strings.NewReader(`{"owner":{"familyName":"Test"}}`))
	req.Header.Set("Idempotency-Key", "key-42")
	req.Header.Set("X-Purpose", "billing")
	req.Header.Set("X-Other", "must not pass")
	req.Header.Set("Grpc-Metadata-Injected", "must not pass")
	req.Header.Set("Cookie", "session=must-not-pass")
	if code, _, body := h.do(t, req); code != http.StatusOK {
		t.Fatalf("status = %d: %s", code, body)
	}
	md := h.owner.last(t).md
	for key, want := range map[string]string{"idempotency-key": "key-42", "x-purpose": "billing", "authorization": "Bearer " + h.token} {
		if got := md.Get(key); !slices.Equal(got, []string{want}) {
			t.Errorf("metadata %s = %q, want [%q]", key, got, want)
		}
	}
	for key, vals := range md {
		for _, v := range vals {
			if strings.Contains(v, "must-not-pass") || strings.Contains(v, "must not pass") || strings.HasPrefix(key, "grpcgateway-") {
				t.Errorf("metadata %s = %q was forwarded", key, v)
			}
		}
	}
}

func TestHealthz(t *testing.T) {
	h := start(t, options{})
	get := func() (int, map[string]any) {
		code, _, body := h.do(t, h.request(t, http.MethodGet, "/healthz", nil))
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("healthz body: %v: %s", err, body)
		}
		return code, got
	}
	code, got := get()
	if code != http.StatusOK || got["status"] != "SERVING" || got["services"].(map[string]any)["owner"] != "SERVING" {
		t.Fatalf("healthz = %d %v, want 200 SERVING", code, got)
	}
	h.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	code, got = get()
	if code != http.StatusServiceUnavailable || got["status"] != "NOT_SERVING" || got["services"].(map[string]any)["owner"] != "NOT_SERVING" {
		t.Fatalf("healthz = %d %v, want 503 with owner NOT_SERVING", code, got)
	}
}

func TestUnreachableBackend(t *testing.T) {
	// A port closed after Listen can be handed to another listener (another test's
	// gateway answered once); this one stays bound and refuses every connection.
	h := start(t, options{ownerTarget: servicetest.RefusingAddr(t)})

	code, _, body := h.do(t, h.request(t, http.MethodGet, "/healthz", nil))
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"owner":"UNREACHABLE"`) {
		t.Fatalf("healthz = %d %s, want 503 with owner UNREACHABLE", code, body)
	}
	code, _, body = h.do(t, h.request(t, http.MethodGet, "/v1/owners/o-1", nil))
	if code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503: %s", code, body)
	}
	if strings.Contains(string(body), "127.0.0.1") {
		t.Errorf("error body names an internal address: %s", body)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	h := start(t, options{})
	code, header, body := h.do(t, h.request(t, http.MethodGet, "/openapi.yaml", nil))
	if code != http.StatusOK || header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("status %d, Content-Type %q", code, header.Get("Content-Type"))
	}
	want, err := openapi.Document()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want) {
		t.Error("served document differs from openapi.Document")
	}
	// The headers the gateway forwards, which partners' generated clients must send.
	for _, header := range []string{"name: X-Purpose", "name: Idempotency-Key"} {
		if !bytes.Contains(body, []byte(header)) {
			t.Errorf("served document does not declare %s", header)
		}
	}
}

func TestTelemetryNamesRoutesAndKeepsQueriesOut(t *testing.T) {
	h := start(t, options{})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req := h.request(t, http.MethodGet, "/v1/owners?name=Virtanen&phone=0401234567", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if code, _, body := h.do(t, req); code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	// GetOwner reads no query and refuses this one; the refusal keeps it out as well.
	if code, _, body := h.do(t, h.request(t, http.MethodGet, "/v1/owners/o-7?secretive=Korhonen", nil)); code != http.StatusBadRequest {
		t.Fatalf("get: %d %s", code, body)
	}
	if got := h.owner.received()[0].req.(*ownerv1.ListOwnersRequest).GetName(); got != "Virtanen" {
		t.Fatalf("the service got name %q: the query must still reach it", got)
	}
	if tp := h.owner.received()[0].md.Get("traceparent"); len(tp) != 1 || !strings.Contains(tp[0], traceID) {
		t.Errorf("traceparent to the service = %q, want the caller's trace %s", tp, traceID)
	}
	h.stop() // ends every span and writes every log line

	spans := h.spans.GetSpans()
	list := serverSpan(t, spans, "GET /v1/owners")
	if list.SpanContext.TraceID().String() != traceID {
		t.Errorf("trace id = %s, want the caller's %s", list.SpanContext.TraceID(), traceID)
	}
	if route := attr(list, "http.route"); route != "/v1/owners" {
		t.Errorf("http.route = %q", route)
	}
	get := serverSpan(t, spans, "GET /v1/owners/{owner_id}")
	if route := attr(get, "http.route"); route != "/v1/owners/{owner_id}" {
		t.Errorf("http.route = %q", route)
	}
	for _, s := range spans {
		for _, kv := range s.Attributes {
			v := kv.Value.String()
			if strings.Contains(v, "?") || strings.Contains(v, "Virtanen") || strings.Contains(v, "0401234567") || strings.Contains(v, "Korhonen") {
				t.Errorf("span %q attribute %s = %q carries the query", s.Name, kv.Key, v)
			}
		}
	}

	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Virtanen") || strings.Contains(sc.Text(), "Korhonen") || strings.Contains(sc.Text(), "?") {
			t.Errorf("log line carries the query: %s", sc.Text())
		}
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if line["msg"] == "http request" {
			lines = append(lines, line)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("got %d access log lines, want 2:\n%s", len(lines), h.logs.String())
	}
	first := lines[0]
	if first["method"] != "GET" || first["route"] != "/v1/owners" || first["status"] != float64(200) || first["trace_id"] != traceID {
		t.Errorf("access log line = %v, want method, route, status and the trace id", first)
	}
	if _, ok := first["duration_ms"]; !ok {
		t.Errorf("access log line has no duration: %v", first)
	}
	if lines[1]["route"] != "/v1/owners/{owner_id}" {
		t.Errorf("second access log route = %v", lines[1]["route"])
	}
}

func serverSpan(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	names := make([]string, 0, len(spans))
	for _, s := range spans {
		names = append(names, s.Name)
	}
	t.Fatalf("no span %q among %q", name, names)
	return tracetest.SpanStub{}
}

func attr(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	pki, err := devpki.Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	ok := gateway.Config{
		Addr: "127.0.0.1:8080", OwnerAddr: "127.0.0.1:7101", ConsentAddr: "127.0.0.1:7102",
		DisclosureAddr: "127.0.0.1:7103", HistoryAddr: "127.0.0.1:7104", MaxBodyBytes: 1 << 20,
		Auth: auth.Config{JWKSURL: "https://127.0.0.1:7100/jwks.json", Issuer: testIssuer, Audience: testAudience},
	}
	tests := []struct {
		name   string
		mutate func(*gateway.Config)
		valid  bool
	}{
		{"loopback plain HTTP", func(*gateway.Config) {}, true},
		{"localhost plain HTTP", func(c *gateway.Config) { c.Addr = "localhost:8080" }, true},
		{"IPv6 loopback", func(c *gateway.Config) { c.Addr = "[::1]:8080" }, true},
		{"IPv6 loopback with a zone", func(c *gateway.Config) { c.Addr = "[::1%lo]:8080" }, true},
		{"ip6-localhost plain HTTP", func(c *gateway.Config) { c.Addr = "ip6-localhost:8080" }, true},
		{"localhost in capitals with a trailing dot", func(c *gateway.Config) { c.Addr = "LocalHost.:8080" }, true},
		{"ip6-loopback with a Kelvin sign", func(c *gateway.Config) { c.Addr = "ip6-loopbac\u212a:8080" }, false},
		{"another ip6- name", func(c *gateway.Config) { c.Addr = "ip6-localnet:8080" }, false},
		{"all interfaces without TLS", func(c *gateway.Config) { c.Addr = ":8080" }, false},
		{"public address without TLS", func(c *gateway.Config) { c.Addr = "10.0.0.5:8080" }, false},
		{"no address", func(c *gateway.Config) { c.Addr = "" }, false},
		{"no owner target", func(c *gateway.Config) { c.OwnerAddr = "" }, false},
		{"no consent target", func(c *gateway.Config) { c.ConsentAddr = "" }, false},
		{"no disclosure target", func(c *gateway.Config) { c.DisclosureAddr = "" }, false},
		{"no history target", func(c *gateway.Config) { c.HistoryAddr = "" }, false},
		{"negative body limit", func(c *gateway.Config) { c.MaxBodyBytes = -1 }, false},
		{"zero body limit means default", func(c *gateway.Config) { c.MaxBodyBytes = 0 }, true},
		{"negative backend timeout", func(c *gateway.Config) { c.BackendTimeout = -time.Second }, false},
		{"zero backend timeout means default", func(c *gateway.Config) { c.BackendTimeout = 0 }, true},
		{"missing certificate file", func(c *gateway.Config) {
			c.Addr = ":8443"
			c.TLS.CertFile, c.TLS.KeyFile = "/nonexistent/cert.pem", "/nonexistent/key.pem"
		}, false},
		{"key without certificate", func(c *gateway.Config) { c.BackendTLS.KeyFile = "/nonexistent/key.pem" }, false},
		// The files are read, not only found: a bad one stops the gateway before it
		// fetches the token issuer's keys or serves.
		{"serving certificate and key", func(c *gateway.Config) { c.Addr, c.TLS = ":8443", pki }, true},
		{"serving certificate a folder", func(c *gateway.Config) {
			c.Addr, c.TLS = ":8443", pki
			c.TLS.CertFile = dir
		}, false},
		{"backend CA no certificate", func(c *gateway.Config) { c.BackendTLS.CAFile = pki.KeyFile }, false},
		{"token issuer's CA no certificate", func(c *gateway.Config) { c.Auth.CAFile = pki.KeyFile }, false},
		{"no JWKS URL", func(c *gateway.Config) { c.Auth.JWKSURL = "" }, false},
		{"no audience", func(c *gateway.Config) { c.Auth.Audience = "" }, false},
		{"metrics address", func(c *gateway.Config) { c.Metrics.Addr = "127.0.0.1:9100" }, true},
		{"metrics address without port", func(c *gateway.Config) { c.Metrics.Addr = "127.0.0.1" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			if err := cfg.Validate(); (err == nil) != tt.valid {
				t.Errorf("Validate() = %v, want valid %v", err, tt.valid)
			}
		})
	}
}

// TestEveryErrorBodyHasDetails: each error body has code, message and details, the shape
// the README and the OpenAPI document give, an empty list when there are none, whoever
// made the error (a service, routing, authentication, the body limit).
func TestEveryErrorBodyHasDetails(t *testing.T) {
	h := start(t, options{maxBodyBytes: 64})
	withViolation, err := status.New(codes.InvalidArgument, "invalid owner").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "owner.phone", Description: "not a phone number"}},
	})
	if err != nil {
		t.Fatalf("details: %v", err)
	}
	tests := []struct {
		name        string
		serviceErr  error
		method      string
		path        string
		body        string
		anonymous   bool
		wantStatus  int
		wantDetails int
	}{
		{name: "service error without details", serviceErr: status.Error(codes.NotFound, "no such owner"), method: http.MethodGet, path: "/v1/owners/o-1", wantStatus: http.StatusNotFound},
		{name: "service error with details", serviceErr: withViolation.Err(), method: http.MethodGet, path: "/v1/owners/o-1", wantStatus: http.StatusBadRequest, wantDetails: 1},
		{name: "unknown path", method: http.MethodGet, path: "/v1/nothing-here", wantStatus: http.StatusNotFound},
		{name: "wrong method", method: http.MethodDelete, path: "/v1/owners/o-1", wantStatus: http.StatusMethodNotAllowed},
		{name: "wrong method on a gateway path", method: http.MethodPost, path: "/healthz", wantStatus: http.StatusMethodNotAllowed},
		{name: "no token", method: http.MethodGet, path: "/v1/owners/o-1", anonymous: true, wantStatus: http.StatusUnauthorized},
		{name: "body over the limit", method: http.MethodPost, path: "/v1/owners", body: `{"owner":{"familyName":"` + strings.Repeat("a", 100) + `"}}`, wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.owner.fail(tt.serviceErr)
			defer h.owner.fail(nil)
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req := h.request(t, tt.method, tt.path, body)
			if tt.anonymous {
				req.Header.Del("Authorization")
			}
			code, _, raw := h.do(t, req)
			if code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", code, tt.wantStatus, raw)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(raw, &fields); err != nil {
				t.Fatalf("error body is not a JSON object: %v: %s", err, raw)
			}
			for _, key := range []string{"code", "message", "details"} {
				if _, ok := fields[key]; !ok {
					t.Errorf("error body lacks %q: %s", key, raw)
				}
			}
			var details []json.RawMessage
			if err := json.Unmarshal(fields["details"], &details); err != nil || details == nil || len(details) != tt.wantDetails {
				t.Errorf("details = %s, want a list of %d", fields["details"], tt.wantDetails)
			}
		})
	}
}

// TestUpdateMaskHintNamesTheRoutesMessage: an updateMask protojson cannot read (proto
// names with underscores) is a violation on updateMask whose description names the
// message the route updates, and no other route's fields: the hint gave the owner's
// "phone,identityCode" as the example on the patient and visit routes too.
func TestUpdateMaskHintNamesTheRoutesMessage(t *testing.T) {
	h := start(t, options{})
	for _, tc := range []struct {
		name, method, path, body string
		// names are what the mask may name: the message, and fields outside it.
		names []string
	}{
		{"UpdateOwner", http.MethodPatch, "/v1/owners/o-1", `{"updateMask":"given_names","version":1}`, []string{"owner", "identityCode"}},
		{"UpdatePatient", http.MethodPatch, "/v1/patients/p-1", `{"updateMask":"birth_date","version":1}`, []string{"patient"}},
		{"AmendVisit", http.MethodPost, "/v1/visits/v-1/amendments", `{"updateMask":"weight_grams","version":1}`, []string{"visit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, raw := h.do(t, h.request(t, tc.method, tc.path, strings.NewReader(tc.body)))
			wantFieldViolation(t, status, raw, "updateMask")
			violations, _ := decodeError(t, raw).Details[0]["fieldViolations"].([]any)
			v, _ := violations[0].(map[string]any)
			description, _ := v["description"].(string)
			for _, name := range tc.names {
				if !strings.Contains(description, `"`+name+`"`) {
					t.Errorf("description %q does not name %q", description, name)
				}
			}
			for _, other := range []string{"owner", "patient", "visit", "phone", "identityCode"} {
				if !slices.Contains(tc.names, other) && strings.Contains(description, other) {
					t.Errorf("description %q names %q, not of this route", description, other)
				}
			}
		})
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}
