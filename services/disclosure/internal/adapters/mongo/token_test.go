package mongo

import (
	"errors"
	"testing"

	"github.com/lillvet/register/services/platform/apperr"
)

// FuzzDecodeToken checks that any page token a client sends is either one this service
// issued, which encodes back to itself, or a field violation of page_token; never a
// panic or another error.
func FuzzDecodeToken(f *testing.F) {
	f.Add(encodeToken(pageToken{Time: 1764072000000, ID: "0190b1b4-0000-7000-8000-000000000000"}))
	f.Add(encodeToken(pageToken{ID: "r"}))
	f.Add("")
	f.Add("e30")
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := decodeToken(s)
		if err != nil {
			var v *apperr.ValidationError
			if !errors.As(err, &v) || v.Violations[0].Field != "page_token" {
				t.Fatalf("decodeToken(%q) = %v, want a page_token violation", s, err)
			}
			return
		}
		if tok.ID == "" {
			t.Fatalf("decodeToken(%q) accepted a token without an id", s)
		}
		again, err := decodeToken(encodeToken(tok))
		if err != nil || again != tok {
			t.Fatalf("token %+v does not round-trip: %+v, %v", tok, again, err)
		}
	})
}
