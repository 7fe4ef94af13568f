package disclosure_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/protobuf/types/known/timestamppb"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// The owner of the benchmark.
const (
	benchPets           = 5
	benchVisits         = 1000
	benchCommunications = 200
	benchConsents       = 50
	benchDisclosures    = 20
)

// BenchmarkAccessReport is the benchmark: the access report of an owner with 5
// pets, 1,000 visits, 200 communications, 50 consent decisions and 20 disclosures,
// against the raw driver's reads of the same documents on the same embedded store in
// the same run:
//
//   - driver: the owner and the patients, the visits and communications by owner, the
//     consent ledger, the disclosure log by owner with its recipient, the access
//     request, and the audit events about the owner in each of the four databases,
//     decoded into bson.M, one after another — the floor;
//   - json: GetAccessReport over TLS as the clinic manager: the disclosure service
//     asks the owner, history and consent services (ExportOwner, the history export
//     stream, the ledger, every service's audit log), builds, marshals and hashes the
//     report, logs it as a disclosure and audits it;
//   - html: GetAccessReportDocument, the same with the HTML rendered instead.
//
// Every report adds audit events that the next one (and the driver's reads) return, so
// the interleaved run's ratios are the figures docs/BENCHMARKS.md reports.
func BenchmarkAccessReport(b *testing.B) {
	s := start(b)
	ownerID, requestID := seedReportOwner(b, s)
	ctx := context.Background()
	dbs := map[string]*mongo.Database{}
	for _, name := range []string{ownerDatabase, historyDatabase, consentDatabase, disclosureDatabase} {
		dbs[name] = s.raw.Database(name)
	}
	find := func(db, coll string, filter bson.M, sort string) (int, error) {
		opts := options.Find()
		if sort != "" {
			opts.SetSort(bson.D{{Key: sort, Value: 1}, {Key: "_id", Value: 1}})
		}
		cur, err := dbs[db].Collection(coll).Find(ctx, filter, opts)
		if err != nil {
			return 0, err
		}
		var docs []bson.M
		err = cur.All(ctx, &docs)
		return len(docs), err
	}
	one := func(db, coll, id string) error {
		var doc bson.M
		return dbs[db].Collection(coll).FindOne(ctx, bson.M{"_id": id}).Decode(&doc)
	}
	var recipientID string
	driver := func() error {
		reads := []func() error{
			func() error { return one(ownerDatabase, "owners", ownerID) },
			func() error { return want(find(ownerDatabase, "patients", bson.M{"owner_id": ownerID}, ""))(benchPets) },
			func() error {
				return want(find(historyDatabase, "visits", bson.M{"owner_id": ownerID}, "started_at"))(benchVisits)
			},
			func() error {
				return want(find(historyDatabase, "communications", bson.M{"owner_id": ownerID}, "time"))(benchCommunications)
			},
			func() error { return one(consentDatabase, "ledgers", ownerID) },
			func() error {
				// The reports add their own log entries.
				n, err := find(disclosureDatabase, "disclosures", bson.M{"owner_id": ownerID}, "time")
				if err == nil && n < benchDisclosures {
					err = fmt.Errorf("%d disclosures", n)
				}
				return err
			},
			func() error { return one(disclosureDatabase, "recipients", recipientID) },
			func() error { return one(disclosureDatabase, "access_requests", requestID) },
		}
		for name := range dbs {
			reads = append(reads, func() error {
				_, err := find(name, "audit_events", bson.M{"subject_owner_id": ownerID}, "time")
				return err
			})
		}
		for _, read := range reads {
			if err := read(); err != nil {
				return err
			}
		}
		return nil
	}
	var rec bson.M
	if err := dbs[disclosureDatabase].Collection("recipients").FindOne(ctx, bson.M{}).Decode(&rec); err != nil {
		b.Fatal(err)
	}
	recipientID, _ = rec["_id"].(string)

	manager := s.env.As(b, auth.RoleClinicManager)
	servicetest.Compare(b, "report",
		servicetest.Path{Name: "driver", Read: driver},
		servicetest.Path{Name: "json", Read: func() error {
			res, err := s.disclosure.GetAccessReport(manager, &disclosurev1.GetAccessReportRequest{AccessRequestId: requestID})
			if err == nil && len(res.GetReport().GetData()) < benchVisits*100 {
				err = fmt.Errorf("a report of %d bytes", len(res.GetReport().GetData()))
			}
			return err
		}},
		servicetest.Path{Name: "html", Read: func() error {
			_, err := s.disclosure.GetAccessReportDocument(manager, &disclosurev1.GetAccessReportDocumentRequest{AccessRequestId: requestID})
			return err
		}},
	)
}

// want checks a read's count.
func want(n int, err error) func(int) error {
	return func(expected int) error {
		if err == nil && n != expected {
			err = fmt.Errorf("%d documents, want %d", n, expected)
		}
		return err
	}
}

// seedReportOwner gives the benchmark's owner its data. What the services check on
// the way in goes through their RPCs: the owner and pets, one visit per pet and one
// communication (so the stored documents are the services' own), the 50 consent
// decisions and the 20 disclosures. The rest of the visits and communications are
// copies of those documents with a new id and time, inserted with the driver: 1,195
// RecordVisit calls would only measure the seeding.
func seedReportOwner(b *testing.B, s *system) (ownerID, requestID string) {
	b.Helper()
	as := func(role auth.Role) context.Context { return s.env.As(b, role) }
	o, err := s.owners.CreateOwner(as(auth.RoleReception), &ownerv1.CreateOwnerRequest{IdentityCode: identityCode, Owner: &ownerv1.Owner{
		GivenNames: "Aino", FamilyName: "Benchmark", Phone: "040 123 4567", Email: "aino@example.fi",
		Address:    &ownerv1.Address{Street: "Ruukintie 1", PostalCode: "60100", City: "Seinäjoki"},
		HomeClinic: ownerv1.Clinic_CLINIC_SEINAJOKI,
	}})
	if err != nil {
		b.Fatal(err)
	}
	ownerID = o.GetOwner().GetId()
	start := time.Now().Add(-benchVisits * 24 * time.Hour)
	var visitIDs []string
	for i := range benchPets {
		p, err := s.owners.RegisterPatient(as(auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: ownerID, Patient: &ownerv1.Patient{
			Name: fmt.Sprintf("Pet %d", i), Species: ownerv1.Species_SPECIES_DOG,
		}})
		if err != nil {
			b.Fatal(err)
		}
		v, err := s.history.RecordVisit(as(auth.RoleVeterinarian), &historyv1.RecordVisitRequest{PatientId: p.GetPatient().GetId(), Visit: &historyv1.Visit{
			Clinic: historyv1.Clinic_CLINIC_SEINAJOKI, StartTime: timestamppb.New(start), Reason: "Annual check-up",
			Anamnesis: "Eats well, no complaints.", Findings: "Healthy; mild tartar on the upper molars.",
			Diagnoses:   []*historyv1.Diagnosis{{Text: "Dental calculus", Code: "VeNom:123"}},
			Medications: []*historyv1.Medication{{Product: "Nobivac DHPPi", Dose: "1 ml", Route: historyv1.Route_ROUTE_SUBCUTANEOUS}},
			WeightGrams: 24300, Invoices: []*historyv1.InvoiceReference{{Number: "2026-1", State: historyv1.InvoiceState_INVOICE_STATE_PAID}},
		}})
		if err != nil {
			b.Fatal(err)
		}
		visitIDs = append(visitIDs, v.GetVisit().GetId())
	}
	if _, err := s.history.RecordCommunication(as(auth.RoleReception), &historyv1.RecordCommunicationRequest{
		OwnerId: ownerID, Communication: &historyv1.Communication{
			Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND,
			Subject: "Booking", Summary: "Asked for a time for the annual check-up.", Time: timestamppb.New(start),
		},
	}); err != nil {
		b.Fatal(err)
	}
	history := s.raw.Database(historyDatabase)
	copyDocs(b, history.Collection("visits"), bson.M{"_id": bson.M{"$in": visitIDs}}, "started_at", benchVisits, start)
	copyDocs(b, history.Collection("communications"), bson.M{"owner_id": ownerID}, "time", benchCommunications, start)

	scopes := []string{"email", "sms", "post", "phone"}
	for i := range benchConsents {
		decision := consentv1.Decision_DECISION_OBJECTED
		if i%2 == 1 {
			decision = consentv1.Decision_DECISION_WITHDRAWN
		}
		if _, err := s.consents.RecordConsentDecision(as(auth.RoleReception), &consentv1.RecordConsentDecisionRequest{
			OwnerId: ownerID, Decision: &consentv1.ConsentDecision{
				Purpose: consentv1.Purpose_PURPOSE_DIRECT_MARKETING, Scope: scopes[i%len(scopes)], Decision: decision,
				Method: consentv1.Method_METHOD_IN_PERSON,
			},
		}); err != nil {
			b.Fatalf("consent decision %d: %v", i, err)
		}
	}
	ins, err := s.disclosure.CreateRecipient(as(auth.RoleClinicManager), &disclosurev1.CreateRecipientRequest{Recipient: insurer("LähiTapiola", "FI")})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.consents.RecordConsentDecision(as(auth.RoleReception), &consentv1.RecordConsentDecisionRequest{
		OwnerId: ownerID, Decision: &consentv1.ConsentDecision{
			Purpose: consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE, Scope: ins.GetRecipient().GetId(),
			Decision: consentv1.Decision_DECISION_GRANTED, Method: consentv1.Method_METHOD_WRITTEN, EvidenceRef: "form-7",
			StatementVersion: "2026-01",
		},
	}); err != nil {
		b.Fatal(err)
	}
	for i := range benchDisclosures {
		if _, err := s.disclosure.CreateDisclosure(as(auth.RoleReception), &disclosurev1.CreateDisclosureRequest{
			RecipientId: ins.GetRecipient().GetId(), OwnerId: ownerID, CaseReference: fmt.Sprintf("claim %d", i),
			Categories: []disclosurev1.DataCategory{ownerName, patientBasics},
		}); err != nil {
			b.Fatal(err)
		}
	}
	r, err := s.disclosure.RecordAccessRequest(as(auth.RoleClinicManager), &disclosurev1.RecordAccessRequestRequest{
		AccessRequest: letter(ownerID, nil),
	})
	if err != nil {
		b.Fatal(err)
	}
	return ownerID, r.GetAccessRequest().GetId()
}

// copyDocs fills coll up to total documents matching filter by copying them round
// robin, each copy with a new id and its time key an hour after the last.
func copyDocs(b *testing.B, coll *mongo.Collection, filter bson.M, timeKey string, total int, start time.Time) {
	b.Helper()
	ctx := context.Background()
	cur, err := coll.Find(ctx, filter)
	if err != nil {
		b.Fatal(err)
	}
	var originals []bson.M
	if err := cur.All(ctx, &originals); err != nil || len(originals) == 0 {
		b.Fatalf("%d documents to copy: %v", len(originals), err)
	}
	copies := make([]any, 0, total-len(originals))
	for i := len(originals); i < total; i++ {
		doc := bson.M{}
		for k, v := range originals[i%len(originals)] {
			doc[k] = v
		}
		doc["_id"], doc[timeKey] = uuid.NewString(), start.Add(time.Duration(i)*time.Hour)
		copies = append(copies, doc)
	}
	if _, err := coll.InsertMany(ctx, copies); err != nil {
		b.Fatal(err)
	}
}
