package domain

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/identitycode"
)

// phoneDefaultRegion is where numbers written without a country code are from.
const phoneDefaultRegion = "FI"

// phoneMaxInput bounds the work done on hostile input; a phone number written
// with generous spacing and punctuation still fits well within it.
const phoneMaxInput = 64

// Reasons a phone number is rejected; fixed texts, never the input.
const (
	phoneReasonTooLong = "too long"
	phoneReasonParse   = "not a phone number"
	phoneReasonInvalid = "not a valid number"
	// The library takes letters (as keypad digits, or as noise after the number), an
	// extension after "ext.", "x", "#" or ";", and digits of other scripts: through
	// them "131052308T", an identity code without its hyphen, became +358 131052308.
	phoneReasonCharacters = "holds a character other than digits, + and separators"
	// The library reads an identity code as a number ("131052-308T" as
	// +358 131052308), which would then be stored and shown in clear.
	phoneReasonIdentityCode = "holds a personal identity code"
	// A code whose check character is a digit, typed with a space, dot or slash for
	// its hyphen ("040190 0120"), is a valid mobile number to the library.
	phoneReasonCodeShaped = "shaped like a personal identity code"
)

// Field violations of a refused phone number; none repeats the input.
const (
	phoneViolation           = "must be a valid phone number, e.g. +358 40 123 4567"
	phoneCharactersViolation = "must hold only digits, a leading + and spaces, hyphens, dots, parentheses or slashes " +
		"(no letters, and no extension, which cannot be kept): write the direct number, e.g. +358 40 123 4567"
	phoneIdentityCodeViolation = "must not contain a personal identity code or text shaped like one " +
		"(six digits, a hyphen or century letter and four characters): write the phone number, e.g. +358 40 123 4567"
	phoneCodeShapedViolation = "must not be written as six digits, a separator and four digits that form a personal identity code: " +
		"write the number in its usual groups, e.g. 040 123 4567"
)

// PhoneError says why a phone number is rejected.
type PhoneError struct {
	Reason string
}

func (e *PhoneError) Error() string {
	return "phone number: " + e.Reason
}

// NormalizePhone returns s in E.164 form. Numbers without a country code are
// read as Finnish; any number must be one the numbering plan actually assigns, and
// the text must hold nothing but the number, for the library reads an identity code,
// with or without its hyphen, as one.
// The library's own errors are dropped because their text may echo the input.
func NormalizePhone(s string) (string, error) {
	if len(s) > phoneMaxInput {
		return "", &PhoneError{Reason: phoneReasonTooLong}
	}
	if identitycode.Contains(s) {
		return "", &PhoneError{Reason: phoneReasonIdentityCode}
	}
	if codeWithSeparator(s) {
		return "", &PhoneError{Reason: phoneReasonCodeShaped}
	}
	s = strings.Map(plainSeparator, s)
	// A partner system's tel: URI of a global number (RFC 3966); its parameters
	// (";ext=", ";phone-context=") are refused with the other characters.
	if len(s) > len("tel:+") && strings.EqualFold(s[:len("tel:")], "tel:") && s[len("tel:")] == '+' {
		s = s[len("tel:"):]
	}
	if strings.IndexFunc(s, notInPhoneNumber) >= 0 {
		return "", &PhoneError{Reason: phoneReasonCharacters}
	}
	num, err := phonenumbers.Parse(s, phoneDefaultRegion)
	if err != nil {
		return "", &PhoneError{Reason: phoneReasonParse}
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", &PhoneError{Reason: phoneReasonInvalid}
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// notInPhoneNumber reports whether r has no place in a phone number as people write
// one: ASCII digits, a plus and the separators between groups.
func notInPhoneNumber(r rune) bool {
	return (r < '0' || r > '9') && !strings.ContainsRune("+ .-()/", r)
}

// codeWithSeparator reports whether the digits of s, after a Finnish country code
// (358 or 00358), are six and four in two groups that make a valid identity code with
// a hyphen between them, however the groups are set apart or wrapped ("040190 - 0120",
// "(040190 0120)", "+358 040190 0120"). The same digits in one group ("0401900120")
// are left alone: they cannot be told from a real mobile number (see
// docs/DATA_PROTECTION.md).
func codeWithSeparator(s string) bool {
	groups := strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if len(groups) == 3 && (groups[0] == "358" || groups[0] == "00358") {
		groups = groups[1:]
	}
	if len(groups) != 2 || len(groups[0]) != 6 || len(groups[1]) != 4 {
		return false
	}
	_, err := identitycode.Parse(groups[0]+"-"+groups[1], true)
	return err == nil
}

// plainSeparator turns the separators a number pasted from a web page or a word
// processor carries between its groups (no-break spaces, typographic dashes) into the
// ASCII ones the character check allows.
func plainSeparator(r rune) rune {
	switch {
	case r == '\u00a0' || r == '\u202f':
		return ' '
	case r >= '\u2010' && r <= '\u2015':
		return '-'
	}
	return r
}

// NormalizePhoneField returns the phone number s given in field in E.164 form, or
// records in v why it is refused.
func NormalizePhoneField(v *apperr.ValidationError, field, s string) string {
	p, err := NormalizePhone(s)
	var pe *PhoneError
	switch {
	case err == nil:
	case errors.As(err, &pe) && pe.Reason == phoneReasonIdentityCode:
		v.Add(field, phoneIdentityCodeViolation)
	case errors.As(err, &pe) && pe.Reason == phoneReasonCodeShaped:
		v.Add(field, phoneCodeShapedViolation)
	case errors.As(err, &pe) && pe.Reason == phoneReasonCharacters:
		v.Add(field, phoneCharactersViolation)
	default:
		v.Add(field, phoneViolation)
	}
	return p
}
