package requestdigest

import (
	"bytes"
	"testing"

	"github.com/lillvet/register/services/platform/fieldcrypt"
)

func TestCompare(t *testing.T) {
	key := NewHMAC(bytes.Repeat([]byte{1}, 32), "test.key-id")
	other := NewHMAC(bytes.Repeat([]byte{2}, 32), "test.key-id")
	// Made before digests named their key: the bare MAC.
	bare := fieldcrypt.Digest(bytes.Repeat([]byte{1}, 32), "test.request", []byte("a"))
	var none *Key
	tests := []struct {
		name         string
		stored, sent string
		same, known  bool
	}{
		{name: "the same request", stored: key.Of("test.request", []byte("a")), sent: key.Of("test.request", []byte("a")), same: true, known: true},
		{name: "another request", stored: key.Of("test.request", []byte("a")), sent: key.Of("test.request", []byte("b")), known: true},
		{name: "another domain", stored: key.Of("test.request", []byte("a")), sent: key.Of("test.other", []byte("a")), known: true},
		{name: "none stored", sent: key.Of("test.request", []byte("a"))},
		{name: "stored under another key", stored: other.Of("test.request", []byte("a")), sent: key.Of("test.request", []byte("a"))},
		{name: "stored before digests named their key", stored: bare, sent: key.Of("test.request", []byte("a"))},
		{name: "sent without a key", stored: key.Of("test.request", []byte("a")), sent: none.Of("test.request", []byte("a"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if same, known := Compare(tt.stored, tt.sent); same != tt.same || known != tt.known {
				t.Errorf("Compare = %v, %v; want %v, %v", same, known, tt.same, tt.known)
			}
		})
	}
	if NewHMAC(nil, "test.key-id") != nil {
		t.Error("digests without a key")
	}
}

// TestNewNamesTheKeyAsTheMACDoes: New over a MAC (a keyring's blind index) names the key
// as NewHMAC does over the same key, so the two make the same digests.
func TestNewNamesTheKeyAsTheMACDoes(t *testing.T) {
	raw := bytes.Repeat([]byte{3}, 32)
	ring, err := fieldcrypt.NewKeyring(map[string][]byte{"k1": bytes.Repeat([]byte{4}, 32)}, "k1", raw)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := New(ring.BlindIndex, "test.key-id").Of("test.request", []byte("a")), NewHMAC(raw, "test.key-id").Of("test.request", []byte("a")); a != b {
		t.Errorf("over the blind index %q, over its key %q", a, b)
	}
}
