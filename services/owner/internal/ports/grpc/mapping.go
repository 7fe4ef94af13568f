package grpc

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/identitycode"
	"github.com/lillvet/register/services/platform/protomap"
)

var clinics = map[ownerv1.Clinic]domain.Clinic{
	ownerv1.Clinic_CLINIC_SEINAJOKI: domain.ClinicSeinajoki,
	ownerv1.Clinic_CLINIC_KANGASALA: domain.ClinicKangasala,
}

var languages = map[ownerv1.Language]domain.Language{
	ownerv1.Language_LANGUAGE_FI: domain.LanguageFinnish,
	ownerv1.Language_LANGUAGE_SV: domain.LanguageSwedish,
	ownerv1.Language_LANGUAGE_EN: domain.LanguageEnglish,
}

var species = map[ownerv1.Species]domain.Species{
	ownerv1.Species_SPECIES_DOG:     domain.SpeciesDog,
	ownerv1.Species_SPECIES_CAT:     domain.SpeciesCat,
	ownerv1.Species_SPECIES_RABBIT:  domain.SpeciesRabbit,
	ownerv1.Species_SPECIES_RODENT:  domain.SpeciesRodent,
	ownerv1.Species_SPECIES_BIRD:    domain.SpeciesBird,
	ownerv1.Species_SPECIES_REPTILE: domain.SpeciesReptile,
	ownerv1.Species_SPECIES_HORSE:   domain.SpeciesHorse,
	ownerv1.Species_SPECIES_FERRET:  domain.SpeciesFerret,
	ownerv1.Species_SPECIES_OTHER:   domain.SpeciesOther,
}

var sexes = map[ownerv1.Sex]domain.Sex{
	ownerv1.Sex_SEX_MALE:    domain.SexMale,
	ownerv1.Sex_SEX_FEMALE:  domain.SexFemale,
	ownerv1.Sex_SEX_UNKNOWN: domain.SexUnknown,
}

var (
	clinicsOut   = protomap.Reverse(clinics)
	languagesOut = protomap.Reverse(languages)
	speciesOut   = protomap.Reverse(species)
	sexesOut     = protomap.Reverse(sexes)
)

// enum maps a protobuf enum value through m: the unspecified value to "" (which the
// domain defaults or requires), a value m does not know (a client's typo, or a newer
// schema's) to domain.UnknownValue, which the domain refuses.
func enum[K ~int32, V ~string](m map[K]V, k K) V {
	if v, ok := m[k]; ok || k == 0 {
		return v
	}
	return domain.UnknownValue
}

func ownerFromProto(o *ownerv1.Owner) domain.Owner {
	a := o.GetAddress()
	return domain.Owner{
		GivenNames: o.GetGivenNames(),
		FamilyName: o.GetFamilyName(),
		Address: domain.Address{
			Street: a.GetStreet(), PostalCode: a.GetPostalCode(), City: a.GetCity(), Country: a.GetCountry(),
		},
		Phone:      o.GetPhone(),
		Email:      o.GetEmail(),
		Language:   enum(languages, o.GetPreferredLanguage()),
		HomeClinic: enum(clinics, o.GetHomeClinic()),
	}
}

func ownerToProto(o *domain.Owner) *ownerv1.Owner {
	var address *ownerv1.Address
	if !o.Anonymised {
		country := o.Address.Country
		if country == "" {
			country = "FI"
		}
		address = &ownerv1.Address{
			Street: o.Address.Street, PostalCode: o.Address.PostalCode, City: o.Address.City, Country: country,
		}
	}
	return &ownerv1.Owner{
		Id:                 o.ID,
		GivenNames:         o.GivenNames,
		FamilyName:         o.FamilyName,
		Address:            address,
		Phone:              o.Phone,
		Email:              o.Email,
		PreferredLanguage:  languagesOut[o.Language],
		HomeClinic:         clinicsOut[o.HomeClinic],
		IdentityCodeMasked: o.IdentityCodeMasked,
		Restricted:         o.Restricted,
		Version:            o.Version,
		CreateTime:         timestamppb.New(o.Created),
		UpdateTime:         timestamppb.New(o.Updated),
		Erased:             o.Erased,
		EraseTime:          protomap.Timestamp(o.ErasedAt),
	}
}

func ownersToProto(owners []*domain.Owner) []*ownerv1.Owner {
	out := make([]*ownerv1.Owner, len(owners))
	for i, o := range owners {
		out[i] = ownerToProto(o)
	}
	return out
}

func patientFromProto(p *ownerv1.Patient) domain.Patient {
	return domain.Patient{
		Name:                   p.GetName(),
		Species:                enum(species, p.GetSpecies()),
		Breed:                  p.GetBreed(),
		Sex:                    enum(sexes, p.GetSex()),
		Neutered:               p.GetNeutered(),
		BirthDate:              p.GetBirthDate(),
		Colour:                 p.GetColour(),
		Microchip:              p.GetMicrochip(),
		KennelClubRegistration: p.GetKennelClubRegistration(),
		Insurance: domain.Insurance{
			Insurer: p.GetInsurance().GetInsurer(), PolicyNumber: p.GetInsurance().GetPolicyNumber(),
		},
	}
}

func patientToProto(p *domain.Patient) *ownerv1.Patient {
	out := &ownerv1.Patient{
		Id:                     p.ID,
		OwnerId:                p.OwnerID,
		CustomerNumber:         p.CustomerNumber.String(),
		Name:                   p.Name,
		Species:                speciesOut[p.Species],
		Breed:                  p.Breed,
		Sex:                    sexesOut[p.Sex],
		Neutered:               p.Neutered,
		BirthDate:              p.BirthDate,
		Colour:                 p.Colour,
		Microchip:              p.Microchip,
		KennelClubRegistration: p.KennelClubRegistration,
		Deceased:               p.Deceased,
		DeathDate:              p.DeathDate,
		Version:                p.Version,
		CreateTime:             timestamppb.New(p.Created),
		UpdateTime:             timestamppb.New(p.Updated),
	}
	if p.Insurance != (domain.Insurance{}) {
		out.Insurance = &ownerv1.Insurance{Insurer: p.Insurance.Insurer, PolicyNumber: p.Insurance.PolicyNumber}
	}
	return out
}

func patientsToProto(patients []*domain.Patient) []*ownerv1.Patient {
	out := make([]*ownerv1.Patient, len(patients))
	for i, p := range patients {
		out[i] = patientToProto(p)
	}
	return out
}

// changesToProto is every read of a change history (the owner's, a patient's, the
// owner's copy). A reason or name stored before the services refused an identity code
// in one may hold a code, which the history, kept as long as the record, would
// otherwise show.
func changesToProto(changes []domain.Change) []*ownerv1.Change {
	out := make([]*ownerv1.Change, len(changes))
	for i, c := range changes {
		out[i] = &ownerv1.Change{
			Version: c.Version, Time: timestamppb.New(c.Time), ActorSubject: c.ActorSubject,
			ActorName: identitycode.Redact(c.ActorName), ActorRoles: c.ActorRoles, ActorSystem: c.ActorSystem, Fields: c.Fields,
			Reason: identitycode.Redact(c.Reason),
		}
		for _, v := range c.Values {
			out[i].Values = append(out[i].Values, &ownerv1.ValueChange{Field: v.Field, OldValue: v.From, NewValue: v.To})
		}
	}
	return out
}

func dispositionToProto(d domain.Disposition) *ownerv1.RecordDisposition {
	return &ownerv1.RecordDisposition{
		RecordClass: d.Class, Kept: d.Kept, LegalBasis: d.Basis, KeptUntil: d.KeptUntil, Count: protomap.Count32(d.Count),
	}
}
