package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// peers stand in for the owner, consent and history services: the benchmarks measure this
// service's own work (the recipient read, the package, its hash, the log entry and the
// audit record stored before the package leaves).
type peers struct{}

func (peers) Status(context.Context, string) (app.OwnerStatus, error) {
	return app.OwnerStatus{Exists: true}, nil
}

func (peers) Owner(context.Context, string) (app.OwnerData, error) {
	return app.OwnerData{GivenNames: "Aino", FamilyName: "Mäkinen"}, nil
}

func (peers) Patients(_ context.Context, ownerID string) ([]app.PatientData, error) {
	return []app.PatientData{{ID: ownerID, CustomerNumber: "100017", Name: "Musti", Species: "dog"}}, nil
}

func (peers) Export(context.Context, string) (app.OwnerExport, error) {
	return app.OwnerExport{}, nil
}

func (peers) Ledger(context.Context, string) (app.ConsentLedger, error) {
	return app.ConsentLedger{}, nil
}

// history stands in for the history service.
type history struct{}

func (history) Export(context.Context, string) (app.HistoryExport, error) {
	return app.HistoryExport{}, nil
}

func (peers) Check(context.Context, string, domain.ConsentCheck) (domain.ConsentVerdict, error) {
	return domain.ConsentVerdict{Allowed: true, Reason: "explicit_grant", EntryID: "grant-1"}, nil
}

func (peers) Restricted(context.Context, string) (bool, error) { return false, nil }

type fixture struct {
	svc         *app.Service
	db          *mongo.Database
	recipientID string
	ctx         context.Context
}

func newFixture(b *testing.B) *fixture {
	b.Helper()
	db, auditor := servicetest.AuditedDB(b, "disclosure_bench")
	svc, err := app.New(disclosuremongo.New(db), app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}, auditor, app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{
		svc: svc,
		db:  db,
		ctx: auth.WithIdentity(context.Background(), auth.Identity{Subject: "bench", Roles: []auth.Role{auth.RoleClinicManager}}),
	}
	r, err := f.svc.CreateRecipient(f.ctx, "", domain.Recipient{
		Name: "LähiTapiola", Kind: domain.KindInsurer, BusinessID: "2923530-5", Country: "FI",
		Contact: domain.Contact{Email: "claims@example.fi"},
	})
	if err != nil {
		b.Fatal(err)
	}
	f.recipientID = r.ID
	return f
}

// BenchmarkDisclose compares one disclosure through the use case with the raw driver's
// read of the recipient and insert of a log entry of the same size, servicetest.Compare:
// alone, then taking turns in one loop. The use case also stores its audit event
// before it returns (the package must not leave unaudited): three round trips to two.
func BenchmarkDisclose(b *testing.B) {
	f := newFixture(b)
	recipients, log := f.db.Collection(disclosuremongo.RecipientsCollection), f.db.Collection("raw_log")
	cats := []domain.Category{domain.CategoryOwnerName, domain.CategoryPatientBasics}
	servicetest.Compare(b, "op",
		servicetest.Path{Name: "driver", Read: func() error {
			owner := uuid.NewString()
			var r bson.M
			if err := recipients.FindOne(context.Background(), bson.M{"_id": f.recipientID}).Decode(&r); err != nil {
				return err
			}
			_, err := log.InsertOne(context.Background(), bson.M{
				"_id": uuid.NewString(), "recipient_id": f.recipientID, "owner_id": owner, "patient_ids": bson.A{owner},
				"categories": bson.A{"owner_name", "patient_basics"}, "case_reference": "claim", "outcome": "disclosed",
				"time": time.Now(), "payload": make([]byte, 300), "payload_sha256": fmt.Sprint(owner, owner),
			})
			return err
		}},
		servicetest.Path{Name: "disclose", Read: func() error {
			_, err := f.svc.Disclose(f.ctx, domain.DisclosureRequest{
				RecipientID: f.recipientID, OwnerID: uuid.NewString(), Categories: cats, CaseReference: "claim",
			})
			return err
		}},
	)
}

// BenchmarkListOwnerDisclosures compares a page of an owner's log through the use case
// with the raw driver's query for the same documents, in a log of 1,000 entries about
// 100 owners. On the embedded store both scan the collection (only _id filters use an
// index there); on MongoDB the (owner_id, time, _id) index serves it.
func BenchmarkListOwnerDisclosures(b *testing.B) {
	f := newFixture(b)
	owners := make([]string, 100)
	for i := range owners {
		owners[i] = uuid.NewString()
	}
	for i := range 1000 {
		if _, err := f.svc.Disclose(f.ctx, domain.DisclosureRequest{
			RecipientID: f.recipientID, OwnerID: owners[i%len(owners)], CaseReference: "claim",
			Categories: []domain.Category{domain.CategoryOwnerName},
		}); err != nil {
			b.Fatal(err)
		}
	}
	coll := f.db.Collection(disclosuremongo.DisclosuresCollection)
	owner := owners[len(owners)/2]
	servicetest.Compare(b, "op",
		servicetest.Path{Name: "driver", Read: func() error {
			cur, err := coll.Find(context.Background(), bson.M{"owner_id": owner},
				options.Find().SetSort(bson.D{{Key: "time", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(51).SetProjection(bson.M{"payload": 0}))
			if err != nil {
				return err
			}
			var docs []bson.M
			if err := cur.All(context.Background(), &docs); err != nil {
				return err
			}
			if len(docs) != 10 {
				return fmt.Errorf("raw query: %d documents, want 10", len(docs))
			}
			return nil
		}},
		servicetest.Path{Name: "list", Read: func() error {
			page, err := f.svc.OwnerDisclosures(f.ctx, owner, 0, "")
			if err != nil {
				return err
			}
			if len(page.Items) != 10 {
				return fmt.Errorf("use case: %d entries, want 10", len(page.Items))
			}
			return nil
		}},
	)
}

// BenchmarkRecordAccessRequest compares recording an access request through the use
// case with the raw driver's same three round trips on the same store: the owner's
// ledger read by _id, the request inserted, the $push to the ledger (findAndModify by
// _id, upserting). The use case also validates, decides the charge flag and queues its
// audit event. 100 owners take turns, so each ledger grows by one request per 100.
func BenchmarkRecordAccessRequest(b *testing.B) {
	f := newFixture(b)
	owners := make([]string, 100)
	for i := range owners {
		owners[i] = uuid.NewString()
	}
	requests, ledgers := f.db.Collection("raw_access_requests"), f.db.Collection("raw_access_ledgers")
	received := time.Now().Add(-time.Hour)
	var spentRaw, spentUseCase time.Duration
	i := 0
	for b.Loop() {
		owner := owners[i%len(owners)]
		i++
		start := time.Now()
		var ledger struct {
			Requests []bson.M `bson:"requests"`
		}
		err := ledgers.FindOne(context.Background(), bson.M{"_id": owner}).Decode(&ledger)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			b.Fatal(err)
		}
		id := uuid.NewString()
		if _, err := requests.InsertOne(context.Background(), bson.M{
			"_id": id, "owner_id": owner, "received": received, "channel": "letter", "identification": "registered_contact",
			"identified_by": "staff-1", "language": "fi", "due_date": bson.M{"y": 2026, "m": 12, "d": 25},
			"extended": false, "status": "received", "recorded_by": "bench",
			"created": time.Now(),
		}); err != nil {
			b.Fatal(err)
		}
		if err := ledgers.FindOneAndUpdate(context.Background(), bson.M{"_id": owner},
			bson.M{"$push": bson.M{"requests": bson.M{"id": id, "received": received}}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&ledger); err != nil {
			b.Fatal(err)
		}
		spentRaw += time.Since(start)
		start = time.Now()
		if _, err := f.svc.RecordAccessRequest(f.ctx, "", domain.AccessRequest{
			OwnerID: owner, ReceivedAt: received, Channel: domain.ChannelLetter,
			Identification: domain.IdentifiedRegisteredContact, IdentifiedBy: "staff-1",
		}); err != nil {
			b.Fatal(err)
		}
		spentUseCase += time.Since(start)
	}
	b.ReportMetric(float64(spentRaw.Nanoseconds())/float64(b.N), "driver-ns/op")
	b.ReportMetric(float64(spentUseCase.Nanoseconds())/float64(b.N), "record-ns/op")
	b.ReportMetric(float64(spentUseCase)/float64(spentRaw), "record/driver")
}
