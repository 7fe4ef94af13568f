package history

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/config"
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

// TestConfigRetention: the periods default to the legal minima, may be lengthened and
// are refused below them, as is a negative sweep interval.
func TestConfigRetention(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, ""},
		{map[string]string{"RETENTION_INVOICE_YEARS": "10", "RETENTION_SWEEP_INTERVAL": "15m"}, ""},
		{map[string]string{"RETENTION_PATIENT_RECORDS_YEARS": "2"}, "retention of patient records"},
		{map[string]string{"RETENTION_SWEEP_INTERVAL": "-1h"}, "RETENTION_SWEEP_INTERVAL"},
	} {
		var cfg Config
		err := config.LoadFrom(&cfg, tc.env)
		if got := retentionError(err); got != (tc.want != "") || got && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v", tc.env, err)
		}
	}
}

// retentionError reports whether err names a retention setting (the test environment
// lacks the service's other required settings).
func retentionError(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "retention")
}
