package domain

import (
	"log/slog"
	"strings"
	"time"
)

// identityCheckChars maps DDMMYYNNN mod 31 to the check character. The letters
// G, I, O, Q and Z are left out so that they cannot be confused with digits.
const identityCheckChars = "0123456789ABCDEFHJKLMNPRSTUVWXY"

const (
	identityCodeLength = 11
	// Individual numbers 000 and 001 are never issued; 900–999 are temporary.
	identityIndividualMinimum = 2
	identityTemporaryFrom     = 900
)

// Reasons an identity code is rejected. They are fixed strings on purpose: an
// error about an identity code must never carry the code itself.
const (
	identityReasonLength     = "wrong length"
	identityReasonCharacter  = "date and individual number must be digits"
	identityReasonCentury    = "unknown century sign"
	identityReasonDate       = "date does not exist"
	identityReasonIndividual = "individual number out of range"
	identityReasonTemporary  = "temporary individual number not allowed"
	identityReasonCheckChar  = "check character does not match"
)

// IdentityCodeError says why a string is not an acceptable identity code.
// Reason never contains any part of the rejected input.
type IdentityCodeError struct {
	Reason string
}

func (e *IdentityCodeError) Error() string {
	return "identity code: " + e.Reason
}

// IdentityCode is a validated Finnish personal identity code (henkilötunnus),
// held in its canonical upper-case form. The zero value is "no code".
//
// It deliberately offers no way to derive sex from the individual number, and
// it logs itself masked through slog.
type IdentityCode struct {
	code string
}

// ParseIdentityCode validates s as DDMMYYCNNNT. Surrounding white space is
// trimmed and letters are upper-cased first, so "131052-308t" is accepted as
// "131052-308T". Temporary individual numbers (900–999) are accepted only when
// allowTemporary is true.
func ParseIdentityCode(s string, allowTemporary bool) (IdentityCode, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if len(c) != identityCodeLength {
		return IdentityCode{}, &IdentityCodeError{Reason: identityReasonLength}
	}
	for _, i := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9} {
		if c[i] < '0' || c[i] > '9' {
			return IdentityCode{}, &IdentityCodeError{Reason: identityReasonCharacter}
		}
	}
	century, ok := centuryOf(c[6])
	if !ok {
		return IdentityCode{}, &IdentityCodeError{Reason: identityReasonCentury}
	}
	if _, ok := birthDate(c, century); !ok {
		return IdentityCode{}, &IdentityCodeError{Reason: identityReasonDate}
	}
	individual := atoi(c[7:10])
	if individual < identityIndividualMinimum {
		return IdentityCode{}, &IdentityCodeError{Reason: identityReasonIndividual}
	}
	if individual >= identityTemporaryFrom && !allowTemporary {
		return IdentityCode{}, &IdentityCodeError{Reason: identityReasonTemporary}
	}
	if c[10] != identityCheckChars[atoi(c[0:6]+c[7:10])%len(identityCheckChars)] {
		return IdentityCode{}, &IdentityCodeError{Reason: identityReasonCheckChar}
	}
	return IdentityCode{code: c}, nil
}

// String returns the full canonical code. Only reveal paths should call it.
func (c IdentityCode) String() string {
	return c.code
}

// Masked hides everything but the check character, and shows every century
// sign as "-" so that the mask does not disclose the birth century either.
func (c IdentityCode) Masked() string {
	if c.code == "" {
		return ""
	}
	return "******-***" + c.code[identityCodeLength-1:]
}

// LogValue keeps the full code out of logs even when a caller passes the
// value itself to slog.
func (c IdentityCode) LogValue() slog.Value {
	return slog.StringValue(c.Masked())
}

// IsZero reports whether c holds no code.
func (c IdentityCode) IsZero() bool {
	return c.code == ""
}

// Temporary reports whether the individual number is in the temporary range
// 900–999.
func (c IdentityCode) Temporary() bool {
	return c.code != "" && atoi(c.code[7:10]) >= identityTemporaryFrom
}

// BirthDate returns the date encoded in the code at midnight UTC, or the zero
// time for the zero value.
func (c IdentityCode) BirthDate() time.Time {
	if c.code == "" {
		return time.Time{}
	}
	century, _ := centuryOf(c.code[6])
	d, _ := birthDate(c.code, century)
	return d
}

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
