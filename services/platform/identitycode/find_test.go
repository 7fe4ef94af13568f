package identitycode

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFind(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// want is the code Find should report, "" for none.
		want string
	}{
		{"the code alone", "131052-308T", "131052-308T"},
		{"in a sentence", "asiakas 131052-308T soitti", "131052-308T"},
		{"after a colon", "hetu:131052-308T.", "131052-308T"},
		{"in brackets", "(010190Y123M)", "010190Y123M"},
		{"lower case", "owner said 010190a123m today", "010190a123m"},
		{"lower-case century sign of the 1900s", "010190y123m", "010190y123m"},
		{"new century sign", "290200A1239", "290200A1239"},
		{"1800s", "born 280296+002H", "280296+002H"},
		{"temporary number", "010150-900C", "010150-900C"},
		{"en dash for the hyphen", "131052\u2013308T", "131052\u2013308T"},
		{"minus sign for the hyphen", "131052\u2212308T", "131052\u2212308T"},
		{"after non-ASCII text", "hänen hetunsa: 131052-308T", "131052-308T"},
		{"second candidate is the code", "010190-123N 131052-308T", "131052-308T"},
		{"after a newline", "note\n131052-308T\n", "131052-308T"},
		{"after an underscore", "ref_131052-308T", "131052-308T"},
		{"zero-width space inside", "asiakas 131052\u200b-308T soitti", "131052\u200b-308T"},
		{"soft hyphen before the hyphen", "asiakas 131052\u00ad-308T soitti", "131052\u00ad-308T"},
		{"soft hyphen for the hyphen", "131052\u00ad308T", "131052\u00ad308T"},
		{"word joiner after the hyphen", "131052-\u2060308T", "131052-\u2060308T"},
		{"byte order mark before", "\ufeff131052-308T", "131052-308T"},
		{"zero-width space after", "131052-308T\u200bsoitti", "131052-308T"},
		{"zero-width space before", "hetu\u200b131052-308T", "131052-308T"},
		{"soft hyphens between digits", "13\u00ad10\u00ad52-308T", "13\u00ad10\u00ad52-308T"},
		{"full-width", "hetu １３１０５２-３０８Ｔ", "１３１０５２-３０８Ｔ"},
		{"full-width plus", "280296\uff0b002H", "280296\uff0b002H"},
		{"full-width lower case", "０１０１９０ｙ１２３ｍ", "０１０１９０ｙ１２３ｍ"},
		{"small em dash", "131052\ufe58308T", "131052\ufe58308T"},
		{"two-em dash", "131052\u2e3a308T", "131052\u2e3a308T"},
		{"Armenian hyphen", "131052\u058a308T", "131052\u058a308T"},
		{"a date and time shaped like a code", "010124-0730", "010124-0730"},
		{"combining grapheme joiner inside", "hetu 131052\u034f-308T", "131052\u034f-308T"},
		{"variation selector inside", "hetu 131052-308\ufe0fT", "131052-308\ufe0fT"},
		{"Hangul filler inside", "hetu 131052\u3164-308T", "131052\u3164-308T"},
		{"halfwidth Hangul filler inside", "131052-\uffa0308T", "131052-\uffa0308T"},
		{"variation selector from the supplement inside", "131052-3\U000E010008T", "131052-3\U000E010008T"},
		{"emoji keycap digits", "1\ufe0f\u20e33\ufe0f\u20e31\ufe0f\u20e30\ufe0f\u20e35\ufe0f\u20e32\ufe0f\u20e3-3\ufe0f\u20e30\ufe0f\u20e38\ufe0f\u20e3T",
			"1\ufe0f\u20e33\ufe0f\u20e31\ufe0f\u20e30\ufe0f\u20e35\ufe0f\u20e32\ufe0f\u20e3-3\ufe0f\u20e30\ufe0f\u20e38\ufe0f\u20e3T"},
		{"accent on the check character", "131052-308T\u0301 soitti", "131052-308T\u0301"},

		{"empty", "", ""},
		{"ordinary reason", "moved to Tampere, new address confirmed by phone", ""},
		{"wrong check character", "131052-308U", ""},
		{"date does not exist", "310290-123M", ""},
		{"individual number 001", "010100A001F", ""},
		{"unknown century sign", "131052G308T", ""},
		{"letter before", "x131052-308T", ""},
		{"digit before", "1131052-308T", ""},
		{"letter after", "131052-308Tx", ""},
		{"digit after", "131052-308T1", ""},
		{"non-ASCII letter after", "131052-308Tä", ""},
		{"non-ASCII letter before", "ä131052-308T", ""},
		{"two codes run together", "131052-308T131052-308T", ""},
		{"space inside", "131052 308T", ""},
		{"too short", "131052-308", ""},
		{"invoice number", "2024-000123", ""},
		{"business id", "2923530-5", ""},
		{"UUID", "3f2a1c52-0d1e-4b7a-9c1d-131052308000", ""},
		{"phone number", "+358 40 1234567", ""},
		{"date and time", "13.10.1952 klo 12:30", ""},
		{"other dash as sign", "131052/308T", ""},
		{"invalid UTF-8 sign", "131052\xff308T", ""},
		{"soft hyphen and a sign", "131052\u00adG308T", ""},
		{"soft hyphen where no sign belongs", "13105\u00ad2308T", ""},
		{"decomposed letter before", "a\u0308131052-308T", ""},
		{"combining mark after a dash", "131052-\u0301308T", ""},
		{"stray bytes that would join into a letter", "\xc3\u200b\xa4131052-308T", "131052-308T"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, ok := Find(tt.in)
			got := ""
			if ok {
				got = tt.in[start:end]
			}
			if got != tt.want {
				t.Errorf("Find(%q) found %q, want %q", tt.in, got, tt.want)
			}
			if Contains(tt.in) != (tt.want != "") {
				t.Errorf("Contains(%q) = %v, want %v", tt.in, Contains(tt.in), tt.want != "")
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"no code here", "no code here"},
		{"131052-308T", Redacted},
		{"owner 131052-308T asked, spouse 010190Y123M too",
			"owner " + Redacted + " asked, spouse " + Redacted + " too"},
		{"x131052-308T stays: not a code on its own", "x131052-308T stays: not a code on its own"},
		{"131052\u2013308T.", Redacted + "."},
		{"asiakas 131052\u00ad-308T soitti", "asiakas " + Redacted + " soitti"},
		{"\u200b１３１０５２\u200b-３０８Ｔ\u200b", "\u200b" + Redacted + "\u200b"},
		{"ä 131052\u058a308T, 010190y123m", "ä " + Redacted + ", " + Redacted},
		{"hetu 131052-308\ufe0fT\ufe0f.", "hetu " + Redacted + "\ufe0f."},
		{"keycap 1\ufe0f\u20e33\ufe0f\u20e31\ufe0f\u20e30\ufe0f\u20e35\ufe0f\u20e32\ufe0f\u20e3-308T\u20e3!", "keycap " + Redacted + "!"},
		{"perhe 👨\u200d👩\u200d👧 ja 1\ufe0f\u20e3 koiran\u00adruoka", "perhe 👨\u200d👩\u200d👧 ja 1\ufe0f\u20e3 koiran\u00adruoka"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// fuzzSeeds start the fuzz targets: codes in text, next to words, in each form the
// fold sees through, and broken UTF-8 around them.
var fuzzSeeds = []string{
	"", "131052-308T", "asiakas 131052-308T soitti", "x131052-308T", "131052-308T1",
	"131052\u2013308T", "131052-308T131052-308T", "010190a123m", "\xff131052-308T\xff",
	"1310521310-308T", "131052-308T 010190Y123M", "131052\u00ad308T", "１３１０５２\u200b-３０８Ｔ",
	"280296\uff0b002H", "⒑⒑⒑131052\ufe58308T⒑", "\xc3\u200b\xa4131052-308T", "ä 131052\u058a308T, 010190y123m",
	"hetu 131052\u034f-308T", "131052-308\ufe0fT\u20e3", "131052\u3164-308T", "1\ufe0f\u20e331052-308T",
	"a\u0308131052-308T", "131052-308T\u0301x",
}

func FuzzFind(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "131052-308T")
	}
	f.Fuzz(func(t *testing.T, text, code string) {
		start, end, ok := Find(text)
		if ok {
			if start < 0 || end > len(text) || start >= end {
				t.Fatalf("Find(%q) = %d, %d", text, start, end)
			}
			if !exactlyOne(text[start:end]) {
				t.Fatalf("Find(%q) reported %q, which is no code", text, text[start:end])
			}
		}
		redacted := Redact(text)
		if (redacted != text) != ok {
			t.Fatalf("Redact(%q) = %q, though Find reported %v", text, redacted, ok)
		}
		if Contains(redacted) {
			t.Fatalf("Redact(%q) = %q still holds a code", text, redacted)
		}
		// Any code Parse accepts is found wherever it stands on its own.
		if c, err := Parse(code, true); err == nil {
			for _, s := range []string{c.String(), text + " " + c.String(), c.String() + "\n" + text, strings.ToLower(c.String())} {
				if !Contains(s) {
					t.Fatalf("Contains(%q) = false", s)
				}
			}
		}
	})
}

func TestContainsLettered(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"131052-308T", true},
		{"131052A308T", true},
		{"010124A0730", true},
		{"010124y0730", true},
		{"2026/131052-308T", true},
		{"010124-0730 131052-308T", true},
		{"131052\u00ad308T", true},
		{"010124-0730", false},
		{"010124\u00ad0730", false},
		{"2026/010124-0730", false},
		{"131052-308U", false},
		{"2026-118", false},
		{"", false},
	}
	for _, tt := range tests {
		if !Contains(tt.in) && tt.want {
			t.Fatalf("%q holds no code at all", tt.in)
		}
		if got := ContainsLettered(tt.in); got != tt.want {
			t.Errorf("ContainsLettered(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzRedactProp checks what Redact promises whatever the text: no code is left,
// text without one is returned as it is, and valid UTF-8 stays valid.
func FuzzRedactProp(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		redacted := Redact(text)
		if Contains(redacted) {
			t.Fatalf("Redact(%q) = %q still holds a code", text, redacted)
		}
		if !Contains(text) && redacted != text {
			t.Fatalf("Redact(%q) = %q changed text without a code", text, redacted)
		}
		if Contains(text) && !strings.Contains(redacted, Redacted) {
			t.Fatalf("Redact(%q) = %q removed a code without saying so", text, redacted)
		}
		if utf8.ValidString(text) && !utf8.ValidString(redacted) {
			t.Fatalf("Redact(%q) = %q is not valid UTF-8", text, redacted)
		}
		if ContainsLettered(text) && !Contains(text) {
			t.Fatalf("ContainsLettered(%q) without a code", text)
		}
	})
}

// exactlyOne reports whether s is exactly one code as Find reports it.
func exactlyOne(s string) bool {
	start, end, ok := Find(s)
	return ok && start == 0 && end == len(s)
}
