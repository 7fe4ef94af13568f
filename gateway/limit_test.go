package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// FuzzLimitBody checks the limit's one promise: the handler behind it runs
// only with the whole body, and only when the body fits.
func FuzzLimitBody(f *testing.F) {
	f.Add([]byte(`{"owner":{}}`), int64(16), false)
	f.Add(bytes.Repeat([]byte("a"), 17), int64(16), true)
	f.Add(bytes.Repeat([]byte("a"), 16), int64(16), true)
	f.Add([]byte{}, int64(1), false)
	f.Fuzz(func(t *testing.T, body []byte, limit int64, declared bool) {
		// Any limit the fuzzer picks, folded into the range a configuration can hold.
		limit = 1 + (limit%(1<<16)+(1<<16))%(1<<16)
		errs := errorWriter{marshaler: &runtime.JSONPb{}, logger: slog.New(slog.DiscardHandler)}
		var got []byte
		called := false
		h := limitBody(limit, errs)(func(_ http.ResponseWriter, r *http.Request, _ map[string]string) {
			called = true
			var err error
			if got, err = io.ReadAll(r.Body); err != nil {
				t.Fatalf("read buffered body: %v", err)
			}
		})
		req := httptest.NewRequest(http.MethodPost, "/v1/owners", bytes.NewReader(body))
		if !declared {
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		h(rec, req, nil)

		fits := int64(len(body)) <= limit
		switch {
		case fits && (!called || !bytes.Equal(got, body)):
			t.Fatalf("body of %d bytes within %d: handler called %v with %d bytes", len(body), limit, called, len(got))
		case !fits && called:
			t.Fatalf("body of %d bytes over %d reached the handler", len(body), limit)
		case !fits && rec.Code != http.StatusRequestEntityTooLarge:
			t.Fatalf("body of %d bytes over %d: status %d, want 413", len(body), limit, rec.Code)
		}
	})
}

func TestRouteTemplate(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"/v1/owners", "/v1/owners"},
		{"/v1/owners/{owner_id=*}", "/v1/owners/{owner_id}"},
		{"/v1/owners/{owner_id=*}:revealIdentityCode", "/v1/owners/{owner_id}:revealIdentityCode"},
		{"/v1/owners/{owner_id=*}/patients", "/v1/owners/{owner_id}/patients"},
		{"/v1/files/{path=**}", "/v1/files/{path=**}"},
	}
	for _, tt := range tests {
		if got := routeTemplate(tt.pattern); got != tt.want {
			t.Errorf("routeTemplate(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}
