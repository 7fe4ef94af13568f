package domain

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

const postalCodeLength = 5

const postalCodeReason = "must be 5 digits"

// PostalCodeError says why a postal code is rejected.
type PostalCodeError struct {
	Reason string
}

func (e *PostalCodeError) Error() string {
	return "postal code: " + e.Reason
}

// NameKeysVersion names the rules of SearchKey and NameTokens, and is stored with the
// keys they made for each owner. Raise it with any change to what they return (the names
// tests say when): each start then refreshes the keys of the owners stored under a lower
// version.
const NameKeysVersion = 3

// SearchKey folds a name into the form stored for search, because the
// embedded store has no collations: lower case, diacritics removed (so
// "Äijälä" and "aijala" match), every form of apostrophe written as "'" (so
// "O’Brien" and "O'Brien" match), every dash as "-" (so "Anna–Liisa", with the
// en dash or typographic hyphen that phones, word processors and web forms put in,
// and "Anna-Liisa" match) and white space collapsed to single spaces.
func SearchKey(s string) string {
	// Lower-case first: some capitals lower-case to a letter plus a combining
	// mark (İ → i̇), which the next step must see.
	lower := strings.ToLower(strings.ToValidUTF8(s, "\uFFFD"))
	stripMarks := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(stripMarks, lower)
	if err != nil {
		// Valid UTF-8 cannot fail these transforms; keep the key usable anyway.
		folded = lower
	}
	return strings.Join(strings.Fields(strings.Map(asciiDash, apostrophes.Replace(unmarkedLetters.Replace(folded)))), " ")
}

// asciiDash writes every dash (Unicode Pd: hyphen, en and em dash, and the rest) as
// the "-" reception types.
func asciiDash(r rune) rune {
	if unicode.Is(unicode.Pd, r) {
		return '-'
	}
	return r
}

// apostrophes are the characters written for an apostrophe in a name: the typographic
// one that phones and word processors put in (’, and its opening twin ‘), the modifier
// letter some keyboards and names use (ʼ), and the acute accent and grave accent that
// people type for it on a Finnish keyboard (´, `). Reception types "'".
var apostrophes = strings.NewReplacer("’", "'", "‘", "'", "ʼ", "'", "´", "'", "`", "'")

// unmarkedLetters spells out the letters of Nordic and other European names that are
// letters of their own rather than a base letter with a mark, as people type them on a
// keyboard without them ("Søren" is found as "soren", "Weiß" as "weiss").
var unmarkedLetters = strings.NewReplacer("ø", "o", "æ", "ae", "œ", "oe", "ß", "ss", "ł", "l", "đ", "d", "ð", "d", "þ", "th", "ı", "i")

// NameTokens returns the distinct search keys of every word of both names,
// in order of appearance, for prefix search. A hyphenated word gives itself
// and each part, so "Anna-Liisa" gives "anna-liisa", "anna" and "liisa"; so does
// a word with an apostrophe ("O'Brien": "o'brien", "o", "brien").
// Words without a letter or digit (a lone dash) give nothing.
func NameTokens(given, family string) []string {
	var tokens []string
	seen := map[string]bool{}
	add := func(t string) {
		if strings.IndexFunc(t, isLetterOrDigit) >= 0 && !seen[t] {
			seen[t] = true
			tokens = append(tokens, t)
		}
	}
	for _, word := range strings.Fields(SearchKey(given + " " + family)) {
		add(word)
		parts := strings.FieldsFunc(word, func(r rune) bool { return r == '-' || r == '\'' })
		if len(parts) > 1 {
			for _, p := range parts {
				add(p)
			}
		}
	}
	return tokens
}

// ValidatePostalCode accepts a Finnish postal code: exactly five digits.
func ValidatePostalCode(s string) error {
	if len(s) != postalCodeLength || strings.IndexFunc(s, notASCIIDigit) >= 0 {
		return &PostalCodeError{Reason: postalCodeReason}
	}
	return nil
}

func notASCIIDigit(r rune) bool {
	return r < '0' || r > '9'
}

func isLetterOrDigit(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}
