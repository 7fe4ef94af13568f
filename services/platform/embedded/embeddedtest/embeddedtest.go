// Package embeddedtest starts a throw-away embedded store for other packages' tests.
package embeddedtest

import (
	"context"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/embedded"
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
