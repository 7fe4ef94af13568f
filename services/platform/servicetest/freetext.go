package servicetest

import (
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// Refusal is a call expected to be refused for what one field holds.
type Refusal struct {
	Name  string
	Call  func() error
	Field string
}

// Refused runs each call as a subtest and fails it unless the call is INVALID_ARGUMENT
// with a violation of its field alone and a message that does not hold secret, in any
// case: for text that must not be repeated (an identity code typed where none belongs).
func Refused(t *testing.T, secret string, calls []Refusal) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.Name, func(t *testing.T) {
			err := c.Call()
			if got := Violations(t, err); !slices.Equal(got, []string{c.Field}) {
				t.Fatalf("violations on %v, want %s", got, c.Field)
			}
			if msg := status.Convert(err).Message(); strings.Contains(strings.ToUpper(msg), strings.ToUpper(secret)) {
				t.Errorf("the error %q repeats %q", msg, secret)
			}
		})
	}
}

// NotStored fails the test when any document of any collection in the databases (the
// audit log's included) holds text, in any case: for text a service must refuse rather
// than keep. Stop the services first, so that their queued audit events are written.
func NotStored(tb testing.TB, env *Env, text string, databases ...string) {
	tb.Helper()
	client := embeddedtest.Client(tb, env.Store.URI())
	needle := strings.ToUpper(text)
	documents := 0
	for _, name := range databases {
		db := client.Database(name)
		colls, err := db.ListCollectionNames(tb.Context(), bson.D{})
		if err != nil {
			tb.Fatalf("list collections of %s: %v", name, err)
		}
		for _, coll := range colls {
			cur, err := db.Collection(coll).Find(tb.Context(), bson.D{})
			if err != nil {
				tb.Fatalf("read %s.%s: %v", name, coll, err)
			}
			var docs []bson.M
			if err := cur.All(tb.Context(), &docs); err != nil {
				tb.Fatalf("read %s.%s: %v", name, coll, err)
			}
			for _, d := range docs {
				documents++
				js, err := bson.MarshalExtJSON(d, false, false)
				if err != nil {
					tb.Fatalf("document of %s.%s as JSON: %v", name, coll, err)
				}
				if strings.Contains(strings.ToUpper(string(js)), needle) {
					tb.Errorf("%s.%s holds %q: %s", name, coll, text, js)
				}
			}
		}
	}
	if documents == 0 {
		tb.Fatalf("no documents in %v: the check proved nothing", databases)
	}
}
