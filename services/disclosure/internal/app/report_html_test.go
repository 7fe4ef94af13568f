package app

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/protomap"
)

// TestReportNamesEveryEnumValue: every value the owner, history and consent services
// can record is named in words in every language of the readable report, so that a
// value added to a service's enum fails here until the report can say it.
func TestReportNamesEveryEnumValue(t *testing.T) {
	enums := []struct {
		field string
		enum  protoreflect.EnumDescriptor
	}{
		{domain.ValueLanguage, ownerv1.Language(0).Descriptor()},
		{domain.ValueClinic, ownerv1.Clinic(0).Descriptor()},
		{domain.ValueClinic, historyv1.Clinic(0).Descriptor()},
		{domain.ValueSpecies, ownerv1.Species(0).Descriptor()},
		{domain.ValueSex, ownerv1.Sex(0).Descriptor()},
		{domain.ValueRoute, historyv1.Route(0).Descriptor()},
		{domain.ValueInvoiceState, historyv1.InvoiceState(0).Descriptor()},
		{domain.ValueChannel, historyv1.Channel(0).Descriptor()},
		{domain.ValueDirection, historyv1.Direction(0).Descriptor()},
		{domain.ValuePurpose, consentv1.Purpose(0).Descriptor()},
		{domain.ValueDecision, consentv1.Decision(0).Descriptor()},
		{domain.ValueMethod, consentv1.Method(0).Descriptor()},
	}
	for _, lang := range domain.Languages() {
		texts := domain.DocumentTexts(lang)
		for _, e := range enums {
			// The adapters name a value as protomap.EnumName does, dropping the
			// enum's prefix (LANGUAGE_FI → fi).
			prefix := string(e.enum.Values().ByNumber(0).Name())
			prefix = strings.TrimSuffix(prefix, "UNSPECIFIED")
			values := e.enum.Values()
			for i := range values.Len() {
				word := protomap.EnumName(string(values.Get(i).Name()), prefix)
				if word == "" {
					continue
				}
				if texts[domain.ValueTextKey(e.field, word)] == "" {
					t.Errorf("%s: %s %q has no name", lang, e.field, word)
				}
			}
		}
	}
}

// TestReportShowsEachEventsResource: each row of the readable access log names the
// resource of its event, as the JSON copy does, under the column's heading in the
// report's language and escaped like every other value; an event without one shows an
// empty cell.
func TestReportShowsEachEventsResource(t *testing.T) {
	tmpl, err := parseReportTemplate()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	rep := Report{AccessLog: []AccessEvent{
		{Time: at, Service: "owner", Action: "owner.read", Resource: "owners/o1", Outcome: "success"},
		{Time: at, Service: "consent", Action: "consent.check", Resource: `owners/o1/consents/direct_marketing/<b>"sms"&`, Outcome: "success"},
		{Time: at, Service: "history", Action: "visit.create", Outcome: "denied"},
	}}
	for _, tc := range []struct {
		lang    domain.Language
		heading string
	}{
		{domain.LanguageFinnish, "<th>Kohde</th>"},
		{domain.LanguageSwedish, "<th>Objekt</th>"},
		{domain.LanguageEnglish, "<th>Record</th>"},
	} {
		t.Run(string(tc.lang), func(t *testing.T) {
			b, err := renderReport(tmpl, rep, domain.DocumentTexts(tc.lang), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			doc := string(b)
			for _, want := range []string{
				tc.heading,
				`<td class="resource">owners/o1</td>`,
				`<td class="resource">owners/o1/consents/direct_marketing/&lt;b&gt;&#34;sms&#34;&amp;</td>`,
				`<td class="resource"></td>`,
			} {
				if !strings.Contains(doc, want) {
					t.Errorf("the document lacks %s", want)
				}
			}
			if strings.Contains(doc, "<b>") {
				t.Error("a resource is not escaped")
			}
		})
	}
}
