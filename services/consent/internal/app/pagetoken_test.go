package app

import (
	"testing"
)

func TestPageToken(t *testing.T) {
	for _, seq := range []int64{1, 42, 1 << 40} {
		got, err := decodePageToken(encodePageToken(seq))
		if err != nil || got != seq {
			t.Errorf("round trip of %d: %d, %v", seq, got, err)
		}
	}
	if got, err := decodePageToken(""); err != nil || got != 0 {
		t.Errorf("empty token: %d, %v", got, err)
	}
	for _, bad := range []string{"x", "bm9wZQ", encodePageToken(0), encodePageToken(-3), "YmVmb3JlOg"} {
		if _, err := decodePageToken(bad); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
}

// FuzzPageToken: no token panics the decoder, and every accepted one names a positive
// sequence number that encodes back to a token the decoder reads the same.
func FuzzPageToken(f *testing.F) {
	f.Add(encodePageToken(7))
	f.Add("")
	f.Add("YmVmb3JlOi0x")
	f.Fuzz(func(t *testing.T, token string) {
		seq, err := decodePageToken(token)
		if err != nil || token == "" {
			return
		}
		if seq <= 0 {
			t.Fatalf("token %q accepted as sequence %d", token, seq)
		}
		if again, err := decodePageToken(encodePageToken(seq)); err != nil || again != seq {
			t.Fatalf("sequence %d does not round-trip: %d, %v", seq, again, err)
		}
	})
}
