package domain

import (
	"strconv"
	"strings"
)

// dammTable is the order-10 weakly totally anti-symmetric quasigroup from
// Damm (2004), row-major: interim digit × next digit. With it a single check
// digit catches every single-digit error and every adjacent transposition.
const dammTable = "0317598642" +
	"7092154863" +
	"4206871359" +
	"1750983426" +
	"6123045978" +
	"3674209581" +
	"5869720134" +
	"8945362017" +
	"9438617205" +
	"2581436790"

const (
	customerNumberMinLength = 2
	customerNumberMaxLength = 19
	// customerSeqMax keeps sequence plus check digit within 19 digits.
	customerSeqMax int64 = 999_999_999_999_999_999
)

// Reasons a customer number is rejected; fixed texts, never the input.
const (
	customerReasonLength      = "wrong length"
	customerReasonDigits      = "must contain only digits"
	customerReasonLeadingZero = "must not start with zero"
	customerReasonCheckDigit  = "check digit does not match"
	customerReasonSeqLow      = "sequence must be at least 1"
	customerReasonSeqHigh     = "sequence too large"
)

// CustomerNumberError says why a customer number is rejected.
type CustomerNumberError struct {
	Reason string
}

func (e *CustomerNumberError) Error() string {
	return "customer number: " + e.Reason
}

// CustomerNumber is a patient's customer number: the decimal sequence number
// allocated at registration followed by one Damm check digit, so that a
// mistyped number is rejected instead of finding another animal. The zero
// value is "no number".
type CustomerNumber struct {
	seq int64
}

// NewCustomerNumber builds the customer number for an allocated sequence
// number, which starts at 1.
func NewCustomerNumber(seq int64) (CustomerNumber, error) {
	if seq < 1 {
		return CustomerNumber{}, &CustomerNumberError{Reason: customerReasonSeqLow}
	}
	if seq > customerSeqMax {
		return CustomerNumber{}, &CustomerNumberError{Reason: customerReasonSeqHigh}
	}
	return CustomerNumber{seq: seq}, nil
}

// ParseCustomerNumber validates a customer number as typed by a person:
// surrounding white space is ignored, everything else must be digits with no
// leading zero and a matching check digit.
func ParseCustomerNumber(s string) (CustomerNumber, error) {
	s = strings.TrimSpace(s)
	if len(s) < customerNumberMinLength || len(s) > customerNumberMaxLength {
		return CustomerNumber{}, &CustomerNumberError{Reason: customerReasonLength}
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return CustomerNumber{}, &CustomerNumberError{Reason: customerReasonDigits}
		}
	}
	if s[0] == '0' {
		return CustomerNumber{}, &CustomerNumberError{Reason: customerReasonLeadingZero}
	}
	if damm(s) != 0 {
		return CustomerNumber{}, &CustomerNumberError{Reason: customerReasonCheckDigit}
	}
	// At most 18 digits: the sum cannot overflow int64.
	var seq int64
	for i := range len(s) - 1 {
		seq = seq*10 + int64(s[i]-'0')
	}
	return CustomerNumber{seq: seq}, nil
}

// String returns the number with its check digit, or "" for the zero value.
func (n CustomerNumber) String() string {
	if n.seq == 0 {
		return ""
	}
	digits := strconv.FormatInt(n.seq, 10)
	d := damm(digits)
	return digits + "0123456789"[d:d+1]
}

// Seq returns the allocated sequence number without the check digit.
func (n CustomerNumber) Seq() int64 {
	return n.seq
}

// IsZero reports whether n holds no number.
func (n CustomerNumber) IsZero() bool {
	return n.seq == 0
}

// damm returns the interim digit after feeding every digit of s through the
// table: the check digit for a bare sequence, 0 for a number that checks out.
func damm(digits string) int {
	interim := 0
	for i := range len(digits) {
		interim = int(dammTable[interim*10+int(digits[i]-'0')] - '0')
	}
	return interim
}
