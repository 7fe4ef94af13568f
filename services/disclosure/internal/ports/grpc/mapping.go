package grpc

import (
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/identitycode"
	"github.com/lillvet/register/services/platform/protomap"
	"github.com/lillvet/register/services/platform/retention"
)

// mediaType is the payload's format.
const mediaType = "application/json"

// Staff-typed text is served through identitycode.Redact: text stored before the
// services refused an identity code in it may still hold one.

// The enums map by name: RECIPIENT_KIND_INSURER is the domain's insurer,
// DATA_CATEGORY_OWNER_NAME its owner_name, LEGAL_BASIS_CONSENT its basis.consent.
// TestEnumsMatchTheDomain checks that every value has its counterpart.
const (
	kindPrefix     = "RECIPIENT_KIND_"
	categoryPrefix = "DATA_CATEGORY_"
	basisPrefix    = "LEGAL_BASIS_"
	domainBasis    = "basis."
)

// fromEnum maps an enum value to the domain's string; UNSPECIFIED and unknown values map
// to "", which the domain rejects.
func fromEnum(name, prefix string) string {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok || s == "UNSPECIFIED" {
		return ""
	}
	return strings.ToLower(s)
}

func toEnum(values map[string]int32, prefix, s string) int32 {
	return values[prefix+strings.ToUpper(s)]
}

func kindFromProto(k disclosurev1.RecipientKind) domain.Kind {
	return domain.Kind(fromEnum(k.String(), kindPrefix))
}

func kindToProto(k domain.Kind) disclosurev1.RecipientKind {
	return disclosurev1.RecipientKind(toEnum(disclosurev1.RecipientKind_value, kindPrefix, string(k)))
}

func categoriesFromProto(cs []disclosurev1.DataCategory) []domain.Category {
	out := make([]domain.Category, len(cs))
	for i, c := range cs {
		out[i] = domain.Category(fromEnum(c.String(), categoryPrefix))
	}
	return out
}

func categoriesToProto(cs []domain.Category) []disclosurev1.DataCategory {
	out := make([]disclosurev1.DataCategory, len(cs))
	for i, c := range cs {
		out[i] = disclosurev1.DataCategory(toEnum(disclosurev1.DataCategory_value, categoryPrefix, string(c)))
	}
	return out
}

func basisToProto(b domain.Basis) disclosurev1.LegalBasis {
	return disclosurev1.LegalBasis(toEnum(disclosurev1.LegalBasis_value, basisPrefix, strings.TrimPrefix(string(b), domainBasis)))
}

func recipientFromProto(r *disclosurev1.Recipient) domain.Recipient {
	c := r.GetContact()
	return domain.Recipient{
		Name: r.GetName(), Kind: kindFromProto(r.GetKind()), BusinessID: r.GetBusinessId(), Country: r.GetCountry(),
		Contact:      domain.Contact{Name: c.GetName(), Email: c.GetEmail(), Phone: c.GetPhone()},
		AgreementRef: r.GetAgreementRef(), Categories: categoriesFromProto(r.GetCategories()),
	}
}

func recipientToProto(r domain.Recipient) *disclosurev1.Recipient {
	return &disclosurev1.Recipient{
		Id: r.ID, Name: identitycode.Redact(r.Name), Kind: kindToProto(r.Kind), BusinessId: identitycode.Redact(r.BusinessID), Country: r.Country,
		Contact:      &disclosurev1.Contact{Name: identitycode.Redact(r.Contact.Name), Email: identitycode.Redact(r.Contact.Email), Phone: r.Contact.Phone},
		AgreementRef: identitycode.Redact(r.AgreementRef), Categories: categoriesToProto(r.Categories), Active: r.Active,
		CreateTime: protomap.Timestamp(r.CreatedAt), DeactivateTime: protomap.Timestamp(r.DeactivatedAt),
	}
}

func recipientsToProto(rs []domain.Recipient) []*disclosurev1.Recipient {
	out := make([]*disclosurev1.Recipient, len(rs))
	for i, r := range rs {
		out[i] = recipientToProto(r)
	}
	return out
}

func recordToProto(r domain.Record) *disclosurev1.Disclosure {
	d := &disclosurev1.Disclosure{
		Id: r.ID, RecipientId: r.RecipientID, RecipientKind: kindToProto(r.RecipientKind), OwnerId: r.OwnerID,
		PatientIds: r.PatientIDs, Categories: categoriesToProto(r.Categories), CaseReference: identitycode.Redact(r.CaseReference),
		Outcome: disclosurev1.DisclosureOutcome_DISCLOSURE_OUTCOME_DISCLOSED, Basis: basisToProto(r.Basis),
		ConsentDecisionId: r.ConsentEntryID, RequestedBy: identitycode.Redact(r.RequestedBy), CreateTime: protomap.Timestamp(r.CreatedAt),
		PayloadSha256: r.PayloadSHA256,
	}
	if r.Refusal != nil {
		d.Outcome = disclosurev1.DisclosureOutcome_DISCLOSURE_OUTCOME_REFUSED
		d.RefusalReason, d.ConsentReason = string(r.Refusal.Reason), identitycode.Redact(r.Refusal.ConsentReason)
	}
	return d
}

// partnerRecordToProto is what a partner sees of a disclosure to it: not who at the
// clinic asked for it.
func partnerRecordToProto(r domain.Record) *disclosurev1.Disclosure {
	d := recordToProto(r)
	d.RequestedBy = ""
	return d
}

func recordsToProto(rs []domain.Record, one func(domain.Record) *disclosurev1.Disclosure) []*disclosurev1.Disclosure {
	out := make([]*disclosurev1.Disclosure, len(rs))
	for i, r := range rs {
		out[i] = one(r)
	}
	return out
}

func packageToProto(r domain.Record) *disclosurev1.DisclosurePackage {
	if !r.Disclosed() || r.Payload == nil {
		return nil
	}
	return &disclosurev1.DisclosurePackage{Payload: r.Payload, MediaType: mediaType}
}

// Prefixes of the access request enums: ACCESS_CHANNEL_IN_PERSON is the domain's
// in_person, IDENTIFICATION_METHOD_IDENTITY_DOCUMENT its identity_document.
const (
	channelPrefix        = "ACCESS_CHANNEL_"
	identificationPrefix = "IDENTIFICATION_METHOD_"
	accessStatusPrefix   = "ACCESS_REQUEST_STATUS_"
)

// dateToProto formats a date as ISO 8601, "" for none.
func dateToProto(d retention.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// receiptMessage is what access and erasure requests share: how they arrived.
type receiptMessage interface {
	GetOwnerId() string
	GetReceiveTime() *timestamppb.Timestamp
	GetChannel() disclosurev1.AccessChannel
	GetIdentification() disclosurev1.IdentificationMethod
	GetIdentifiedBy() string
}

func receiptFromProto(r receiptMessage) domain.Receipt {
	rc := domain.Receipt{
		OwnerID: r.GetOwnerId(), Channel: domain.Channel(fromEnum(r.GetChannel().String(), channelPrefix)),
		Identification: domain.Identification(fromEnum(r.GetIdentification().String(), identificationPrefix)),
		IdentifiedBy:   r.GetIdentifiedBy(),
	}
	if r.GetReceiveTime() != nil {
		rc.ReceivedAt = r.GetReceiveTime().AsTime()
	}
	return rc
}

func channelToProto(c domain.Channel) disclosurev1.AccessChannel {
	return disclosurev1.AccessChannel(toEnum(disclosurev1.AccessChannel_value, channelPrefix, string(c)))
}

func identificationToProto(m domain.Identification) disclosurev1.IdentificationMethod {
	return disclosurev1.IdentificationMethod(toEnum(disclosurev1.IdentificationMethod_value, identificationPrefix, string(m)))
}

func accessRequestFromProto(r *disclosurev1.AccessRequest) domain.AccessRequest {
	rc := receiptFromProto(r)
	return domain.AccessRequest{
		OwnerID: rc.OwnerID, ReceivedAt: rc.ReceivedAt, Channel: rc.Channel, Identification: rc.Identification,
		IdentifiedBy: rc.IdentifiedBy, Language: domain.Language(r.GetLanguage()),
	}
}

func accessRequestToProto(r domain.AccessRequest) *disclosurev1.AccessRequest {
	return &disclosurev1.AccessRequest{
		Id: r.ID, OwnerId: r.OwnerID, ReceiveTime: protomap.Timestamp(r.ReceivedAt),
		Channel: channelToProto(r.Channel), Identification: identificationToProto(r.Identification),
		IdentifiedBy: identitycode.Redact(r.IdentifiedBy), Language: string(r.Language),
		DueDate: dateToProto(r.DueDate), ExtendedDueDate: dateToProto(r.ExtendedDueDate), ExtensionReason: identitycode.Redact(r.ExtensionReason),
		PossiblyChargeable: r.PossiblyChargeable, EarlierRequestId: r.EarlierRequestID,
		Status:     disclosurev1.AccessRequestStatus(toEnum(disclosurev1.AccessRequestStatus_value, accessStatusPrefix, string(r.Status))),
		RecordedBy: identitycode.Redact(r.RecordedBy), CreateTime: protomap.Timestamp(r.CreatedAt), ExtendTime: protomap.Timestamp(r.ExtendedAt),
		AnswerTime: protomap.Timestamp(r.AnsweredAt),
	}
}

func accessRequestsToProto(rs []domain.AccessRequest) []*disclosurev1.AccessRequest {
	return protomap.All(rs, accessRequestToProto)
}

// The erasure enums map by name too: ERASURE_REQUEST_STATE_RUNNING is the domain's
// running, ERASURE_STEP_STATE_DONE its done.
const (
	erasureStatePrefix = "ERASURE_REQUEST_STATE_"
	stepStatePrefix    = "ERASURE_STEP_STATE_"
)

func erasureRequestToProto(j domain.ErasureJob) *disclosurev1.ErasureRequest {
	out := &disclosurev1.ErasureRequest{
		Id: j.ID, OwnerId: j.OwnerID, ReceiveTime: protomap.Timestamp(j.ReceivedAt),
		Channel: channelToProto(j.Channel), Identification: identificationToProto(j.Identification),
		IdentifiedBy: identitycode.Redact(j.IdentifiedBy),
		State:        disclosurev1.ErasureRequestState(toEnum(disclosurev1.ErasureRequestState_value, erasureStatePrefix, string(j.State))),
		Steps:        protomap.All(j.Steps, stepToProto), RecipientsToNotify: protomap.All(j.Notify, notificationToProto),
		RecordedBy: identitycode.Redact(j.RecordedBy), CreateTime: protomap.Timestamp(j.CreatedAt), FinishTime: protomap.Timestamp(j.FinishedAt),
	}
	return out
}

func erasureRequestsToProto(js []domain.ErasureJob) []*disclosurev1.ErasureRequest {
	return protomap.All(js, erasureRequestToProto)
}

func stepToProto(s domain.Step) *disclosurev1.ErasureStep {
	out := &disclosurev1.ErasureStep{
		Service: string(s.Service), Action: string(s.Action),
		State:    disclosurev1.ErasureStepState(toEnum(disclosurev1.ErasureStepState_value, stepStatePrefix, string(s.State))),
		Attempts: protomap.Count32(s.Attempts), LastError: s.LastError, DoneTime: protomap.Timestamp(s.DoneAt),
		Dispositions: protomap.All(s.Result.Dispositions, dispositionToProto),
	}
	if !s.Done() && s.State != domain.StepRunning {
		out.NextAttemptTime = protomap.Timestamp(s.NextAttemptAt)
	}
	return out
}

func dispositionToProto(d domain.Disposition) *disclosurev1.RecordDisposition {
	return &disclosurev1.RecordDisposition{
		RecordClass: d.RecordClass, Kept: d.Kept, LegalBasis: d.LegalBasis, KeptUntil: d.KeptUntil,
		Count: protomap.Count32(d.Count),
	}
}

func notificationToProto(n domain.Notification) *disclosurev1.RecipientToNotify {
	return &disclosurev1.RecipientToNotify{
		RecipientId: n.RecipientID, Name: n.Name, Kind: kindToProto(n.Kind),
		Contact:    &disclosurev1.Contact{Name: n.Contact.Name, Email: n.Contact.Email, Phone: n.Contact.Phone},
		Categories: categoriesToProto(n.Categories), DisclosureIds: n.DisclosureIDs,
		LastDisclosureTime: protomap.Timestamp(n.LastAt),
	}
}
