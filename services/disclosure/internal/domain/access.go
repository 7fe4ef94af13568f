package domain

import (
	"strings"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
)

// Channel is how an access request reached the clinic. The privacy statement asks for
// a written request; the GDPR lets the person use any channel (Art. 12(2)).
type Channel string

// The channels.
const (
	ChannelLetter   Channel = "letter"
	ChannelEmail    Channel = "email"
	ChannelInPerson Channel = "in_person"
	ChannelPortal   Channel = "portal"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	switch c {
	case ChannelLetter, ChannelEmail, ChannelInPerson, ChannelPortal:
		return true
	default:
		return false
	}
}

// Identification is how the clinic made sure the requester is the owner (Art. 12(6)).
type Identification string

// The identification methods.
const (
	// IdentifiedByDocument: an official identity document shown in person.
	IdentifiedByDocument Identification = "identity_document"
	// IdentifiedStrongElectronic: strong electronic identification (bank credentials,
	// mobile certificate), as the customer portal requires.
	IdentifiedStrongElectronic Identification = "strong_electronic"
	// IdentifiedRegisteredContact: confirmed through the phone number or e-mail address
	// on record, and the copy sent only there.
	IdentifiedRegisteredContact Identification = "registered_contact"
)

// Valid reports whether m is a known identification method.
func (m Identification) Valid() bool {
	switch m {
	case IdentifiedByDocument, IdentifiedStrongElectronic, IdentifiedRegisteredContact:
		return true
	default:
		return false
	}
}

// AccessRequest is an owner's request for their data (GDPR Art. 15, portability Art. 20).
type AccessRequest struct {
	ID             string
	OwnerID        string
	ReceivedAt     time.Time
	Channel        Channel
	Identification Identification
	// IdentifiedBy is the staff member who identified the requester; empty for strong
	// electronic identification, which the identification service did.
	IdentifiedBy string
	// Language is the language of the readable report.
	Language Language
	// DueDate is the last day to answer: one calendar month after receipt, or three
	// once extended.
	DueDate         Date
	Extended        bool
	ExtensionReason string
	// PossiblyChargeable flags a further request within twelve months of an earlier
	// one: the privacy statement promises one free answer a year (Art. 15(3) allows a
	// reasonable fee for further copies). Staff decide; the first copy is always free.
	PossiblyChargeable bool
	RecordedBy         string
}

// Precondition reasons of access requests.
const (
	ReasonAlreadyExtended = "ACCESS_REQUEST_ALREADY_EXTENDED"
	ReasonExtensionLate   = "ACCESS_REQUEST_EXTENSION_LATE"
)

// Time bounds on a receipt: no register predates 2000, and a client's clock may run a
// little ahead of the service's.
var minReceived = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const maxClockSkew = time.Minute

// maxReasonTextLen bounds the reason of an extension, which the owner is told.
const maxReasonTextLen = 500

// PrepareAccessRequest validates r in place and fills in what follows from it: the
// received time (now when zero, rounded to milliseconds), the language (Finnish when
// empty), the due date and the charge flag. earlier are the receipt times of the owner's
// earlier access requests that were answered; loc is the clinic's time zone. A portal
// request is strongly identified by definition; any other method needs the staff member
// who identified the person.
func PrepareAccessRequest(r *AccessRequest, prefix string, now time.Time, loc *time.Location, earlier []time.Time) error {
	var v apperr.ValidationError
	r.OwnerID = strings.TrimSpace(r.OwnerID)
	requireText(&v, prefix+".owner_id", r.OwnerID, maxIDLen)
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = now
	}
	switch {
	case r.ReceivedAt.Before(minReceived):
		v.Add(prefix+".received_at", "must be after the year 2000")
	case r.ReceivedAt.After(now.Add(maxClockSkew)):
		v.Add(prefix+".received_at", "must not be in the future")
	case r.ReceivedAt.After(now):
		r.ReceivedAt = now
	}
	r.ReceivedAt = r.ReceivedAt.UTC().Truncate(time.Millisecond)
	if !r.Channel.Valid() {
		v.Add(prefix+".channel", "must be letter, email, in_person or portal")
	}
	if !r.Identification.Valid() {
		v.Add(prefix+".identification", "must be identity_document, strong_electronic or registered_contact")
	}
	if r.Channel == ChannelPortal && r.Identification != IdentifiedStrongElectronic {
		v.Add(prefix+".identification", "must be strong_electronic for a portal request")
	}
	r.IdentifiedBy = strings.TrimSpace(r.IdentifiedBy)
	v.CheckText(prefix+".identified_by", r.IdentifiedBy, maxIDLen)
	if r.IdentifiedBy == "" && r.Identification.Valid() && r.Identification != IdentifiedStrongElectronic {
		v.Add(prefix+".identified_by", "is required: who identified the person")
	}
	lang, ok := ParseLanguage(string(r.Language))
	if !ok {
		v.Add(prefix+".language", "must be fi, sv or en")
	}
	r.Language = lang
	if err := v.Err(); err != nil {
		return err
	}
	received := DateOf(r.ReceivedAt, loc)
	r.DueDate = received.AddMonths(1)
	r.Extended, r.ExtensionReason = false, ""
	r.PossiblyChargeable = FurtherRequestWithinYear(received, earlier, loc)
	return nil
}

// FurtherRequestWithinYear reports whether an earlier request was received within the
// twelve months before the day received: on or after the same day a year earlier
// counts, so a request exactly a year after the last one is free again. Requests
// received on or after received do not count (they are not earlier).
func FurtherRequestWithinYear(received Date, earlier []time.Time, loc *time.Location) bool {
	yearAgo := received.AddYears(-1)
	for _, t := range earlier {
		d := DateOf(t, loc)
		if d.After(yearAgo) && !d.After(received) {
			return true
		}
	}
	return false
}

// Extend moves the due date to three calendar months after receipt, the two further
// months Art. 12(3) allows for a complex or numerous request. The extension must be
// decided, and the owner told why, within the first month, and only once; reason is
// what the owner is told.
func (r *AccessRequest) Extend(reason string, now time.Time, loc *time.Location) error {
	var v apperr.ValidationError
	reason = strings.TrimSpace(reason)
	requireText(&v, "reason", reason, maxReasonTextLen)
	if err := v.Err(); err != nil {
		return err
	}
	if r.Extended {
		return apperr.Precondition(ReasonAlreadyExtended, "the access request has already been extended once")
	}
	if DateOf(now, loc).After(r.DueDate) {
		return apperr.Precondition(ReasonExtensionLate,
			"an extension must be decided and told to the owner before the one-month due date")
	}
	r.DueDate = DateOf(r.ReceivedAt, loc).AddMonths(3)
	r.Extended, r.ExtensionReason = true, reason
	return nil
}
