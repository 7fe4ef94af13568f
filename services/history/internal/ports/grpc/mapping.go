package grpc

import (
	"math"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/identitycode"
	"github.com/lillvet/register/services/platform/protomap"
	"github.com/lillvet/register/services/platform/retention"
)

var clinics = map[historyv1.Clinic]domain.Clinic{
	historyv1.Clinic_CLINIC_SEINAJOKI: domain.ClinicSeinajoki,
	historyv1.Clinic_CLINIC_KANGASALA: domain.ClinicKangasala,
}

var routes = map[historyv1.Route]domain.Route{
	historyv1.Route_ROUTE_ORAL:          domain.RouteOral,
	historyv1.Route_ROUTE_SUBCUTANEOUS:  domain.RouteSubcutaneous,
	historyv1.Route_ROUTE_INTRAMUSCULAR: domain.RouteIntramuscular,
	historyv1.Route_ROUTE_INTRAVENOUS:   domain.RouteIntravenous,
	historyv1.Route_ROUTE_TOPICAL:       domain.RouteTopical,
	historyv1.Route_ROUTE_OPHTHALMIC:    domain.RouteOphthalmic,
	historyv1.Route_ROUTE_OTIC:          domain.RouteOtic,
	historyv1.Route_ROUTE_INHALED:       domain.RouteInhaled,
	historyv1.Route_ROUTE_RECTAL:        domain.RouteRectal,
	historyv1.Route_ROUTE_OTHER:         domain.RouteOther,
}

var invoiceStates = map[historyv1.InvoiceState]domain.InvoiceState{
	historyv1.InvoiceState_INVOICE_STATE_OPEN: domain.InvoiceOpen,
	historyv1.InvoiceState_INVOICE_STATE_PAID: domain.InvoicePaid,
}

var channels = map[historyv1.Channel]domain.Channel{
	historyv1.Channel_CHANNEL_PHONE:     domain.ChannelPhone,
	historyv1.Channel_CHANNEL_EMAIL:     domain.ChannelEmail,
	historyv1.Channel_CHANNEL_SMS:       domain.ChannelSMS,
	historyv1.Channel_CHANNEL_LETTER:    domain.ChannelLetter,
	historyv1.Channel_CHANNEL_IN_PERSON: domain.ChannelInPerson,
	historyv1.Channel_CHANNEL_PORTAL:    domain.ChannelPortal,
}

var directions = map[historyv1.Direction]domain.Direction{
	historyv1.Direction_DIRECTION_INBOUND:  domain.DirectionInbound,
	historyv1.Direction_DIRECTION_OUTBOUND: domain.DirectionOutbound,
}

var (
	clinicsOut       = protomap.Reverse(clinics)
	routesOut        = protomap.Reverse(routes)
	invoiceStatesOut = protomap.Reverse(invoiceStates)
	channelsOut      = protomap.Reverse(channels)
	directionsOut    = protomap.Reverse(directions)
)

// timeFromProto maps an unset timestamp to the zero time, which validation fills or
// refuses; the handlers refuse an invalid one (checkTime) before it gets here.
func timeFromProto(ts *timestamppb.Timestamp) time.Time {
	if ts == nil || ts.CheckValid() != nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func staffFromProto(s *historyv1.StaffMember) domain.Staff {
	return domain.Staff{Subject: s.GetSubject(), Name: s.GetName(), Role: s.GetRole()}
}

// staffToProto, visitToProto and communicationToProto are every read of what staff
// typed into a visit or a communication (and the copy an amendment keeps). Text
// stored before the service refused an identity code in it, or before the detector
// saw a form it now does, may hold one, which the record, kept for years and copied
// into the owner's access report, would otherwise show: it is served without.
// Diagnosis and procedure codes and invoice numbers are not free text and are served
// as stored (see apperr.CheckNoIdentityCodeInNumber).
func staffToProto(s domain.Staff) *historyv1.StaffMember {
	return &historyv1.StaffMember{Subject: identitycode.Redact(s.Subject), Name: identitycode.Redact(s.Name), Role: identitycode.Redact(s.Role)}
}

func visitFromProto(v *historyv1.Visit) domain.Visit {
	return domain.Visit{
		Clinic: clinics[v.GetClinic()], StartTime: timeFromProto(v.GetStartTime()),
		Staff: protomap.All(v.GetStaff(), staffFromProto), Reason: v.GetReason(),
		Anamnesis: v.GetAnamnesis(), Findings: v.GetFindings(),
		Diagnoses: protomap.All(v.GetDiagnoses(), func(d *historyv1.Diagnosis) domain.Diagnosis {
			return domain.Diagnosis{Text: d.GetText(), Code: d.GetCode()}
		}),
		Procedures: protomap.All(v.GetProcedures(), func(p *historyv1.Procedure) domain.Procedure {
			return domain.Procedure{Description: p.GetDescription(), Code: p.GetCode()}
		}),
		Medications: protomap.All(v.GetMedications(), func(m *historyv1.Medication) domain.Medication {
			return domain.Medication{Product: m.GetProduct(), Dose: m.GetDose(), Route: routes[m.GetRoute()], Duration: m.GetDuration()}
		}),
		WeightGrams: v.GetWeightGrams(), FollowUp: v.GetFollowUp(),
		Invoices: protomap.All(v.GetInvoices(), func(i *historyv1.InvoiceReference) domain.Invoice {
			return domain.Invoice{Number: i.GetNumber(), State: invoiceStates[i.GetState()]}
		}),
	}
}

func visitToProto(v *domain.Visit) *historyv1.Visit {
	return &historyv1.Visit{
		Id: v.ID, PatientId: v.PatientID, OwnerId: v.OwnerID, Clinic: clinicsOut[v.Clinic],
		StartTime: protomap.Timestamp(v.StartTime), Staff: protomap.All(v.Staff, staffToProto), Reason: identitycode.Redact(v.Reason),
		Anamnesis: identitycode.Redact(v.Anamnesis), Findings: identitycode.Redact(v.Findings),
		Diagnoses: protomap.All(v.Diagnoses, func(d domain.Diagnosis) *historyv1.Diagnosis {
			return &historyv1.Diagnosis{Text: identitycode.Redact(d.Text), Code: d.Code}
		}),
		Procedures: protomap.All(v.Procedures, func(p domain.Procedure) *historyv1.Procedure {
			return &historyv1.Procedure{Description: identitycode.Redact(p.Description), Code: p.Code}
		}),
		Medications: protomap.All(v.Medications, func(m domain.Medication) *historyv1.Medication {
			return &historyv1.Medication{
				Product: identitycode.Redact(m.Product), Dose: identitycode.Redact(m.Dose), Route: routesOut[m.Route],
				Duration: identitycode.Redact(m.Duration),
			}
		}),
		WeightGrams: v.WeightGrams, FollowUp: identitycode.Redact(v.FollowUp),
		Invoices: protomap.All(v.Invoices, func(i domain.Invoice) *historyv1.InvoiceReference {
			return &historyv1.InvoiceReference{Number: i.Number, State: invoiceStatesOut[i.State]}
		}),
		Version: v.Version, CreateTime: protomap.Timestamp(v.Created), UpdateTime: protomap.Timestamp(v.Updated),
		Restricted: v.Restricted,
	}
}

// day formats a retention day as YYYY-MM-DD, "" for none.
func day(d retention.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func dispositionToProto(d domain.Disposition) *historyv1.RecordDisposition {
	return &historyv1.RecordDisposition{
		RecordClass: d.Class, Kept: d.Kept, LegalBasis: d.Basis, KeptUntil: day(d.KeptUntil), Count: count(d.Count),
	}
}

// count is n as a proto count; a count beyond int32 (never reached) is capped.
func count(n int) int32 {
	if n < 0 || n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(n)
}

func visitsToProto(vs []*domain.Visit) []*historyv1.Visit {
	return protomap.All(vs, visitToProto)
}

// amendmentToProto is every read of an amendment. A reason stored before the service
// refused an identity code in one may hold a code, which the visit's trail, kept for
// years and copied into the owner's access report, would otherwise show.
func amendmentToProto(a domain.Amendment) *historyv1.Amendment {
	return &historyv1.Amendment{
		Version: a.Version, Time: protomap.Timestamp(a.Time), Author: staffToProto(a.Author), Reason: identitycode.Redact(a.Reason),
		Fields: a.Fields, Corrected: visitToProto(&a.Corrected), MovedFromOwnerId: a.MovedFrom,
	}
}

func recordToProto(r *domain.VisitRecord) *historyv1.VisitRecord {
	return &historyv1.VisitRecord{
		Visit: visitToProto(&r.Current), Original: visitToProto(&r.Original),
		Amendments: protomap.All(r.Amendments, amendmentToProto),
	}
}

func communicationFromProto(c *historyv1.Communication) domain.Communication {
	return domain.Communication{
		PatientID: c.GetPatientId(), VisitID: c.GetVisitId(),
		Channel: channels[c.GetChannel()], Direction: directions[c.GetDirection()],
		Time: timeFromProto(c.GetTime()), Subject: c.GetSubject(), Summary: c.GetSummary(),
	}
}

func communicationToProto(c *domain.Communication) *historyv1.Communication {
	return &historyv1.Communication{
		Id: c.ID, OwnerId: c.OwnerID, PatientId: c.PatientID, VisitId: c.VisitID,
		Channel: channelsOut[c.Channel], Direction: directionsOut[c.Direction], Time: protomap.Timestamp(c.Time),
		Subject: identitycode.Redact(c.Subject), Summary: identitycode.Redact(c.Summary), Staff: staffToProto(c.Staff), CreateTime: protomap.Timestamp(c.Created),
	}
}

func timelineToProto(entries []domain.TimelineEntry) []*historyv1.TimelineEntry {
	return protomap.All(entries, func(e domain.TimelineEntry) *historyv1.TimelineEntry {
		if e.Visit != nil {
			return &historyv1.TimelineEntry{Entry: &historyv1.TimelineEntry_Visit{Visit: visitToProto(e.Visit)}}
		}
		return &historyv1.TimelineEntry{Entry: &historyv1.TimelineEntry_Communication{Communication: communicationToProto(e.Communication)}}
	})
}
