package domain

import "strings"

// An ISO 11784/11785 FDX-B transponder code as printed and read: a three-digit
// country or manufacturer code followed by a twelve-digit national number.
const microchipLength = 15

// Reasons a microchip code is rejected; fixed texts, never the input.
const (
	microchipReasonLength = "must be 15 digits"
	microchipReasonDigits = "must contain only digits"
	// 000 is no country or manufacturer; 999 marks test transponders, never an animal's.
	microchipReasonCode = "must begin with a country or manufacturer code (not 000, and 999 is for test transponders)"
)

// MicrochipError says why a microchip code is rejected.
type MicrochipError struct {
	Reason string
}

func (e *MicrochipError) Error() string {
	return "microchip: " + e.Reason
}

// ParseMicrochip returns the 15-digit code with the white space that readers
// and certificates put between digit groups removed.
func ParseMicrochip(s string) (string, error) {
	code := strings.Join(strings.Fields(s), "")
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' {
			return "", &MicrochipError{Reason: microchipReasonDigits}
		}
	}
	if len(code) != microchipLength {
		return "", &MicrochipError{Reason: microchipReasonLength}
	}
	if prefix := code[:3]; prefix == "000" || prefix == "999" {
		return "", &MicrochipError{Reason: microchipReasonCode}
	}
	return code, nil
}
