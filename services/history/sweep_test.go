package history

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
)

// countingSweeper fails its first sweep and stops the loop at its third.
type countingSweeper struct {
	calls  int
	cancel context.CancelFunc
}

func (s *countingSweeper) RunRetentionSweep(context.Context) (domain.SweepResult, error) {
	s.calls++
	switch s.calls {
	case 1:
		return nil, errors.New("store down")
	case 3:
		s.cancel()
	}
	return domain.SweepResult{domain.ClassInvoices: 1}, nil
}

// TestSweepLoopKeepsGoing: the loop sweeps again after a failed sweep and stops
// cleanly when the service stops.
func TestSweepLoopKeepsGoing(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := &countingSweeper{cancel: cancel}
	if err := sweep(ctx, s, time.Millisecond, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if s.calls != 3 {
		t.Fatalf("%d sweeps", s.calls)
	}
}
