package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	consentmongo "github.com/lillvet/register/services/consent/internal/adapters/mongo"
	"github.com/lillvet/register/services/consent/internal/app"
	"github.com/lillvet/register/services/consent/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// everyoneExists stands in for the owner service: the benchmarks measure the ledger.
type everyoneExists struct{}

func (everyoneExists) Statuses(_ context.Context, ids []string) (map[string]app.OwnerStatus, error) {
	out := make(map[string]app.OwnerStatus, len(ids))
	for _, id := range ids {
		out[id] = app.OwnerStatus{Exists: true}
	}
	return out, nil
}

// fixture is the use cases on the embedded store with owners whose ledgers hold a
// few decisions each, and a raw driver collection on the same store.
type fixture struct {
	svc     *app.Service
	ledgers *mongo.Collection
	owners  []string
	ctx     context.Context
}

func newFixture(b *testing.B, owners int) *fixture {
	b.Helper()
	db, auditor := servicetest.AuditedDB(b, "consent_bench")
	// The owner statuses are remembered as long as the service's default has them.
	svc, err := app.New(consentmongo.New(db), everyoneExists{}, auditor, app.Options{OwnerStatusTTL: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{
		svc:     svc,
		ledgers: db.Collection(consentmongo.LedgersCollection),
		ctx:     auth.WithIdentity(context.Background(), auth.Identity{Subject: "bench", Roles: []auth.Role{auth.RoleClinicManager}}),
	}
	// Three decisions an owner, stored as the repository stores them; every third
	// owner objected to e-mail marketing.
	now := time.Now().UTC().Truncate(time.Millisecond)
	docs := make([]any, owners)
	for i := range owners {
		id := fmt.Sprintf("0190b1b4-0000-7000-8000-%012d", i)
		f.owners = append(f.owners, id)
		dm := "granted"
		if i%3 == 0 {
			dm = "objected"
		}
		entries := bson.A{
			entryDoc(id+"-1", "statistical_research", "", "objected", now),
			entryDoc(id+"-2", "care_reminders", "", "granted", now),
			entryDoc(id+"-3", "direct_marketing", "email", dm, now),
		}
		// _id first, as the repository's upserts store it: the embedded store looks
		// documents up by _id from an index only when _id leads the document.
		docs[i] = bson.D{
			{Key: "_id", Value: id}, {Key: "entries", Value: entries}, {Key: "restricted", Value: false},
			{Key: "created", Value: now}, {Key: "updated", Value: now},
		}
	}
	for start := 0; start < owners; start += 1000 {
		if _, err := f.ledgers.InsertMany(context.Background(), docs[start:min(start+1000, owners)]); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

func entryDoc(id, purpose, scope, decision string, at time.Time) bson.M {
	return bson.M{
		"id": id, "purpose": purpose, "scope": scope, "decision": decision, "method": "in_person",
		"statement_version": "2026-01", "effective_at": at, "recorded_by": "bench", "recorded_at": at,
	}
}

// BenchmarkCheck compares one consent check through the use case (the owner's status,
// remembered from the stand-in, one _id read of the ledger, Decide, the queued audit
// event) with the raw driver's FindOne of the same
// document (servicetest.Compare: alone, then taking turns in one loop).
func BenchmarkCheck(b *testing.B) {
	for _, owners := range []int{10, 1000} {
		b.Run(fmt.Sprintf("owners=%d", owners), func(b *testing.B) { benchmarkCheck(b, owners) })
	}
}

func benchmarkCheck(b *testing.B, owners int) {
	f := newFixture(b, owners)
	id := f.owners[len(f.owners)/2]
	servicetest.Compare(b, "op",
		servicetest.Path{Name: "driver", Read: func() error {
			var doc bson.M
			return f.ledgers.FindOne(context.Background(), bson.M{"_id": id}).Decode(&doc)
		}},
		servicetest.Path{Name: "check", Read: func() error {
			_, _, err := f.svc.Check(f.ctx, id, domain.PurposeDirectMarketing, "email")
			return err
		}},
	)
}

// BenchmarkFilter10000 compares filtering 10,000 owners through the use case with the
// raw driver's {_id: {$in: ids}} query that reads the same ledgers.
func BenchmarkFilter10000(b *testing.B) {
	f := newFixture(b, 10_000)
	readAll := func(filter bson.M) error {
		cur, err := f.ledgers.Find(context.Background(), filter)
		if err != nil {
			return err
		}
		var docs []bson.M
		if err := cur.All(context.Background(), &docs); err != nil {
			return err
		}
		if len(docs) != len(f.owners) {
			return fmt.Errorf("raw query: %d documents, want %d", len(docs), len(f.owners))
		}
		return nil
	}
	servicetest.Compare(b, "op",
		servicetest.Path{Name: "driver", Read: func() error { return readAll(bson.M{"_id": bson.M{"$in": f.owners}}) }},
		// For scale only: the whole collection without a filter, which the embedded
		// store reads at a fraction of the cost of matching 10,000 ids per document.
		servicetest.Path{Name: "scan", Read: func() error { return readAll(bson.M{}) }},
		servicetest.Path{Name: "filter", Read: func() error {
			res, err := f.svc.Filter(f.ctx, f.owners, domain.PurposeDirectMarketing, "email")
			if err != nil {
				return err
			}
			if want := len(f.owners) - (len(f.owners)+2)/3; len(res.Allowed) != want {
				return fmt.Errorf("filter allowed %d, want %d", len(res.Allowed), want)
			}
			return nil
		}},
	)
}
