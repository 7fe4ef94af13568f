// Package visibletext tells what a text shows its reader. Text from a token or typed
// by a person can hold characters that display as nothing or reorder the rest, so
// that it reads as nothing, or as other text than its characters say.
package visibletext

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Ignorable reports the characters that display as nothing: format characters (Cf:
// zero-width spaces, soft hyphens, direction marks and overrides) and the rest of
// Unicode's default ignorable code points, such as variation selectors, the combining
// grapheme joiner and the Hangul fillers.
func Ignorable(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// SaysNothing reports a text with no letter or digit that displays: blank, or only
// spaces, punctuation, symbols and ignorable characters ("\u200b", a Hangul filler,
// which Unicode counts a letter).
func SaysNothing(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool {
		return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !Ignorable(r)
	})
}

// Shown is s as its reader sees it: without the ignorable characters, composed (NFC)
// and without surrounding white space, so that two texts that read alike are equal
// (letters of other scripts that look alike aside). Dropping the direction overrides
// also keeps letters from displaying in another order than Shown holds them.
func Shown(s string) string {
	return strings.TrimSpace(norm.NFC.String(strings.Map(func(r rune) rune {
		if Ignorable(r) {
			return -1
		}
		return r
	}, s)))
}
