package fieldcrypt

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func key(t testing.TB, fill byte) []byte {
	t.Helper()
	return bytes.Repeat([]byte{fill}, keySize)
}

func newKeyring(t testing.TB, active string) *Keyring {
	t.Helper()
	k, err := NewKeyring(map[string][]byte{"k1": key(t, 1), "k2": key(t, 2)}, active, key(t, 9))
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := newKeyring(t, "k1")
	for _, plaintext := range [][]byte{nil, []byte("131052-308T"), bytes.Repeat([]byte("x"), 4096)} {
		s, err := k.Seal(plaintext, []byte("owners/42/identity_code"))
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if s.KID != "k1" || len(s.Nonce) != nonceSize {
			t.Errorf("Seal = kid %q, nonce %d bytes", s.KID, len(s.Nonce))
		}
		if len(plaintext) > 0 && bytes.Contains(s.Ciphertext, plaintext) {
			t.Errorf("ciphertext contains the plaintext")
		}
		got, err := k.Open(s, []byte("owners/42/identity_code"))
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Errorf("Open = %q, %v; want %q", got, err, plaintext)
		}
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	k := newKeyring(t, "k1")
	a, errA := k.Seal([]byte("same"), nil)
	b, errB := k.Seal([]byte("same"), nil)
	if errA != nil || errB != nil {
		t.Fatalf("Seal: %v, %v", errA, errB)
	}
	if bytes.Equal(a.Nonce, b.Nonce) || bytes.Equal(a.Ciphertext, b.Ciphertext) {
		t.Errorf("two seals of the same plaintext are identical")
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	k := newKeyring(t, "k1")
	aad := []byte("owners/42/identity_code")
	plaintext := []byte("131052-308T")
	s, err := k.Seal(plaintext, aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name string
		s    Sealed
		aad  []byte
		want error
	}{
		{"ciphertext first byte", Sealed{s.KID, s.Nonce, flip(s.Ciphertext, 0)}, aad, ErrAuthentication},
		{"ciphertext tag", Sealed{s.KID, s.Nonce, flip(s.Ciphertext, len(s.Ciphertext)-1)}, aad, ErrAuthentication},
		{"ciphertext truncated", Sealed{s.KID, s.Nonce, s.Ciphertext[:len(s.Ciphertext)-1]}, aad, ErrAuthentication},
		{"ciphertext empty", Sealed{s.KID, s.Nonce, nil}, aad, ErrAuthentication},
		{"nonce", Sealed{s.KID, flip(s.Nonce, 3), s.Ciphertext}, aad, ErrAuthentication},
		{"nonce short", Sealed{s.KID, s.Nonce[:8], s.Ciphertext}, aad, ErrAuthentication},
		{"nonce missing", Sealed{s.KID, nil, s.Ciphertext}, aad, ErrAuthentication},
		{"aad of another document", s, []byte("owners/43/identity_code"), ErrAuthentication},
		{"aad missing", s, nil, ErrAuthentication},
		{"other known kid", Sealed{"k2", s.Nonce, s.Ciphertext}, aad, ErrAuthentication},
		{"unknown kid", Sealed{"k3", s.Nonce, s.Ciphertext}, aad, ErrUnknownKey},
		{"zero value", Sealed{}, aad, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.Open(tt.s, tt.aad)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
			if got != nil {
				t.Errorf("Open returned plaintext %q with an error", got)
			}
			if strings.Contains(err.Error(), string(plaintext)) {
				t.Errorf("error %q contains the plaintext", err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old := newKeyring(t, "k1")
	s, err := old.Seal([]byte("secret"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if old.NeedsRotation(s) {
		t.Errorf("value sealed under the active key needs rotation")
	}

	rotated := newKeyring(t, "k2")
	if !rotated.NeedsRotation(s) {
		t.Errorf("value sealed under the old key does not need rotation")
	}
	got, err := rotated.Open(s, []byte("aad"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("Open old value after rotation = %q, %v", got, err)
	}
	resealed, err := rotated.Seal(got, []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if resealed.KID != "k2" || rotated.NeedsRotation(resealed) {
		t.Errorf("re-sealed value has kid %q", resealed.KID)
	}
	if rotated.ActiveKID() != "k2" {
		t.Errorf("ActiveKID() = %q, want k2", rotated.ActiveKID())
	}

	retired, err := NewKeyring(map[string][]byte{"k2": key(t, 2)}, "k2", key(t, 9))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retired.Open(s, []byte("aad")); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open under retired key = %v, want ErrUnknownKey", err)
	}
}

// TestParseKeyringRetiresOnlyOlderKeys: IDENTITY_KEYS lists keys oldest first, so a
// value under a key listed before the active one is re-sealed, and one under a key
// listed after it (switched to by replicas already restarted) is not sealed back.
func TestParseKeyringRetiresOnlyOlderKeys(t *testing.T) {
	b := func(fill byte) string { return base64.StdEncoding.EncodeToString(key(t, fill)) }
	spec := "2025:" + b(1) + ", 2026:" + b(2) + ", 2027:" + b(3)
	for _, tt := range []struct {
		active      string
		wantRetired []string
	}{
		{"2025", nil},
		{"2026", []string{"2025"}},
		{"2027", []string{"2025", "2026"}},
	} {
		k, err := ParseKeyring(spec, tt.active, key(t, 9))
		if err != nil {
			t.Fatalf("ParseKeyring(active %s): %v", tt.active, err)
		}
		if got := k.RetiredKIDs(); !slices.Equal(got, tt.wantRetired) {
			t.Errorf("active %s: retired %v, want %v", tt.active, got, tt.wantRetired)
		}
		for _, kid := range []string{"2025", "2026", "2027", "unknown"} {
			if got, want := k.NeedsRotation(Sealed{KID: kid}), slices.Contains(tt.wantRetired, kid); got != want {
				t.Errorf("active %s: NeedsRotation of a value under %s = %v, want %v", tt.active, kid, got, want)
			}
		}
	}
	if _, err := ParseKeyring(spec, "2028", key(t, 9)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("ParseKeyring with an active key not listed: %v, want ErrUnknownKey", err)
	}
}

func TestBlindIndex(t *testing.T) {
	k := newKeyring(t, "k1")
	a := k.BlindIndex("owner.identity_code", []byte("131052-308T"))
	if a != k.BlindIndex("owner.identity_code", []byte("131052-308T")) {
		t.Errorf("blind index is not deterministic")
	}
	if a != newKeyring(t, "k2").BlindIndex("owner.identity_code", []byte("131052-308T")) {
		t.Errorf("blind index depends on the active data key")
	}
	tests := []struct {
		name   string
		domain string
		value  string
	}{
		{"other value", "owner.identity_code", "010190-123M"},
		{"other domain", "owner.phone", "131052-308T"},
		{"boundary moved", "owner.identity_code1", "31052-308T"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k.BlindIndex(tt.domain, []byte(tt.value)) == a {
				t.Errorf("collides with the reference index")
			}
		})
	}
	other, err := NewKeyring(map[string][]byte{"k1": key(t, 1)}, "k1", key(t, 8))
	if err != nil {
		t.Fatal(err)
	}
	if other.BlindIndex("owner.identity_code", []byte("131052-308T")) == a {
		t.Errorf("blind index does not depend on the index key")
	}
	if _, err := base64.RawURLEncoding.DecodeString(a); err != nil || len(a) != 43 {
		t.Errorf("blind index %q is not unpadded base64url of 32 bytes: %v", a, err)
	}
}

func TestNewKeyringInvalid(t *testing.T) {
	secret := bytes.Repeat([]byte{'S'}, 31)
	tests := []struct {
		name     string
		keys     map[string][]byte
		active   string
		indexKey []byte
	}{
		{"no keys", nil, "k1", key(t, 9)},
		{"active missing", map[string][]byte{"k1": key(t, 1)}, "k2", key(t, 9)},
		{"short key", map[string][]byte{"k1": secret}, "k1", key(t, 9)},
		{"AES-128 key", map[string][]byte{"k1": key(t, 1)[:16]}, "k1", key(t, 9)},
		{"short index key", map[string][]byte{"k1": key(t, 1)}, "k1", secret},
		{"empty kid", map[string][]byte{"": key(t, 1)}, "", key(t, 9)},
		{"kid with colon", map[string][]byte{"k:1": key(t, 1)}, "k:1", key(t, 9)},
		{"kid too long", map[string][]byte{strings.Repeat("k", 65): key(t, 1)}, strings.Repeat("k", 65), key(t, 9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKeyring(tt.keys, tt.active, tt.indexKey)
			if err == nil {
				t.Fatalf("NewKeyring = %v, want an error", k)
			}
			if strings.Contains(err.Error(), "SSSS") {
				t.Errorf("error %q shows key material", err)
			}
		})
	}
}

func TestKeyringFormatHidesKeys(t *testing.T) {
	k, err := NewKeyring(map[string][]byte{"k1": bytes.Repeat([]byte{'S'}, keySize)}, "k1", bytes.Repeat([]byte{'I'}, 40))
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, k); strings.Contains(out, "SSSS") || strings.Contains(out, "IIII") || !strings.Contains(out, "k1") {
			t.Errorf("Sprintf(%q) = %q", verb, out)
		}
	}
}

func TestParseKeys(t *testing.T) {
	k1, k2 := make([]byte, keySize), make([]byte, keySize)
	if _, err := rand.Read(k1); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(k2); err != nil {
		t.Fatal(err)
	}
	b1, b2 := base64.StdEncoding.EncodeToString(k1), base64.StdEncoding.EncodeToString(k2)

	keys, err := ParseKeys("2026-01:" + b1 + ", 2026-07:" + b2 + " ")
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	if len(keys) != 2 || !bytes.Equal(keys["2026-01"], k1) || !bytes.Equal(keys["2026-07"], k2) {
		t.Fatalf("ParseKeys = %d keys, wrong contents", len(keys))
	}
	if _, err := NewKeyring(keys, "2026-07", k1); err != nil {
		t.Errorf("NewKeyring from parsed keys: %v", err)
	}

	invalid := []struct {
		name string
		spec string
	}{
		{"empty", ""},
		{"blank", "  "},
		{"no colon", b1},
		{"empty kid", ":" + b1},
		{"bad kid", "k 1:" + b1},
		{"duplicate kid", "k1:" + b1 + ",k1:" + b2},
		{"url base64", "k1:" + strings.NewReplacer("+", "-", "/", "_").Replace(b1) + "-_"},
		{"not base64", "k1:" + b1[:10] + "!" + b1[11:]},
		{"trailing comma", "k1:" + b1 + ","},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeys(tt.spec)
			if err == nil {
				t.Fatalf("ParseKeys succeeded")
			}
			if strings.Contains(err.Error(), b1[:12]) || strings.Contains(err.Error(), b2[:12]) {
				t.Errorf("error %q shows key material", err)
			}
		})
	}
}

func FuzzParseKeys(f *testing.F) {
	b := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, keySize))
	for _, s := range []string{"k1:" + b, "k1:" + b + ",k2:" + b, "", ":", "k1:", "k1:!!!!", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		keys, err := ParseKeys(spec)
		if err != nil {
			return
		}
		for kid := range keys {
			if checkKID(kid) != nil {
				t.Fatalf("ParseKeys accepted key id %q", kid)
			}
		}
	})
}

func FuzzOpen(f *testing.F) {
	k := newKeyring(f, "k1")
	// Fuzz workers are separate processes that rerun this setup, so the
	// genuine value must be the same in each: seal it with a fixed nonce.
	nonce := bytes.Repeat([]byte{5}, nonceSize)
	s := Sealed{KID: "k1", Nonce: nonce, Ciphertext: k.aeads["k1"].Seal(nil, nonce, []byte("131052-308T"), []byte("aad"))}
	f.Add(s.KID, s.Nonce, s.Ciphertext, []byte("aad"))
	f.Add("k2", []byte{}, []byte{}, []byte{})
	f.Add("", []byte(nil), []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, kid string, nonce, ct, aad []byte) {
		in := Sealed{KID: kid, Nonce: nonce, Ciphertext: ct}
		plaintext, err := k.Open(in, aad)
		if err != nil {
			if plaintext != nil {
				t.Fatalf("Open returned plaintext with error %v", err)
			}
			return
		}
		// Only the genuine value can authenticate.
		if kid != s.KID || !bytes.Equal(nonce, s.Nonce) || !bytes.Equal(ct, s.Ciphertext) || !bytes.Equal(aad, []byte("aad")) {
			t.Fatalf("Open accepted a forged value")
		}
	})
}
