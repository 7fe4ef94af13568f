package gateway

import (
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/proto"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
)

// documentBody is what grpc-gateway hands the forward options for a route with
// response_body: the response wrapped so that only the named field is written.
type documentBody struct {
	*disclosurev1.GetAccessReportDocumentResponse
}

func (r documentBody) XXX_ResponseBody() any { return r.GetDocument() }

// TestBodyContentType: an HttpBody response body is served with its own content type
// and written as its raw bytes; any other response keeps the JSON marshaler's.
func TestBodyContentType(t *testing.T) {
	html := &httpbody.HttpBody{ContentType: "text/html; charset=utf-8", Data: []byte("<!doctype html>")}
	tests := []struct {
		name string
		resp proto.Message
		want string
	}{
		{"HttpBody response body", documentBody{&disclosurev1.GetAccessReportDocumentResponse{Document: html}}, "text/html; charset=utf-8"},
		{"JSON response", &disclosurev1.GetAccessRequestResponse{}, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			w.Header().Set("Content-Type", "application/json")
			if err := bodyContentType(t.Context(), w, tt.resp); err != nil {
				t.Fatal(err)
			}
			if got := w.Header().Get("Content-Type"); got != tt.want {
				t.Errorf("Content-Type %q, want %q", got, tt.want)
			}
		})
	}
	m := &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{}}
	if b, err := m.Marshal(html); err != nil || string(b) != "<!doctype html>" {
		t.Errorf("the body is written as %q, %v", b, err)
	}
}
