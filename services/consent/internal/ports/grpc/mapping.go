package grpc

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/consent/internal/domain"
	"github.com/lillvet/register/services/platform/identitycode"
	"github.com/lillvet/register/services/platform/protomap"
)

var purposes = map[consentv1.Purpose]domain.Purpose{
	consentv1.Purpose_PURPOSE_DIRECT_MARKETING:              domain.PurposeDirectMarketing,
	consentv1.Purpose_PURPOSE_STATISTICAL_RESEARCH:          domain.PurposeStatisticalResearch,
	consentv1.Purpose_PURPOSE_SERVICE_DEVELOPMENT:           domain.PurposeServiceDevelopment,
	consentv1.Purpose_PURPOSE_CARE_REMINDERS:                domain.PurposeCareReminders,
	consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE:            domain.PurposeInsurerDisclosure,
	consentv1.Purpose_PURPOSE_KENNEL_CLUB_DISCLOSURE:        domain.PurposeKennelClubDisclosure,
	consentv1.Purpose_PURPOSE_CAT_FEDERATION_DISCLOSURE:     domain.PurposeCatFederationDisclosure,
	consentv1.Purpose_PURPOSE_MICROCHIP_REGISTRY_DISCLOSURE: domain.PurposeMicrochipRegistryDisclosure,
}

var decisions = map[consentv1.Decision]domain.Decision{
	consentv1.Decision_DECISION_GRANTED:   domain.DecisionGranted,
	consentv1.Decision_DECISION_REFUSED:   domain.DecisionRefused,
	consentv1.Decision_DECISION_WITHDRAWN: domain.DecisionWithdrawn,
	consentv1.Decision_DECISION_OBJECTED:  domain.DecisionObjected,
}

var methods = map[consentv1.Method]domain.Method{
	consentv1.Method_METHOD_IN_PERSON:   domain.MethodInPerson,
	consentv1.Method_METHOD_WRITTEN:     domain.MethodWritten,
	consentv1.Method_METHOD_EMAIL:       domain.MethodEmail,
	consentv1.Method_METHOD_PHONE:       domain.MethodPhone,
	consentv1.Method_METHOD_ONLINE_FORM: domain.MethodOnlineForm,
}

var reasonsOut = map[domain.Reason]consentv1.Reason{
	domain.ReasonDefaultOptOut:   consentv1.Reason_REASON_DEFAULT_OPT_OUT,
	domain.ReasonExplicitGrant:   consentv1.Reason_REASON_EXPLICIT_GRANT,
	domain.ReasonObjection:       consentv1.Reason_REASON_OBJECTION,
	domain.ReasonWithdrawal:      consentv1.Reason_REASON_WITHDRAWAL,
	domain.ReasonRefusal:         consentv1.Reason_REASON_REFUSAL,
	domain.ReasonNoGrant:         consentv1.Reason_REASON_NO_GRANT,
	domain.ReasonExpired:         consentv1.Reason_REASON_EXPIRED,
	domain.ReasonNotYetValid:     consentv1.Reason_REASON_NOT_YET_VALID,
	domain.ReasonOwnerRestricted: consentv1.Reason_REASON_OWNER_RESTRICTED,
}

var (
	purposesOut  = protomap.Reverse(purposes)
	decisionsOut = protomap.Reverse(decisions)
	methodsOut   = protomap.Reverse(methods)
)

// timeFromProto maps an absent timestamp to the zero time. An out-of-range one maps to
// an instant the domain rejects with a field violation.
func timeFromProto(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

// entryFromProto maps the client's fields of a decision; unknown enum values map to
// empty domain values, which validation rejects.
func entryFromProto(d *consentv1.ConsentDecision) domain.Entry {
	return domain.Entry{
		Purpose:          purposes[d.GetPurpose()],
		Scope:            d.GetScope(),
		Decision:         decisions[d.GetDecision()],
		Method:           methods[d.GetMethod()],
		EvidenceRef:      d.GetEvidenceRef(),
		StatementVersion: d.GetStatementVersion(),
		ValidFrom:        timeFromProto(d.GetValidFrom()),
		ValidUntil:       timeFromProto(d.GetValidUntil()),
		EffectiveAt:      timeFromProto(d.GetEffectiveTime()),
	}
}

// entryToProto is every read of a decision. Its evidence reference and the recorder's
// name, stored before the service refused an identity code in them (or before the
// detector saw a form it now does), may hold one, which the ledger, kept for years
// and copied into the owner's access report, would otherwise show.
func entryToProto(e *domain.Entry) *consentv1.ConsentDecision {
	if e == nil {
		return nil
	}
	return &consentv1.ConsentDecision{
		Id:               e.ID,
		OwnerId:          e.OwnerID,
		Sequence:         e.Seq,
		Purpose:          purposesOut[e.Purpose],
		Scope:            e.Scope,
		Decision:         decisionsOut[e.Decision],
		Method:           methodsOut[e.Method],
		EvidenceRef:      identitycode.Redact(e.EvidenceRef),
		StatementVersion: identitycode.Redact(e.StatementVersion),
		ValidFrom:        protomap.Timestamp(e.ValidFrom),
		ValidUntil:       protomap.Timestamp(e.ValidUntil),
		EffectiveTime:    protomap.Timestamp(e.EffectiveAt),
		RecordedBy:       e.RecordedBy,
		RecordedByName:   identitycode.Redact(e.RecordedByName),
		RecordTime:       protomap.Timestamp(e.RecordedAt),
	}
}

func entriesToProto(entries []domain.Entry) []*consentv1.ConsentDecision {
	out := make([]*consentv1.ConsentDecision, len(entries))
	for i := range entries {
		out[i] = entryToProto(&entries[i])
	}
	return out
}

func stateToProto(s domain.State) *consentv1.ConsentState {
	return &consentv1.ConsentState{
		Purpose: purposesOut[s.Purpose], Scope: s.Scope, Allowed: s.Verdict.Allowed,
		Reason: reasonsOut[s.Verdict.Reason], DecidingDecision: entryToProto(s.Verdict.Deciding),
	}
}

func dispositionToProto(d domain.Disposition) *consentv1.RecordDisposition {
	return &consentv1.RecordDisposition{RecordClass: d.Class, Kept: d.Kept, LegalBasis: d.Basis, Count: protomap.Count32(d.Count)}
}
