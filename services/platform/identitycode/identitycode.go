// Package identitycode is the one place that knows the form of a Finnish personal
// identity code (henkilötunnus): Parse validates a code given where one is expected,
// and Contains and Redact find one typed where none belongs (a reason, a note, a
// stated purpose), so that every service refuses or removes it the same way.
package identitycode

import (
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// checkChars maps DDMMYYNNN mod 31 to the check character. The letters G, I, O, Q
// and Z are left out so that they cannot be confused with digits.
const checkChars = "0123456789ABCDEFHJKLMNPRSTUVWXY"

const (
	codeLength = 11
	// Individual numbers 000 and 001 are never issued; 900–999 are temporary.
	individualMinimum = 2
	temporaryFrom     = 900
)

// Reasons a code is rejected. They are fixed strings on purpose: an error about an
// identity code must never carry the code itself.
const (
	reasonLength     = "wrong length"
	reasonCharacter  = "date and individual number must be digits"
	reasonCentury    = "unknown century sign"
	reasonDate       = "date does not exist"
	reasonIndividual = "individual number out of range"
	reasonTemporary  = "temporary individual number not allowed"
	reasonCheckChar  = "check character does not match"
)

// Redacted replaces every identity code Redact finds.
const Redacted = "[identity code removed]"

// Error says why a string is not an acceptable identity code. Reason never contains
// any part of the rejected input.
type Error struct {
	Reason string
}

func (e *Error) Error() string {
	return "identity code: " + e.Reason
}

// Code is a validated identity code, held in its canonical upper-case form. The zero
// value is "no code".
//
// It deliberately offers no way to derive sex from the individual number, and it
// logs itself masked through slog.
type Code struct {
	code string
}

// Parse validates s as DDMMYYCNNNT. Surrounding white space is trimmed and letters
// are upper-cased first, so "131052-308t" is accepted as "131052-308T". Temporary
// individual numbers (900–999) are accepted only when allowTemporary is true.
func Parse(s string, allowTemporary bool) (Code, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if err := validate(c, allowTemporary); err != nil {
		return Code{}, err
	}
	return Code{code: c}, nil
}

// validate checks the canonical form c.
func validate(c string, allowTemporary bool) error {
	if len(c) != codeLength {
		return &Error{Reason: reasonLength}
	}
	for _, i := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9} {
		if !isDigit(c[i]) {
			return &Error{Reason: reasonCharacter}
		}
	}
	century, ok := centuryOf(c[6])
	if !ok {
		return &Error{Reason: reasonCentury}
	}
	if _, ok := birthDate(c, century); !ok {
		return &Error{Reason: reasonDate}
	}
	individual := atoi(c[7:10])
	if individual < individualMinimum {
		return &Error{Reason: reasonIndividual}
	}
	if individual >= temporaryFrom && !allowTemporary {
		return &Error{Reason: reasonTemporary}
	}
	if c[10] != checkChars[atoi(c[0:6]+c[7:10])%len(checkChars)] {
		return &Error{Reason: reasonCheckChar}
	}
	return nil
}

// String returns the full canonical code. Only reveal paths should call it.
func (c Code) String() string {
	return c.code
}

// Masked hides everything but the check character, and shows every century sign as
// "-" so that the mask does not disclose the birth century either.
func (c Code) Masked() string {
	if c.code == "" {
		return ""
	}
	return "******-***" + c.code[codeLength-1:]
}

// LogValue keeps the full code out of logs even when a caller passes the value
// itself to slog.
func (c Code) LogValue() slog.Value {
	return slog.StringValue(c.Masked())
}

// IsZero reports whether c holds no code.
func (c Code) IsZero() bool {
	return c.code == ""
}

// Temporary reports whether the individual number is in the temporary range 900–999.
func (c Code) Temporary() bool {
	return c.code != "" && atoi(c.code[7:10]) >= temporaryFrom
}

// BirthDate returns the date encoded in the code at midnight UTC, or the zero time
// for the zero value.
func (c Code) BirthDate() time.Time {
	if c.code == "" {
		return time.Time{}
	}
	century, _ := centuryOf(c.code[6])
	d, _ := birthDate(c.code, century)
	return d
}

// Contains reports whether text holds an identity code anywhere (see Find).
func Contains(text string) bool {
	_, _, ok := Find(text)
	return ok
}

// Find returns the byte offsets of the first identity code in text: eleven
// characters that Parse accepts (temporary numbers included, letters in either case)
// and that are not part of a longer run of letters and digits, so that a code written
// inside a sentence, in brackets or after a colon is found, while a longer reference
// number that merely has one inside is not. A typographic dash (as a word processor
// turns "-" into) counts as the "-" century sign: the code still names the person.
func Find(text string) (start, end int, ok bool) {
	for i := 0; i+codeLength <= len(text); i++ {
		if !isDigit(text[i]) || alnumBefore(text, i) {
			continue
		}
		if n, ok := match(text[i:]); ok {
			return i, i + n, true
		}
	}
	return 0, 0, false
}

// Redact returns text with every identity code Find sees replaced by Redacted.
func Redact(text string) string {
	var b strings.Builder
	rest := text
	for {
		start, end, ok := Find(rest)
		if !ok {
			break
		}
		b.WriteString(rest[:start])
		b.WriteString(Redacted)
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return text
	}
	b.WriteString(rest)
	return b.String()
}

// match reports whether s starts with an identity code followed by anything but a
// letter or digit, and how many bytes the code takes.
func match(s string) (int, bool) {
	for i := range 6 {
		if !isDigit(s[i]) {
			return 0, false
		}
	}
	sign, width := utf8.DecodeRuneInString(s[6:])
	if isDash(sign) {
		sign = '-'
	}
	rest := s[6+width:]
	if sign > unicode.MaxASCII || len(rest) < 4 {
		return 0, false
	}
	n := 6 + width + 4
	if next, _ := utf8.DecodeRuneInString(s[n:]); n < len(s) && isAlnum(next) {
		return 0, false
	}
	canonical := strings.ToUpper(s[:6] + string(sign) + rest[:4])
	return n, validate(canonical, true) == nil
}

// alnumBefore reports whether the character before text[i] is a letter or digit.
func alnumBefore(text string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return i > 0 && isAlnum(r)
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// isDash reports the dashes and minus signs a keyboard or word processor writes for
// a hyphen.
func isDash(r rune) bool {
	return r >= '\u2010' && r <= '\u2015' || r == '\u2212' || r == '\uFE63' || r == '\uFF0D'
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func centuryOf(sign byte) (int, bool) {
	switch sign {
	case '+':
		return 1800, true
	case '-', 'Y', 'X', 'W', 'V', 'U':
		return 1900, true
	case 'A', 'B', 'C', 'D', 'E', 'F':
		return 2000, true
	default:
		return 0, false
	}
}

// birthDate reports false when DDMMYY does not name a real calendar day, which
// time.Date would otherwise silently normalise (31.2. to 2.3.).
func birthDate(c string, century int) (time.Time, bool) {
	day, month, year := atoi(c[0:2]), atoi(c[2:4]), century+atoi(c[4:6])
	d := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if d.Day() != day || int(d.Month()) != month || d.Year() != year {
		return time.Time{}, false
	}
	return d, true
}

// atoi converts a string of ASCII digits already checked by the caller.
func atoi(digits string) int {
	n := 0
	for i := range len(digits) {
		n = n*10 + int(digits[i]-'0')
	}
	return n
}
