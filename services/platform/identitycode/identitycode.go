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

	"golang.org/x/text/unicode/norm"

	"github.com/lillvet/register/services/platform/visibletext"
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

// ContainsLettered reports whether text holds an identity code (see Find) with a
// letter in it: a century sign other than "-" or a check character that is a letter.
// It is the check for structured numbers such as invoice numbers, written by
// billing systems as a date, a hyphen and four digits: about one such number in 31
// is shaped exactly like a code of someone born in the 1900s whose check character
// is a digit, and refusing those would refuse ordinary invoices. A code of that
// shape passes this check; see docs/DATA_PROTECTION.md for the trade-off.
func ContainsLettered(text string) bool {
	v := fold(text)
	for i := 0; ; {
		j, n, ok := v.next(i)
		if !ok {
			return false
		}
		// The sign is "-", or a soft hyphen stood for it and the individual
		// number follows the date directly.
		hyphen := v.text[j+6] == '-' || isDigit(v.text[j+6])
		if !hyphen || !isDigit(v.text[j+n-1]) {
			return true
		}
		// A lettered code may start inside this one, after its hyphen and an
		// invisible character.
		i = j + 1
	}
}

// Find returns the byte offsets of the first identity code in text: eleven
// characters that Parse accepts (temporary numbers included, letters in either case)
// and that are not part of a longer run of letters and digits, so that a code written
// inside a sentence, in brackets or after a colon is found, while a longer reference
// number that merely has one inside is not.
//
// Text is read as it displays, not as it is encoded (see fold): invisible
// characters inside a code (a soft hyphen, a zero-width space pasted from a web page
// or PDF, a variation selector) are skipped, as are combining marks on its
// characters (emoji keycap digits), full-width and other compatibility forms count as the
// characters they stand for, and any dash counts as the "-" century sign, as does a
// soft hyphen where the sign belongs. Each of these still names the person. An
// invisible character at either end of a code separates it from a word it would
// otherwise run into, as a zero-width space separates words for line breaking.
func Find(text string) (start, end int, ok bool) {
	v := fold(text)
	i, n, ok := v.next(0)
	if !ok {
		return 0, 0, false
	}
	start, end = v.span(i, n)
	return start, end, true
}

// Redact returns text with every identity code Find sees replaced by Redacted.
func Redact(text string) string {
	v := fold(text)
	var b strings.Builder
	last := 0 // end of the text already written, in text's offsets
	for i := 0; ; {
		j, n, ok := v.next(i)
		if !ok {
			break
		}
		i = j + n
		start, end := v.span(j, n)
		// A compatibility character that folds to several (such as "⒑") can end one
		// code and start the next; it is removed once.
		if start >= last {
			b.WriteString(text[last:start])
			b.WriteString(Redacted)
		}
		last = end
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// folded is text as Find reads it, with the way back to text's offsets.
type folded struct {
	text string
	// from and to give, for each byte of the folded text, the offsets in the
	// original text of the character it came from; both nil when the folded text is
	// the original (plain ASCII, the usual case).
	from, to []int
	// gap marks the folded bytes that format characters stood right before (see
	// afterFormat and afterSoftHyphen); nil when the text had none.
	gap []uint8
}

// Marks in folded.gap.
const (
	afterFormat uint8 = 1 << iota
	afterSoftHyphen
)

// fold reads text character by character: the characters that display as nothing
// (visibletext.Ignorable) are dropped and remembered in gap, a combining mark on a letter or
// digit (the keycap of "1️⃣", an accent) is read as part of that character, each
// other character is replaced by its NFKC form (full-width "１" by "1"), and every
// dash (category Pd, and the minus sign) by "-". A byte that is not UTF-8 becomes
// U+FFFD, so that the folded text is valid UTF-8 and no two stray bytes join into a
// letter. Folding a character at a time keeps it linear and its offsets exact.
func fold(text string) folded {
	if isPlainASCII(text) {
		return folded{text: text}
	}
	var (
		out       []byte
		from, to  []int
		gap       []uint8
		dropped   uint8
		character []byte
		// onAlnum: the last character kept is a letter or digit, which a
		// combining mark after it joins.
		onAlnum bool
	)
	for i := 0; i < len(text); {
		r, width := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == softHyphen:
			dropped |= afterFormat | afterSoftHyphen
		case visibletext.Ignorable(r):
			dropped |= afterFormat
		case onAlnum && unicode.In(r, unicode.Mn, unicode.Me):
			// The mark becomes part of the character it sits on, so that a code
			// ending in one is removed with it.
			for k := len(to) - len(character); k < len(to); k++ {
				to[k] = i + width
			}
		default:
			onAlnum = isAlnum(r)
			character = foldRune(character[:0], r, text[i:i+width])
			for k := range character {
				out = append(out, character[k])
				from = append(from, i)
				to = append(to, i+width)
				if k > 0 {
					gap = append(gap, 0)
				} else {
					gap = append(gap, dropped)
				}
			}
			dropped = 0
		}
		i += width
	}
	return folded{text: string(out), from: from, to: to, gap: gap}
}

// softHyphen is the word processor's optional hyphen: invisible unless a line breaks
// there, when it displays as "-".
const softHyphen = '\u00AD'

// foldRune appends the folded form of the character r, encoded in text, to dst.
func foldRune(dst []byte, r rune, text string) []byte {
	if r < utf8.RuneSelf {
		return append(dst, text...)
	}
	if r == utf8.RuneError {
		return utf8.AppendRune(dst, utf8.RuneError)
	}
	for _, c := range norm.NFKC.String(text) {
		if isDash(c) {
			c = '-'
		}
		dst = utf8.AppendRune(dst, c)
	}
	return dst
}

// next returns the folded offset and length of the first code at or after folded
// offset from.
func (v folded) next(from int) (start, n int, ok bool) {
	for i := from; i+codeLength-1 <= len(v.text); i++ {
		if !isDigit(v.text[i]) || !v.marked(i, afterFormat) && alnumBefore(v.text, i) {
			continue
		}
		if n, ok := v.match(i); ok {
			return i, n, true
		}
	}
	return 0, 0, false
}

// span returns the original offsets of the folded bytes [start, start+n).
func (v folded) span(start, n int) (int, int) {
	if v.from == nil {
		return start, start + n
	}
	return v.from[start], v.to[start+n-1]
}

// match reports whether the folded text at i starts with an identity code followed
// by anything but a letter or digit, and how many bytes the code takes.
func (v folded) match(i int) (int, bool) {
	s := v.text[i:]
	if len(s) < codeLength-1 {
		return 0, false
	}
	for k := range 6 {
		if !isDigit(s[k]) {
			return 0, false
		}
	}
	sign, rest := s[6], s[7:]
	if _, ok := centuryOf(upper(sign)); !ok {
		// A soft hyphen where the sign belongs, and no other sign: the hyphen.
		if !v.marked(i+6, afterSoftHyphen) {
			return 0, false
		}
		sign, rest = '-', s[6:]
	}
	if len(rest) < 4 {
		return 0, false
	}
	n := len(s) - len(rest) + 4
	if next, _ := utf8.DecodeRuneInString(s[n:]); n < len(s) && !v.marked(i+n, afterFormat) && isAlnum(next) {
		return 0, false
	}
	canonical := strings.ToUpper(s[:6] + string(sign) + rest[:4])
	return n, validate(canonical, true) == nil
}

// marked reports whether folded byte i has the mark in gap.
func (v folded) marked(i int, mark uint8) bool {
	return v.gap != nil && v.gap[i]&mark != 0
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
	return unicode.Is(unicode.Pd, r) || r == '\u2212'
}

func isPlainASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func upper(b byte) byte {
	if b >= 'a' && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
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
