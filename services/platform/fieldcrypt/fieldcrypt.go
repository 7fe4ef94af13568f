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
	"slices"
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

// Keyring holds the data keys by id, the id new data is sealed under, the ids of
// the keys the active one replaced, and the blind-index key. It is safe for
// concurrent use.
type Keyring struct {
	aeads    map[string]cipher.AEAD
	active   string
	retired  map[string]bool
	indexKey []byte
}

// NewKeyring checks and takes copies of the keys: each data key must be 32
// bytes, activeKID must be one of them, and indexKey at least 32 bytes. Error
// messages name key ids, never key material. The keys come without an order, so
// every key but the active one counts as retired; ParseKeyring reads which are.
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
	retired := make(map[string]bool, len(keys))
	for kid := range keys {
		retired[kid] = kid != activeKID
	}
	return &Keyring{aeads: aeads, active: activeKID, retired: retired, indexKey: append([]byte(nil), indexKey...)}, nil
}

// ParseKeyring builds a keyring from keys written as ParseKeys reads them, oldest
// first: the keys listed before the active one are retired, and those listed
// after it are newer keys not active yet. During a rolling switch of the active
// key, a replica still configured with the old one then leaves data the new
// replicas sealed under the new key as it is, instead of sealing it back.
func ParseKeyring(spec, activeKID string, indexKey []byte) (*Keyring, error) {
	keys, order, err := parseKeys(spec)
	if err != nil {
		return nil, err
	}
	k, err := NewKeyring(keys, activeKID, indexKey)
	if err != nil {
		return nil, err
	}
	newer := false
	for _, kid := range order {
		newer = newer || kid == activeKID
		k.retired[kid] = !newer
	}
	return k, nil
}

// ParseKeys reads keys written as "kid1:base64,kid2:base64" (standard base64,
// white space around entries ignored), the form they take in an environment
// variable or secret. Lengths are checked by NewKeyring.
func ParseKeys(spec string) (map[string][]byte, error) {
	keys, _, err := parseKeys(spec)
	return keys, err
}

// parseKeys is ParseKeys, also returning the key ids in the order spec lists them.
func parseKeys(spec string) (map[string][]byte, []string, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil, errors.New("parse keys: no keys given")
	}
	keys := map[string][]byte{}
	var order []string
	for i, entry := range strings.Split(spec, ",") {
		kid, encoded, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, nil, fmt.Errorf("parse keys: entry %d: want kid:base64", i+1)
		}
		if err := checkKID(kid); err != nil {
			return nil, nil, fmt.Errorf("parse keys: entry %d: %w", i+1, err)
		}
		if _, dup := keys[kid]; dup {
			return nil, nil, fmt.Errorf("parse keys: key %q given twice", kid)
		}
		// The decoder's error is not wrapped: it reports offsets into the key.
		key, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			return nil, nil, fmt.Errorf("parse keys: key %q is not valid standard base64", kid)
		}
		keys[kid] = key
		order = append(order, kid)
	}
	return keys, order, nil
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

// NeedsRotation reports whether s was sealed under a retired key and should be
// re-sealed under the active one. A value under a newer key is left alone: the
// replicas already configured with it have moved the value there.
func (k *Keyring) NeedsRotation(s Sealed) bool {
	return k.retired[s.KID]
}

// RetiredKIDs returns the ids of the retired keys, sorted.
func (k *Keyring) RetiredKIDs() []string {
	var kids []string
	for kid, retired := range k.retired {
		if retired {
			kids = append(kids, kid)
		}
	}
	slices.Sort(kids)
	return kids
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
