package history_test

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	historymongo "github.com/lillvet/register/services/history/internal/adapters/mongo"
	"github.com/lillvet/register/services/history/internal/app"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/telemetry"
)

const (
	benchVisits   = 1000
	benchPageSize = 50
)

// BenchmarkListPatientVisits lists the newest page of 50 visits of a patient with
// 1,000 visits four ways on the same embedded store in the same run:
//
//   - driver: the raw driver query for the same page (same filter, sort, limit and
//     projection, decoded into bson.M) — the floor;
//   - repository: the history repository's ListPatientVisits (the page plus one to know
//     whether another follows, decoded into documents and mapped to the domain);
//   - app: the use case on it, with the audit event of the read;
//   - grpc: ListPatientVisits over TLS with a bearer token from a plain client: token
//     check, policy, the use case, the audit event, otelgrpc, the protobuf answer.
//
// On the embedded store every filter but {_id} scans the collection, so each path pays
// the same scan of the 1,000 visits; docs/BENCHMARKS.md reports the ratios of the
// interleaved run.
func BenchmarkListPatientVisits(b *testing.B) {
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{ServiceName: "bench", LogWriter: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	f := setupWith(b, tel)
	pet := f.newPatient(b, f.newOwner(b), "Nappi")
	fillVisits(b, f, pet.GetId())

	raw := embeddedtest.Client(b, f.env.Store.URI())
	db := raw.Database(historyDatabase)
	visits := db.Collection("visits")
	repo := historymongo.New(db)
	auditor := audit.NewWriter(db, tel.Logger)
	auditCtx, stopAudit := context.WithCancel(context.Background())
	var auditDone sync.WaitGroup
	auditDone.Go(func() { _ = auditor.Run(auditCtx) })
	b.Cleanup(func() { stopAudit(); auditDone.Wait() })
	uc, err := app.New(repo, nil, auditor, app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	appCtx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "bench", Roles: []auth.Role{auth.RoleReception}})

	clientTLS, err := f.env.TLS.ClientConfig()
	if err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(f.historyAddr, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	client := historyv1.NewHistoryServiceClient(conn)
	grpcCtx := auth.WithOutgoingToken(context.Background(), f.env.Token(b, auth.RoleReception), "")

	query := domain.Query{ID: pet.GetId(), PageSize: benchPageSize}
	page := func(n int, err error) error {
		if err == nil && n != benchPageSize {
			b.Fatalf("a page of %d visits, want %d", n, benchPageSize)
		}
		return err
	}
	servicetest.Compare(b, "page",
		servicetest.Path{Name: "driver", Read: func() error {
			cur, err := visits.Find(context.Background(), bson.M{"patient_id": pet.GetId()}, options.Find().
				SetSort(bson.D{{Key: "started_at", Value: -1}, {Key: "_id", Value: -1}}).
				SetLimit(benchPageSize).SetProjection(bson.M{"original": 0, "amendments": 0}))
			if err != nil {
				return err
			}
			var docs []bson.M
			err = cur.All(context.Background(), &docs)
			return page(len(docs), err)
		}},
		servicetest.Path{Name: "repository", Read: func() error {
			vs, _, err := repo.ListPatientVisits(context.Background(), query)
			return page(len(vs), err)
		}},
		servicetest.Path{Name: "app", Read: func() error {
			vs, _, err := uc.ListPatientVisits(appCtx, query)
			return page(len(vs), err)
		}},
		servicetest.Path{Name: "grpc", Read: func() error {
			res, err := client.ListPatientVisits(grpcCtx, &historyv1.ListPatientVisitsRequest{PatientId: pet.GetId(), PageSize: benchPageSize})
			return page(len(res.GetVisits()), err)
		}},
	)
}

// fillVisits records benchVisits visits of the patient through the service, an hour
// apart, from a few concurrent clients.
func fillVisits(b *testing.B, f *fixture, patientID string) {
	b.Helper()
	ctx := auth.WithOutgoingToken(context.Background(), f.env.Token(b, auth.RoleVeterinarian), "")
	start := time.Now().Add(-benchVisits * time.Hour)
	const workers = 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < benchVisits; i += workers {
				v := visit(start.Add(time.Duration(i) * time.Hour))
				if _, err := f.history.RecordVisit(ctx, &historyv1.RecordVisitRequest{PatientId: patientID, Visit: v}); err != nil {
					b.Errorf("record visit %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// BenchmarkRetentionSweepNothingDue runs the retention sweep when nothing is due, as
// the hourly sweep mostly does, after an owner with 1,000 visits was erased (all kept,
// restricted), against the raw driver's query of the erasure schedule on the same store
// in the same run: the sweep should cost that one query and nothing per visit.
// The erasure itself (1,000 visits restricted one write each) is timed once and logged.
func BenchmarkRetentionSweepNothingDue(b *testing.B) {
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{ServiceName: "bench", LogWriter: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	f := setupWith(b, tel)
	ownerID := f.newOwner(b)
	fillVisits(b, f, f.newPatient(b, ownerID, "Nappi").GetId())
	mgr := auth.WithOutgoingToken(context.Background(), f.env.Token(b, auth.RoleClinicManager), "")
	start := time.Now()
	res, err := f.history.EraseOwnerData(mgr, &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: uuid.NewString()})
	if err != nil || len(res.GetDispositions()) == 0 || !res.GetDispositions()[0].GetKept() {
		b.Fatalf("erasure: %v, %v", res, err)
	}
	b.Logf("erasing an owner with %d visits took %v", benchVisits, time.Since(start))

	raw := embeddedtest.Client(b, f.env.Store.URI())
	schedule := raw.Database(historyDatabase).Collection("erasure_schedule")
	today := time.Now().Format(time.DateOnly)
	servicetest.Compare(b, "sweep",
		servicetest.Path{Name: "driver", Read: func() error {
			cur, err := schedule.Find(context.Background(), bson.M{"next_due": bson.M{"$lt": today}})
			if err != nil {
				return err
			}
			var docs []bson.M
			if err := cur.All(context.Background(), &docs); err != nil || len(docs) != 0 {
				b.Fatalf("%d erasures due, %v", len(docs), err)
			}
			return nil
		}},
		servicetest.Path{Name: "grpc", Read: func() error {
			res, err := f.history.RunRetentionSweep(mgr, &historyv1.RunRetentionSweepRequest{})
			if err == nil && len(res.GetRemoved()) != 0 {
				b.Fatalf("the sweep removed %v", res.GetRemoved())
			}
			return err
		}},
	)
}
