package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		reason string
	}{
		{"Finnish mobile", "040 123 4567", "+358401234567", ""},
		{"Finnish mobile with hyphen", "040-1234567", "+358401234567", ""},
		{"Finnish mobile international", "+358 40 123 4567", "+358401234567", ""},
		{"Finnish mobile 00 prefix", "00358401234567", "+358401234567", ""},
		{"Finnish landline Seinäjoki", "(06) 123 4567", "+35861234567", ""},
		{"Swedish landline", "+46 8 123 456 78", "+46812345678", ""},
		{"empty", "", "", phoneReasonParse},
		{"letters", "call me", "", phoneReasonCharacters},
		{"Finnish mobile with dots", "040.123.4567", "+358401234567", ""},
		{"Finnish landline with a slash", "06/123 4567", "+35861234567", ""},
		{"keypad letters", "0800 FLOWERS", "", phoneReasonCharacters},
		{"digits of another script", "０４０ １２３ ４５６７", "", phoneReasonCharacters},
		{"tab", "040\t123 4567", "", phoneReasonCharacters},
		{"too short", "040", "", phoneReasonInvalid},
		{"unassigned Finnish prefix", "0012 345", "", phoneReasonInvalid},
		{"too long", strings.Repeat("4", phoneMaxInput+1), "", phoneReasonTooLong},
		{"extension", "(06) 123 4567 ext. 5", "", phoneReasonCharacters},
		{"extension after x", "(06) 123 4567 x5", "", phoneReasonCharacters},
		{"extension after a hash", "(06) 123 4567 - 5#", "", phoneReasonCharacters},
		{"extension after a semicolon", "+35861234567;ext=5", "", phoneReasonCharacters},
		{"identity code", "131052-308T", "", phoneReasonIdentityCode},
		{"identity code of the 2000s", "010190Y123M", "", phoneReasonIdentityCode},
		{"identity code with a digit check character", "010190-0100", "", phoneReasonIdentityCode},
		// Not found as a code without its hyphen, but refused for its letter.
		{"identity code without its hyphen", "131052308T", "", phoneReasonCharacters},
		{"identity code with a space for its hyphen", "131052 308T", "", phoneReasonCharacters},
		{"identity code with a spaced check character", "131052-308 T", "", phoneReasonCharacters},
		// A digit check character leaves no letter to refuse.
		{"identity code with a space for its hyphen and a digit check character", "040190 0120", "", phoneReasonCodeShaped},
		{"identity code with a dot for its hyphen", "040190.0120", "", phoneReasonCodeShaped},
		{"identity code with a slash for its hyphen", "040190/0120", "", phoneReasonCodeShaped},
		{"another identity code with a space for its hyphen", "050190 0230", "", phoneReasonCodeShaped},
		{"temporary identity code with a space for its hyphen, spaced around", " 131052 9030 ", "", phoneReasonCodeShaped},
		{"number in six and four that is no identity code", "040123 4567", "+358401234567", ""},
		{"identity code with a spaced hyphen", "040190 - 0120", "", phoneReasonCodeShaped},
		{"identity code with a hyphen after a space", "040190 -0120", "", phoneReasonCodeShaped},
		{"identity code with two spaces for its hyphen", "040190  0120", "", phoneReasonCodeShaped},
		{"identity code with a no-break space and a space for its hyphen", "040190\u00a0 0120", "", phoneReasonCodeShaped},
		{"identity code with a spaced slash for its hyphen", "040190 / 0120", "", phoneReasonCodeShaped},
		{"identity code with a space for its hyphen and a full stop", "040190 0120.", "", phoneReasonCodeShaped},
		{"identity code with a space for its hyphen in brackets", "(040190 0120)", "", phoneReasonCodeShaped},
		{"identity code after the country code", "+358 040190 0120", "", phoneReasonCodeShaped},
		{"identity code after the international prefix", "00358 040190 0120", "", phoneReasonCodeShaped},
		{"identity code in a tel URI", "tel:+358 040190 0120", "", phoneReasonCodeShaped},
		{"mobile in its usual groups whose digits make an identity code", "040 190 0120", "+358401900120", ""},
		{"international mobile whose digits make an identity code", "+358 40 190 0120", "+358401900120", ""},
		// Cannot be told from a mobile number, so it is taken as one (DATA_PROTECTION).
		{"identity code without its hyphen and a digit check character", "0401900120", "+358401900120", ""},
		// Pasted from a web page, an e-mail signature or a word processor.
		{"no-break spaces", "040\u00a0123\u00a04567", "+358401234567", ""},
		{"international with no-break spaces", "+358\u00a040\u00a0123\u00a04567", "+358401234567", ""},
		{"narrow no-break spaces", "040\u202f123\u202f4567", "+358401234567", ""},
		{"en dash", "06\u2013123 4567", "+35861234567", ""},
		{"hyphen and em dash", "040\u2010123\u20144567", "+358401234567", ""},
		{"identity code with a no-break space for its hyphen", "040190\u00a00120", "", phoneReasonCodeShaped},
		{"identity code with an en dash for its hyphen", "040190\u20130120", "", phoneReasonIdentityCode},
		// A partner system's tel: URI (RFC 3966) of a global number.
		{"tel URI", "tel:+358-40-123-4567", "+358401234567", ""},
		{"tel URI in upper case", "TEL:+358401234567", "+358401234567", ""},
		{"tel URI of a local number", "tel:0401234567", "", phoneReasonCharacters},
		{"tel URI with an extension", "tel:+35861234567;ext=5", "", phoneReasonCharacters},
		{"tel URI with a phone context", "tel:0401234567;phone-context=+358", "", phoneReasonCharacters},
		{"tel URI twice", "tel:tel:+358401234567", "", phoneReasonCharacters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.in)
			if tt.reason == "" {
				if err != nil || got != tt.want {
					t.Fatalf("NormalizePhone = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var pe *PhoneError
			if !errors.As(err, &pe) || pe.Reason != tt.reason {
				t.Fatalf("NormalizePhone error = %v, want reason %q", err, tt.reason)
			}
		})
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"040 123 4567", "+46 8 123 456 78", "", "+", "+358", "tel:+358401234567", "040\x00123", "131052-308T", "131052308T", "040 123 4567 ext. 5", "040190 0120", "040\u00a0123\u20134567", "TEL:+358401234567"} {
		f.Add(s)
	}
	reasons := map[string]bool{}
	for _, r := range []string{phoneReasonTooLong, phoneReasonParse, phoneReasonInvalid, phoneReasonCharacters, phoneReasonIdentityCode, phoneReasonCodeShaped} {
		reasons["phone number: "+r] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		e164, err := NormalizePhone(s)
		if err != nil {
			if !reasons[err.Error()] {
				t.Fatalf("unexpected error message %q", err.Error())
			}
			return
		}
		again, err := NormalizePhone(e164)
		if err != nil || again != e164 {
			t.Fatalf("NormalizePhone(%q) = %q, %v; want it unchanged", e164, again, err)
		}
	})
}
