package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
)

func TestDefaultCategories(t *testing.T) {
	for _, k := range Kinds() {
		cats := DefaultCategories(k)
		if len(cats) == 0 {
			t.Errorf("%s has no default categories", k)
		}
		if !slices.IsSortedFunc(cats, func(a, b Category) int {
			return slices.Index(Categories(), a) - slices.Index(Categories(), b)
		}) {
			t.Errorf("%s: defaults %v not in the order of Categories", k, cats)
		}
		if got := slices.Contains(cats, CategoryIdentityCode); got != (k == KindDataSubject) {
			t.Errorf("%s: identity code in the default set = %v; only the data subject's own copy has it", k, got)
		}
		for _, c := range []Category{CategoryConsents, CategoryDisclosures, CategoryAccessLog} {
			if k != KindDataSubject && slices.Contains(cats, c) {
				t.Errorf("%s may receive %s, which only the data subject gets", k, c)
			}
		}
	}
	if !slices.Equal(DefaultCategories(KindDataSubject), Categories()) {
		t.Error("the data subject's copy is not every category")
	}
	if DefaultCategories("police") != nil {
		t.Error("an unknown kind has defaults")
	}
	if !slices.Equal(DefaultCategories(KindInsurer), []Category{
		CategoryOwnerName, CategoryPatientBasics, CategoryMicrochip, CategoryVisitHistory, CategoryMedications, CategoryInvoices,
	}) {
		t.Errorf("insurer defaults %v", DefaultCategories(KindInsurer))
	}
}

func TestKinds(t *testing.T) {
	for _, tc := range []struct {
		kind               Kind
		valid, registrable bool
	}{
		{KindSubcontractor, true, true},
		{KindInsurer, true, true},
		{KindKennelClub, true, true},
		{KindCatFederation, true, true},
		{KindMicrochipRegistry, true, true},
		{KindDataSubject, true, false},
		{"", false, false},
		{"Insurer", false, false},
	} {
		if tc.kind.Valid() != tc.valid || tc.kind.Registrable() != tc.registrable {
			t.Errorf("%q: valid %v registrable %v, want %v %v", tc.kind, tc.kind.Valid(), tc.kind.Registrable(), tc.valid, tc.registrable)
		}
	}
}

func TestNormalizeCategories(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     []Category
		want   []Category
		fields []string
	}{
		{"empty", nil, nil, nil},
		{"ordered and deduplicated", []Category{"microchip", " OWNER_NAME ", "microchip"},
			[]Category{CategoryOwnerName, CategoryMicrochip}, nil},
		{"unknown named by index", []Category{"owner_name", "dna", "shoe_size"},
			[]Category{CategoryOwnerName}, []string{"c[1]", "c[2]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v apperr.ValidationError
			got := NormalizeCategories(tc.in, "c", &v)
			if !slices.Equal(got, tc.want) || !slices.Equal(violationFields(&v), tc.fields) {
				t.Fatalf("got %v %v, want %v %v", got, violationFields(&v), tc.want, tc.fields)
			}
		})
	}
	all := []Category{CategoryOwnerName, CategoryIdentityCode, CategoryMicrochip}
	if got := NotIn(all, DefaultCategories(KindKennelClub)); !slices.Equal(got, []Category{CategoryIdentityCode}) {
		t.Errorf("NotIn = %v", got)
	}
	if got := Intersect(all, DefaultCategories(KindKennelClub)); !slices.Equal(got, []Category{CategoryOwnerName, CategoryMicrochip}) {
		t.Errorf("Intersect = %v", got)
	}
}

func TestParseBusinessID(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"2923530-5", "2923530-5"}, // Lillvet Oy
		{" 0112038-9 ", "0112038-9"},
		{"0737546-2", "0737546-2"},
		{"123456-2", "0123456-2"}, // a six-digit id from before 1991
		{"0000010-7", "0000010-7"},
		{"2923530-4", ""},  // wrong check digit
		{"0000006-0", ""},  // remainder 1: never issued
		{"0000006-1", ""},  // remainder 1 either way
		{"0000000-0", ""},  // all zeros
		{"29235305", ""},   // no hyphen
		{"2923530-55", ""}, // two check digits
		{"292353-05", ""},
		{"12345-6", ""},
		{"29235300-5", ""},
		{"292353a-5", ""},
		{"２923530-5", ""},  // a full-width digit
		{"FI29235305", ""}, // the VAT form is not the business id
		{"", ""},
	} {
		got, err := ParseBusinessID(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseBusinessID(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) && tc.in != "" {
			t.Errorf("error %q echoes the input", err)
		}
	}
}

// FuzzParseBusinessID checks that nothing panics, that an accepted id is in normal form
// (parsing it again gives itself) and that changing its check digit makes it invalid.
func FuzzParseBusinessID(f *testing.F) {
	for _, s := range []string{"2923530-5", "123456-2", "0000006-0", "-", "1234567-", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseBusinessID(s)
		if err != nil {
			if id != "" {
				t.Fatalf("rejected %q but returned %q", s, id)
			}
			return
		}
		if again, err := ParseBusinessID(id); err != nil || again != id || len(id) != 9 {
			t.Fatalf("%q normalised to %q, which parses to %q, %v", s, id, again, err)
		}
		for d := byte('0'); d <= '9'; d++ {
			if d != id[8] {
				if _, err := ParseBusinessID(id[:8] + string(d)); err == nil {
					t.Fatalf("%q and %q both valid", id, id[:8]+string(d))
				}
			}
		}
	})
}

func TestCountries(t *testing.T) {
	codes := strings.Fields(countryCodes)
	if len(codes) != 249 || len(countryCodes) != 249*3-1 {
		t.Fatalf("%d country codes, want the 249 of ISO 3166-1", len(codes))
	}
	if !slices.IsSorted(codes) || len(slices.Compact(slices.Clone(codes))) != len(codes) {
		t.Error("country codes are not sorted and distinct")
	}
	eea := strings.Fields(eeaCodes)
	if len(eea) != 27+3+7 || len(eeaCodes) != len(eea)*3-1 {
		t.Fatalf("%d EU/EEA codes, want 27 member states, 3 EEA states and 7 territories", len(eea))
	}
	for _, c := range eea {
		if !slices.Contains(codes, c) {
			t.Errorf("EU/EEA code %s is not an ISO code", c)
		}
	}
	for _, tc := range []struct {
		code string
		in   bool
	}{
		{"FI", true}, {"SE", true}, {"EE", true}, {"DE", true}, {"GR", true}, {"IE", true},
		{"IS", true}, {"LI", true}, {"NO", true}, {"AX", true}, {"RE", true},
		{"US", false}, {"GB", false}, {"CH", false}, {"RU", false}, {"GL", false}, {"FO", false},
		{"SJ", false}, {"EL", false}, {"EU", false}, {"fi", false}, {"", false}, {"F", false}, {"FIN", false},
	} {
		if InEEA(tc.code) != tc.in {
			t.Errorf("InEEA(%q) = %v", tc.code, !tc.in)
		}
		err := CheckEEA(tc.code)
		var pe *apperr.PreconditionError
		if tc.in != (err == nil) || (err != nil && (!errors.As(err, &pe) || pe.Reason != ReasonOutsideEEA ||
			!strings.Contains(pe.Description, "outside the EU/EEA"))) {
			t.Errorf("CheckEEA(%q) = %v", tc.code, err)
		}
	}
}

func validRecipient() Recipient {
	return Recipient{
		Name: " Lemmikkivakuutus Oy ", Kind: KindInsurer, BusinessID: "0737546-2", Country: "fi",
		Contact:      Contact{Name: "Korvauspalvelu", Email: "tietosuoja@example.fi", Phone: "+358 9 123 4567"},
		AgreementRef: "",
	}
}

func TestPrepareRecipient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Recipient)
		fields []string
	}{
		{"valid", func(*Recipient) {}, nil},
		{"name required", func(r *Recipient) { r.Name = "  " }, []string{"r.name"}},
		{"name too long", func(r *Recipient) { r.Name = strings.Repeat("n", 201) }, []string{"r.name"}},
		{"name control character", func(r *Recipient) { r.Name = "Vakuutus\nOy" }, []string{"r.name"}},
		{"unknown kind", func(r *Recipient) { r.Kind = "police" }, []string{"r.kind"}},
		{"data subject not registrable", func(r *Recipient) { r.Kind = KindDataSubject }, []string{"r.kind"}},
		{"bad check digit", func(r *Recipient) { r.BusinessID = "0737546-3" }, []string{"r.business_id"}},
		{"business id required", func(r *Recipient) { r.BusinessID = "" }, []string{"r.business_id"}},
		{"foreign registration number", func(r *Recipient) { r.Country, r.BusinessID = "SE", "556036-0793" }, nil},
		{"foreign id too long", func(r *Recipient) { r.Country, r.BusinessID = "SE", strings.Repeat("1", 41) }, []string{"r.business_id"}},
		{"country required", func(r *Recipient) { r.Country = "" }, []string{"r.country"}},
		{"country alpha-3", func(r *Recipient) { r.Country = "FIN" }, []string{"r.country"}},
		{"country unassigned", func(r *Recipient) { r.Country = "XX" }, []string{"r.country"}},
		{"contact e-mail required", func(r *Recipient) { r.Contact.Email = "" }, []string{"r.contact.email"}},
		{"contact e-mail with name", func(r *Recipient) { r.Contact.Email = "Tietosuoja <t@example.fi>" }, []string{"r.contact.email"}},
		{"identity code as the contact e-mail", func(r *Recipient) { r.Contact.Email = "010190y123m@example.fi" }, []string{"r.contact.email"}},
		{"contact phone national", func(r *Recipient) { r.Contact.Phone = "09 123 4567" }, []string{"r.contact.phone"}},
		{"contact phone too short", func(r *Recipient) { r.Contact.Phone = "+358 12" }, []string{"r.contact.phone"}},
		{"contact phone letters", func(r *Recipient) { r.Contact.Phone = "+358 40 CALL ME" }, []string{"r.contact.phone"}},
		// 131052-0040 is a valid code: its separators must not pass it as a number.
		{"identity code as the contact phone", func(r *Recipient) { r.Contact.Phone = "+358 131052-0040" }, []string{"r.contact.phone"}},
		{"contact phone optional", func(r *Recipient) { r.Contact.Phone = "" }, nil},
		{"contact name control", func(r *Recipient) { r.Contact.Name = "a\tb" }, []string{"r.contact.name"}},
		{"subcontractor needs agreement", func(r *Recipient) { r.Kind = KindSubcontractor }, []string{"r.agreement_ref"}},
		{"subcontractor with agreement", func(r *Recipient) { r.Kind, r.AgreementRef = KindSubcontractor, "DPA 2026/3" }, nil},
		{"agreement too long", func(r *Recipient) { r.AgreementRef = strings.Repeat("a", 201) }, []string{"r.agreement_ref"}},
		{"narrowed", func(r *Recipient) { r.Categories = []Category{CategoryOwnerName, CategoryInvoices} }, nil},
		{"widened with identity code", func(r *Recipient) {
			r.Categories = []Category{CategoryOwnerName, CategoryIdentityCode}
		}, []string{"r.categories"}},
		{"widened past the kind", func(r *Recipient) {
			r.Kind, r.Categories = KindKennelClub, []Category{CategoryOwnerContact}
		}, []string{"r.categories"}},
		{"unknown category", func(r *Recipient) { r.Categories = []Category{CategoryOwnerName, "dna"} }, []string{"r.categories[1]"}},
		{"everything wrong", func(r *Recipient) { *r = Recipient{} },
			[]string{"r.name", "r.kind", "r.country", "r.business_id", "r.contact.email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validRecipient()
			tc.change(&r)
			err := PrepareRecipient(&r, "r")
			var v *apperr.ValidationError
			if err != nil && !errors.As(err, &v) {
				t.Fatalf("error %v is not a validation error", err)
			}
			if got := violationFields(v); !slices.Equal(got, tc.fields) {
				t.Fatalf("violations on %v, want %v (%v)", got, tc.fields, err)
			}
			if err == nil && !r.Active {
				t.Fatal("a registered recipient is not active")
			}
		})
	}
}

func TestPrepareRecipientNormalises(t *testing.T) {
	r := validRecipient()
	r.BusinessID = " 737546-2 "
	r.Categories = []Category{"invoices", "OWNER_NAME", "invoices"}
	if err := PrepareRecipient(&r, "r"); err != nil {
		t.Fatal(err)
	}
	want := Recipient{
		Name: "Lemmikkivakuutus Oy", Kind: KindInsurer, BusinessID: "0737546-2", Country: "FI",
		Contact:    Contact{Name: "Korvauspalvelu", Email: "tietosuoja@example.fi", Phone: "+35891234567"},
		Categories: []Category{CategoryOwnerName, CategoryInvoices}, Active: true,
	}
	if !recipientsEqual(r, want) {
		t.Fatalf("normalised to %+v, want %+v", r, want)
	}
	d := validRecipient()
	if err := PrepareRecipient(&d, "r"); err != nil || !slices.Equal(d.Categories, DefaultCategories(KindInsurer)) {
		t.Fatalf("no categories given: %v, %v; want the kind's defaults", d.Categories, err)
	}
}

func TestPrepareRecipientOutsideEEA(t *testing.T) {
	for _, country := range []string{"US", "gb", "CH"} {
		r := validRecipient()
		r.Country, r.BusinessID = country, "EIN 12-3456789"
		err := PrepareRecipient(&r, "r")
		var pe *apperr.PreconditionError
		if !errors.As(err, &pe) || pe.Reason != ReasonOutsideEEA || r.Active {
			t.Errorf("%s: %v, active %v; want %s", country, err, r.Active, ReasonOutsideEEA)
		}
	}
	// Bad input is reported first, so the caller fixes it before learning of the country.
	r := validRecipient()
	r.Country, r.Name = "US", ""
	var v *apperr.ValidationError
	if err := PrepareRecipient(&r, "r"); !errors.As(err, &v) {
		t.Fatalf("invalid recipient in the USA: %v, want a validation error", err)
	}
}

func TestDeactivate(t *testing.T) {
	r := validRecipient()
	if err := PrepareRecipient(&r, "r"); err != nil {
		t.Fatal(err)
	}
	r.Deactivate(testNow)
	r.Deactivate(testNow.Add(time.Hour))
	if r.Active || !r.DeactivatedAt.Equal(testNow) {
		t.Fatalf("after deactivating twice: active %v at %v, want the first time", r.Active, r.DeactivatedAt)
	}
}

// FuzzPrepareRecipient checks that no input panics, that violations stay under the
// prefix without echoing the input, that a prepared recipient is in normal form (preparing
// it again changes nothing) and never receives more than its kind.
func FuzzPrepareRecipient(f *testing.F) {
	f.Add("Vakuutus Oy", "insurer", "0737546-2", "fi", "a@example.fi", "+358 9 123", "", "owner_name,invoices")
	f.Add("Lab", "subcontractor", "123456-2", "SE", "lab@example.se", "", "DPA-1", "")
	f.Add("Vakuutus Oy", "insurer", "0737546-2", "FI", "a@example.fi", "+358 131052-0040", "", "")
	f.Add("\xff", "data_subject", "", "us", "<>", "+0", "\x00", "identity_code")
	f.Fuzz(func(t *testing.T, name, kind, businessID, country, email, phone, agreement, cats string) {
		r := Recipient{
			Name: name, Kind: Kind(kind), BusinessID: businessID, Country: country,
			Contact: Contact{Email: email, Phone: phone}, AgreementRef: agreement,
		}
		for c := range strings.SplitSeq(cats, ",") {
			if c != "" {
				r.Categories = append(r.Categories, Category(c))
			}
		}
		err := PrepareRecipient(&r, "r")
		var v *apperr.ValidationError
		if errors.As(err, &v) {
			for _, fv := range v.Violations {
				if !strings.HasPrefix(fv.Field, "r.") {
					t.Fatalf("violation field %q is not under the prefix", fv.Field)
				}
				for _, in := range []string{name, businessID, email, phone, agreement} {
					if len(in) >= 16 && !strings.ContainsRune(in, ' ') && strings.Contains(fv.Description, in) {
						t.Fatalf("description %q echoes the input", fv.Description)
					}
				}
			}
			return
		}
		if err != nil {
			var pe *apperr.PreconditionError
			if !errors.As(err, &pe) || InEEA(r.Country) {
				t.Fatalf("unexpected error %v for country %q", err, r.Country)
			}
			return
		}
		if len(NotIn(r.Categories, DefaultCategories(r.Kind))) > 0 || !r.Kind.Registrable() || !InEEA(r.Country) {
			t.Fatalf("accepted %+v", r)
		}
		again := r
		again.Categories = slices.Clone(r.Categories)
		if err := PrepareRecipient(&again, "r"); err != nil || !recipientsEqual(again, r) {
			t.Fatalf("preparing %+v again gives %+v, %v", r, again, err)
		}
	})
}

func recipientsEqual(a, b Recipient) bool {
	return slices.Equal(a.Categories, b.Categories) && a.Name == b.Name && a.Kind == b.Kind &&
		a.BusinessID == b.BusinessID && a.Country == b.Country && a.Contact == b.Contact &&
		a.AgreementRef == b.AgreementRef && a.Active == b.Active
}

// violationFields returns the fields of v's violations in order (nil for a nil v).
func violationFields(v *apperr.ValidationError) []string {
	if v == nil {
		return nil
	}
	var fields []string
	for _, fv := range v.Violations {
		fields = append(fields, fv.Field)
	}
	return fields
}
