package domain

import (
	"errors"
	"strconv"
	"testing"
)

func TestNewCustomerNumber(t *testing.T) {
	tests := []struct {
		seq  int64
		want string
	}{
		{1, "13"},
		{572, "5724"}, // the worked example in Damm's paper and on Wikipedia
		{1000, "10008"},
		{123456789, "1234567894"},
		{customerSeqMax, "9999999999999999990"},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatInt(tt.seq, 10), func(t *testing.T) {
			n, err := NewCustomerNumber(tt.seq)
			if err != nil {
				t.Fatalf("NewCustomerNumber: %v", err)
			}
			if n.String() != tt.want {
				t.Errorf("String() = %q, want %q", n.String(), tt.want)
			}
			if n.Seq() != tt.seq {
				t.Errorf("Seq() = %d, want %d", n.Seq(), tt.seq)
			}
			parsed, err := ParseCustomerNumber(tt.want)
			if err != nil || parsed != n {
				t.Errorf("ParseCustomerNumber(%q) = %v, %v; want %v", tt.want, parsed, err, n)
			}
		})
	}
}

func TestNewCustomerNumberInvalid(t *testing.T) {
	tests := []struct {
		seq    int64
		reason string
	}{
		{0, customerReasonSeqLow},
		{-1, customerReasonSeqLow},
		{customerSeqMax + 1, customerReasonSeqHigh},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatInt(tt.seq, 10), func(t *testing.T) {
			_, err := NewCustomerNumber(tt.seq)
			var ce *CustomerNumberError
			if !errors.As(err, &ce) || ce.Reason != tt.reason {
				t.Errorf("NewCustomerNumber error = %v, want reason %q", err, tt.reason)
			}
		})
	}
}

func TestParseCustomerNumber(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   int64
		reason string
	}{
		{"valid", "5724", 572, ""},
		{"surrounding space", " 5724\t", 572, ""},
		{"empty", "", 0, customerReasonLength},
		{"one digit", "0", 0, customerReasonLength},
		{"twenty digits", "12345678901234567890", 0, customerReasonLength},
		{"inner space", "57 24", 0, customerReasonDigits},
		{"sign", "+5724", 0, customerReasonDigits},
		{"letter", "572A", 0, customerReasonDigits},
		{"leading zero", "05724", 0, customerReasonLeadingZero},
		{"zero sequence", "00", 0, customerReasonLeadingZero},
		{"wrong check digit", "5725", 0, customerReasonCheckDigit},
		{"check digit dropped", "572", 0, customerReasonCheckDigit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseCustomerNumber(tt.in)
			if tt.reason == "" {
				if err != nil || n.Seq() != tt.want {
					t.Fatalf("ParseCustomerNumber = %v, %v; want seq %d", n, err, tt.want)
				}
				return
			}
			var ce *CustomerNumberError
			if !errors.As(err, &ce) || ce.Reason != tt.reason {
				t.Fatalf("ParseCustomerNumber error = %v, want reason %q", err, tt.reason)
			}
			if want := "customer number: " + tt.reason; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestCustomerNumberDetectsTypos(t *testing.T) {
	for _, seq := range []int64{1, 9, 10, 572, 4711, 90817, 123456789, 987654321098765432} {
		n, err := NewCustomerNumber(seq)
		if err != nil {
			t.Fatal(err)
		}
		s := n.String()
		for i := range len(s) {
			for d := byte('0'); d <= '9'; d++ {
				if d == s[i] {
					continue
				}
				typo := s[:i] + string(d) + s[i+1:]
				if _, err := ParseCustomerNumber(typo); err == nil {
					t.Errorf("substitution %q of %q accepted", typo, s)
				}
			}
		}
		for i := range len(s) - 1 {
			if s[i] == s[i+1] {
				continue
			}
			typo := s[:i] + string(s[i+1]) + string(s[i]) + s[i+2:]
			if _, err := ParseCustomerNumber(typo); err == nil {
				t.Errorf("transposition %q of %q accepted", typo, s)
			}
		}
	}
}

func TestCustomerNumberZeroValue(t *testing.T) {
	var n CustomerNumber
	if !n.IsZero() || n.String() != "" || n.Seq() != 0 {
		t.Errorf("zero CustomerNumber is not empty: %q", n.String())
	}
}

func FuzzParseCustomerNumber(f *testing.F) {
	for _, s := range []string{"13", "5724", "5725", "05724", "", " 5724 ", "9999999999999999990", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseCustomerNumber(s)
		if err != nil {
			var ce *CustomerNumberError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CustomerNumberError", err)
			}
			return
		}
		again, err := ParseCustomerNumber(n.String())
		if err != nil || again != n {
			t.Fatalf("String() %q does not re-parse to the same number: %v", n.String(), err)
		}
		rebuilt, err := NewCustomerNumber(n.Seq())
		if err != nil || rebuilt != n {
			t.Fatalf("NewCustomerNumber(%d) = %v, %v; want %v", n.Seq(), rebuilt, err, n)
		}
	})
}

func FuzzNewCustomerNumber(f *testing.F) {
	for _, seq := range []int64{-1, 0, 1, 572, customerSeqMax, customerSeqMax + 1} {
		f.Add(seq)
	}
	f.Fuzz(func(t *testing.T, seq int64) {
		n, err := NewCustomerNumber(seq)
		if err != nil {
			return
		}
		parsed, err := ParseCustomerNumber(n.String())
		if err != nil || parsed.Seq() != seq {
			t.Fatalf("ParseCustomerNumber(%q) = %v, %v; want seq %d", n.String(), parsed, err, seq)
		}
	})
}
