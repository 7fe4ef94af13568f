package visibletext_test

import (
	"testing"

	"github.com/lillvet/register/services/platform/visibletext"
)

// TestSaysNothing: a text says something when a letter or digit of it displays.
func TestSaysNothing(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"Anna Virtanen", false},
		{"7", false},
		{" a ", false},
		{"\u200bAnna", false},
		{"", true},
		{" \t\u00a0", true},
		{"\u200b", true},
		{"\u200b\u2060\ufeff", true},
		{"\u202e", true},
		{"\u3164", true}, // Hangul filler: a letter that displays as nothing
		{"\u115f\u1160", true},
		{"-.,!", true},
		{"\u00ad", true},
	}
	for _, tt := range tests {
		if got := visibletext.SaysNothing(tt.text); got != tt.want {
			t.Errorf("SaysNothing(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

// TestShown: what a text reads as, without what displays as nothing, composed and
// trimmed.
func TestShown(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Anna Virtanen", "Anna Virtanen"},
		{"  järjestelmä \n", "järjestelmä"},
		{"jär\u200bjestelmä", "järjestelmä"},
		{"\ufeffsystem\u2060", "system"},
		{"ja\u0308rjestelma\u0308", "järjestelmä"},
		{"\u202eametsejräj", "ametsejräj"},
		{"\u3164 Anna", "Anna"},
		{"\u200b", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := visibletext.Shown(tt.text); got != tt.want {
			t.Errorf("Shown(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
