// Package fieldcrypt encrypts single fields of stored documents with AES-256-GCM
// under named keys, so that keys can rotate while old data stays readable, and
// derives blind indexes (keyed hashes) for exact-match search and uniqueness
// without storing the plaintext.
//
// Nonces are random, so one key should seal well under 2^32 values (NIST SP
// 800-38D); rotating the active key resets the count.
//
// The index key cannot rotate the same way: a new index key changes every
// blind index, so changing it means recomputing them all.
package fieldcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

const (
	keySize      = 32 // AES-256
	minIndexKey  = 32
	nonceSize    = 12 // the GCM standard nonce
	maxKIDLength = 64
)

var (
	// ErrUnknownKey means a sealed value names a key id the keyring lacks.
	ErrUnknownKey = errors.New("unknown key id")
	// ErrAuthentication means a sealed value was altered, or opened with the
	// wrong key or associated data.
	ErrAuthentication = errors.New("message authentication failed")
)

// Sealed is an encrypted field as stored.
type Sealed struct {
	KID        string `bson:"kid"`
	Nonce      []byte `bson:"nonce"`
	Ciphertext []byte `bson:"ct"`
}

// Keyring holds the data keys by id, the id new data is sealed under, and the
// blind-index key. It is safe for concurrent use.
type Keyring struct {
	aeads    map[string]cipher.AEAD
	active   string
	indexKey []byte
}

// NewKeyring checks and takes copies of the keys: each data key must be 32
// bytes, activeKID must be one of them, and indexKey at least 32 bytes. Error
// messages name key ids, never key material.
func NewKeyring(keys map[string][]byte, activeKID string, indexKey []byte) (*Keyring, error) {
	if _, ok := keys[activeKID]; !ok {
		return nil, fmt.Errorf("new keyring: active key %q: %w", activeKID, ErrUnknownKey)
	}
	if len(indexKey) < minIndexKey {
		return nil, fmt.Errorf("new keyring: index key has %d bytes, want at least %d", len(indexKey), minIndexKey)
	}
	aeads := make(map[string]cipher.AEAD, len(keys))
	for kid, key := range keys {
		if err := checkKID(kid); err != nil {
			return nil, fmt.Errorf("new keyring: %w", err)
		}
		if len(key) != keySize {
			return nil, fmt.Errorf("new keyring: key %q has %d bytes, want %d", kid, len(key), keySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("new keyring: key %q: %w", kid, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("new keyring: key %q: %w", kid, err)
		}
		aeads[kid] = aead
	}
	return &Keyring{aeads: aeads, active: activeKID, indexKey: append([]byte(nil), indexKey...)}, nil
}

// ParseKeys reads keys written as "kid1:base64,kid2:base64" (standard base64,
// white space around entries ignored), the form they take in an environment
// variable or secret. Lengths are checked by NewKeyring.
func ParseKeys(spec string) (map[string][]byte, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("parse keys: no keys given")
	}
	keys := map[string][]byte{}
	for i, entry := range strings.Split(spec, ",") {
		kid, encoded, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, fmt.Errorf("parse keys: entry %d: want kid:base64", i+1)
		}
		if err := checkKID(kid); err != nil {
			return nil, fmt.Errorf("parse keys: entry %d: %w", i+1, err)
		}
		if _, dup := keys[kid]; dup {
			return nil, fmt.Errorf("parse keys: key %q given twice", kid)
		}
		// The decoder's error is not wrapped: it reports offsets into the key.
		key, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			return nil, fmt.Errorf("parse keys: key %q is not valid standard base64", kid)
		}
		keys[kid] = key
	}
	return keys, nil
}

// ActiveKID returns the id new data is sealed under.
func (k *Keyring) ActiveKID() string {
	return k.active
}

// Seal encrypts plaintext under the active key with a fresh random nonce. The
// aad binds the ciphertext to its context (say, collection, field and document
// id) so it cannot be copied into another document; Open needs the same aad.
func (k *Keyring) Seal(plaintext, aad []byte) (Sealed, error) {
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("seal: read nonce: %w", err)
	}
	return Sealed{
		KID:        k.active,
		Nonce:      nonce,
		Ciphertext: k.aeads[k.active].Seal(nil, nonce, plaintext, aad),
	}, nil
}

// Open decrypts s under whichever known key sealed it.
func (k *Keyring) Open(s Sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[s.KID]
	if !ok {
		return nil, fmt.Errorf("open sealed value under key %q: %w", s.KID, ErrUnknownKey)
	}
	// cipher.AEAD.Open panics on a nonce of the wrong size.
	if len(s.Nonce) != nonceSize {
		return nil, fmt.Errorf("open sealed value under key %q: nonce has %d bytes: %w", s.KID, len(s.Nonce), ErrAuthentication)
	}
	plaintext, err := aead.Open(nil, s.Nonce, s.Ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("open sealed value under key %q: %w", s.KID, ErrAuthentication)
	}
	return plaintext, nil
}

// NeedsRotation reports whether s was sealed under a key other than the
// active one and should be re-sealed.
func (k *Keyring) NeedsRotation(s Sealed) bool {
	return s.KID != k.active
}

// BlindIndex returns HMAC-SHA256(indexKey, domain || 0x00 || value) in
// unpadded base64url. The domain (say "owner.identity_code") keeps equal
// values of different fields from sharing an index; it must not contain a
// NUL byte, which separates it from the value.
func (k *Keyring) BlindIndex(domain string, value []byte) string {
	return Digest(k.indexKey, domain, value)
}

// Digest returns HMAC-SHA256(key, domain || 0x00 || value) in unpadded base64url:
// a keyed hash that cannot be tested against guesses of value without the key. The
// domain keeps equal values of different uses apart; it must not contain a NUL byte.
func Digest(key []byte, domain string, value []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(domain))
	mac.Write([]byte{0})
	mac.Write(value)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Format keeps key material out of any %v of a keyring.
func (k *Keyring) Format(f fmt.State, _ rune) {
	// fmt.Formatter has no way to report a write error to the caller.
	_, _ = fmt.Fprintf(f, "fieldcrypt.Keyring{active: %q, keys: %d}", k.active, len(k.aeads))
}

// checkKID keeps key ids to characters that survive the ParseKeys format, an
// environment variable and a stored document unchanged.
func checkKID(kid string) error {
	if kid == "" || len(kid) > maxKIDLength {
		return fmt.Errorf("key id must have 1 to %d characters", maxKIDLength)
	}
	for _, r := range kid {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_' && r != '.' {
			return errors.New("key id may contain only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}
