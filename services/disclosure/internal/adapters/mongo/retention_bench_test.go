package mongo

import (
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// BenchmarkRetentionSweepNothingDue measures what the hourly sweep of the disclosure
// log costs on the embedded store while nothing is due, with 10,000 entries held: the
// read of its mark, against the raw driver's query for due entries that a sweep
// without the mark would make (a scan: the store uses no index for it).
func BenchmarkRetentionSweepNothingDue(b *testing.B) {
	const entries = 10_000
	db := storeDB(b, "retention_bench")
	repo := New(db)
	ctx := b.Context()
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	docs := make([]any, 0, 1000)
	for i := range entries {
		docs = append(docs, toRecordDoc(domain.Record{
			ID: fmt.Sprintf("d-%06d", i), OwnerID: fmt.Sprintf("o-%04d", i%2000), RecipientID: "r1",
			CaseReference: "claim", Payload: make([]byte, 512), CreatedAt: start.Add(time.Duration(i) * time.Minute),
		}))
		if len(docs) == cap(docs) {
			if _, err := db.Collection(DisclosuresCollection).InsertMany(ctx, docs); err != nil {
				b.Fatal(err)
			}
			docs = docs[:0]
		}
	}
	now := start.AddDate(1, 0, 0)
	cutoff := domain.RetentionCutoff(now, domain.DefaultRecordsRetentionYears, time.UTC)
	if err := repo.MarkSwept(ctx, domain.ClassDisclosureLog, now, 24*time.Hour); err != nil {
		b.Fatal(err)
	}
	var spentRaw, spentSweep time.Duration
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		cur, err := db.Collection(DisclosuresCollection).Find(ctx, bson.M{"time": bson.M{"$lt": cutoff}},
			options.Find().SetProjection(bson.M{"_id": 1, "owner_id": 1}).SetLimit(500))
		if err != nil {
			b.Fatal(err)
		}
		var raw []bson.M
		if err := cur.All(ctx, &raw); err != nil || len(raw) != 0 {
			b.Fatalf("raw: %d due, %v", len(raw), err)
		}
		spentRaw += time.Since(t)

		t = time.Now()
		got, skipped, err := repo.ExpiredRecords(ctx, domain.ClassDisclosureLog, cutoff, 500)
		if err != nil || !skipped || len(got) != 0 {
			b.Fatalf("sweep: %d due, skipped %v, %v", len(got), skipped, err)
		}
		spentSweep += time.Since(t)
	}
	b.ReportMetric(float64(spentRaw.Nanoseconds())/float64(b.N), "scan-ns/op")
	b.ReportMetric(float64(spentSweep.Nanoseconds())/float64(b.N), "marked-ns/op")
	b.ReportMetric(float64(spentSweep)/float64(spentRaw), "marked/scan")
}
