// Package domain holds the disclosure service's rules (DESIGN rules 5–7): recipients and
// the data categories each kind may receive, the legal basis a disclosure rests on and
// why one is refused, access requests and their deadlines, the erasure job and the
// retention periods, and the texts of the access report. It knows nothing of gRPC or
// MongoDB.
package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lillvet/register/services/platform/apperr"
)

// Kind is what sort of recipient personal data goes to.
type Kind string

// The recipient kinds of the privacy statement's disclosure section, and the data
// subject, whose own copy (GDPR Art. 15) is logged as a disclosure too.
const (
	KindSubcontractor Kind = "subcontractor"
	KindInsurer       Kind = "insurer"
	// KindKennelClub is the Finnish Kennel Club (Suomen Kennelliitto).
	KindKennelClub Kind = "kennel_club"
	// KindCatFederation is the Finnish Cat Federation (Suomen Kissaliitto).
	KindCatFederation Kind = "cat_federation"
	// KindMicrochipRegistry is a microchip service provider under the found-animal terms.
	KindMicrochipRegistry Kind = "microchip_registry"
	// KindDataSubject is the owner receiving their own data. It is never registered as a
	// recipient: the access-request flow discloses to it.
	KindDataSubject Kind = "data_subject"
)

// Kinds returns every kind, registrable ones first.
func Kinds() []Kind {
	return []Kind{KindSubcontractor, KindInsurer, KindKennelClub, KindCatFederation, KindMicrochipRegistry, KindDataSubject}
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds(), k) }

// Registrable reports whether a recipient of kind k can be registered.
func (k Kind) Registrable() bool { return k.Valid() && k != KindDataSubject }

// Category is a class of personal data that may leave the register.
type Category string

// The categories, from the privacy statement's content section (owner basic data, the
// identity code for billing, the customer number per patient, consents, treatment and
// visit history, communication) and what the data subject's copy adds (DESIGN rule 6).
const (
	// CategoryOwnerName is the owner's given and family names.
	CategoryOwnerName Category = "owner_name"
	// CategoryOwnerContact is the owner's phone number and e-mail address.
	CategoryOwnerContact Category = "owner_contact"
	// CategoryOwnerAddress is the owner's postal address.
	CategoryOwnerAddress Category = "owner_address"
	// CategoryIdentityCode is the owner's personal identity code (henkilötunnus), in full.
	CategoryIdentityCode Category = "identity_code"
	// CategoryPatientBasics is each animal's name, species, breed, sex, birth date and
	// customer number.
	CategoryPatientBasics Category = "patient_basics"
	// CategoryMicrochip is each animal's microchip number.
	CategoryMicrochip Category = "microchip"
	// CategoryVisitHistory is visits, treatments, diagnoses and weights with amendments.
	CategoryVisitHistory Category = "visit_history"
	// CategoryMedications is the medicines prescribed or dispensed.
	CategoryMedications Category = "medications"
	// CategoryInvoices is the invoice references of visits.
	CategoryInvoices Category = "invoices"
	// CategoryCommunications is the log of contacts between the clinic and the owner.
	CategoryCommunications Category = "communications"
	// CategoryConsents is the consent ledger and its current state.
	CategoryConsents Category = "consents"
	// CategoryDisclosures is the log of what was disclosed to whom.
	CategoryDisclosures Category = "disclosures"
	// CategoryAccessLog is who at the clinic read or changed the owner's data.
	CategoryAccessLog Category = "access_log"
)

// Categories returns every category in the order packages and reports list them.
func Categories() []Category {
	return []Category{
		CategoryOwnerName, CategoryOwnerContact, CategoryOwnerAddress, CategoryIdentityCode,
		CategoryPatientBasics, CategoryMicrochip, CategoryVisitHistory, CategoryMedications,
		CategoryInvoices, CategoryCommunications, CategoryConsents, CategoryDisclosures,
		CategoryAccessLog,
	}
}

// Valid reports whether c is a known category.
func (c Category) Valid() bool { return slices.Contains(Categories(), c) }

// DefaultCategories returns the categories a recipient of kind k may receive unless it
// is narrowed, in the order of Categories; nil for an unknown kind. Each set is the
// most the kind's task can need, which a recipient's own contract narrows further:
//   - a subcontractor processes on the clinic's behalf (a laboratory, the SMS service,
//     the technical maintainer), so its contract may cover any clinical or contact data,
//     but never the identity code or the records about the owner's rights;
//   - an insurer handles a claim: who is insured, which animal, what was done and billed;
//     it has the owner's contact data from its own agreement;
//   - Kennelliitto and Kissaliitto record official health examinations of a registered
//     animal;
//   - a microchip registry reunites a found animal with its owner;
//   - the data subject gets everything (GDPR Art. 15), the identity code included.
func DefaultCategories(k Kind) []Category {
	switch k {
	case KindSubcontractor:
		return []Category{
			CategoryOwnerName, CategoryOwnerContact, CategoryOwnerAddress, CategoryPatientBasics, CategoryMicrochip,
			CategoryVisitHistory, CategoryMedications, CategoryInvoices, CategoryCommunications,
		}
	case KindInsurer:
		return []Category{
			CategoryOwnerName, CategoryPatientBasics, CategoryMicrochip, CategoryVisitHistory,
			CategoryMedications, CategoryInvoices,
		}
	case KindKennelClub, KindCatFederation:
		return []Category{CategoryOwnerName, CategoryPatientBasics, CategoryMicrochip, CategoryVisitHistory}
	case KindMicrochipRegistry:
		return []Category{CategoryOwnerName, CategoryOwnerContact, CategoryOwnerAddress, CategoryPatientBasics, CategoryMicrochip}
	case KindDataSubject:
		return Categories()
	default:
		return nil
	}
}

// NormalizeCategories validates a list of categories and returns them deduplicated in
// the order of Categories. Each unknown category is a violation of field[i]. An empty
// list stays empty.
func NormalizeCategories(in []Category, field string, v *apperr.ValidationError) []Category {
	want := map[Category]bool{}
	for i, c := range in {
		c = Category(strings.ToLower(strings.TrimSpace(string(c))))
		if !c.Valid() {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "is not a known data category")
			continue
		}
		want[c] = true
	}
	var cats []Category
	for _, c := range Categories() {
		if want[c] {
			cats = append(cats, c)
		}
	}
	return cats
}

// NotIn returns the categories of cats that allowed lacks, in order.
func NotIn(cats, allowed []Category) []Category {
	var out []Category
	for _, c := range cats {
		if !slices.Contains(allowed, c) {
			out = append(out, c)
		}
	}
	return out
}

// Intersect returns the categories of a that b holds too, in a's order.
func Intersect(a, b []Category) []Category {
	var out []Category
	for _, c := range a {
		if slices.Contains(b, c) {
			out = append(out, c)
		}
	}
	return out
}
