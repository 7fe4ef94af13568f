package domain

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/changereason"
	"github.com/lillvet/register/services/platform/retention"
)

// TestActionText: an action is named in each language; one newer than the texts is
// "other action", never its code.
func TestActionText(t *testing.T) {
	tests := []struct {
		lang   Language
		action string
		want   string
	}{
		{LanguageFinnish, "owner.read", "asiakastietojen katselu"},
		{LanguageSwedish, "erasure_request.create", "begäran om radering registrerad"},
		{LanguageEnglish, "disclosure.retention_sweep", "removal after the retention period"},
		{LanguageFinnish, "owner.merge", "muu toiminto"},
		{LanguageSwedish, "owner.merge", "annan åtgärd"},
		{LanguageEnglish, "owner.merge", "other action"},
		{LanguageEnglish, "", "other action"},
	}
	for _, tt := range tests {
		if got := ActionText(DocumentTexts(tt.lang), tt.action); got != tt.want {
			t.Errorf("%s: %q is %q, want %q", tt.lang, tt.action, got, tt.want)
		}
	}
}

// TestConsentReasonText: why a refused consent stands is said to the owner in each
// language as the owner would say it: in Swedish one refuses to give a consent
// ("vägrat ge"), not "nekat" it.
func TestConsentReasonText(t *testing.T) {
	tests := []struct {
		lang Language
		want string
	}{
		{LanguageFinnish, "olet kieltäytynyt antamasta suostumusta"},
		{LanguageSwedish, "du har vägrat ge ditt samtycke"},
		{LanguageEnglish, "you have refused your consent"},
	}
	for _, tt := range tests {
		if got := DocumentTexts(tt.lang)[ValueTextKey(ValueConsentReason, "refusal")]; got != tt.want {
			t.Errorf("%s: a refusal is %q, want %q", tt.lang, got, tt.want)
		}
	}
}

// TestEveryActionNamed: every action a service can write into its audit log has a
// name in each language. The actions are read from the services' code (writtenActions),
// so that a new action fails here until it is named. An action written in a form the
// walk cannot check fails too.
func TestEveryActionNamed(t *testing.T) {
	actions, unchecked, err := writtenActions(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range unchecked {
		t.Errorf("%s: an action the test cannot check", u)
	}
	// The walk finds the services' actions, not nothing: one of each service's.
	for _, a := range []string{"owner.read", "visit.create", "consent.check", "erasure_request.step", "rpc.denied", "audit.export"} {
		if !actions[a] {
			t.Fatalf("the walk did not find %q among %v", a, slices.Sorted(maps.Keys(actions)))
		}
	}
	for _, a := range slices.Sorted(maps.Keys(actions)) {
		for _, lang := range Languages() {
			if strings.TrimSpace(DocumentTexts(lang)[ValueTextKey(ValueAction, a)]) == "" {
				t.Errorf("%s: the action %q has no name", lang, a)
			}
		}
	}
}

// TestEveryChangeReasonNamed: every reason the owner service writes itself on a change
// (changereason, which it writes them from) is named in each language, an erasure
// request's with its id, so that no reason reaches the owner in the stored English or
// a new one passes unnamed.
func TestEveryChangeReasonNamed(t *testing.T) {
	const request = "0190f5a4-2222-7000-8000-000000000001"
	for _, lang := range Languages() {
		texts := DocumentTexts(lang)
		for _, r := range changereason.Fixed() {
			if name := texts[ValueTextKey(ValueChangeReason, r)]; strings.TrimSpace(name) == "" || ChangeReasonText(texts, r) != name {
				t.Errorf("%s: the reason %q has no name", lang, r)
			}
		}
		want := texts[ValueTextKey(ValueChangeReason, erasureRequestKey)] + " " + request
		if got := ChangeReasonText(texts, changereason.Erasure(request)); strings.TrimSpace(want) == request || got != want {
			t.Errorf("%s: an erasure request's reason reads %q, want %q", lang, got, want)
		}
	}
}

// TestEveryDispositionNamed: every record class an erasure step answers for and every
// basis it keeps records on is named in each language, so that the readable report
// says what an erasure erased and kept. The classes are the retention policy's and
// those the services' erasures write (RecordDisposition.record_class); the component
// tests check those a real erasure answers.
func TestEveryDispositionNamed(t *testing.T) {
	classes := []string{"contact_details", "owner_name_address", "patients", "communications", "consent_ledger",
		"marketing_suppression", "change_history", "disclosure_packages"}
	for _, c := range retention.RecordClasses() {
		classes = append(classes, string(c))
	}
	bases := []string{retention.BasisVeterinaryRecords, retention.BasisMedicineRecords, retention.BasisBookkeeping,
		retention.BasisUnpaidInvoice, BasisMarketingObjection}
	for _, lang := range Languages() {
		texts := DocumentTexts(lang)
		for _, c := range classes {
			if strings.TrimSpace(texts[ValueTextKey(ValueRecordClass, c)]) == "" {
				t.Errorf("%s: the record class %q has no name", lang, c)
			}
		}
		for _, b := range bases {
			if strings.TrimSpace(texts[b]) == "" {
				t.Errorf("%s: the basis %q has no text", lang, b)
			}
		}
	}
}
