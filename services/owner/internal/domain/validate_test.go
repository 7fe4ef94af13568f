package domain

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func validOwner() Owner {
	return Owner{
		GivenNames: "Aino", FamilyName: "Äijälä", Phone: "040 123 4567", Email: "aino@example.fi",
		Address:    Address{Street: "Ruukintie 1", PostalCode: "60100", City: "Seinäjoki"},
		HomeClinic: ClinicSeinajoki,
	}
}

func TestNormalizeOwner(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Owner)
		fields []string
	}{
		{"valid", func(*Owner) {}, nil},
		{"names required", func(o *Owner) { o.GivenNames, o.FamilyName = " ", "" }, []string{"o.given_names", "o.family_name"}},
		{"bad phone", func(o *Owner) { o.Phone = "12" }, []string{"o.phone"}},
		{"international phone", func(o *Owner) { o.Phone = "+46 8 123 456 78" }, nil},
		{"four-digit postal code", func(o *Owner) { o.Address.PostalCode = "6010" }, []string{"o.address.postal_code"}},
		{"foreign postal code", func(o *Owner) { o.Address.Country, o.Address.PostalCode = "se", "114 55" }, nil},
		{"bad country", func(o *Owner) { o.Address.Country = "Finland" }, []string{"o.address.country"}},
		{"bad e-mail", func(o *Owner) { o.Email = "Aino <aino@example.fi>" }, []string{"o.email"}},
		{"identity code as an e-mail address", func(o *Owner) { o.Email = "131052-308T@example.fi" }, []string{"o.email"}},
		{"digits in an e-mail address", func(o *Owner) { o.Email = "aino.131052@example.fi" }, nil},
		{"no clinic", func(o *Owner) { o.HomeClinic = "" }, []string{"o.home_clinic"}},
		{"control character", func(o *Owner) { o.FamilyName = "Ä\x00" }, []string{"o.family_name"}},
		{"too long", func(o *Owner) { o.Address.Street = strings.Repeat("k", 201) }, []string{"o.address.street"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := validOwner()
			tc.change(&o)
			var v apperr.ValidationError
			NormalizeOwner(&o, "o", &v)
			var got []string
			for _, fv := range v.Violations {
				got = append(got, fv.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("violations on %v, want %v", got, tc.fields)
			}
		})
	}
	o := validOwner()
	var v apperr.ValidationError
	NormalizeOwner(&o, "o", &v)
	if o.Phone != "+358401234567" || o.Language != LanguageFinnish || o.Address.Country != "" {
		t.Fatalf("not normalised: %+v", o)
	}
}

// TestAddressCountry: the country is an ISO 3166-1 alpha-2 code assigned to a country
// today, in upper case (Finland, the default, stored empty).
func TestAddressCountry(t *testing.T) {
	for _, tc := range []struct {
		in, stored string
		// problem is the violation's description; empty when the code passes.
		problem string
	}{
		{"", "", ""},
		{"FI", "", ""},
		{" fi ", "", ""},
		{"SE", "SE", ""},
		{"de", "DE", ""},
		{"AX", "AX", ""}, // Åland has a code of its own
		{"GB", "GB", ""},
		{"XK", "XK", ""}, // Kosovo: user-assigned, but the code every register uses
		{"XX", "XX", countryReasonCode},
		{"ZZ", "ZZ", countryReasonCode},
		{"QO", "QO", countryReasonCode}, // Outlying Oceania, a region
		{"EU", "EU", countryReasonCode},
		{"AA", "AA", countryReasonCode},
		{"AC", "AC", countryReasonCode}, // reserved (Ascension Island), no country of its own
		{"EA", "EA", countryReasonCode},
		{"SU", "SU", countryReasonCode}, // dissolved into several countries
		{"YU", "YU", countryReasonCode},
		{"UK", "UK", "must be the country's current ISO 3166-1 alpha-2 code, GB"},
		{"dd", "DD", "must be the country's current ISO 3166-1 alpha-2 code, DE"},
		{"FIN", "FIN", countryReasonCode}, // alpha-3
		{"246", "246", countryReasonCode}, // numeric
		{"F", "F", countryReasonCode},
		{"Finland", "FINLAND", countryReasonCode},
		{"S1", "S1", countryReasonCode},
	} {
		t.Run(tc.in, func(t *testing.T) {
			o := validOwner()
			o.Address.Country, o.Address.PostalCode = tc.in, ""
			var v apperr.ValidationError
			NormalizeOwner(&o, "o", &v)
			var got string
			for _, fv := range v.Violations {
				if fv.Field != "o.address.country" {
					t.Fatalf("violation on %s: %s", fv.Field, fv.Description)
				}
				got = fv.Description
			}
			if got != tc.problem || o.Address.Country != tc.stored {
				t.Fatalf("country %q: stored %q, violation %q; want %q, %q", tc.in, o.Address.Country, got, tc.stored, tc.problem)
			}
		})
	}
}

// TestCountryCodeCount: of all pairs of letters, the 249 codes ISO 3166-1 assigns and XK
// pass, whatever a newer x/text comes to call a country.
func TestCountryCodeCount(t *testing.T) {
	var passed int
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			if countryProblem(string([]rune{a, b})) == "" {
				passed++
			}
		}
	}
	if passed != 250 {
		t.Fatalf("%d two-letter codes pass, want 250 (249 assigned and XK)", passed)
	}
}

func TestNormalizePatient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Patient)
		fields []string
	}{
		{"valid", func(*Patient) {}, nil},
		{"name and species required", func(p *Patient) { p.Name, p.Species = "", "" }, []string{"p.name", "p.species"}},
		{"short microchip", func(p *Patient) { p.Microchip = "24609810012345" }, []string{"p.microchip"}},
		{"birth in the future", func(p *Patient) { p.BirthDate = "2027-01-01" }, []string{"p.birth_date"}},
		{"not a date", func(p *Patient) { p.BirthDate = "1.5.2020" }, []string{"p.birth_date"}},
		{"policy without insurer", func(p *Patient) { p.Insurance = Insurance{PolicyNumber: "123"} }, []string{"p.insurance.insurer"}},
		{"identity code as a policy number", func(p *Patient) { p.Insurance = Insurance{Insurer: "If", PolicyNumber: "131052-308T"} },
			[]string{"p.insurance.policy_number"}},
		{"identity code in a registration", func(p *Patient) { p.KennelClubRegistration = "FI 131052-308T" }, []string{"p.kennel_club_registration"}},
		{"born after its death", func(p *Patient) { p.Deceased, p.DeathDate, p.BirthDate = true, "2021-01-01", "2024-06-01" }, []string{"p.birth_date"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Patient{Name: "Nappi", Species: SpeciesCat, BirthDate: "2020-05-01", Microchip: "246 098 100 123 456"}
			tc.change(&p)
			var v apperr.ValidationError
			NormalizePatient(&p, "p", testNow, &v)
			var got []string
			for _, fv := range v.Violations {
				got = append(got, fv.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("violations on %v, want %v", got, tc.fields)
			}
		})
	}
}

// TestTodayIsTheClinicsDay: at 01:30 in Helsinki, still the day before in UTC, a birth
// or death "today" is the clinics' today, not in the future.
func TestTodayIsTheClinicsDay(t *testing.T) {
	helsinki, err := time.LoadLocation(ClinicZone)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 11, 1, 30, 0, 0, helsinki)
	p := Patient{Name: "Nappi", Species: SpeciesCat, BirthDate: "2026-03-11"}
	var v apperr.ValidationError
	NormalizePatient(&p, "p", now, &v)
	if d := ValidateDeathDate(&p, "2026-03-11", "death_date", now, &v); d != "2026-03-11" || v.Err() != nil {
		t.Fatalf("born and died today at 01:30 Helsinki time: %v", v.Err())
	}
	ValidateDeathDate(&p, "2026-03-12", "death_date", now, &v)
	if v.Err() == nil {
		t.Fatal("tomorrow accepted as a death date")
	}
}

// FuzzNormalizeOwner checks that no input panics and that whatever passes is stored in
// its normal form: normalising it again changes nothing, and the country is empty
// (Finland) or two capital letters.
func FuzzNormalizeOwner(f *testing.F) {
	f.Add("Aino", "Äijälä", "040 123 4567", "aino@example.fi", "60100", "FI")
	f.Add("", "\x00", "+", "@", "1", "??")
	f.Add("Aino", "Äijälä", "040 123 4567", "", "114 55", " se")
	f.Add("Aino", "Äijälä", "040 123 4567", "", "SW1A 1AA", "uk")
	f.Add("Aino", "Äijälä", "040 123 4567", "", "", "SWE")
	f.Add("Aino", "Äijälä", "040 123 4567", "", "", "qo")
	f.Fuzz(func(t *testing.T, given, family, phone, email, postal, country string) {
		o := Owner{GivenNames: given, FamilyName: family, Phone: phone, Email: email,
			Address: Address{PostalCode: postal, Country: country}, HomeClinic: ClinicKangasala}
		var v apperr.ValidationError
		NormalizeOwner(&o, "o", &v)
		if v.Err() != nil {
			return
		}
		if c := o.Address.Country; c != "" && (c == "FI" || len(c) != 2 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
			t.Fatalf("country %q (from %q) passed", c, country)
		}
		again := o
		NormalizeOwner(&again, "o", &v)
		if v.Err() != nil || !reflect.DeepEqual(again, o) {
			t.Fatalf("normal form is not stable: %+v then %+v (%v)", o, again, v.Err())
		}
	})
}

func FuzzNormalizePatient(f *testing.F) {
	f.Add("Nappi", "cat", "2020-05-01", "246098100123456", "2026-01-01")
	f.Add("", "", "0000-00-00", "x", "")
	f.Fuzz(func(t *testing.T, name, species, birth, chip, death string) {
		p := Patient{Name: name, Species: Species(species), BirthDate: birth, Microchip: chip}
		var v apperr.ValidationError
		NormalizePatient(&p, "p", testNow, &v)
		_ = ValidateDeathDate(&p, death, "death_date", testNow, &v)
	})
}
