package domain

import (
	"net/mail"
	"strings"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
)

// Recipient is an organisation personal data may be disclosed to.
type Recipient struct {
	ID   string
	Name string
	Kind Kind
	// BusinessID is the Finnish business id (Y-tunnus) of a Finnish recipient, the
	// registration or VAT number of a foreign one.
	BusinessID string
	// Country is the ISO 3166-1 alpha-2 code of where the recipient processes the data.
	Country string
	Contact Contact
	// AgreementRef points at the contract or data-processing agreement with the
	// recipient; required for a subcontractor (GDPR Art. 28(3)).
	AgreementRef string
	// Categories are what the recipient may receive: its kind's default set, or fewer.
	Categories []Category
	Active     bool
	CreatedAt  time.Time
	// DeactivatedAt is zero while the recipient is active.
	DeactivatedAt time.Time
}

// Contact is whom the clinic writes to at a recipient: about a disclosure, and about
// data it received that was later rectified or erased (GDPR Art. 19), which is why an
// e-mail address is required.
type Contact struct {
	Name  string
	Email string
	Phone string
}

// Bounds on the recipient's free-text fields.
const (
	maxNameLen         = 200
	maxForeignIDLen    = 40
	maxAgreementRefLen = 200
	minPhoneDigits     = 7
	maxPhoneDigits     = 15
)

// PrepareRecipient validates r for registration and normalises it in place: trimmed
// texts, the business id and country in normal form, the categories deduplicated in
// order (the kind's default set when none are given), and Active set. prefix is the
// request's field path of the recipient. It returns an apperr.ValidationError for bad
// input and, for an otherwise valid recipient outside the EU/EEA, the precondition
// failure of CheckEEA. ID and the times are the service's to assign.
func PrepareRecipient(r *Recipient, prefix string) error {
	var v apperr.ValidationError
	r.Name = strings.TrimSpace(r.Name)
	requireText(&v, prefix+".name", r.Name, maxNameLen)
	switch {
	case r.Kind == KindDataSubject:
		v.Add(prefix+".kind", "the data subject is not registered as a recipient")
	case !r.Kind.Registrable():
		v.Add(prefix+".kind", "must be subcontractor, insurer, kennel_club, cat_federation or microchip_registry")
	}
	r.Country = NormalizeCountry(r.Country, prefix+".country", &v)
	r.BusinessID = strings.TrimSpace(r.BusinessID)
	switch {
	case r.BusinessID == "":
		v.Add(prefix+".business_id", "is required")
	case r.Country == "FI":
		id, err := ParseBusinessID(r.BusinessID)
		if err != nil {
			v.Add(prefix+".business_id", "must be a Finnish business id (Y-tunnus) with a valid check digit, e.g. 2923530-5")
		}
		r.BusinessID = id
	default:
		v.CheckText(prefix+".business_id", r.BusinessID, maxForeignIDLen)
	}
	normalizeContact(&r.Contact, prefix+".contact", &v)
	r.AgreementRef = strings.TrimSpace(r.AgreementRef)
	v.CheckText(prefix+".agreement_ref", r.AgreementRef, maxAgreementRefLen)
	if r.AgreementRef == "" && r.Kind == KindSubcontractor {
		v.Add(prefix+".agreement_ref", "is required for a subcontractor: its data-processing agreement")
	}
	if r.Kind.Registrable() {
		if len(r.Categories) == 0 {
			r.Categories = DefaultCategories(r.Kind)
		} else {
			cats := NormalizeCategories(r.Categories, prefix+".categories", &v)
			if outside := NotIn(cats, DefaultCategories(r.Kind)); len(outside) > 0 {
				v.Add(prefix+".categories", "may only narrow the kind's default set, never widen it: "+joinCategories(outside)+" not allowed")
			}
			r.Categories = cats
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if err := CheckEEA(r.Country); err != nil {
		return err
	}
	r.Active = true
	return nil
}

func normalizeContact(c *Contact, prefix string, v *apperr.ValidationError) {
	c.Name = strings.TrimSpace(c.Name)
	v.CheckText(prefix+".name", c.Name, maxNameLen)
	c.Email = strings.TrimSpace(c.Email)
	if c.Email == "" {
		v.Add(prefix+".email", "is required")
	} else if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email || len(c.Email) > maxNameLen {
		v.Add(prefix+".email", "must be a plain e-mail address such as tietosuoja@example.fi")
	} else {
		// An address's local part may be anything, a code included.
		v.CheckNoIdentityCode(prefix+".email", c.Email)
	}
	c.Phone = strings.TrimSpace(c.Phone)
	if c.Phone != "" {
		// Checked as sent: normalising drops the separators, so "+358 131052-0040"
		// would pass as a number and keep the code's digits in clear.
		v.CheckNoIdentityCode(prefix+".phone", c.Phone)
		p, ok := normalizePhone(c.Phone)
		if !ok {
			v.Add(prefix+".phone", "must be an international number such as +358 40 123 4567")
		}
		c.Phone = p
	}
}

// normalizePhone accepts an international number (E.164: a plus and 7 to 15 digits) with
// spaces, hyphens and parentheses as separators, and returns it without them.
func normalizePhone(s string) (string, bool) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	p := b.String()
	digits := len(p) - 1
	if !strings.HasPrefix(p, "+") || digits < minPhoneDigits || digits > maxPhoneDigits || p[1] == '0' {
		return "", false
	}
	return p, true
}

// DataSubjectRecipient is the recipient of an owner's own copy (GDPR Art. 15): never
// registered, always active, and Evaluate gives it every category.
func DataSubjectRecipient() Recipient { return Recipient{Kind: KindDataSubject, Active: true} }

// Deactivate stops disclosures to r from now on. The log of earlier disclosures stays.
func (r *Recipient) Deactivate(now time.Time) {
	if r.Active {
		r.Active = false
		r.DeactivatedAt = now
	}
}

func requireText(v *apperr.ValidationError, field, s string, maxLen int) {
	if s == "" {
		v.Add(field, "is required")
		return
	}
	v.CheckText(field, s, maxLen)
}

func joinCategories(cs []Category) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c)
	}
	return strings.Join(parts, ", ")
}
