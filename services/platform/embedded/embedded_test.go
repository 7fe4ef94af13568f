package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/lillvet/register/services/platform/embedded"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

func connect(tb testing.TB, s *embedded.Store) *mongo.Client {
	tb.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Disconnect(context.Background()); err != nil && !errors.Is(err, mongo.ErrClientDisconnected) {
			tb.Errorf("disconnect: %v", err)
		}
	})
	return c
}

func startIn(t *testing.T, dir string) *embedded.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := embedded.Start(ctx, dir)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return s
}

func TestStartCreatesPrivateFolder(t *testing.T) {
	// Characters a user's folder name may well hold must survive the SQLite URI.
	dir := filepath.Join(t.TempDir(), "nested dir", "Käyttäjä+&=;@!'(),~$")
	s := startIn(t, dir)
	client := connect(t, s)
	if _, err := client.Database("owner").Collection("owners").InsertOne(t.Context(), bson.D{}); err != nil {
		t.Fatalf("insert: %v", err)
	}
	if err := client.Disconnect(t.Context()); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("stat data folder: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data folder mode = %o, want 700", perm)
	}
	if _, err := os.Stat(filepath.Join(dir, "owner.sqlite")); err != nil {
		t.Errorf("database file not in the data folder: %v", err)
	}
}

func TestStartRejectsFoldersFerretDBMisreads(t *testing.T) {
	for _, name := range []string{"a?b", "a#b", "a%20b", "a*b", "a[b]", `a\b`} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			s, err := embedded.Start(t.Context(), dir)
			if err == nil {
				_ = s.Close()
				t.Fatal("Start succeeded")
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("folder created or unreadable: %v", err)
			}
		})
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()

	first := startIn(t, dir)
	client := connect(t, first)
	_, err := client.Database("owner").Collection("owners").
		InsertOne(ctx, bson.D{{Key: "_id", Value: "o-1"}, {Key: "v", Value: 7}})
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	// A second store on the same folder (a second runner) is refused while the first runs.
	if other, err := embedded.Start(ctx, dir); err == nil || !strings.Contains(err.Error(), "in use") {
		if other != nil {
			_ = other.Close()
		}
		t.Fatalf("a second store on a folder in use: %v", err)
	}
	// A client still connected would hold Close for FerretDB's grace period.
	if err := client.Disconnect(ctx); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	second := startIn(t, dir)
	t.Cleanup(func() {
		if err := second.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if first.URI() == "" || second.URI() == "" {
		t.Fatal("empty URI")
	}

	var got struct {
		V int `bson:"v"`
	}
	err = connect(t, second).Database("owner").Collection("owners").
		FindOne(ctx, bson.D{{Key: "_id", Value: "o-1"}}).Decode(&got)
	if err != nil {
		t.Fatalf("find after restart: %v", err)
	}
	if got.V != 7 {
		t.Errorf("v = %d, want 7", got.V)
	}
}

// Each case writes "k1" to the uniquely indexed field k, which document "p" already holds.
// The cases pin down FerretDB v1's answers, including where they differ from MongoDB.
func TestUniqueIndexViolations(t *testing.T) {
	k1 := bson.D{{Key: "k", Value: "k1"}}
	tests := []struct {
		name             string
		write            func(ctx context.Context, coll *mongo.Collection) error
		wantDuplicateKey bool
	}{
		{
			name: "insert",
			write: func(ctx context.Context, coll *mongo.Collection) error {
				_, err := coll.InsertOne(ctx, k1)
				return err
			},
			wantDuplicateKey: true,
		},
		{
			name: "upsert inserting",
			write: func(ctx context.Context, coll *mongo.Collection) error {
				_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "new"}}, bson.D{{Key: "$set", Value: k1}},
					options.UpdateOne().SetUpsert(true))
				return err
			},
			wantDuplicateKey: true,
		},
		{
			// MongoDB reports a duplicate key; FerretDB v1 an InternalError (code 1) whose
			// message says "UNIQUE constraint failed". The write is still refused.
			name: "update of another document",
			write: func(ctx context.Context, coll *mongo.Collection) error {
				_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "q"}}, bson.D{{Key: "$set", Value: k1}})
				return err
			},
			wantDuplicateKey: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			coll := connect(t, embeddedtest.Start(t)).Database("owner").Collection("patients")
			_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
				Keys:    bson.D{{Key: "k", Value: 1}},
				Options: options.Index().SetUnique(true),
			})
			if err != nil {
				t.Fatalf("create index: %v", err)
			}
			_, err = coll.InsertMany(ctx, []any{
				bson.D{{Key: "_id", Value: "p"}, {Key: "k", Value: "k1"}},
				bson.D{{Key: "_id", Value: "q"}, {Key: "k", Value: "k2"}},
			})
			if err != nil {
				t.Fatalf("seed: %v", err)
			}

			err = tt.write(ctx, coll)
			if err == nil {
				t.Fatal("duplicate write succeeded")
			}
			if got := mongo.IsDuplicateKeyError(err); got != tt.wantDuplicateKey {
				t.Errorf("IsDuplicateKeyError = %v, want %v (error: %v)", got, tt.wantDuplicateKey, err)
			}
			if n, err := coll.CountDocuments(ctx, k1); err != nil || n != 1 {
				t.Errorf("documents holding k1 = %d (%v), want 1", n, err)
			}
		})
	}
}

// MongoDB indexes a missing field as null, so a plain unique index admits only one
// document without it; FerretDB v1 admits any number. Optional unique fields must be
// declared sparse, which both stores treat alike.
func TestUniqueIndexAdmitsSeveralMissingFields(t *testing.T) {
	ctx := t.Context()
	coll := connect(t, embeddedtest.Start(t)).Database("owner").Collection("owners")
	_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "k", Value: 1}},
		Options: options.Index().SetUnique(true),
	})
	if err != nil {
		t.Fatalf("create index: %v", err)
	}
	for i := range 2 {
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "n", Value: i}}); err != nil {
			t.Fatalf("insert document %d without k: %v", i, err)
		}
	}
}

// Concurrent creates that race on a unique key must yield exactly one winner: this is
// the primitive the services can rely on for uniqueness and idempotent creates.
func TestConcurrentInsertsOnUniqueKeyHaveOneWinner(t *testing.T) {
	const workers = 20
	ctx := t.Context()
	s := embeddedtest.Start(t)
	colls := []*mongo.Collection{
		connect(t, s).Database("owner").Collection("requests"),
		connect(t, s).Database("owner").Collection("requests"),
	}

	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			_, errs[i] = colls[i%2].InsertOne(ctx, bson.D{{Key: "_id", Value: "req-1"}, {Key: "worker", Value: i}})
		})
	}
	wg.Wait()

	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !mongo.IsDuplicateKeyError(err):
			t.Errorf("insert: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d inserts succeeded, want exactly 1", wins)
	}
}

// incCounter hands out the next value of one counter the way MongoDB code usually does.
func incCounter(ctx context.Context, coll *mongo.Collection) (int64, error) {
	var doc struct {
		Seq int64 `bson:"seq"`
	}
	err := coll.FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: "customer_number"}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "seq", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
	).Decode(&doc)
	return doc.Seq, err
}

// allocateArbitrated takes the counter only as a hint and lets a unique insert of the
// number decide who owns it, retrying on a duplicate key.
func allocateArbitrated(ctx context.Context, counters, issued *mongo.Collection) (int64, error) {
	const maxAttempts = 1000
	for range maxAttempts {
		n, err := incCounter(ctx, counters)
		if mongo.IsDuplicateKeyError(err) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("increment counter: %w", err)
		}
		_, err = issued.InsertOne(ctx, bson.D{{Key: "_id", Value: n}})
		if mongo.IsDuplicateKeyError(err) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("record number: %w", err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("no number after %d attempts", maxAttempts)
}

// allocateConcurrently runs workers allocations at once through two separate clients of
// one store and returns how many distinct values succeeded and the errors.
func allocateConcurrently(t *testing.T, workers int, seeded bool,
	allocate func(ctx context.Context, counters, issued *mongo.Collection) (int64, error),
) (distinct int, errs []error) {
	t.Helper()
	ctx := t.Context()
	s := embeddedtest.Start(t)
	clients := []*mongo.Client{connect(t, s), connect(t, s)}
	if seeded {
		_, err := clients[0].Database("owner").Collection("counters").
			InsertOne(ctx, bson.D{{Key: "_id", Value: "customer_number"}, {Key: "seq", Value: int64(0)}})
		if err != nil {
			t.Fatalf("seed counter: %v", err)
		}
	}

	values := make([]int64, workers)
	errs = make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		db := clients[i%2].Database("owner")
		wg.Go(func() {
			values[i], errs[i] = allocate(ctx, db.Collection("counters"), db.Collection("issued"))
		})
	}
	wg.Wait()

	seen := make(map[int64]bool, workers)
	for i, v := range values {
		if errs[i] == nil {
			seen[v] = true
		}
	}
	return len(seen), errs
}

// FerretDB v1 runs findAndModify as a read followed by a separate write; the store's
// write lock must make concurrent $inc calls, including racing upserts of a counter that
// does not exist yet, hand out distinct values as MongoDB does.
func TestFindOneAndUpdateIncIsAtomic(t *testing.T) {
	const workers = 50
	tests := []struct {
		name   string
		seeded bool
	}{
		{name: "counter absent, racing upserts", seeded: false},
		{name: "counter present", seeded: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			distinct, errs := allocateConcurrently(t, workers, tt.seeded,
				func(ctx context.Context, counters, _ *mongo.Collection) (int64, error) {
					return incCounter(ctx, counters)
				})
			for _, err := range errs {
				if err != nil {
					t.Errorf("increment: %v", err)
				}
			}
			if distinct != workers {
				t.Errorf("%d distinct values from %d increments, want %d", distinct, workers, workers)
			}
		})
	}
}

// The allocation pattern that does not need single-document atomicity; it stays correct
// with the write lock.
func TestUniqueInsertArbitratesAllocation(t *testing.T) {
	const workers = 50
	distinct, errs := allocateConcurrently(t, workers, false, allocateArbitrated)
	for _, err := range errs {
		if err != nil {
			t.Errorf("allocate: %v", err)
		}
	}
	if distinct != workers {
		t.Errorf("%d distinct numbers, want %d", distinct, workers)
	}
}

// Optimistic concurrency: of concurrent updates conditioned on the same version exactly
// one may apply, and its change must be applied once.
func TestConditionalUpdateHasOneWinner(t *testing.T) {
	const workers = 20
	ctx := t.Context()
	s := embeddedtest.Start(t)
	colls := []*mongo.Collection{
		connect(t, s).Database("owner").Collection("owners"),
		connect(t, s).Database("owner").Collection("owners"),
	}
	if _, err := colls[0].InsertOne(ctx, bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: 1}}); err != nil {
		t.Fatalf("insert: %v", err)
	}

	modified := make([]int64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			res, err := colls[i%2].UpdateOne(ctx,
				bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: 1}},
				bson.D{
					{Key: "$set", Value: bson.D{{Key: "version", Value: 2}}},
					{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}},
				},
			)
			if err != nil {
				errs[i] = err
				return
			}
			modified[i] = res.ModifiedCount
		})
	}
	wg.Wait()

	var wins int64
	for i := range workers {
		if errs[i] != nil {
			t.Errorf("update: %v", errs[i])
		}
		wins += modified[i]
	}
	if wins != 1 {
		t.Errorf("%d of %d conditional updates of the same version succeeded, want 1", wins, workers)
	}
	var got struct {
		Version int `bson:"version"`
		N       int `bson:"n"`
	}
	if err := colls[0].FindOne(ctx, bson.D{{Key: "_id", Value: "o-1"}}).Decode(&got); err != nil {
		t.Fatalf("find: %v", err)
	}
	if got.Version != 2 || got.N != 1 {
		t.Errorf("version = %d, n = %d; want 2 and 1", got.Version, got.N)
	}
}

// An unacknowledged write (w: 0, sent with moreToCome) gets no reply from MongoDB, but
// FerretDB v1 answers it anyway. The proxy must swallow that answer, or the next reply on
// the connection would belong to the wrong request; with one connection per client, the
// following acknowledged read also sees every earlier write.
func TestUnacknowledgedWritesKeepTheConnectionInStep(t *testing.T) {
	const writes = 10
	ctx := t.Context()
	s := embeddedtest.Start(t)
	client, err := mongo.Connect(options.Client().ApplyURI(s.URI()).SetMaxPoolSize(1))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() {
		if err := client.Disconnect(context.Background()); err != nil {
			t.Errorf("disconnect: %v", err)
		}
	})
	db := client.Database("owner")
	unacked := db.Collection("events", options.Collection().SetWriteConcern(&writeconcern.WriteConcern{W: 0}))
	for i := range writes {
		if _, err := unacked.InsertOne(ctx, bson.D{{Key: "_id", Value: i}}); err != nil {
			t.Fatalf("unacknowledged insert %d: %v", i, err)
		}
	}
	n, err := db.Collection("events").CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	if n != writes {
		t.Errorf("count = %d, want %d", n, writes)
	}
}

func seed(b *testing.B, coll *mongo.Collection, n int) {
	b.Helper()
	ctx := b.Context()
	docs := make([]any, n)
	for i := range n {
		docs[i] = bson.D{
			{Key: "_id", Value: fmt.Sprintf("p-%05d", i)},
			{Key: "key", Value: fmt.Sprintf("k-%05d", i)},
			{Key: "species", Value: "cat"},
		}
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		b.Fatalf("seed: %v", err)
	}
	_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "key", Value: 1}},
		Options: options.Index().SetUnique(true),
	})
	if err != nil {
		b.Fatalf("create index: %v", err)
	}
}

// reportPercentiles adds p50 and p99 of the recorded latencies to the benchmark's output,
// since the mean hides the tail that concurrency and the write lock produce.
func reportPercentiles(b *testing.B, took []time.Duration) {
	b.Helper()
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// Reads by _id spread over a 10,000-document collection: flat only while the store's
// _id lookup index is used (idindex.go); a scan costs tens of milliseconds here.
func BenchmarkFindOneByID(b *testing.B) {
	const docs = 10000
	coll := connect(b, embeddedtest.Start(b)).Database("bench").Collection("patients")
	seed(b, coll, docs)
	ctx := b.Context()
	var took []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("p-%05d", (i*7919)%docs)}}).Err()
		if err != nil {
			b.Fatalf("find: %v", err)
		}
		took = append(took, time.Since(start))
		i++
	}
	reportPercentiles(b, took)
}

// Versioned writes over a 10,000-document collection: the proxy narrows a filter that
// pairs _id with other conditions (narrow.go), so "current" and "stale" stay near "by _id"
// instead of scanning the collection (over 100 ms a write here without it).
func BenchmarkFilteredUpdate(b *testing.B) {
	const docs = 10000
	coll := connect(b, embeddedtest.Start(b)).Database("bench").Collection("patients")
	seed(b, coll, docs)
	ctx := b.Context()
	for _, tt := range []struct {
		name    string
		species any
		upsert  bool
	}{
		{name: "by _id"},
		{name: "current", species: "cat"},
		{name: "stale", species: "dog"},
		{name: "upsert", species: bson.D{{Key: "$ne", Value: "dog"}}, upsert: true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				filter := bson.D{{Key: "_id", Value: fmt.Sprintf("p-%05d", (i*7919)%docs)}}
				if tt.species != nil {
					filter = append(filter, bson.E{Key: "species", Value: tt.species})
				}
				_, err := coll.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: i}}}}, options.UpdateOne().SetUpsert(tt.upsert))
				if err != nil {
					b.Fatalf("update: %v", err)
				}
				i++
			}
		})
	}
}

// Eight writers on one client: the figure the write lock could lower, since SQLite
// already has a single writer.
func BenchmarkConcurrentInserts(b *testing.B) {
	const writers = 8
	coll := connect(b, embeddedtest.Start(b)).Database("bench").Collection("visits")
	ctx := b.Context()
	var next atomic.Int64
	b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: next.Add(1)}}); err != nil {
				b.Errorf("insert: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
}

func BenchmarkFindByIndexedField(b *testing.B) {
	coll := connect(b, embeddedtest.Start(b)).Database("bench").Collection("patients")
	seed(b, coll, 1000)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		cur, err := coll.Find(ctx, bson.D{{Key: "key", Value: fmt.Sprintf("k-%05d", i%1000)}})
		if err != nil {
			b.Fatalf("find: %v", err)
		}
		var docs []bson.D
		if err := cur.All(ctx, &docs); err != nil {
			b.Fatalf("read cursor: %v", err)
		}
		if len(docs) != 1 {
			b.Fatalf("got %d documents, want 1", len(docs))
		}
		i++
	}
}
