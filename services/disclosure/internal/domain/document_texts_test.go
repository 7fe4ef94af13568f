package domain

import (
	"slices"
	"strings"
	"testing"
)

// TestDocumentTextsComplete: every language has every heading and label, and none
// shadows a report text.
func TestDocumentTextsComplete(t *testing.T) {
	keys := DocumentTextKeys()
	if len(slices.Compact(slices.Sorted(slices.Values(keys)))) != len(keys) {
		t.Fatal("duplicate document text keys")
	}
	for _, k := range keys {
		if slices.Contains(TextKeys(), k) {
			t.Errorf("%q is a report text key too", k)
		}
	}
	for _, lang := range Languages() {
		texts := documentTexts(lang)
		for _, k := range keys {
			if strings.TrimSpace(texts[k]) == "" {
				t.Errorf("%s: %q missing", lang, k)
			}
		}
		if len(texts) != len(keys) {
			t.Errorf("%s has %d texts for %d keys", lang, len(texts), len(keys))
		}
		if all := DocumentTexts(lang); len(all) != len(keys)+len(TextKeys())+len(valueTexts(lang)) {
			t.Errorf("%s: %d texts in all", lang, len(all))
		}
	}
}

// TestValueTextsComplete: every recorded value has a name in every language, and no
// value's key is a heading's or a report text's.
func TestValueTextsComplete(t *testing.T) {
	for field, values := range valueNames {
		for value, n := range values {
			for _, lang := range Languages() {
				if strings.TrimSpace(n.in(lang)) == "" {
					t.Errorf("%s: %s %q has no name", lang, field, value)
				}
			}
			key := ValueTextKey(field, value)
			if slices.Contains(TextKeys(), key) || slices.Contains(DocumentTextKeys(), key) {
				t.Errorf("%q is another text's key", key)
			}
		}
	}
	for _, r := range []RefusalReason{RefusalRecipientInactive, RefusalOutsideEEA, RefusalCategoryNotAllowed, RefusalOwnerRestricted, RefusalNoLegalBasis, RefusalNotCompleted} {
		if _, ok := valueNames[ValueRefusal][string(r)]; !ok {
			t.Errorf("refusal %s has no name", r)
		}
	}
	if got := DocumentTexts(LanguageSwedish)[ValueTextKey(ValueSpecies, "cat")]; got != "katt" {
		t.Errorf("a cat in Swedish = %q", got)
	}
}

// TestOnePetsTextsNeutral: the texts naming one pet's record, which the report also
// shows for an animal the owner has transferred to another owner (its access events,
// the data disclosed about it), do not call it the owner's pet in any language.
func TestOnePetsTextsNeutral(t *testing.T) {
	tests := []struct {
		key  string
		want string // Finnish|Swedish|English
	}{
		{"resource.patient", "Lemmikin tiedot|Djurets uppgifter|Pet's details"},
		{CategoryTextKey(CategoryPatientBasics), "Lemmikin perustiedot ja asiakasnumero|Husdjurets grunduppgifter och kundnummer|Pet's basic data and customer number"},
	}
	for _, tt := range tests {
		want := strings.Split(tt.want, "|")
		for i, lang := range []Language{LanguageFinnish, LanguageSwedish, LanguageEnglish} {
			if got := DocumentTexts(lang)[tt.key]; got != want[i] {
				t.Errorf("%s: %s = %q, want %q", lang, tt.key, got, want[i])
			}
		}
	}
}
