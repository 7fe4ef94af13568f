package app

import (
	"encoding/json"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/requestdigest"
)

// requestDigests are the digests a visit or an amendment stores of what its request
// sent (the fields a retry is compared on, with requestdigest.Compare), so that a retry
// can still be told from a request id reused for something else once an erasure has
// reduced the record: the fields the retention removed are gone, and compared as
// reduced they would look the same. Without a key, records store none.
type requestDigests struct {
	key *requestdigest.Key
}

// requestKeyID is the domain whose digest names REQUEST_DIGEST_KEY in each digest. It
// never changes: the digests stored under the key name it so.
const requestKeyID = "history.request-key-id"

// newRequestDigests returns the digests keyed by key, which may be empty.
func newRequestDigests(key []byte) requestDigests {
	return requestDigests{key: requestdigest.NewHMAC(key, requestKeyID)}
}

// visit is the digest of a visit as RecordVisit stores it and as retriedVisit
// rebuilds a retry's; "" without a key.
func (d requestDigests) visit(v *domain.Visit) string {
	return d.of("history.visit", canonicalVisit(v))
}

// amendment is the digest of the correction a makes (its fields, reason, corrected
// values and the owner it names); "" without a key. One naming no owner digests as
// before amendments kept the owner.
func (d requestDigests) amendment(a *domain.Amendment) string {
	return d.of("history.amendment", struct {
		Fields    []string `json:"f,omitempty"`
		Reason    string   `json:"r,omitempty"`
		Corrected any      `json:"c"`
		Owner     string   `json:"o,omitempty"`
	}{a.Fields, a.Reason, canonicalVisit(&a.Corrected), a.Corrected.OwnerID})
}

func (d requestDigests) of(domain string, value any) string {
	// Only strings, numbers and slices of them: Marshal cannot fail.
	b, _ := json.Marshal(value)
	return d.key.Of(domain, b)
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
