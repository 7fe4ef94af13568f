package domain

import (
	"slices"
	"strings"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
)

// Species is the kind of animal.
type Species string

// The species the clinic records.
const (
	SpeciesDog     Species = "dog"
	SpeciesCat     Species = "cat"
	SpeciesRabbit  Species = "rabbit"
	SpeciesRodent  Species = "rodent"
	SpeciesBird    Species = "bird"
	SpeciesReptile Species = "reptile"
	SpeciesHorse   Species = "horse"
	SpeciesFerret  Species = "ferret"
	SpeciesOther   Species = "other"
)

// Sex is a patient's sex as the owner reports it.
type Sex string

// The sexes.
const (
	SexMale    Sex = "male"
	SexFemale  Sex = "female"
	SexUnknown Sex = "unknown"
)

// dateLayout is how dates without a time travel in the API.
const dateLayout = time.DateOnly

// Insurance is a patient's insurance policy.
type Insurance struct {
	Insurer      string
	PolicyNumber string
}

// Patient is an animal in the clinic's care.
type Patient struct {
	ID                     string
	OwnerID                string
	CustomerNumber         CustomerNumber
	Name                   string
	Species                Species
	Breed                  string
	Sex                    Sex
	Neutered               bool
	BirthDate              string
	Colour                 string
	Microchip              string
	KennelClubRegistration string
	Insurance              Insurance
	Deceased               bool
	DeathDate              string
	// Erased is set when the owner's erasure kept the patient (restricted: it can no
	// longer be changed); Anonymised once its details are gone too.
	Erased     bool
	Anonymised bool
	// ErasedBy is the erasure request that anonymised the patient (empty when the
	// retention sweep did), so that a retry of an interrupted erasure still counts it.
	ErasedBy string
	// CreateDigest is the keyed digest of the registration that made the patient
	// (PatientCreateRequest), which the repository makes and keeps; see
	// SamePatientCreate.
	CreateDigest string
	Version      int64
	Created      time.Time
	Updated      time.Time
}

var patientFields = []string{
	"name", "species", "breed", "sex", "neutered", "birth_date", "colour", "microchip",
	"kennel_club_registration", "insurance", "insurance.insurer", "insurance.policy_number",
}

// PatientFields returns the paths a patient update mask may name. Owner, customer
// number and death have their own operations.
func PatientFields() []string { return slices.Clone(patientFields) }

// NormalizePatient validates p in place. now, on the clinics' clock, bounds dates that
// cannot be in the future.
func NormalizePatient(p *Patient, prefix string, now time.Time, v *apperr.ValidationError) {
	p.Name = strings.TrimSpace(p.Name)
	requireText(v, prefix+".name", p.Name)
	switch p.Species {
	case SpeciesDog, SpeciesCat, SpeciesRabbit, SpeciesRodent, SpeciesBird, SpeciesReptile,
		SpeciesHorse, SpeciesFerret, SpeciesOther:
	case "":
		v.Add(prefix+".species", "is required")
	default:
		v.Add(prefix+".species", "is not a known species")
	}
	switch p.Sex {
	case "":
		p.Sex = SexUnknown
	case SexMale, SexFemale, SexUnknown:
	default:
		v.Add(prefix+".sex", "must be male, female or unknown")
	}
	for field, s := range map[string]*string{
		".breed": &p.Breed, ".colour": &p.Colour, ".kennel_club_registration": &p.KennelClubRegistration,
		".insurance.insurer": &p.Insurance.Insurer, ".insurance.policy_number": &p.Insurance.PolicyNumber,
	} {
		*s = strings.TrimSpace(*s)
		optionalText(v, prefix+field, *s)
	}
	if p.Insurance.PolicyNumber != "" && p.Insurance.Insurer == "" {
		v.Add(prefix+".insurance.insurer", "is required with a policy number")
	}
	if p.Microchip = strings.TrimSpace(p.Microchip); p.Microchip != "" {
		chip, err := ParseMicrochip(p.Microchip)
		if err != nil {
			v.Add(prefix+".microchip", "must be 15 digits (ISO 11784)")
		}
		p.Microchip = chip
	}
	p.BirthDate = normalizePastDate(p.BirthDate, prefix+".birth_date", now, v)
	if p.BirthDate != "" && p.DeathDate != "" && p.BirthDate > p.DeathDate {
		v.Add(prefix+".birth_date", "must not be after the death date")
	}
}

// ValidateDeathDate checks the date of death of p; it cannot precede the birth date.
func ValidateDeathDate(p *Patient, date, field string, now time.Time, v *apperr.ValidationError) string {
	if strings.TrimSpace(date) == "" {
		v.Add(field, "is required")
		return ""
	}
	d := normalizePastDate(date, field, now, v)
	if d != "" && p.BirthDate != "" && d < p.BirthDate {
		v.Add(field, "must not be before the birth date")
	}
	return d
}

func normalizePastDate(s, field string, now time.Time, v *apperr.ValidationError) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	d, err := time.Parse(dateLayout, s)
	switch {
	case err != nil:
		v.Add(field, "must be a date YYYY-MM-DD")
		return s
	case d.Format(dateLayout) > now.Format(dateLayout): // now's calendar day, where now is
		v.Add(field, "must not be in the future")
	case d.Year() < 1900:
		v.Add(field, "must be after 1900")
	}
	return d.Format(dateLayout)
}
