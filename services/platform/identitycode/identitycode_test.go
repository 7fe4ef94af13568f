package identitycode

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		temporary bool
		want      string
		masked    string
		born      time.Time
	}{
		{"reference vector", "131052-308T", false, "131052-308T", "******-***T", date(1952, 10, 13)},
		{"lower-case check char", "131052-308t", false, "131052-308T", "******-***T", date(1952, 10, 13)},
		{"surrounding space", "  131052-308T\n", false, "131052-308T", "******-***T", date(1952, 10, 13)},
		{"1990 dash", "010190-123M", false, "010190-123M", "******-***M", date(1990, 1, 1)},
		{"1990 Y", "010190Y123M", false, "010190Y123M", "******-***M", date(1990, 1, 1)},
		{"lower-case century sign", "010190a123m", false, "010190A123M", "******-***M", date(2090, 1, 1)},
		{"29 Feb 2000 is a leap day", "290200A1239", false, "290200A1239", "******-***9", date(2000, 2, 29)},
		{"28 Feb 1896", "280296+002H", false, "280296+002H", "******-***H", date(1896, 2, 28)},
		{"31 Dec 1999", "311299-0029", false, "311299-0029", "******-***9", date(1999, 12, 31)},
		{"lowest real individual number", "010100A002H", false, "010100A002H", "******-***H", date(2000, 1, 1)},
		{"temporary allowed", "010150-900C", true, "010150-900C", "******-***C", date(1950, 1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, tt.temporary)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.String() != tt.want {
				t.Errorf("String() = %q, want %q", got.String(), tt.want)
			}
			if got.Masked() != tt.masked {
				t.Errorf("Masked() = %q, want %q", got.Masked(), tt.masked)
			}
			if !got.BirthDate().Equal(tt.born) {
				t.Errorf("BirthDate() = %v, want %v", got.BirthDate(), tt.born)
			}
			if got.Temporary() != tt.temporary {
				t.Errorf("Temporary() = %v, want %v", got.Temporary(), tt.temporary)
			}
		})
	}
}

func TestCodeCenturySigns(t *testing.T) {
	tests := []struct {
		sign byte
		year int
	}{
		{'+', 1890},
		{'-', 1990}, {'Y', 1990}, {'X', 1990}, {'W', 1990}, {'V', 1990}, {'U', 1990},
		{'A', 2090}, {'B', 2090}, {'C', 2090}, {'D', 2090}, {'E', 2090}, {'F', 2090},
	}
	seen := map[Code]bool{}
	for _, tt := range tests {
		t.Run(string(tt.sign), func(t *testing.T) {
			code, err := Parse("010190"+string(tt.sign)+"123M", false)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if y := code.BirthDate().Year(); y != tt.year {
				t.Errorf("BirthDate().Year() = %d, want %d", y, tt.year)
			}
			if seen[code] {
				t.Errorf("%s equals a code with another century sign", code)
			}
			seen[code] = true
		})
	}
}

func TestCodeDifferentPeople(t *testing.T) {
	a, errA := Parse("010190-123M", false)
	b, errB := Parse("010190Y123M", false)
	if errA != nil || errB != nil {
		t.Fatalf("Parse: %v, %v", errA, errB)
	}
	if a == b || a.String() == b.String() {
		t.Errorf("010190-123M and 010190Y123M must be different codes")
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		temporary bool
		reason    string
	}{
		{"empty", "", false, reasonLength},
		{"too short", "131052-308", false, reasonLength},
		{"too long", "131052-308TT", false, reasonLength},
		{"inner space", "131052 -308T", false, reasonLength},
		{"non-ASCII", "131052–308T", false, reasonLength},
		{"letter in date", "13105X-308T", false, reasonCharacter},
		{"letter in individual number", "131052-3O8T", false, reasonCharacter},
		{"unknown century sign G", "131052G308T", false, reasonCentury},
		{"unknown century sign Z", "131052Z308T", false, reasonCentury},
		{"unknown century sign slash", "131052/308T", false, reasonCentury},
		{"31 Feb", "310290-123M", false, reasonDate},
		{"29 Feb 1900 is not a leap day", "290200-1239", false, reasonDate},
		{"29 Feb 2001", "290201A1239", false, reasonDate},
		{"day zero", "000190-123M", false, reasonDate},
		{"month zero", "010090-123M", false, reasonDate},
		{"month 13", "011390-123M", false, reasonDate},
		{"31 Apr", "310490-123M", false, reasonDate},
		{"individual number 000", "010100A000F", false, reasonIndividual},
		{"individual number 001", "010100A001F", true, reasonIndividual},
		{"temporary not allowed", "010150-900C", false, reasonTemporary},
		{"wrong check char", "131052-308U", false, reasonCheckChar},
		{"check char outside alphabet", "131052-308G", false, reasonCheckChar},
		{"check char of other century sign", "010190A123N", false, reasonCheckChar},
		{"check char is a digit", "131052-3081", false, reasonCheckChar},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in, tt.temporary)
			var ie *Error
			if !errors.As(err, &ie) {
				t.Fatalf("Parse error = %v, want *Error", err)
			}
			if ie.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", ie.Reason, tt.reason)
			}
			if want := "identity code: " + tt.reason; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestCodeZeroValue(t *testing.T) {
	var c Code
	if !c.IsZero() || c.String() != "" || c.Masked() != "" || !c.BirthDate().IsZero() || c.Temporary() {
		t.Errorf("zero Code is not empty: %q %q %v", c.String(), c.Masked(), c.BirthDate())
	}
}

func TestCodeLogsMasked(t *testing.T) {
	code, err := Parse("131052-308T", false)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	slog.New(slog.NewJSONHandler(&out, nil)).Info("reveal", "code", code)
	if strings.Contains(out.String(), "131052") || !strings.Contains(out.String(), "******-***T") {
		t.Errorf("log line does not show the code masked: %s", out.String())
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"131052-308T", "010190-123M", "010190Y123M", "290200A1239", "010150-900C",
		"131052-308t", "", "290200-1239", "131052G308T", "\xff\xfe131052-308T",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	reasons := map[string]bool{}
	for _, r := range []string{
		reasonLength, reasonCharacter, reasonCentury, reasonDate,
		reasonIndividual, reasonTemporary, reasonCheckChar,
	} {
		reasons["identity code: "+r] = true
	}
	f.Fuzz(func(t *testing.T, s string, allowTemporary bool) {
		code, err := Parse(s, allowTemporary)
		if err != nil {
			// Every message is one of the fixed texts, so none can carry the input.
			if !reasons[err.Error()] {
				t.Fatalf("unexpected error message %q", err.Error())
			}
			return
		}
		again, err := Parse(code.String(), allowTemporary)
		if err != nil || again != code {
			t.Fatalf("String() %q does not re-parse to the same code: %v", code.String(), err)
		}
		if m := code.Masked(); len(m) != codeLength || m[:10] != "******-***" {
			t.Fatalf("Masked() = %q", m)
		}
		if code.BirthDate().IsZero() {
			t.Fatalf("valid code %q has no birth date", code.String())
		}
	})
}

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
