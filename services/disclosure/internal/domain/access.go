package domain

import (
	"slices"
	"strings"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/retention"
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

// AccessStatus is where an access request stands.
type AccessStatus string

// The statuses: answered once the first access report was given (logged and audited).
const (
	AccessReceived AccessStatus = "received"
	AccessAnswered AccessStatus = "answered"
)

// AccessRequest is an owner's request for their data (GDPR Art. 15, portability Art. 20).
// It holds no free text about the person: ids, dates and how they were identified.
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
	// DueDate is the last day to answer: one calendar month after receipt.
	DueDate retention.Date
	// ExtendedDueDate is the last day once extended (three calendar months after
	// receipt); zero unless extended.
	ExtendedDueDate retention.Date
	ExtensionReason string
	ExtendedAt      time.Time
	// PossiblyChargeable flags a further request within twelve months of an earlier
	// one: the privacy statement promises one free answer a year (Art. 15(3) allows a
	// reasonable fee for further copies). Staff decide; the first copy is always free.
	// It is not stored but derived from the owner's ledger whenever a request is read
	// (FlagFurtherRequest), so that a request recorded late, received before requests
	// already recorded, makes those further requests.
	PossiblyChargeable bool
	// EarlierRequestID is the earlier request that makes this one possibly chargeable.
	EarlierRequestID string
	Status           AccessStatus
	RecordedBy       string
	CreatedAt        time.Time
	// AnsweredAt is the answer time the first report given states; zero until then.
	AnsweredAt time.Time
	// Proposal is the answer time the copies being made of a received request state;
	// zero when none is.
	Proposal AnswerProposal
}

// AnswerProposal is the answer time a copy of the report proposed before it was
// rendered, so that copies made at once state one time: the first of them to be given
// stores it as the request's AnsweredAt.
type AnswerProposal struct {
	At time.Time
	// CopyID is the log entry id of the copy that proposed it.
	CopyID string
}

// Extended reports whether the due date has been extended.
func (r *AccessRequest) Extended() bool { return !r.ExtendedDueDate.IsZero() }

// Deadline is the last day to answer: the extended due date once extended.
func (r *AccessRequest) Deadline() retention.Date {
	if r.Extended() {
		return r.ExtendedDueDate
	}
	return r.DueDate
}

// accessRequestPurpose begins the purpose the report's reads state (AccessRequestPurpose).
const accessRequestPurpose = "access request "

// AccessRequestPurpose is the purpose stated on the reads that gather the report of
// access request id: the services audit it with each read, and the owner service's copy
// with the identity code in full needs one. PurposeText names it in the owner's language.
func AccessRequestPurpose(id string) string { return accessRequestPurpose + id }

// PriorRequest is one of an owner's recorded access requests, as the charge rule and
// the owner's list need it.
type PriorRequest struct {
	ID         string
	ReceivedAt time.Time
}

// MaxAccessRequestsPerOwner bounds an owner's list, which is kept in one document.
// Far more than any person sends in a lifetime.
const MaxAccessRequestsPerOwner = 1000

// Precondition reasons of access requests.
const (
	ReasonAlreadyExtended = "ACCESS_REQUEST_ALREADY_EXTENDED"
	ReasonExtensionLate   = "ACCESS_REQUEST_EXTENSION_LATE"
	ReasonTooManyRequests = "ACCESS_REQUESTS_FULL"
)

// Time bounds on a receipt: no register predates 2000, and a client's clock may run a
// little ahead of the service's.
var minReceived = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const maxClockSkew = time.Minute

// maxReasonTextLen bounds the reason of an extension, which the owner is told.
const maxReasonTextLen = 500

// Receipt is how a data-subject request (access, erasure) reached the clinic: the
// owner it is about, when and by which channel it arrived, and how and by whom the
// person was identified. No free text about the person.
type Receipt struct {
	OwnerID        string
	ReceivedAt     time.Time
	Channel        Channel
	Identification Identification
	// IdentifiedBy is the staff member who identified the requester; empty for strong
	// electronic identification, which the identification service did.
	IdentifiedBy string
}

// check validates r in place, naming fields under prefix: the received time becomes
// now when zero (rounded to milliseconds); a portal request is strongly identified by
// definition, and any other method needs the staff member who identified the person.
func (r *Receipt) check(v *apperr.ValidationError, prefix string, now time.Time) {
	r.OwnerID = strings.TrimSpace(r.OwnerID)
	requireText(v, prefix+".owner_id", r.OwnerID, maxIDLen)
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = now
	}
	switch {
	case r.ReceivedAt.Before(minReceived):
		v.Add(prefix+".receive_time", "must be after the year 2000")
	case r.ReceivedAt.After(now.Add(maxClockSkew)):
		v.Add(prefix+".receive_time", "must not be in the future")
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
}

// PrepareAccessRequest validates r in place and fills in what follows from it: the
// received time (now when zero, rounded to milliseconds), the language (Finnish when
// empty), the due date and the status; loc is the clinic's time zone. A portal request
// is strongly identified by definition; any other method needs the staff member who
// identified the person. The charge flag needs the owner's earlier requests: see
// FlagFurtherRequest.
func PrepareAccessRequest(r *AccessRequest, prefix string, now time.Time, loc *time.Location) error {
	var v apperr.ValidationError
	rc := Receipt{OwnerID: r.OwnerID, ReceivedAt: r.ReceivedAt, Channel: r.Channel, Identification: r.Identification, IdentifiedBy: r.IdentifiedBy}
	rc.check(&v, prefix, now)
	r.OwnerID, r.ReceivedAt, r.IdentifiedBy = rc.OwnerID, rc.ReceivedAt, rc.IdentifiedBy
	lang, ok := ParseLanguage(string(r.Language))
	if !ok {
		v.Add(prefix+".language", "must be fi, sv or en")
	}
	r.Language = lang
	if err := v.Err(); err != nil {
		return err
	}
	r.DueDate = retention.DateOf(r.ReceivedAt, loc).AddMonths(1)
	r.ExtendedDueDate, r.ExtensionReason, r.ExtendedAt = retention.Date{}, "", time.Time{}
	r.PossiblyChargeable, r.EarlierRequestID = false, ""
	r.Status = AccessReceived
	return nil
}

// FlagFurtherRequest sets the charge flag of a prepared request from the owner's
// requests as the ledger lists them (answered or not: two letters a week apart are one
// free answer and one possibly chargeable, and staff decide). The requests received
// before r count whatever the order they were recorded in, so that a letter recorded
// days after it arrived makes the requests received after it within the year further
// ones. Of requests received at the same instant the one listed first is the earlier;
// r itself does not count, and r unlisted comes after every listed one.
func (r *AccessRequest) FlagFurtherRequest(listed []PriorRequest, loc *time.Location) {
	at := slices.IndexFunc(listed, func(p PriorRequest) bool { return p.ID == r.ID })
	var earlier []PriorRequest
	for i, p := range listed {
		if p.ReceivedAt.Before(r.ReceivedAt) || (p.ReceivedAt.Equal(r.ReceivedAt) && (at < 0 || i < at)) {
			earlier = append(earlier, p)
		}
	}
	prior, ok := EarlierRequestWithinYear(retention.DateOf(r.ReceivedAt, loc), earlier, loc)
	r.PossiblyChargeable, r.EarlierRequestID = ok, prior.ID
}

// EarlierRequestWithinYear returns the most recently received of the earlier requests
// received within the twelve months before the day received: the day received comes
// before the same day a year after the earlier one, so a request exactly a year after
// the last one is free again (a year after 29 February is 28 February). Requests
// received after that day do not count (they are not earlier); one received the same
// day does.
func EarlierRequestWithinYear(received retention.Date, earlier []PriorRequest, loc *time.Location) (PriorRequest, bool) {
	var found PriorRequest
	ok := false
	for _, p := range earlier {
		d := retention.DateOf(p.ReceivedAt, loc)
		if d.After(received) || !received.Before(d.AddYears(1)) {
			continue
		}
		if !ok || p.ReceivedAt.After(found.ReceivedAt) || (p.ReceivedAt.Equal(found.ReceivedAt) && p.ID > found.ID) {
			found, ok = p, true
		}
	}
	return found, ok
}

// CheckExtensionReason returns the trimmed reason of an extension, or the violation of
// the field reason.
func CheckExtensionReason(reason string) (string, error) {
	var v apperr.ValidationError
	reason = strings.TrimSpace(reason)
	requireText(&v, "reason", reason, maxReasonTextLen)
	return reason, v.Err()
}

// Extend sets the extended due date three calendar months after receipt, the two
// further months Art. 12(3) allows for a complex or numerous request. The extension
// must be decided, and the owner told why, within the first month, and only once;
// reason is what the owner is told.
func (r *AccessRequest) Extend(reason string, now time.Time, loc *time.Location) error {
	reason, err := CheckExtensionReason(reason)
	if err != nil {
		return err
	}
	if r.Extended() {
		return apperr.Precondition(ReasonAlreadyExtended, "the access request has already been extended once")
	}
	if retention.DateOf(now, loc).After(r.DueDate) {
		return apperr.Precondition(ReasonExtensionLate,
			"an extension must be decided and told to the owner before the one-month due date")
	}
	r.ExtendedDueDate = retention.DateOf(r.ReceivedAt, loc).AddMonths(3)
	r.ExtensionReason, r.ExtendedAt = reason, now.UTC().Truncate(time.Millisecond)
	return nil
}

// AccessLedger is the list of an owner's access requests, kept in one document read by
// its id, so that the charge rule and the owner's list cost one indexed read on every
// store. The order of the list is the order in which the store appended the requests.
type AccessLedger struct {
	OwnerID  string
	Requests []PriorRequest
}

// Lists reports whether the ledger lists the request id.
func (l *AccessLedger) Lists(id string) bool {
	return slices.ContainsFunc(l.Requests, func(p PriorRequest) bool { return p.ID == id })
}

// Full reports whether the ledger can take no further request.
func (l *AccessLedger) Full() bool { return len(l.Requests) >= MaxAccessRequestsPerOwner }
