package app

import (
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/changereason"
	"github.com/lillvet/register/services/platform/retention"
)

// TestReportNotesTheIdentityCodesEarlyEnd: the erasure answered the identity code kept
// to the unpaid invoice's bookkeeping end; billing then recorded its payment, and the
// owner service dropped the code ("retention period ended" of identity_code). The
// erasure request's row says the code's retention ended then, beside the day answered,
// in each language; without such a change after the request (none, or one before it,
// or of other fields), or when the change is the owner service's sweep after the day
// answered, the row gives the day answered only.
func TestReportNotesTheIdentityCodesEarlyEnd(t *testing.T) {
	tmpl, err := parseReportTemplate()
	if err != nil {
		t.Fatal(err)
	}
	helsinki, err := time.LoadLocation(retention.ClinicZone)
	if err != nil {
		t.Fatal(err)
	}
	erased := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	ended := Change{Version: 9, Time: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), ActorSubject: "service:history-name-retention",
		ActorRoles: []string{"name_retention_job"}, Fields: []string{"identity_code"}, Reason: changereason.RetentionEnded}
	before, names, swept := ended, ended, ended
	before.Time = erased.Add(-time.Hour)
	names.Fields = []string{"given_names"}
	// The owner service's sweep, the day after the kept day in Helsinki (22:30 UTC on
	// New Year's Eve), with the same reason: the retention ended on its day, not earlier.
	swept.Time, swept.ActorSubject, swept.ActorRoles = time.Date(2032, 12, 31, 22, 30, 0, 0, time.UTC), "service:owner", nil
	for _, tc := range []struct {
		name    string
		changes []Change
		noted   bool
	}{
		{"ended since", []Change{names, ended}, true},
		{"no end", nil, false},
		{"ended before the request", []Change{before}, false},
		{"other fields ended", []Change{names}, false},
		{"ended by the sweep after its day", []Change{swept}, false},
	} {
		for _, lang := range []struct {
			lang        domain.Language
			kept, noted string
		}{
			{domain.LanguageFinnish, "2032-12-31 asti", "2032-12-31 asti; säilytys päättyi jo 2026-12-03"},
			{domain.LanguageSwedish, "till och med 2032-12-31", "till och med 2032-12-31; lagringen avslutades redan 2026-12-03"},
			{domain.LanguageEnglish, "until 2032-12-31", "until 2032-12-31; retention ended earlier, on 2026-12-03"},
		} {
			t.Run(tc.name+" "+string(lang.lang), func(t *testing.T) {
				rep := Report{Owner: OwnerRecord{Changes: tc.changes}, ErasureRequests: []ReportErasureRequest{{
					ID: "e1", RecordedAt: erased, Dispositions: []ReportDisposition{
						{Service: "owner", RecordClass: "identity_code", Kept: true, LegalBasis: "basis.unpaid_invoice", KeptUntil: "2032-12-31", Count: 1},
						{Service: "owner", RecordClass: "owner_name_address", Kept: true, LegalBasis: "basis.bookkeeping", KeptUntil: "2031-12-31", Count: 1},
					},
				}}}
				noteRetentionEnded(rep.ErasureRequests, rep.Owner.Changes, helsinki)
				b, err := renderReport(tmpl, rep, domain.DocumentTexts(lang.lang), time.UTC)
				if err != nil {
					t.Fatal(err)
				}
				doc := string(b)
				want := "<td>" + lang.kept + "</td>"
				if tc.noted {
					want = "<td>" + lang.noted + "</td>"
				}
				if !strings.Contains(doc, want) {
					t.Errorf("the document lacks %s", want)
				}
				note := lang.noted[strings.Index(lang.noted, ";"):]
				if n := strings.Count(doc, note); tc.noted && n != 1 || !tc.noted && n != 0 {
					t.Errorf("the retention's end is noted %d times, want once, on the identity code's row, when it ended since", n)
				}
			})
		}
	}
}
