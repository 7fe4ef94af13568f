package domain

import (
	"fmt"

	"github.com/lillvet/register/services/platform/apperr"
)

// ConsentPurpose is the disclosure service's view of a consent-service purpose: the
// values are the consent domain's Purpose strings (services/consent/internal/domain),
// which this module may not import; TestConsentPurposesMatchConsentDomain keeps the two
// in step until the consent service's proto carries them.
type ConsentPurpose string

// The consent purposes a disclosure rests on.
const (
	ConsentInsurerDisclosure           ConsentPurpose = "insurer_disclosure"
	ConsentKennelClubDisclosure        ConsentPurpose = "kennel_club_disclosure"
	ConsentCatFederationDisclosure     ConsentPurpose = "cat_federation_disclosure"
	ConsentMicrochipRegistryDisclosure ConsentPurpose = "microchip_registry_disclosure"
)

// Basis is the legal ground a disclosure to a kind of recipient rests on.
type Basis string

// The bases. Each is also the key of its explanation in the report texts.
const (
	// BasisConsent: the owner's grant on record for this kind, or for a microchip
	// registry for this registry (GDPR Art. 6(1)(a)).
	BasisConsent Basis = "basis.consent"
	// BasisInsurerAgreement: the owner's agreement with this insurer, recorded in the
	// consent ledger with the insurer's recipient id as scope.
	BasisInsurerAgreement Basis = "basis.insurer_agreement"
	// BasisProcessorContract: a subcontractor processes on the clinic's behalf under its
	// data-processing agreement (GDPR Art. 28); no consent is asked.
	BasisProcessorContract Basis = "basis.processor_contract"
	// BasisRightOfAccess: the data subject's own copy (GDPR Art. 15 and 20).
	BasisRightOfAccess Basis = "basis.right_of_access"
)

// ConsentCheck is the question the consent service must answer "allowed" before data
// goes to a recipient: may Purpose, with Scope, use the owner's data now?
type ConsentCheck struct {
	Purpose ConsentPurpose
	// Scope is the recipient's id for an insurer or a microchip registry (a grant to one
	// is not for another), empty otherwise.
	Scope string
}

// LegalBasis returns the basis a disclosure to r rests on and, when that basis is a
// consent-ledger entry, the check to ask the consent service (nil for a subcontractor,
// whose contract is on the recipient, and for the data subject). The mapping to the
// consent domain:
//
//	insurer            → insurer_disclosure, scope = the insurer's recipient id
//	kennel_club        → kennel_club_disclosure
//	cat_federation     → cat_federation_disclosure
//	microchip_registry → microchip_registry_disclosure, scope = the registry's recipient id
//	subcontractor      → none: its agreement_ref (Art. 28)
//	data_subject       → none: Art. 15
//
// An unknown kind has no basis (ok false) and so receives nothing.
func LegalBasis(r Recipient) (basis Basis, consent *ConsentCheck, ok bool) {
	switch r.Kind {
	case KindInsurer:
		return BasisInsurerAgreement, &ConsentCheck{Purpose: ConsentInsurerDisclosure, Scope: r.ID}, true
	case KindKennelClub:
		return BasisConsent, &ConsentCheck{Purpose: ConsentKennelClubDisclosure}, true
	case KindCatFederation:
		return BasisConsent, &ConsentCheck{Purpose: ConsentCatFederationDisclosure}, true
	case KindMicrochipRegistry:
		return BasisConsent, &ConsentCheck{Purpose: ConsentMicrochipRegistryDisclosure, Scope: r.ID}, true
	case KindSubcontractor:
		return BasisProcessorContract, nil, true
	case KindDataSubject:
		return BasisRightOfAccess, nil, true
	default:
		return "", nil, false
	}
}

// ConsentVerdict is the consent service's answer to a ConsentCheck, as this service
// sees it.
type ConsentVerdict struct {
	Allowed bool
	// Reason is the consent domain's reason code (explicit_grant, no_grant, withdrawal,
	// expired, owner_restricted, …), passed on in a refusal.
	Reason string
	// EntryID is the ledger entry the verdict rests on; the disclosure log keeps it.
	EntryID string
}

// ReasonRecipientKindTaken refuses registering a recipient of a kind only one of which
// may be active (see Kind.SingleActive) while another one is.
const ReasonRecipientKindTaken = "RECIPIENT_KIND_TAKEN"

// SingleActive reports whether at most one recipient of kind k may be active. The
// kennel club and the cat federation are one organisation each (Kennelliitto,
// Kissaliitto), and the owner's consent to disclose to them names no recipient: a
// second active recipient of the kind would receive on the same grant.
func (k Kind) SingleActive() bool {
	return k == KindKennelClub || k == KindCatFederation
}

// KindTaken refuses registering a recipient of kind, activeID being the active
// recipient of that kind (see Kind.SingleActive). The refusal is about the
// CreateRecipient request's recipient.kind.
func KindTaken(kind Kind, activeID string) error {
	return &apperr.PreconditionError{
		Reason: ReasonRecipientKindTaken, Field: "recipient.kind",
		Description: fmt.Sprintf("recipient %s is the active %s, and only one may be: the owner's consent to disclose to a %s "+
			"names no recipient, so it would allow disclosure to both; deactivate %s first", activeID, kind, kind, activeID),
	}
}
