package domain

import (
	"errors"
	"testing"
)

func TestParseMicrochip(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		reason string
	}{
		{"plain", "246098100123456", "246098100123456", ""},
		{"grouped", "246 0981 0012 3456", "246098100123456", ""},
		{"surrounding space", "\t985112345678901 ", "985112345678901", ""},
		{"empty", "", "", microchipReasonLength},
		{"14 digits", "24609810012345", "", microchipReasonLength},
		{"16 digits", "2460981001234567", "", microchipReasonLength},
		{"hyphens", "246-098-100-123-456", "", microchipReasonDigits},
		{"hexadecimal FDX-A", "0A1B2C3D4E", "", microchipReasonDigits},
		{"full-width digits", "２４６098100123456", "", microchipReasonDigits},
		{"manufacturer code", "900123456789012", "900123456789012", ""},
		{"no country or manufacturer", "000123456789012", "", microchipReasonCode},
		{"test transponder", "999123456789012", "", microchipReasonCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMicrochip(tt.in)
			if tt.reason == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParseMicrochip = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var me *MicrochipError
			if !errors.As(err, &me) || me.Reason != tt.reason {
				t.Fatalf("ParseMicrochip error = %v, want reason %q", err, tt.reason)
			}
		})
	}
}

func FuzzParseMicrochip(f *testing.F) {
	for _, s := range []string{"246098100123456", "246 0981 0012 3456", "", "24609810012345x", "２４６"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, err := ParseMicrochip(s)
		if err != nil {
			return
		}
		again, err := ParseMicrochip(code)
		if err != nil || again != code || len(code) != microchipLength {
			t.Fatalf("ParseMicrochip(%q) = %q, %v; want %q", code, again, err, code)
		}
	})
}
