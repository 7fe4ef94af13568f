// Package domain holds the owner register's entities and rules: owners, patients,
// identity codes, customer numbers and their validation. It knows nothing of gRPC or MongoDB.
package domain

import (
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
)

// UnknownValue stands for an enumerated value the API does not know; validation refuses
// it wherever it appears.
const UnknownValue = "?"

// Clinic is one of Lillvet's clinics.
type Clinic string

// The clinics.
const (
	ClinicSeinajoki Clinic = "seinajoki"
	ClinicKangasala Clinic = "kangasala"
)

// Language is the language the clinic uses with a customer.
type Language string

// The languages the clinic serves its customers in.
const (
	LanguageFinnish Language = "fi"
	LanguageSwedish Language = "sv"
	LanguageEnglish Language = "en"
)

// maxTextLen bounds free-text fields so one request cannot store megabytes in a name.
const maxTextLen = 200

// Address is a postal address.
type Address struct {
	Street     string
	PostalCode string
	City       string
	// Country is ISO 3166-1 alpha-2; empty means Finland.
	Country string
}

// Owner is a customer of the clinic.
type Owner struct {
	ID         string
	GivenNames string
	FamilyName string
	Address    Address
	Phone      string
	Email      string
	Language   Language
	HomeClinic Clinic
	// IdentityCodeMasked is empty when no identity code is on record.
	IdentityCodeMasked string
	// Restricted is set while an erasure or objection is pending, and for good once
	// the owner is erased.
	Restricted bool
	// PendingErasures are the erasure requests that restricted the owner (or found it
	// restricted) and have not yet been applied: while one is pending, the restriction
	// cannot be lifted, since the erasure follows whatever anyone decides meanwhile.
	PendingErasures []string
	// Erased is set once an erasure has run; ErasedAt is when the first one did.
	Erased   bool
	ErasedAt time.Time
	// Anonymised is set once the names and address are gone.
	Anonymised bool
	// NameKeptUntil and IdentityKeptUntil are the last days (YYYY-MM-DD) an erasure
	// keeps the names, address and patients, and the identity code; empty when
	// nothing is kept.
	NameKeptUntil     string
	IdentityKeptUntil string
	// NameExtendedUntil is the last day the history service told (ExtendNameRetention)
	// its records name the owner, empty when it told none: an erasure request answered
	// later never keeps the names to an earlier day (see PlanErasure).
	NameExtendedUntil string
	// CreateDigest is the keyed digest of the create request that made the owner
	// (OwnerCreateRequest), which the repository makes and keeps; see SameOwnerCreate.
	CreateDigest string
	Version      int64
	Created      time.Time
	Updated      time.Time
}

// Change records one rectification of an owner or a patient (DESIGN rule 3).
type Change struct {
	Version      int64
	Time         time.Time
	ActorSubject string
	ActorName    string
	ActorRoles   []string
	// ActorSystem marks the service's own work (auth.Identity.System), which no token
	// can claim.
	ActorSystem bool
	Fields      []string
	Reason      string
	// Values are the earlier and later values of those of Fields that name no one by
	// themselves (the owner id of a transfer). Personal data's values are never kept:
	// a rectification or an erasure would leave them behind in the history.
	Values []ValueChange
}

// ValueChange is one field's value before and after a change.
type ValueChange struct {
	Field string
	From  string
	To    string
}

// ownerFields are the update-mask paths an owner update may name.
var ownerFields = []string{
	"given_names", "family_name", "address", "address.street",
	"address.postal_code", "address.city", "address.country",
	"phone", "email", "preferred_language", "home_clinic", "identity_code",
}

// OwnerFields returns the paths an owner update mask may name.
func OwnerFields() []string { return slices.Clone(ownerFields) }

// NormalizeOwner validates o in place, normalising the phone number, e-mail and postal
// code. prefix is the request's field path of the owner (e.g. "owner").
func NormalizeOwner(o *Owner, prefix string, v *apperr.ValidationError) {
	o.GivenNames = strings.TrimSpace(o.GivenNames)
	o.FamilyName = strings.TrimSpace(o.FamilyName)
	requireText(v, prefix+".given_names", o.GivenNames)
	requireText(v, prefix+".family_name", o.FamilyName)
	normalizeAddress(&o.Address, prefix+".address", v)
	if o.Phone = strings.TrimSpace(o.Phone); o.Phone != "" {
		o.Phone = NormalizePhoneField(v, prefix+".phone", o.Phone)
	}
	if o.Email = strings.TrimSpace(o.Email); o.Email != "" {
		if a, err := mail.ParseAddress(o.Email); err != nil || a.Address != o.Email || len(o.Email) > maxTextLen {
			v.Add(prefix+".email", "must be a plain e-mail address such as name@example.fi")
		} else {
			// An address's local part may be anything, a code included.
			v.CheckNoIdentityCode(prefix+".email", o.Email)
		}
	}
	switch o.Language {
	case "":
		o.Language = LanguageFinnish
	case LanguageFinnish, LanguageSwedish, LanguageEnglish:
	default:
		v.Add(prefix+".preferred_language", "must be fi, sv or en")
	}
	switch o.HomeClinic {
	case ClinicSeinajoki, ClinicKangasala:
	default:
		v.Add(prefix+".home_clinic", "must be Seinäjoki or Kangasala")
	}
}

func normalizeAddress(a *Address, prefix string, v *apperr.ValidationError) {
	a.Street = strings.TrimSpace(a.Street)
	a.City = strings.TrimSpace(a.City)
	a.PostalCode = strings.TrimSpace(a.PostalCode)
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	optionalText(v, prefix+".street", a.Street)
	optionalText(v, prefix+".city", a.City)
	if a.Country == "" || a.Country == "FI" {
		a.Country = ""
		if a.PostalCode != "" {
			if err := ValidatePostalCode(a.PostalCode); err != nil {
				v.Add(prefix+".postal_code", "must be five digits")
			}
		}
		return
	}
	if problem := countryProblem(a.Country); problem != "" {
		v.Add(prefix+".country", problem)
	}
	// The postal code is checked whatever the country: an update that keeps a country
	// stored under laxer rules may set the postal code beside it.
	optionalText(v, prefix+".postal_code", a.PostalCode)
}

func requireText(v *apperr.ValidationError, field, s string) {
	if s == "" {
		v.Add(field, "is required")
		return
	}
	optionalText(v, field, s)
}

func optionalText(v *apperr.ValidationError, field, s string) {
	v.CheckText(field, s, maxTextLen)
}
