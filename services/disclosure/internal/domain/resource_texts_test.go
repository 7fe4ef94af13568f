package domain

import "testing"

// TestScopeText: the consent service's marketing channels are named in each language;
// an insurer's recipient id stays as recorded.
func TestScopeText(t *testing.T) {
	const insurer = "0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1f3b5c"
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
		{LanguageEnglish, insurer, insurer},
	}
	for _, tt := range tests {
		if got := ScopeText(DocumentTexts(tt.lang), tt.scope); got != tt.want {
			t.Errorf("%s: scope %q = %q, want %q", tt.lang, tt.scope, got, tt.want)
		}
	}
}
