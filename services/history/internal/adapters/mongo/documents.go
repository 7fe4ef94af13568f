package mongo

import (
	"fmt"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/protomap"
)

// Collection names of the history database.
const (
	visitsColl         = "visits"
	communicationsColl = "communications"
)

type staffDoc struct {
	Subject string `bson:"subject,omitempty"`
	Name    string `bson:"name"`
	Role    string `bson:"role,omitempty"`
}

type diagnosisDoc struct {
	Text string `bson:"text"`
	Code string `bson:"code,omitempty"`
}

type procedureDoc struct {
	Description string `bson:"description"`
	Code        string `bson:"code,omitempty"`
}

type medicationDoc struct {
	Product  string `bson:"product"`
	Dose     string `bson:"dose"`
	Route    string `bson:"route"`
	Duration string `bson:"duration,omitempty"`
}

type invoiceDoc struct {
	Number string `bson:"number"`
	State  string `bson:"state"`
}

// bodyDoc is the clinical content of a visit: the current view, the original and an
// amendment's corrected values all have this shape.
type bodyDoc struct {
	Clinic      string          `bson:"clinic,omitempty"`
	StartTime   time.Time       `bson:"start_time,omitempty"`
	Staff       []staffDoc      `bson:"staff,omitempty"`
	Reason      string          `bson:"reason,omitempty"`
	Anamnesis   string          `bson:"anamnesis,omitempty"`
	Findings    string          `bson:"findings,omitempty"`
	Diagnoses   []diagnosisDoc  `bson:"diagnoses,omitempty"`
	Procedures  []procedureDoc  `bson:"procedures,omitempty"`
	Medications []medicationDoc `bson:"medications,omitempty"`
	WeightGrams int64           `bson:"weight_grams,omitempty"`
	FollowUp    string          `bson:"follow_up,omitempty"`
	Invoices    []invoiceDoc    `bson:"invoices,omitempty"`
}

type amendmentDoc struct {
	Version   int64     `bson:"version"`
	Time      time.Time `bson:"time"`
	Author    staffDoc  `bson:"author"`
	Reason    string    `bson:"reason"`
	Fields    []string  `bson:"fields"`
	Corrected bodyDoc   `bson:"corrected"`
	RequestID string    `bson:"request_id,omitempty"`
	Digest    string    `bson:"digest,omitempty"`
	MovedFrom string    `bson:"moved_from,omitempty"`
	// OwnerID is the owner the amendment named (domain.Amendment.Corrected).
	OwnerID string `bson:"owner_id,omitempty"`
}

// visitDoc is a visit as stored: the current view (what lists read, projected without
// the trail), the original exactly as recorded, and the amendments, only ever pushed.
// Until the first amendment the current view is the original and Original is empty
// (a scan on the embedded store reads whole documents, so an unamended visit is stored
// once); the first amendment stores the original beside it, and nothing writes it
// again. StartedAt copies the current start time to the top level for the indexes;
// OwnerID is the owner the visit is filed under, which a correction may change (see
// domain.Amendment.MovedFrom).
type visitDoc struct {
	ID         string         `bson:"_id"`
	PatientID  string         `bson:"patient_id"`
	OwnerID    string         `bson:"owner_id"`
	StartedAt  time.Time      `bson:"started_at"`
	Version    int64          `bson:"version"`
	Created    time.Time      `bson:"created"`
	Updated    time.Time      `bson:"updated"`
	Current    bodyDoc        `bson:"current"`
	Original   bodyDoc        `bson:"original,omitempty"`
	Amendments []amendmentDoc `bson:"amendments,omitempty"`
	// Restriction is set when the owner's data was erased and the visit is kept until
	// these days.
	Restriction *retentionDoc `bson:"restriction,omitempty"`
	// RequestDigest is the keyed digest of the visit its request sent, which no
	// reduction touches.
	RequestDigest string `bson:"request_digest,omitempty"`
}

type communicationDoc struct {
	ID        string    `bson:"_id"`
	OwnerID   string    `bson:"owner_id"`
	PatientID string    `bson:"patient_id,omitempty"`
	VisitID   string    `bson:"visit_id,omitempty"`
	Channel   string    `bson:"channel"`
	Direction string    `bson:"direction"`
	Time      time.Time `bson:"time"`
	Subject   string    `bson:"subject"`
	Summary   string    `bson:"summary,omitempty"`
	Staff     staffDoc  `bson:"staff"`
	Created   time.Time `bson:"created"`
}

func staffToDoc(s domain.Staff) staffDoc {
	return staffDoc{Subject: s.Subject, Name: s.Name, Role: s.Role}
}

func (d staffDoc) toDomain() domain.Staff {
	return domain.Staff{Subject: d.Subject, Name: d.Name, Role: d.Role}
}

func bodyToDoc(v *domain.Visit) bodyDoc {
	return bodyDoc{
		Clinic: string(v.Clinic), StartTime: v.StartTime, Staff: protomap.All(v.Staff, staffToDoc),
		Reason: v.Reason, Anamnesis: v.Anamnesis, Findings: v.Findings,
		Diagnoses:  protomap.All(v.Diagnoses, func(d domain.Diagnosis) diagnosisDoc { return diagnosisDoc(d) }),
		Procedures: protomap.All(v.Procedures, func(p domain.Procedure) procedureDoc { return procedureDoc(p) }),
		Medications: protomap.All(v.Medications, func(m domain.Medication) medicationDoc {
			return medicationDoc{Product: m.Product, Dose: m.Dose, Route: string(m.Route), Duration: m.Duration}
		}),
		WeightGrams: v.WeightGrams, FollowUp: v.FollowUp,
		Invoices: protomap.All(v.Invoices, func(i domain.Invoice) invoiceDoc {
			return invoiceDoc{Number: i.Number, State: string(i.State)}
		}),
	}
}

// toDomain returns the body as a visit without ids, version or times.
func (b bodyDoc) toDomain() domain.Visit {
	return domain.Visit{
		Clinic: domain.Clinic(b.Clinic), StartTime: b.StartTime, Staff: protomap.All(b.Staff, staffDoc.toDomain),
		Reason: b.Reason, Anamnesis: b.Anamnesis, Findings: b.Findings,
		Diagnoses:  protomap.All(b.Diagnoses, func(d diagnosisDoc) domain.Diagnosis { return domain.Diagnosis(d) }),
		Procedures: protomap.All(b.Procedures, func(p procedureDoc) domain.Procedure { return domain.Procedure(p) }),
		Medications: protomap.All(b.Medications, func(m medicationDoc) domain.Medication {
			return domain.Medication{Product: m.Product, Dose: m.Dose, Route: domain.Route(m.Route), Duration: m.Duration}
		}),
		WeightGrams: b.WeightGrams, FollowUp: b.FollowUp,
		Invoices: protomap.All(b.Invoices, func(i invoiceDoc) domain.Invoice {
			return domain.Invoice{Number: i.Number, State: domain.InvoiceState(i.State)}
		}),
	}
}

func visitToDoc(v *domain.Visit) visitDoc {
	return visitDoc{
		ID: v.ID, PatientID: v.PatientID, OwnerID: v.OwnerID, StartedAt: v.StartTime,
		Version: v.Version, Created: v.Created, Updated: v.Updated, Current: bodyToDoc(v),
	}
}

// withIDs sets the identity, version and times of d on a body's visit.
func (d *visitDoc) withIDs(v domain.Visit, version int64, updated time.Time) domain.Visit {
	v.ID, v.PatientID, v.OwnerID = d.ID, d.PatientID, d.OwnerID
	v.Version, v.Created, v.Updated = version, d.Created.UTC(), updated.UTC()
	v.StartTime = v.StartTime.UTC()
	v.Restricted = d.Restriction != nil
	return v
}

// current returns the current view.
func (d *visitDoc) current() *domain.Visit {
	v := d.withIDs(d.Current.toDomain(), d.Version, d.Updated)
	return &v
}

func (d *visitDoc) record() (*domain.VisitRecord, error) {
	original := d.Original
	if len(d.Amendments) == 0 {
		original = d.Current
	}
	r := &domain.VisitRecord{
		Current:  *d.current(),
		Original: d.withIDs(original.toDomain(), 1, d.Created),
		Digest:   d.RequestDigest,
	}
	for _, a := range d.Amendments {
		r.Amendments = append(r.Amendments, amendmentToDomain(a))
	}
	kept, err := d.kept()
	if err != nil {
		return nil, err
	}
	r.Retention = kept
	return r, nil
}

// kept is what the visit's restriction keeps; zero for a visit not restricted.
func (d *visitDoc) kept() (domain.VisitRetention, error) {
	if d.Restriction == nil {
		return domain.VisitRetention{}, nil
	}
	var p days
	r := d.Restriction.toDomain(&p)
	r.VisitID = d.ID
	if p.err != nil {
		return domain.VisitRetention{}, fmt.Errorf("restriction of visit %s: %w", d.ID, p.err)
	}
	return r, nil
}

func amendmentToDoc(a domain.Amendment) amendmentDoc {
	return amendmentDoc{
		Version: a.Version, Time: a.Time, Author: staffToDoc(a.Author), Reason: a.Reason,
		Fields: a.Fields, Corrected: bodyToDoc(&a.Corrected), RequestID: a.RequestID, Digest: a.Digest,
		MovedFrom: a.MovedFrom, OwnerID: a.Corrected.OwnerID,
	}
}

func amendmentToDomain(d amendmentDoc) domain.Amendment {
	c := d.Corrected.toDomain()
	if !c.StartTime.IsZero() {
		c.StartTime = c.StartTime.UTC()
	}
	c.OwnerID = d.OwnerID
	return domain.Amendment{
		Version: d.Version, Time: d.Time.UTC(), Author: d.Author.toDomain(), Reason: d.Reason,
		Fields: d.Fields, Corrected: c, RequestID: d.RequestID, Digest: d.Digest,
		MovedFrom: d.MovedFrom,
	}
}

func communicationToDoc(c *domain.Communication) communicationDoc {
	return communicationDoc{
		ID: c.ID, OwnerID: c.OwnerID, PatientID: c.PatientID, VisitID: c.VisitID,
		Channel: string(c.Channel), Direction: string(c.Direction), Time: c.Time,
		Subject: c.Subject, Summary: c.Summary, Staff: staffToDoc(c.Staff), Created: c.Created,
	}
}

func (d *communicationDoc) toDomain() *domain.Communication {
	return &domain.Communication{
		ID: d.ID, OwnerID: d.OwnerID, PatientID: d.PatientID, VisitID: d.VisitID,
		Channel: domain.Channel(d.Channel), Direction: domain.Direction(d.Direction), Time: d.Time.UTC(),
		Subject: d.Subject, Summary: d.Summary, Staff: d.Staff.toDomain(), Created: d.Created.UTC(),
	}
}
