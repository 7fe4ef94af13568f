package domain

import (
	"errors"

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
	// An extension has no place in E.164; dropping it silently would store a number
	// that does not reach the person.
	phoneReasonExtension = "has an extension, which cannot be kept: give the direct number"
	// The library reads an identity code as a number ("131052-308T" as
	// +358 131052308), which would then be stored and shown in clear.
	phoneReasonIdentityCode = "holds a personal identity code"
)

// Field violations of a refused phone number; neither repeats the input.
const (
	phoneViolation             = "must be a valid phone number, e.g. +358 40 123 4567"
	phoneIdentityCodeViolation = "must not contain a personal identity code or text shaped like one " +
		"(six digits, a hyphen or century letter and four characters): write the phone number, e.g. +358 40 123 4567"
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
// the text must not hold an identity code, which the library would read as a number.
// The library's own errors are dropped because their text may echo the input.
func NormalizePhone(s string) (string, error) {
	if len(s) > phoneMaxInput {
		return "", &PhoneError{Reason: phoneReasonTooLong}
	}
	if identitycode.Contains(s) {
		return "", &PhoneError{Reason: phoneReasonIdentityCode}
	}
	num, err := phonenumbers.Parse(s, phoneDefaultRegion)
	if err != nil {
		return "", &PhoneError{Reason: phoneReasonParse}
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", &PhoneError{Reason: phoneReasonInvalid}
	}
	if num.GetExtension() != "" {
		return "", &PhoneError{Reason: phoneReasonExtension}
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
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
	default:
		v.Add(field, phoneViolation)
	}
	return p
}
