package domain

import "github.com/nyaruka/phonenumbers"

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
)

// PhoneError says why a phone number is rejected.
type PhoneError struct {
	Reason string
}

func (e *PhoneError) Error() string {
	return "phone number: " + e.Reason
}

// NormalizePhone returns s in E.164 form. Numbers without a country code are
// read as Finnish; any number must be one the numbering plan actually assigns.
// The library's own errors are dropped because their text may echo the input.
func NormalizePhone(s string) (string, error) {
	if len(s) > phoneMaxInput {
		return "", &PhoneError{Reason: phoneReasonTooLong}
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
