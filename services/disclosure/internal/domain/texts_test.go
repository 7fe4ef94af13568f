package domain

import (
	"slices"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/retention"
)

func TestTextsComplete(t *testing.T) {
	keys := TextKeys()
	if len(slices.Compact(slices.Sorted(slices.Values(keys)))) != len(keys) {
		t.Fatal("duplicate text keys")
	}
	reference := Texts(LanguageEnglish)
	for _, lang := range Languages() {
		texts := Texts(lang)
		for _, k := range keys {
			s, ok := texts[k]
			if !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s: %q missing", lang, k)
				continue
			}
			if !slices.Equal(placeholders(s), placeholders(reference[k])) {
				t.Errorf("%s: %q has placeholders %v, English %v", lang, k, placeholders(s), placeholders(reference[k]))
			}
		}
		if len(texts) != len(keys) {
			t.Errorf("%s has %d texts for %d keys", lang, len(texts), len(keys))
		}
	}
	for lang, ombudsman := range map[Language]string{
		LanguageFinnish: "Tietosuojavaltuutetun toimisto",
		LanguageSwedish: "Dataombudsmannens byrå",
		LanguageEnglish: "Office of the Data Protection Ombudsman",
	} {
		if !strings.Contains(Texts(lang)["right.complain"], ombudsman) {
			t.Errorf("%s: the right to complain does not name %s", lang, ombudsman)
		}
	}
	if Texts("de")["report.title"] != Texts(LanguageFinnish)["report.title"] {
		t.Error("an unknown language does not fall back to Finnish")
	}
	// Every basis a decision can name has its text.
	for _, k := range Kinds() {
		if b, _, _ := LegalBasis(Recipient{Kind: k}); reference[string(b)] == "" {
			t.Errorf("basis %q of %s has no text", b, k)
		}
	}
}

func TestRetentionTexts(t *testing.T) {
	r := StatedRetention{Records: retention.DefaultPolicy(), LogYears: 7, AuditYears: 2}
	r.Records.PatientRecordsYears = 4
	got := RetentionTexts(Texts(LanguageFinnish), r)
	want := []string{
		"Potilaskertomukset säilytetään vähintään 4 vuotta eläintä koskevasta viimeisestä merkinnästä.",
		"Lääkitystiedot säilytetään 5 vuotta merkinnästä.",
		"Laskut säilytetään 6 vuotta laskutusvuoden päättymisestä.",
		"Henkilötunnus poistetaan, kun mikään maksamaton lasku ei sitä enää edellytä.",
		"Tiedot luovutuksista ja pyynnöistäsi (tietopyynnöt, poistopyynnöt) säilytetään 7 vuotta luovutuksesta tai pyynnöstä.",
		"Tiedot siitä, kuka klinikalla on käsitellyt tietojasi, säilytetään 2 vuotta.",
		"Jos olet kieltänyt suoramarkkinoinnin, kielto säilytetään ilman muita tietojasi myös tietojesi poistamisen jälkeen, jotta sinulle ei enää markkinoida.",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
	for _, lang := range Languages() {
		for _, s := range RetentionTexts(Texts(lang), r) {
			if strings.Contains(s, "{") {
				t.Errorf("%s: unfilled placeholder in %q", lang, s)
			}
		}
	}
}

func TestParseLanguage(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Language
		ok   bool
	}{
		{"", LanguageFinnish, true},
		{"fi", LanguageFinnish, true},
		{" SV ", LanguageSwedish, true},
		{"sv-FI", LanguageSwedish, true},
		{"en_GB", LanguageEnglish, true},
		{"de", LanguageFinnish, false},
		{"-sv", LanguageFinnish, false},
		{"finnish", LanguageFinnish, false},
	} {
		if got, ok := ParseLanguage(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("ParseLanguage(%q) = %s %v, want %s %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseLanguage checks that any tag gives a report language, and the ones accepted
// parse to themselves.
func FuzzParseLanguage(f *testing.F) {
	for _, s := range []string{"", "fi", "sv-FI", "EN", "\xff", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lang, ok := ParseLanguage(s)
		if !slices.Contains(Languages(), lang) {
			t.Fatalf("ParseLanguage(%q) = %q", s, lang)
		}
		if again, ok2 := ParseLanguage(string(lang)); ok && (!ok2 || again != lang) {
			t.Fatalf("%q parsed to %q, which parses to %q", s, lang, again)
		}
	})
}

// placeholders returns the {names} in s, sorted.
func placeholders(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			out = append(out, s[i:])
			break
		}
		out = append(out, s[i:i+j+1])
		s = s[i+j+1:]
	}
	slices.Sort(out)
	return out
}
