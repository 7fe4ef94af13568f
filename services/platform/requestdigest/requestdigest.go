// Package requestdigest keeps, with a record made under a client request id, a keyed
// digest of the request that made it, so that a retry can be told from the same id
// sent with another request even when the record no longer shows what was sent (it was
// rectified, or an erasure reduced it).
//
// The digest is keyed because what a request holds may be short and guessable (a name,
// an invoice number, a weight): without the key, which the database does not hold, it
// cannot be tested against guesses. Each digest names the key it was made under, so
// that after a change of key a digest made under the old one is known as not
// comparable, and the caller falls back to what else it has, rather than taken for
// another request.
package requestdigest

import (
	"crypto/hmac"
	"strings"

	"github.com/lillvet/register/services/platform/fieldcrypt"
)

// MAC keys value under domain, as fieldcrypt.Digest does: the same value under another
// domain or key gives another result, and the result holds no '.'.
type MAC func(domain string, value []byte) string

// keyIDLen is how much of the key's own digest names it in each digest: enough to tell
// keys apart, too little to matter as a digest of nothing.
const keyIDLen = 8

// Key makes the digests of requests under one key. A nil Key makes none.
type Key struct {
	mac MAC
	id  string
}

// New returns the digests that mac makes; idDomain (a domain of mac's own) names the
// key in them.
func New(mac MAC, idDomain string) *Key {
	return &Key{mac: mac, id: mac(idDomain, nil)[:keyIDLen]}
}

// NewHMAC returns the digests keyed by key with fieldcrypt.Digest, or nil when there is
// no key, and then records store none.
func NewHMAC(key []byte, idDomain string) *Key {
	if len(key) == 0 {
		return nil
	}
	return New(func(domain string, value []byte) string { return fieldcrypt.Digest(key, domain, value) }, idDomain)
}

// Of is the digest of request, a canonical encoding of what a retry is compared on,
// under domain (which keeps digests of different kinds of request apart); "" for a nil
// Key.
func (k *Key) Of(domain string, request []byte) string {
	if k == nil {
		return ""
	}
	return k.id + "." + k.mac(domain, request)
}

// Compare reports whether stored, the digest kept with a record, was made of the same
// request as sent, the digest Of makes of a request now, and whether it can tell: a
// record stored without a digest, one stored under another key (or before digests named
// their key), or a request digested without a key, cannot be compared by it.
func Compare(stored, sent string) (same, known bool) {
	storedKey, _, ok := strings.Cut(stored, ".")
	sentKey, _, sentOK := strings.Cut(sent, ".")
	if !ok || !sentOK || storedKey != sentKey {
		return false, false
	}
	return hmac.Equal([]byte(stored), []byte(sent)), true
}
