package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// maxVerified bounds the verified-token cache; a clinic has far fewer live tokens.
const maxVerified = 10_000

// maxVerifiedAge bounds how long a token is trusted without its signature being checked
// again: a token signed with a key since withdrawn from the JWKS is refused this long
// after the refresh that withdrew it, however late its own expiry.
const maxVerifiedAge = 5 * time.Minute

// verifiedCache remembers tokens whose signature and claims were already checked, until
// they expire or for maxVerifiedAge, so that a client's every call does not pay for a
// signature check.
// Tokens are keyed by their SHA-256, so the cache holds no usable token as a key.
type verifiedCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedEntry
}

type verifiedEntry struct {
	id  Identity
	exp time.Time
}

func (c *verifiedCache) get(raw string, now time.Time) (Identity, bool) {
	key := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.exp) {
		return Identity{}, false
	}
	return e.id, true
}

func (c *verifiedCache) put(raw string, id Identity, exp time.Time) {
	key := sha256.Sum256([]byte(raw))
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[[sha256.Size]byte]verifiedEntry)
	}
	if len(c.entries) >= maxVerified {
		for k, e := range c.entries {
			if !now.Before(e.exp) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxVerified {
			clear(c.entries)
		}
	}
	if latest := now.Add(maxVerifiedAge); exp.After(latest) {
		exp = latest
	}
	c.entries[key] = verifiedEntry{id: id, exp: exp}
}
