package app

import (
	"crypto/hmac"
	"encoding/json"
	"strings"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/fieldcrypt"
)

// requestDigests key the digests a visit or an amendment stores of what its request
// sent (the fields a retry is compared on), so that a retry can still be told from a
// request id reused for something else once an erasure has reduced the record: the
// fields the retention removed are gone, and compared as reduced they would look the
// same. The digest is keyed because what was removed may be short and guessable (an
// invoice number, a weight): without the key, which the database does not hold, it
// cannot be tested against guesses.
type requestDigests struct {
	key []byte
	// id names the key in each digest, so that one made under another key is known
	// as not comparable rather than taken for a difference.
	id string
}

// newRequestDigests returns the digests keyed by key; nil when there is no key, and
// then records store none.
func newRequestDigests(key []byte) *requestDigests {
	if len(key) == 0 {
		return nil
	}
	return &requestDigests{key: key, id: fieldcrypt.Digest(key, "history.request-key-id", nil)[:8]}
}

// visit is the digest of a visit as RecordVisit stores it and as retriedVisit
// rebuilds a retry's; "" without a key.
func (d *requestDigests) visit(v *domain.Visit) string {
	return d.of("history.visit", canonicalVisit(v))
}

// amendment is the digest of the correction a makes (its fields, reason and corrected
// values); "" without a key.
func (d *requestDigests) amendment(a *domain.Amendment) string {
	return d.of("history.amendment", struct {
		Fields    []string `json:"f,omitempty"`
		Reason    string   `json:"r,omitempty"`
		Corrected any      `json:"c"`
	}{a.Fields, a.Reason, canonicalVisit(&a.Corrected)})
}

func (d *requestDigests) of(domain string, value any) string {
	if d == nil {
		return ""
	}
	// Only strings, numbers and slices of them: Marshal cannot fail.
	b, _ := json.Marshal(value)
	return d.id + "." + fieldcrypt.Digest(d.key, domain, b)
}

// match reports whether digest was made under this key from the same fields as sent,
// and whether it could tell: a record stored without a digest, or under another key,
// cannot be compared by it.
func (d *requestDigests) match(stored, sent string) (same, known bool) {
	if d == nil || stored == "" || !strings.HasPrefix(stored, d.id+".") {
		return false, false
	}
	return hmac.Equal([]byte(stored), []byte(sent)), true
}

// canonicalVisit is what domain.SameVisit compares of v, in a form whose encoding is
// the same exactly when SameVisit says so (nil and empty lists alike, times as
// instants).
func canonicalVisit(v *domain.Visit) any {
	var start int64
	if !v.StartTime.IsZero() {
		start = v.StartTime.UnixNano()
	}
	return struct {
		Clinic      domain.Clinic       `json:"c,omitempty"`
		StartTime   int64               `json:"t,omitempty"`
		Staff       []domain.Staff      `json:"s,omitempty"`
		Reason      string              `json:"r,omitempty"`
		Anamnesis   string              `json:"a,omitempty"`
		Findings    string              `json:"f,omitempty"`
		Diagnoses   []domain.Diagnosis  `json:"d,omitempty"`
		Procedures  []domain.Procedure  `json:"p,omitempty"`
		Medications []domain.Medication `json:"m,omitempty"`
		WeightGrams int64               `json:"w,omitempty"`
		FollowUp    string              `json:"u,omitempty"`
		Invoices    []domain.Invoice    `json:"i,omitempty"`
	}{
		v.Clinic, start, v.Staff, v.Reason, v.Anamnesis, v.Findings, v.Diagnoses, v.Procedures,
		v.Medications, v.WeightGrams, v.FollowUp, v.Invoices,
	}
}
