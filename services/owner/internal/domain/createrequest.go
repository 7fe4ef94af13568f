package domain

import (
	"encoding/json"

	"github.com/lillvet/register/services/platform/requestdigest"
)

// A create under a client request id answers the record that id made first only when
// it is the same request: a retry sends the same fields, while the same id sent with
// another person or animal (two partner systems both numbering their forms "form-1", a
// client reusing a key) must not be answered with someone else's record as if it had
// been registered. The repository keeps a keyed digest of the request that made each
// record (CreateDigest), taken at creation, so that later rectifications do not turn
// a genuine retry away.

// OwnerCreateRequest is the canonical form of what a create of o (normalised) sent:
// every field the client sets, and the identity code by identityIndex, its blind
// index ("" without one), never in clear.
func OwnerCreateRequest(o *Owner, identityIndex string) []byte {
	return canonical(struct {
		GivenNames string   `json:"g"`
		FamilyName string   `json:"f"`
		Address    Address  `json:"a"`
		Phone      string   `json:"p"`
		Email      string   `json:"e"`
		Language   Language `json:"l"`
		HomeClinic Clinic   `json:"c"`
		Identity   string   `json:"i"`
	}{o.GivenNames, o.FamilyName, o.Address, o.Phone, o.Email, o.Language, o.HomeClinic, identityIndex})
}

// PatientCreateRequest is the canonical form of what a registration of p (normalised)
// sent: its owner and every field of the animal the client sets.
func PatientCreateRequest(p *Patient) []byte {
	return canonical(struct {
		OwnerID                string    `json:"o"`
		Name                   string    `json:"n"`
		Species                Species   `json:"s"`
		Breed                  string    `json:"b"`
		Sex                    Sex       `json:"x"`
		Neutered               bool      `json:"u"`
		BirthDate              string    `json:"d"`
		Colour                 string    `json:"c"`
		Microchip              string    `json:"m"`
		KennelClubRegistration string    `json:"k"`
		Insurance              Insurance `json:"i"`
	}{
		p.OwnerID, p.Name, p.Species, p.Breed, p.Sex, p.Neutered, p.BirthDate, p.Colour, p.Microchip,
		p.KennelClubRegistration, p.Insurance,
	})
}

// canonical encodes a struct of strings and booleans, which cannot fail.
func canonical(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// SameOwnerCreate reports whether sent, a create as the repository received it, is
// the request that created stored, the owner its request id names.
//
// An erased owner matches no request. Its erasure dropped the digest with the contact
// details, and its names may be kept for the veterinary records: compared by them, a
// namesake sent under its request id would be answered with the erased, restricted
// record as if it had been registered. The erased flag is for good and is written by
// the update that drops the digest, so it covers owners erased before digests were
// kept too; a retry of the erased owner's own create is refused with the rest, as
// nothing is left to tell it from a namesake's.
//
// An owner stored before the digests were kept, and changed before a start gave it
// one (the repository backfills those still at their first version, whose fields are
// their create request), has none, and is compared as it was then, by its names. So is
// one whose digest cannot tell (requestdigest.Compare): made under a blind-index key
// since replaced by a re-index, or before digests named their key.
func SameOwnerCreate(stored, sent *Owner) bool {
	if stored.Erased {
		return false
	}
	if same, known := requestdigest.Compare(stored.CreateDigest, sent.CreateDigest); known {
		return same
	}
	return stored.GivenNames == sent.GivenNames && stored.FamilyName == sent.FamilyName
}

// SamePatientCreate is SameOwnerCreate for a patient's registration. A patient its
// owner's erasure reached (kept restricted, or anonymised, which drops the digest)
// matches none; one without a digest that can tell is compared by its owner, name and
// species.
//
// A retry names the owner the patient was registered under. With the digest, which
// holds that owner, a patient transferred since is still found by its retry. Without
// one the comparison can only take the owner it has now, so a retry after a transfer is
// refused (REQUEST_ID_REUSED). Only patients registered before digests were kept and
// changed before a start gave them one are compared so, and a transfer is a change.
func SamePatientCreate(stored, sent *Patient) bool {
	if stored.Erased {
		return false
	}
	if same, known := requestdigest.Compare(stored.CreateDigest, sent.CreateDigest); known {
		return same
	}
	return stored.OwnerID == sent.OwnerID && stored.Name == sent.Name && stored.Species == sent.Species
}
