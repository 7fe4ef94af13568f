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
		if all := DocumentTexts(lang); len(all) != len(keys)+len(TextKeys()) {
			t.Errorf("%s: %d texts in all", lang, len(all))
		}
	}
}
