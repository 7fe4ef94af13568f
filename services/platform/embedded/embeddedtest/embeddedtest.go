// Package embeddedtest starts a throw-away embedded store for other packages' tests.
package embeddedtest

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/platform/embedded"

	// A test helper: the test command refuses a production binary that links one.
	_ "github.com/lillvet/register/services/platform/testonly"
)

// startTimeout bounds start-up so that a broken store fails the test instead of hanging it.
const startTimeout = 30 * time.Second

// Start runs an embedded store on a fresh folder under tb.TempDir and closes it when the
// test ends.
func Start(tb testing.TB) *embedded.Store {
	tb.Helper()

	ctx, cancel := context.WithTimeout(tb.Context(), startTimeout)
	defer cancel()

	s, err := embedded.Start(ctx, tb.TempDir())
	if err != nil {
		tb.Fatalf("start embedded store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close embedded store: %v", err)
		}
	})
	return s
}

// Client connects the official driver to uri (a store's, for reading and writing behind
// a service's back) and disconnects it when the test ends.
func Client(tb testing.TB, uri string) *mongo.Client {
	tb.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		tb.Fatalf("connect to the store: %v", err)
	}
	tb.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}
