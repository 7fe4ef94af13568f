package mongo

import (
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 123_000_000, time.UTC)
	for _, p := range []position{
		{Time: at, Kind: kindVisit, ID: "v1"},
		{Time: at, Kind: kindCommunication, ID: "c1"},
	} {
		got, err := decodeToken(encodeToken(p))
		if err != nil || !got.Time.Equal(p.Time) || got.Kind != p.Kind || got.ID != p.ID {
			t.Errorf("round trip of %+v gave %+v, %v", p, got, err)
		}
	}
	for _, bad := range []string{"x", "e30", "eyJpIjoiYSIsImsiOjd9"} {
		if _, err := decodeToken(bad); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
}

// FuzzDecodeToken: any string is either a valid position or a page_token violation.
func FuzzDecodeToken(f *testing.F) {
	f.Add(encodeToken(position{Time: time.Unix(0, 0), ID: "a"}))
	f.Add("")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := decodeToken(s)
		if err != nil || s == "" {
			return
		}
		if p.ID == "" {
			t.Fatalf("token %q decoded to a position without id", s)
		}
		if _, err := decodeToken(encodeToken(p)); err != nil {
			t.Fatalf("re-encoded token refused: %v", err)
		}
	})
}
