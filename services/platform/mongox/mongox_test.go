package mongox_test

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/telemetry"
)

func TestConnectTracesIndexesAndErrors(t *testing.T) {
	store := embeddedtest.Start(t)
	exp := tracetest.NewInMemoryExporter()
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "test", SpanExporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	client, err := mongox.Connect(t.Context(), store.URI(), tel)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = client.Disconnect(t.Context()) })
	db := client.Database("mongoxtest")
	// The embedded store listens on a Unix domain socket: the spans name its path.
	uri, err := connstring.ParseAndValidate(store.URI())
	if err != nil {
		t.Fatalf("parse the store's URI: %v", err)
	}
	if len(uri.Hosts) != 1 {
		t.Fatalf("store's URI names hosts %v, want one socket", uri.Hosts)
	}
	socket := uri.Hosts[0]

	err = mongox.EnsureIndexes(t.Context(), db, []mongox.Index{
		{Collection: "people", Model: mongo.IndexModel{Keys: bson.D{{Key: "code", Value: 1}}, Options: options.Index().SetUnique(true).SetName("code_unique")}},
	})
	if err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	// Declaring the same indexes again (every start-up does) is harmless.
	err = mongox.EnsureIndexes(t.Context(), db, []mongox.Index{
		{Collection: "people", Model: mongo.IndexModel{Keys: bson.D{{Key: "code", Value: 1}}, Options: options.Index().SetUnique(true).SetName("code_unique")}},
	})
	if err != nil {
		t.Fatalf("EnsureIndexes again: %v", err)
	}

	exp.Reset()
	ctx, parent := tel.TracerProvider.Tracer("test").Start(t.Context(), "parent")
	coll := db.Collection("people")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "code", Value: "131052-308T"}}); err != nil {
		t.Fatalf("insert: %v", err)
	}
	_, err = coll.InsertOne(ctx, bson.D{{Key: "code", Value: "131052-308T"}})
	if !mongox.IsDuplicateKey(err) {
		t.Fatalf("second insert: %v, want duplicate key", err)
	}
	mapped := mongox.MapError(err)
	if !errors.Is(mapped, apperr.ErrAlreadyExists) || strings.Contains(mapped.Error(), "131052") {
		t.Fatalf("MapError(duplicate) = %v", mapped)
	}
	err = coll.FindOne(ctx, bson.D{{Key: "code", Value: "nobody"}}).Err()
	if !errors.Is(mongox.MapError(err), apperr.ErrNotFound) {
		t.Fatalf("MapError(no documents) = %v", mongox.MapError(err))
	}
	other := errors.New("other")
	if got := mongox.MapError(other); !errors.Is(got, other) || got.Error() != "other" || mongox.MapError(nil) != nil {
		t.Fatal("MapError changed an unrelated error")
	}
	parent.End()

	var inserts, finds int
	for _, s := range exp.GetSpans() {
		if s.Name == "parent" {
			continue
		}
		if s.Parent.SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %q not parented on the caller's span", s.Name)
		}
		attrs := map[string]string{}
		for _, a := range s.Attributes {
			attrs[string(a.Key)] = a.Value.String()
			if strings.Contains(a.Value.String(), "131052") || strings.Contains(a.Value.String(), "nobody") {
				t.Errorf("span %q attribute %s leaks document contents", s.Name, a.Key)
			}
		}
		if attrs["db.system.name"] != "mongodb" || attrs["db.namespace"] != "mongoxtest" || attrs["db.collection.name"] != "people" ||
			attrs["server.address"] != socket || attrs["network.transport"] != "unix" {
			t.Errorf("span %q attributes = %v", s.Name, attrs)
		}
		switch s.Name {
		case "insert people":
			inserts++
			if inserts == 2 && s.Status.Code != codes.Error {
				t.Errorf("duplicate insert span status = %v", s.Status)
			}
		case "find people":
			finds++
		default:
			t.Errorf("unexpected span %q", s.Name)
		}
	}
	if inserts != 2 || finds != 1 {
		t.Fatalf("got %d insert and %d find spans", inserts, finds)
	}
}

// TestDriverLogsNoDocuments: the driver's own debugging switches, MONGODB_LOG_ALL and
// MONGODB_LOG_COMMAND at debug, which an operator may set while chasing a store
// problem, do not make it write the documents of commands and replies to stderr, while
// MONGODB_LOG_ALL still logs the other components (topology); without them the driver
// writes nothing.
func TestDriverLogsNoDocuments(t *testing.T) {
	store := embeddedtest.Start(t)
	for _, tc := range []struct {
		variable string
		// logs is a message the driver still writes, "" for none at all.
		logs string
	}{
		{variable: "MONGODB_LOG_ALL", logs: "Starting topology monitoring"},
		{variable: "MONGODB_LOG_COMMAND"},
		{variable: ""},
	} {
		variable := tc.variable
		t.Run(variable, func(t *testing.T) {
			for _, v := range []string{"MONGODB_LOG_ALL", "MONGODB_LOG_COMMAND", "MONGODB_LOG_TOPOLOGY", "MONGODB_LOG_SERVER_SELECTION", "MONGODB_LOG_CONNECTION"} {
				t.Setenv(v, "")
			}
			if variable != "" {
				t.Setenv(variable, "debug")
			}
			logged := captureStderr(t, func() {
				client, err := mongox.Connect(t.Context(), store.URI(), nil)
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				defer func() { _ = client.Disconnect(t.Context()) }()
				coll := client.Database("mongoxlog").Collection("owners")
				if _, err := coll.InsertOne(t.Context(), bson.M{"name": "Matti Meikäläinen", "phone": "+358401234567"}); err != nil {
					t.Fatal(err)
				}
				if err := coll.FindOne(t.Context(), bson.M{"phone": "+358401234567"}).Err(); err != nil {
					t.Fatal(err)
				}
			})
			for _, personal := range []string{"Meikäläinen", "358401234567"} {
				if strings.Contains(logged, personal) {
					t.Errorf("with %s=debug stderr carries %q: %s", variable, personal, logged)
				}
			}
			if tc.logs == "" && strings.Contains(logged, `"message"`) || tc.logs != "" && !strings.Contains(logged, tc.logs) {
				t.Errorf("with %q=debug the driver wrote %q, want %q", variable, logged, tc.logs)
			}
		})
	}
}

// captureStderr runs f with os.Stderr going to a pipe and answers what was written.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	read := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		read <- string(b)
	}()
	defer func() {
		os.Stderr = saved
	}()
	f()
	os.Stderr = saved
	_ = w.Close()
	return <-read
}

func TestConnectFailsFast(t *testing.T) {
	_, err := mongox.Connect(t.Context(), "notmongo://user:hunter2@localhost", nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Connect with bad URI = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (mongox.Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "MONGO_URI") {
		t.Fatalf("Validate = %v", err)
	}
	if err := (mongox.Config{URI: "mongodb://x", Database: "d"}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestUncovered(t *testing.T) {
	idx := []mongox.Index{
		{Collection: "visits", Model: mongo.IndexModel{Keys: bson.D{{Key: "patient_id", Value: 1}, {Key: "started_at", Value: -1}, {Key: "_id", Value: -1}}}},
	}
	shapes := []mongox.QueryShape{
		{Collection: "visits", Keys: []string{"patient_id", "started_at", "_id"}},
		{Collection: "visits", Keys: []string{"patient_id"}},
		{Collection: "visits", Keys: []string{"started_at"}},
		{Collection: "communications", Keys: []string{"patient_id"}},
		{Collection: "visits", Keys: []string{"patient_id", "started_at", "_id", "x"}},
	}
	got := mongox.Uncovered(idx, shapes)
	if len(got) != 3 || got[0].Keys[0] != "started_at" || got[1].Collection != "communications" || len(got[2].Keys) != 4 {
		t.Errorf("uncovered: %v", got)
	}
}
