package domain

import (
	"errors"
	"testing"

	"github.com/lillvet/register/services/platform/retention"
)

func date(t *testing.T, s string) retention.Date {
	t.Helper()
	d, err := retention.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestToldDay: the day told stands while no erasure request was answered since;
// otherwise the last request's answer, which the erasure job passed on, does.
func TestToldDay(t *testing.T) {
	answered := func(days ...string) *Erasure {
		e := &Erasure{}
		for _, d := range days {
			e.Requests = append(e.Requests, ErasureRequest{Result: ErasureResult{OwnerNamedUntil: date(t, d)}})
		}
		return e
	}
	for _, tc := range []struct {
		name   string
		notice NamesNotice
		e      *Erasure
		want   string
	}{
		{"nothing told: the answer", NamesNotice{}, answered("2027-05-20"), "2027-05-20"},
		{"told since the answer", NamesNotice{Told: date(t, "2030-01-10"), ToldRequests: 1}, answered("2027-05-20"), "2030-01-10"},
		{"a request answered since", NamesNotice{Told: date(t, "2030-01-10"), ToldRequests: 1}, answered("2027-05-20", "2028-02-01"), "2028-02-01"},
		{"no request answered", NamesNotice{}, answered(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.notice.ToldDay(tc.e)
			if want := date(t, tc.want); got != want {
				t.Errorf("told day %v, want %v", got, want)
			}
		})
	}
}

// TestNamedUntil: each held visit still the owner's counts to its latest part, its
// clinical record held against the animal's last visit; a visit moved away or removed
// counts nothing.
func TestNamedUntil(t *testing.T) {
	e := &Erasure{Visits: []VisitRetention{
		{VisitID: "record", RecordUntil: date(t, "2027-05-20")},
		{VisitID: "invoice", InvoiceUntil: date(t, "2031-12-31")},
		{VisitID: "moved", RecordUntil: date(t, "2035-01-01")},
	}}
	lastVisit := map[string]string{"rex": "2030-01-10", "mia": "2026-01-01"}
	until := func(p string) (retention.Date, error) { return date(t, lastVisit[p]), nil }
	for _, tc := range []struct {
		name      string
		patientOf map[string]string
		want      string
	}{
		{"the record held to the animal's later visit", map[string]string{"record": "rex"}, "2030-01-10"},
		{"the record's own day, the animal's last visit before it", map[string]string{"record": "mia"}, "2027-05-20"},
		{"an invoice kept longer", map[string]string{"record": "rex", "invoice": "mia"}, "2031-12-31"},
		{"nothing the owner's any more", map[string]string{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.NamedUntil(tc.patientOf, until)
			if err != nil {
				t.Fatal(err)
			}
			if want := date(t, tc.want); got != want {
				t.Errorf("named until %v, want %v", got, want)
			}
		})
	}
	failing := func(string) (retention.Date, error) { return retention.Date{}, errors.New("store down") }
	if _, err := e.NamedUntil(map[string]string{"record": "rex"}, failing); err == nil {
		t.Error("a failed read of the last visit answered a day")
	}
}
