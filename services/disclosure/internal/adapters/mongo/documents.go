package mongo

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/lillvet/register/services/disclosure/internal/domain"
)

type contactDoc struct {
	Name  string `bson:"name,omitempty"`
	Email string `bson:"email"`
	Phone string `bson:"phone,omitempty"`
}

type recipientDoc struct {
	ID           string     `bson:"_id"`
	Name         string     `bson:"name"`
	Kind         string     `bson:"kind"`
	BusinessID   string     `bson:"business_id"`
	Country      string     `bson:"country"`
	Contact      contactDoc `bson:"contact"`
	AgreementRef string     `bson:"agreement_ref,omitempty"`
	Categories   []string   `bson:"categories"`
	Active       bool       `bson:"active"`
	// SingleActiveKind is the kind of an active recipient only one of which may be
	// active (domain.Kind.SingleActive), absent otherwise: a unique index on it lets
	// one active recipient of such a kind be stored at a time, and the deactivation
	// removes it in the same write that makes the recipient inactive.
	SingleActiveKind string     `bson:"single_active_kind,omitempty"`
	Created          time.Time  `bson:"created"`
	Deactivated      *time.Time `bson:"deactivated,omitempty"`
}

// Outcomes of a log entry as stored. A pending entry becomes disclosed or refused once;
// entries written before there were pending ones are final as they are.
const (
	outcomeDisclosed = "disclosed"
	outcomeRefused   = "refused"
	outcomePending   = "pending"
)

// recordDoc is one log entry. Besides the one change of a pending entry to final, with
// the claims that decided it (claims and disclosable, read only by FinalizeRecord) and
// the basis and consent entry of the check that decided it (none for a refusal), the
// payload is the only field a later erasure or retention sweep may remove; the rest is
// never changed. Disclosable is outcomeDisclosed on a pending entry until a refusal is
// claimed (see Repository.FinalizeRecord).
type recordDoc struct {
	ID                string        `bson:"_id"`
	RecipientID       string        `bson:"recipient_id"`
	RecipientKind     string        `bson:"recipient_kind"`
	OwnerID           string        `bson:"owner_id"`
	PatientIDs        []string      `bson:"patient_ids"`
	HistoryOnly       []string      `bson:"history_only_patient_ids,omitempty"`
	Categories        []string      `bson:"categories"`
	CaseReference     string        `bson:"case_reference"`
	Requested         *requestedDoc `bson:"requested,omitempty"`
	Outcome           string        `bson:"outcome"`
	Disclosable       string        `bson:"disclosable,omitempty"`
	Basis             string        `bson:"basis,omitempty"`
	ConsentEntryID    string        `bson:"consent_entry_id,omitempty"`
	RefusalReason     string        `bson:"refusal_reason,omitempty"`
	ConsentReason     string        `bson:"consent_reason,omitempty"`
	RefusedCategories []string      `bson:"refused_categories,omitempty"`
	RequestedBy       string        `bson:"requested_by"`
	RequestedByRoles  []string      `bson:"requested_by_roles"`
	RequestedByName   string        `bson:"requested_by_name,omitempty"`
	RequestedPurpose  string        `bson:"requested_purpose,omitempty"`
	Time              time.Time     `bson:"time"`
	GatheredAt        *time.Time    `bson:"gathered_at,omitempty"`
	PayloadSHA256     string        `bson:"payload_sha256,omitempty"`
	Payload           []byte        `bson:"payload,omitempty"`
}

// requestedDoc is domain.Requested; absent on entries logged before it was kept.
type requestedDoc struct {
	PatientIDs []string `bson:"patient_ids"`
}

func toStrings[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

func fromStrings[T ~string](in []string) []T {
	out := make([]T, len(in))
	for i, s := range in {
		out[i] = T(s)
	}
	return out
}

func toRecipientDoc(r domain.Recipient) recipientDoc {
	d := recipientDoc{
		ID: r.ID, Name: r.Name, Kind: string(r.Kind), BusinessID: r.BusinessID, Country: r.Country,
		Contact:      contactDoc{Name: r.Contact.Name, Email: r.Contact.Email, Phone: r.Contact.Phone},
		AgreementRef: r.AgreementRef, Categories: toStrings(r.Categories), Active: r.Active, Created: r.CreatedAt,
	}
	if r.Active && r.Kind.SingleActive() {
		d.SingleActiveKind = string(r.Kind)
	}
	if !r.DeactivatedAt.IsZero() {
		t := r.DeactivatedAt
		d.Deactivated = &t
	}
	return d
}

func (d *recipientDoc) toDomain() domain.Recipient {
	r := domain.Recipient{
		ID: d.ID, Name: d.Name, Kind: domain.Kind(d.Kind), BusinessID: d.BusinessID, Country: d.Country,
		Contact:      domain.Contact{Name: d.Contact.Name, Email: d.Contact.Email, Phone: d.Contact.Phone},
		AgreementRef: d.AgreementRef, Categories: fromStrings[domain.Category](d.Categories), Active: d.Active,
		CreatedAt: d.Created.UTC(),
	}
	if d.Deactivated != nil {
		r.DeactivatedAt = d.Deactivated.UTC()
	}
	return r
}

func toRecordDoc(r domain.Record) recordDoc {
	d := recordDoc{
		ID: r.ID, RecipientID: r.RecipientID, RecipientKind: string(r.RecipientKind), OwnerID: r.OwnerID,
		PatientIDs: r.PatientIDs, HistoryOnly: r.HistoryOnlyPatientIDs, Categories: toStrings(r.Categories), CaseReference: r.CaseReference,
		Outcome: outcomeDisclosed, Basis: string(r.Basis), ConsentEntryID: r.ConsentEntryID,
		RequestedBy: r.RequestedBy, RequestedByRoles: r.RequestedByRoles, RequestedByName: r.RequestedByName,
		RequestedPurpose: r.RequestedPurpose, Time: r.CreatedAt,
		PayloadSHA256: r.PayloadSHA256, Payload: r.Payload,
	}
	if d.PatientIDs == nil {
		d.PatientIDs = []string{}
	}
	if r.Requested != nil {
		d.Requested = &requestedDoc{PatientIDs: r.Requested.PatientIDs}
		if d.Requested.PatientIDs == nil {
			d.Requested.PatientIDs = []string{}
		}
	}
	if !r.GatheredAt.IsZero() {
		t := r.GatheredAt
		d.GatheredAt = &t
	}
	if d.RequestedByRoles == nil {
		d.RequestedByRoles = []string{}
	}
	switch {
	case r.Refusal != nil:
		d.Outcome = outcomeRefused
		d.RefusalReason = string(r.Refusal.Reason)
		d.ConsentReason = r.Refusal.ConsentReason
		d.RefusedCategories = toStrings(r.Refusal.Categories)
	case r.Pending:
		d.Outcome, d.Disclosable = outcomePending, outcomeDisclosed
	}
	return d
}

// refusalSet is the fields a refusal sets on a log entry.
func refusalSet(f domain.Refusal) bson.M {
	set := bson.M{"outcome": outcomeRefused, "refusal_reason": string(f.Reason)}
	if f.ConsentReason != "" {
		set["consent_reason"] = f.ConsentReason
	}
	if len(f.Categories) > 0 {
		set["refused_categories"] = toStrings(f.Categories)
	}
	return set
}

func (d *recordDoc) toDomain() domain.Record {
	r := domain.Record{
		ID: d.ID, RecipientID: d.RecipientID, RecipientKind: domain.Kind(d.RecipientKind), OwnerID: d.OwnerID,
		PatientIDs: d.PatientIDs, HistoryOnlyPatientIDs: d.HistoryOnly, Categories: fromStrings[domain.Category](d.Categories),
		CaseReference: d.CaseReference, Basis: domain.Basis(d.Basis), ConsentEntryID: d.ConsentEntryID,
		RequestedBy: d.RequestedBy, RequestedByRoles: d.RequestedByRoles, RequestedByName: d.RequestedByName,
		RequestedPurpose: d.RequestedPurpose, CreatedAt: d.Time.UTC(),
		PayloadSHA256: d.PayloadSHA256, Payload: d.Payload,
	}
	if d.GatheredAt != nil {
		r.GatheredAt = d.GatheredAt.UTC()
	}
	if d.Requested != nil {
		r.Requested = &domain.Requested{PatientIDs: d.Requested.PatientIDs}
	}
	switch d.Outcome {
	case outcomeDisclosed:
	case outcomePending:
		r.Pending = true
	default:
		// Nothing was disclosed on the basis and consent entry a refused entry may still
		// hold: the first check's, of an entry refused later by an earlier version.
		r.Basis, r.ConsentEntryID = "", ""
		r.Refusal = &domain.Refusal{
			Reason: domain.RefusalReason(d.RefusalReason), ConsentReason: d.ConsentReason,
			Categories: fromStrings[domain.Category](d.RefusedCategories),
		}
	}
	return r
}
