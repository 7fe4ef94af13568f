package app

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/protomap"
)

// TestReportNamesEveryEnumValue: every value the owner, history and consent services
// can record, the consent service's reasons for a consent's state, and this service's
// values of the owner's requests, is named in words in every language of the readable
// report, so that a value added to a service's enum fails here until the report can
// say it.
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
		{domain.ValueConsentReason, consentv1.Reason(0).Descriptor()},
		{domain.ValueMethod, consentv1.Method(0).Descriptor()},
		{domain.ValueChannel, disclosurev1.AccessChannel(0).Descriptor()},
		{domain.ValueIdentification, disclosurev1.IdentificationMethod(0).Descriptor()},
		{domain.ValueAccessStatus, disclosurev1.AccessRequestStatus(0).Descriptor()},
		{domain.ValueErasureState, disclosurev1.ErasureRequestState(0).Descriptor()},
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
// resource of its event in words of the report's language, under the column's heading,
// never as the path the JSON copy carries, the pet by its name escaped like every
// other value; an event without one shows an empty cell.
func TestReportShowsEachEventsResource(t *testing.T) {
	tmpl, err := parseReportTemplate()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	rep := Report{
		Patients: []PatientRecord{{ID: "p1", Name: `<b>"Musti"&`}},
		AccessLog: []AccessEvent{
			{Time: at, Service: "owner", Action: "owner.read", Resource: "owners/o1", Outcome: "success"},
			{Time: at, Service: "consent", Action: "consent.check", Resource: "owners/o1/consents/direct_marketing/sms", Outcome: "success"},
			{Time: at, Service: "owner", Action: "patient.read", Resource: "patients/p1", Outcome: "success"},
			{Time: at, Service: "history", Action: "visit.create", Outcome: "denied"},
		},
	}
	for _, tc := range []struct {
		lang  domain.Language
		cells []string
	}{
		{domain.LanguageFinnish, []string{"<th>Kohde</th>", "Omat tietosi", "Suostumukset ja kiellot: suoramarkkinointi (tekstiviesti)", "Lemmikin tiedot: &lt;b&gt;&#34;Musti&#34;&amp;"}},
		{domain.LanguageSwedish, []string{"<th>Objekt</th>", "Dina uppgifter", "Samtycken och förbud: direktmarknadsföring (sms)", "Djurets uppgifter: &lt;b&gt;&#34;Musti&#34;&amp;"}},
		{domain.LanguageEnglish, []string{"<th>Record</th>", "Your details", "Consents and prohibitions: direct marketing (text message)", "Pet&#39;s details: &lt;b&gt;&#34;Musti&#34;&amp;"}},
	} {
		t.Run(string(tc.lang), func(t *testing.T) {
			b, err := renderReport(tmpl, rep, domain.DocumentTexts(tc.lang), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			doc := string(b)
			want := []string{tc.cells[0], `<td class="resource"></td>`}
			for _, c := range tc.cells[1:] {
				want = append(want, `<td class="resource">`+c+`</td>`)
			}
			for _, w := range want {
				if !strings.Contains(doc, w) {
					t.Errorf("the document lacks %s", w)
				}
			}
			for _, raw := range []string{"owners/", "patients/", "direct_marketing", "<b>"} {
				if strings.Contains(doc, raw) {
					t.Errorf("the document shows %q", raw)
				}
			}
		})
	}
}

// TestReportNamesEachEventsActionAndPurpose: each row of the readable access log names
// its action in words of the report's language (a restriction's lift as a lift, not as
// the processing restricted; a history compiled without claiming it was for access, as a
// disclosure package compiles one too), an action newer than the texts by a generic
// word, never by the code the JSON copy carries; the purpose this service
// states when it gathers a report names the access request as the header does, and a
// purpose someone typed shows as written, escaped.
func TestReportNamesEachEventsActionAndPurpose(t *testing.T) {
	tmpl, err := parseReportTemplate()
	if err != nil {
		t.Fatal(err)
	}
	const request = "0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1f3b5c"
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	rep := Report{AccessLog: []AccessEvent{
		{Time: at, Service: "disclosure", Action: "erasure_request.step", Resource: "erasureRequests/e1/steps/owner.restrict", Outcome: "failed"},
		{Time: at, Service: "disclosure", Action: "disclosure.retention_sweep", Resource: "accessRequests/a1", Outcome: "success"},
		{Time: at, Service: "owner", Action: "owner.export", Resource: "owners/o1", Purpose: domain.AccessRequestPurpose(request), Outcome: "success"},
		{Time: at, Service: "history", Action: "history.export", Resource: "owners/o1/history", Purpose: "insurance claim 114", Outcome: "success"},
		{Time: at, Service: "owner", Action: "owner.merge", Resource: "owners/o1", Purpose: `call <b>"12.3."</b>`, Outcome: "success"},
		{Time: at, Service: "owner", Action: "owner.restriction.set", Resource: "owners/o1", Outcome: "success"},
		{Time: at, Service: "owner", Action: "owner.restriction.lift", Resource: "owners/o1", Outcome: "success"},
		{Time: at, Service: "consent", Action: "consent.restriction.lift", Resource: "owners/o1/consents", Outcome: "success"},
	}}
	for _, tc := range []struct {
		lang    domain.Language
		actions []string
		request string
	}{
		{domain.LanguageFinnish, []string{"tietojen poiston vaihe", "säilytysajan päättyneiden tietojen poisto", "tiedot koottu tarkastusta varten", "hoitohistoria koottu", "muu toiminto",
			"käsittelyn rajoitus", "käsittelyn rajoituksen poisto"}, "Tarkastuspyyntö"},
		{domain.LanguageSwedish, []string{"ett steg i raderingen", "radering efter lagringstiden", "uppgifterna sammanställda för tillgång", "vårdhistoriken sammanställd", "annan åtgärd",
			"begränsning av behandlingen", "begränsningen av behandlingen hävd"}, "Begäran om tillgång"},
		{domain.LanguageEnglish, []string{"a step of the erasure", "removal after the retention period", "data compiled for access", "treatment history compiled", "other action",
			"processing restricted", "processing restriction lifted"}, "Access request"},
	} {
		t.Run(string(tc.lang), func(t *testing.T) {
			b, err := renderReport(tmpl, rep, domain.DocumentTexts(tc.lang), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			doc := string(b)
			want := []string{"<td>" + tc.request + " " + request + "</td>", "<td>call &lt;b&gt;&#34;12.3.&#34;&lt;/b&gt;</td>", "<td>insurance claim 114</td>"}
			for _, a := range tc.actions {
				want = append(want, "<td>"+a+`</td><td class="resource">`)
			}
			for _, w := range want {
				if !strings.Contains(doc, w) {
					t.Errorf("the document lacks %s", w)
				}
			}
			if n := strings.Count(doc, "<td>"+tc.actions[len(tc.actions)-1]+`</td><td class="resource">`); n != 2 {
				t.Errorf("the document names %d lifts of the restriction, want the owner service's and the consent service's", n)
			}
			for _, raw := range []string{"erasure_request.step", "disclosure.retention_sweep", "owner.export", "owner.merge", "restriction.", "access request ", "<b>"} {
				if strings.Contains(doc, raw) {
					t.Errorf("the document shows %q", raw)
				}
			}
		})
	}
}

// TestReportNamesEachEventsActor: who acted, in the access log and in a record's
// changes, is a person or the erasure job by name with their roles in the report's
// language, and the services' own work (recorded with the system flag) the system
// alone, since the action says what ran; a token whose subject, name or roles look like
// a sweep's or the job's, or an event recorded before the flag, is shown by its name,
// and an event recorded with no subject, which no token lacks, is the system's. A
// token without a name is shown by its roles in words, or as a user whose name was not
// recorded, in the access log, the changes, the consent decisions and the visits'
// staff, authors of corrections and communications (which the history service records
// with the subject as the name when the token has none): never by its subject, an
// account's id.
func TestReportNamesEachEventsActor(t *testing.T) {
	tmpl, err := parseReportTemplate()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	// The subject of a token the identity provider gave no name.
	const nameless = "0190f5a4-3333-7000-8000-000000000003"
	event := func(service string, system bool, subject, name string, roles ...string) AccessEvent {
		return AccessEvent{
			Time: at, Service: service, ActorSystem: system, ActorSubject: subject, ActorName: name, ActorRoles: roles,
			Action: "owner.read", Outcome: "success",
		}
	}
	rep := Report{
		Owner: OwnerRecord{Changes: []Change{
			{Version: 2, Time: at, ActorSystem: true, ActorSubject: "service:owner", ActorName: "retention sweep", Fields: []string{"phone"}},
			{Version: 3, Time: at, ActorSubject: "service:disclosure-erasure", ActorName: "Erasure job", ActorRoles: []string{"erasure_job"}, Fields: []string{"restricted"}},
		}},
		AccessLog: []AccessEvent{
			event("owner", false, "u1", "Anna Virtanen", "reception"),
			event("owner", true, "service:owner", "retention sweep"),
			event("disclosure", true, "service:disclosure", "retention sweep"),
			event("history", true, "service:history", "retention sweep"),
			event("consent", false, "service:disclosure-erasure", "Erasure job", "erasure_job"),
			event("owner", false, "history-retention-sweep", "Matti Meikäläinen"),
			event("owner", false, "service:reporting", "Matti Meikäläinen"),
			event("owner", false, "u2", "Matti Meikäläinen", "erasure_job"),
			event("disclosure", false, "", ""),
			event("owner", false, nameless, "", "nurse"),
			event("history", false, nameless, ""),
		},
		Consents: ConsentLedger{Decisions: []ConsentDecision{
			{Purpose: "direct_marketing", Decision: "objected", RecordedBy: nameless, RecordTime: at},
		}},
	}
	rep.Patients = []PatientRecord{{ID: "p1", Name: "Musti", Changes: []Change{
		{Version: 2, Time: at, ActorSubject: nameless, ActorRoles: []string{"veterinarian"}, Fields: []string{"weight"}},
	}}}
	// As the history service records a nameless token: its subject as the name.
	staff := func(role string) StaffMember { return StaffMember{Subject: nameless, Name: nameless, Role: role} }
	rep.Visits = []VisitRecord{{
		Visit:      Visit{ID: "v1", PatientID: "p1", StartTime: at, Staff: []StaffMember{staff("veterinarian"), staff("")}},
		Amendments: []Amendment{{Version: 2, Time: at, Author: staff("nurse"), Reason: "typo", Fields: []string{"findings"}}},
	}}
	rep.Communications = []Communication{{ID: "c1", Channel: "phone", Time: at, Subject: "vaccination", Staff: staff("")}}
	for _, tc := range []struct {
		lang                        domain.Language
		person, system, job, forged string
		nurse, vet, unnamed         string
	}{
		{domain.LanguageFinnish, "Anna Virtanen (asiakaspalvelu)", "järjestelmä", "(tietojen poiston automaattinen ajo)", "Matti Meikäläinen",
			"eläinhoitaja", "eläinlääkäri", "käyttäjä, jonka nimeä ei ole kirjattu"},
		{domain.LanguageSwedish, "Anna Virtanen (kundtjänst)", "systemet", "(automatisk radering)", "Matti Meikäläinen",
			"djurskötare", "veterinär", "en användare vars namn inte har registrerats"},
		{domain.LanguageEnglish, "Anna Virtanen (reception)", "system", "(automatic erasure run)", "Matti Meikäläinen",
			"veterinary nurse", "veterinarian", "a user whose name was not recorded"},
	} {
		t.Run(string(tc.lang), func(t *testing.T) {
			b, err := renderReport(tmpl, rep, domain.DocumentTexts(tc.lang), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			doc := string(b)
			// The access log's rows, then the changes' (date, who, fields).
			rows := map[string]int{
				"<td>2026-03-04 10:00</td><td>" + tc.person + "</td><td>":                1,
				"<td>2026-03-04 10:00</td><td>" + tc.system + "</td><td>":                5,
				"<td>2026-03-04 10:00</td><td>Erasure job " + tc.job + "</td><td>":       2,
				"<td>2026-03-04 10:00</td><td>" + tc.forged + "</td><td>":                2,
				"<td>2026-03-04 10:00</td><td>" + tc.forged + " " + tc.job + "</td><td>": 1,
				"<td>2026-03-04 10:00</td><td>" + tc.nurse + "</td><td>":                 2,
				"<td>2026-03-04 10:00</td><td>" + tc.vet + "</td><td>weight</td>":        1,
				"<td>2026-03-04 10:00</td><td>" + tc.unnamed + "</td><td>":               1,
				"</td><td>" + tc.unnamed + "</td></tr>":                                  2,
				"<dd>" + tc.vet + "; " + tc.unnamed + "</dd>":                            1,
				"<td>2026-03-04 10:00</td><td>" + tc.nurse + "</td><td>typo</td>":        1,
			}
			for row, n := range rows {
				if got := strings.Count(doc, row); got != n {
					t.Errorf("the document has %d of %s, want %d", got, row, n)
				}
			}
			for _, raw := range []string{"()", "service:", "retention sweep", nameless} {
				if strings.Contains(doc, raw) {
					t.Errorf("the document shows %q", raw)
				}
			}
		})
	}
}

// TestReportNamesTheServicesChangeReasons: a change the owner service made by itself
// (the retention sweep's) says what it was by its reason, in the report's language, as
// do the other reasons the service writes (a registration, an erasure request with its
// id); a reason staff typed is shown as written, even one that starts like the
// service's.
func TestReportNamesTheServicesChangeReasons(t *testing.T) {
	tmpl, err := parseReportTemplate()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	const request = "0190f5a4-2222-7000-8000-000000000001"
	staff := func(version int64, reason string) Change {
		return Change{Version: version, Time: at, ActorSubject: "u1", ActorName: "Anna Virtanen", Fields: []string{"phone"}, Reason: reason}
	}
	rep := Report{
		Owner: OwnerRecord{Changes: []Change{staff(1, "registered"), staff(2, "Soitti, uusi numero"), staff(3, "erasure request pending")}},
		Patients: []PatientRecord{{ID: "p1", Name: "Musti", Changes: []Change{
			{Version: 4, Time: at, ActorSystem: true, ActorSubject: "service:owner", Fields: []string{"name"}, Reason: "retention period ended"},
			{Version: 5, Time: at, ActorSubject: "service:disclosure-erasure", ActorRoles: []string{"erasure_job"}, Fields: []string{"restricted"}, Reason: "erasure request " + request},
		}}},
	}
	for _, tc := range []struct {
		lang                      domain.Language
		system, sweep, registered string
		erasure                   string
	}{
		{domain.LanguageFinnish, "järjestelmä", "säilytysaika päättyi", "rekisteröity", "tietojen poistopyyntö"},
		{domain.LanguageSwedish, "systemet", "lagringstiden gick ut", "registrerad", "begäran om radering"},
		{domain.LanguageEnglish, "system", "retention period ended", "registered", "erasure request"},
	} {
		t.Run(string(tc.lang), func(t *testing.T) {
			b, err := renderReport(tmpl, rep, domain.DocumentTexts(tc.lang), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			doc := string(b)
			for _, row := range []string{
				"<td>" + tc.system + "</td><td>name</td><td>" + tc.sweep + "</td>",
				"<td>Anna Virtanen</td><td>phone</td><td>" + tc.registered + "</td>",
				"<td>Anna Virtanen</td><td>phone</td><td>Soitti, uusi numero</td>",
				"<td>Anna Virtanen</td><td>phone</td><td>erasure request pending</td>",
				"</td><td>restricted</td><td>" + tc.erasure + " " + request + "</td>",
			} {
				if !strings.Contains(doc, row) {
					t.Errorf("the document lacks %s", row)
				}
			}
		})
	}
}

// TestReportSaysWhyEachConsentStands: the consent state's reason column says in the
// report's language why each purpose is allowed or not, never the consent service's
// code, which the JSON copy keeps; a reason newer than the texts shows as recorded
// rather than not at all.
func TestReportSaysWhyEachConsentStands(t *testing.T) {
	tmpl, err := parseReportTemplate()
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{Consents: ConsentLedger{Current: []ConsentState{
		{Purpose: "direct_marketing", Scope: "email", Reason: "objection"},
		{Purpose: "statistical_research", Allowed: true, Reason: "default_opt_out"},
		{Purpose: "kennel_club_disclosure", Reason: "no_grant"},
		{Purpose: "cat_federation_disclosure", Reason: "a_later_reason"},
	}}}
	for _, tc := range []struct {
		lang  domain.Language
		words []string // objection, default_opt_out, no_grant
	}{
		{domain.LanguageFinnish, []string{"olet kieltänyt", "et ole kieltänyt", "voimassa olevaa suostumusta ei ole"}},
		{domain.LanguageSwedish, []string{"du har förbjudit det", "du har inte förbjudit det", "inget gällande samtycke"}},
		{domain.LanguageEnglish, []string{"you have objected", "you have not objected", "no consent in force"}},
	} {
		t.Run(string(tc.lang), func(t *testing.T) {
			b, err := renderReport(tmpl, rep, domain.DocumentTexts(tc.lang), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			doc := string(b)
			for _, w := range append(tc.words, "a_later_reason") {
				if !strings.Contains(doc, "</td><td>"+w+"</td></tr>") {
					t.Errorf("the consent state lacks the reason %q", w)
				}
			}
			for _, code := range []string{"objection", "default_opt_out", "no_grant"} {
				if strings.Contains(doc, ">"+code+"<") {
					t.Errorf("the consent state shows the code %q", code)
				}
			}
		})
	}
}
