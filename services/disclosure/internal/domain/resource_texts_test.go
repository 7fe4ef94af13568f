package domain

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"

	auditv1 "github.com/lillvet/register/proto/gen/go/lillvet/audit/v1"
	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/docid"
)

// TestScopeText: the consent service's marketing channels are named in each language;
// a recipient id by the recipient's name when the report knows it, as recorded when
// not.
func TestScopeText(t *testing.T) {
	const (
		insurer  = "0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1f3b5c"
		registry = "0190f5a4-3333-7000-8000-000000000001"
	)
	recipients := map[string]string{registry: "Evira / Ruokavirasto"}
	tests := []struct {
		lang  Language
		scope string
		want  string
	}{
		{LanguageFinnish, "email", "sähköposti"},
		{LanguageFinnish, "sms", "tekstiviesti"},
		{LanguageFinnish, "post", "posti"},
		{LanguageFinnish, "phone", "puhelin"},
		{LanguageSwedish, "email", "e-post"},
		{LanguageSwedish, "post", "post"},
		{LanguageEnglish, "email", "e-mail"},
		{LanguageEnglish, "sms", "text message"},
		{LanguageFinnish, registry, "Evira / Ruokavirasto"},
		{LanguageSwedish, registry, "Evira / Ruokavirasto"},
		{LanguageEnglish, registry, "Evira / Ruokavirasto"},
		{LanguageEnglish, insurer, insurer},
	}
	for _, tt := range tests {
		if got := ScopeText(DocumentTexts(tt.lang), tt.scope, recipients); got != tt.want {
			t.Errorf("%s: scope %q = %q, want %q", tt.lang, tt.scope, got, tt.want)
		}
	}
}

// TestResourceText: every resource the services write into audit events is named in
// the owner's words, with the purpose and channel of a consent as the consent tables
// name them, the pet by its name and an access request by the id the report's header
// shows; no other id, and nothing of a resource of another shape, is shown.
func TestResourceText(t *testing.T) {
	const (
		owner    = "6f1c8e2a-3b4d-4c5e-8f6a-7b8c9d0e1f2a"
		musti    = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
		former   = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b"
		insurer  = "0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1f3b5c"
		registry = "0190f5a4-3333-7000-8000-000000000001"
		request  = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"
		other    = "Muu tieto|Övrig uppgift|Other record"
		history  = "Hoitohistoria ja yhteydenotot|Vårdhistorik och kontakter|Treatment history and communications"
		consents = "Suostumukset ja kiellot|Samtycken och förbud|Consents and prohibitions"
	)
	pets := map[string]string{musti: "Musti"}
	recipients := map[string]string{registry: "Turvasiru"}
	tests := []struct {
		resource string
		want     string // Finnish|Swedish|English
	}{
		{"", "||"},
		{"owners/" + owner, "Omat tietosi|Dina uppgifter|Your details"},
		{"owners", "Asiakasluettelo|Kundförteckningen|The customer list"},
		{"owners (3)", "Asiakasluettelo|Kundförteckningen|The customer list"},
		{"owners/" + owner + "/patients", "Lemmikkisi|Dina husdjur|Your pets"},
		{"owners/" + owner + "/consents", consents},
		{"owners/" + owner + "/consents/direct_marketing/sms",
			"Suostumukset ja kiellot: suoramarkkinointi (tekstiviesti)|Samtycken och förbud: direktmarknadsföring (sms)|Consents and prohibitions: direct marketing (text message)"},
		{"owners/" + owner + "/consents/insurer_disclosure/" + insurer,
			"Suostumukset ja kiellot: tietojen luovutus vakuutusyhtiölle (" + insurer + ")|Samtycken och förbud: utlämnande till försäkringsbolag (" + insurer + ")|Consents and prohibitions: disclosure to insurers (" + insurer + ")"},
		{"owners/" + owner + "/consents/microchip_registry_disclosure/" + registry,
			"Suostumukset ja kiellot: tietojen luovutus mikrosirurekisteriin (Turvasiru)|Samtycken och förbud: utlämnande till mikrochipsregister (Turvasiru)|Consents and prohibitions: disclosure to microchip registries (Turvasiru)"},
		{"owners/" + owner + "/consents/care_reminders",
			"Suostumukset ja kiellot: hoitomuistutukset|Samtycken och förbud: vårdpåminnelser|Consents and prohibitions: care reminders"},
		{"owners/" + owner + "/consents/direct_marketing/<b>fax",
			"Suostumukset ja kiellot: suoramarkkinointi|Samtycken och förbud: direktmarknadsföring|Consents and prohibitions: direct marketing"},
		{"owners/" + owner + "/consents/a_later_purpose", consents},
		{"consents:filter/direct_marketing/email",
			"Suostumukset ja kiellot: suoramarkkinointi (sähköposti)|Samtycken och förbud: direktmarknadsföring (e-post)|Consents and prohibitions: direct marketing (e-mail)"},
		{"owners/" + owner + "/consentDecisions", "Päätöstesi historia|Historik över dina beslut|History of your decisions"},
		{"owners/" + owner + "/consentDecisions/d1", "Päätöstesi historia|Historik över dina beslut|History of your decisions"},
		{"owners/" + owner + "/communications", "Yhteydenpito klinikan kanssa|Kontakter med kliniken|Communication with the clinic"},
		{"owners/" + owner + "/communications/c1", "Yhteydenpito klinikan kanssa|Kontakter med kliniken|Communication with the clinic"},
		{"owners/" + owner + "/timeline", history},
		{"owners/" + owner + "/history", history},
		{"owners/" + owner + "/disclosures", "Tietojen luovutukset|Utlämnanden av uppgifter|Disclosures of your data"},
		{"owners/" + owner + "/accessRequests", "Tarkastuspyyntösi|Dina begäranden om tillgång|Your access requests"},
		{"owners/" + owner + "/erasureRequests", "Poistopyyntösi|Dina begäranden om radering|Your erasure requests"},
		{"owners/" + owner + "/accessEvents", "Kuka klinikalla on käsitellyt tietojasi|Vem vid kliniken som har behandlat dina uppgifter|Who at the clinic accessed your data"},
		{"patients/" + musti, "Lemmikin tiedot: Musti|Djurets uppgifter: Musti|Pet's details: Musti"},
		{"patients/" + former, "Lemmikin tiedot|Djurets uppgifter|Pet's details"},
		{"patients/" + musti + "/visits", "Hoito- ja käyntihistoria: Musti|Vård- och besökshistorik: Musti|Treatment and visit history: Musti"},
		{"visits/v1", "Käyntimerkintä|Besöksanteckning|Visit record"},
		{"disclosures/d1", "Tietojesi luovutus|Utlämnande av dina uppgifter|A disclosure of your data"},
		{"recipients/" + insurer, "Vastaanottaja|Mottagare|Recipient"},
		{"recipients (2)", "Vastaanottaja|Mottagare|Recipient"},
		{"accessRequests/" + request, "Tarkastuspyyntö " + request + "|Begäran om tillgång " + request + "|Access request " + request},
		{"accessRequests/not-an-id", "Tarkastuspyyntö|Begäran om tillgång|Access request"},
		{"erasureRequests/e1", "Poistopyyntö|Begäran om radering|Erasure request"},
		{"erasureRequests/e1/steps/owner.restrict", "Poistopyyntö|Begäran om radering|Erasure request"},
		{"erasureRequests/e1/steps", other},
		{"/lillvet.owner.v1.OwnerService/GetOwner", "Omat tietosi|Dina uppgifter|Your details"},
		{"/lillvet.owner.v1.OwnerService/RevealIdentityCode", "Henkilötunnus|Personbeteckning|Personal identity code"},
		{"/lillvet.history.v1.HistoryService/EraseOwnerData", history},
		{"/lillvet.owner.v1.OwnerService/GetPatient", other},
		{"owners/" + owner + "/pets", other},
		{"owners//consents", other},
		{"owners/" + owner + "/consents/direct_marketing/sms/more", other},
		{"owners/" + owner + "/patients/" + musti, other},
		{"patients/" + musti + "/visits/v1", other},
		{"visits", other},
		{"owners (many)", other},
		{"notes (2)", other},
		{"owners/010101-123N", "Omat tietosi|Dina uppgifter|Your details"},
		{"010101-123N", other},
	}
	for _, tt := range tests {
		want := strings.Split(tt.want, "|")
		for i, lang := range []Language{LanguageFinnish, LanguageSwedish, LanguageEnglish} {
			if got := ResourceText(DocumentTexts(lang), tt.resource, pets, recipients); got != want[i] {
				t.Errorf("%s: %q = %q, want %q", lang, tt.resource, got, want[i])
			}
		}
	}
}

// TestDeniedCallsNamed: a refused call whose request names an owner, which their
// report shows, names the record it asked for, whichever service's method it was.
func TestDeniedCallsNamed(t *testing.T) {
	for _, file := range []protoreflect.FileDescriptor{
		auditv1.File_lillvet_audit_v1_audit_proto, consentv1.File_lillvet_consent_v1_consent_proto,
		disclosurev1.File_lillvet_disclosure_v1_disclosure_proto, historyv1.File_lillvet_history_v1_history_proto,
		ownerv1.File_lillvet_owner_v1_owner_proto,
	} {
		for i := range file.Services().Len() {
			svc := file.Services().Get(i)
			for j := range svc.Methods().Len() {
				m := svc.Methods().Get(j)
				if m.Input().Fields().ByName("owner_id") == nil {
					continue
				}
				method := "/" + string(svc.FullName()) + "/" + string(m.Name())
				for _, lang := range Languages() {
					texts := DocumentTexts(lang)
					if got := ResourceText(texts, method, nil, nil); got == texts["resource.other"] {
						t.Errorf("%s: %s is named %q", lang, method, got)
					}
				}
			}
		}
	}
}

// FuzzResourceText: any resource is named in the report's words only: with the two
// ids the report shows (an access request's, an insurer consent's recipient when the
// report does not know it), the pet's name and the known recipient's name taken out,
// what is left is texts of the language joined by ResourceText's separators, so
// nothing of the resource (a path, an id, an identity code) is copied.
func FuzzResourceText(f *testing.F) {
	const (
		id        = "0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1f3b5c"
		known     = "0190f5a4-3333-7000-8000-000000000001"
		pet       = "Musti"
		recipient = "Turvasiru"
	)
	for _, r := range []string{
		"owners/o1", "owners/o1/consents/direct_marketing/sms", "owners/o1/consents/insurer_disclosure/" + id,
		"owners/o1/consents/microchip_registry_disclosure/" + known,
		"patients/p1", "patients/p1/visits", "/lillvet.owner.v1.OwnerService/GetOwner", "owners (3)",
		"consents:filter/care_reminders", "accessRequests/" + id, "accessRequests/010101-123N", "erasureRequests/e1/steps/owner.erase",
	} {
		f.Add(r)
	}
	languages := Languages()
	// Each language's words, and the separators ResourceText puts between them.
	words := make([][]string, len(languages))
	for i, lang := range languages {
		words[i] = []string{": ", " (", ")", " "}
		for _, text := range DocumentTexts(lang) {
			if text != "" {
				words[i] = append(words[i], text, capitalized(text))
			}
		}
	}
	f.Fuzz(func(t *testing.T, resource string) {
		for i, lang := range languages {
			texts := DocumentTexts(lang)
			got := ResourceText(texts, resource, map[string]string{"p1": pet}, map[string]string{known: recipient})
			if resource != "" && got == "" || strings.Contains(got, "/") {
				t.Fatalf("%s: %q is named %q", lang, resource, got)
			}
			rest := strings.ReplaceAll(strings.ReplaceAll(got, pet, ""), recipient, "")
			if request, ok := strings.CutPrefix(rest, capitalized(texts["doc.request"])+" "); ok && docid.Issued(request) {
				rest = strings.TrimSuffix(rest, request)
			}
			if open := strings.LastIndex(rest, " ("); open >= 0 && strings.HasSuffix(rest, ")") && docid.Issued(rest[open+2:len(rest)-1]) {
				rest = rest[:open+2] + ")"
			}
			if !joined(rest, words[i]) {
				t.Fatalf("%s: %q is named %q, not only in the report's words", lang, resource, got)
			}
		}
	})
}

// capitalized is s with its first letter upper case, as ResourceText begins.
func capitalized(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}

// joined reports whether s is words one after another.
func joined(s string, words []string) bool {
	// ends[i]: s[:i] is made of them.
	ends := make([]bool, len(s)+1)
	ends[0] = true
	for i := range len(s) {
		if !ends[i] {
			continue
		}
		for _, w := range words {
			if strings.HasPrefix(s[i:], w) {
				ends[i+len(w)] = true
			}
		}
	}
	return ends[len(s)]
}

// TestPurposeText: the purpose this service states when it gathers a report is the
// access request as the header names it, in each language; a purpose someone typed
// is shown as written.
func TestPurposeText(t *testing.T) {
	const id = "0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1f3b5c"
	tests := []struct {
		lang    Language
		purpose string
		want    string
	}{
		{LanguageFinnish, AccessRequestPurpose(id), "Tarkastuspyyntö " + id},
		{LanguageSwedish, AccessRequestPurpose(id), "Begäran om tillgång " + id},
		{LanguageEnglish, AccessRequestPurpose(id), "Access request " + id},
		{LanguageFinnish, "asiakkaan soitto 12.3.", "asiakkaan soitto 12.3."},
		{LanguageFinnish, "access request of the tax office", "access request of the tax office"},
		{LanguageFinnish, AccessRequestPurpose("12"), AccessRequestPurpose("12")},
		{LanguageSwedish, "", ""},
	}
	for _, tt := range tests {
		if got := PurposeText(DocumentTexts(tt.lang), tt.purpose); got != tt.want {
			t.Errorf("%s: %q is %q, want %q", tt.lang, tt.purpose, got, tt.want)
		}
	}
}

// FuzzPurposeText: any purpose is shown as written, but for the one this service
// states, which reads as the header names the request.
func FuzzPurposeText(f *testing.F) {
	for _, p := range []string{AccessRequestPurpose("0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1f3b5c"), "access request ", "asiakkaan soitto", ""} {
		f.Add(p)
	}
	texts := DocumentTexts(LanguageFinnish)
	f.Fuzz(func(t *testing.T, purpose string) {
		got := PurposeText(texts, purpose)
		id, stated := strings.CutPrefix(got, texts["doc.request"]+" ")
		if got != purpose && (!stated || AccessRequestPurpose(id) != purpose || !docid.Issued(id)) {
			t.Errorf("%q reads %q", purpose, got)
		}
	})
}
