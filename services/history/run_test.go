package history

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/config"
)

// oneSweep answers one sweep with removed or err.
type oneSweep struct {
	removed domain.SweepResult
	err     error
}

func (s oneSweep) RunRetentionSweep(context.Context) (domain.SweepResult, error) {
	return s.removed, s.err
}

// TestSweepJob: a sweep's failure reaches the periodic runner (platform/service's
// Every, which logs it and sweeps again at the next run), and what a sweep removed is
// logged as counts per class. Zero as the interval means an hour.
func TestSweepJob(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := sweepJob(oneSweep{err: errors.New("store down")}, log)(t.Context()); err == nil || !strings.Contains(err.Error(), "store down") {
		t.Errorf("a failed sweep answered %v", err)
	}
	if err := sweepJob(oneSweep{removed: domain.SweepResult{domain.ClassInvoices: 1}}, log)(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "retention sweep removed expired records") || !strings.Contains(logs.String(), "invoices:1") {
		t.Errorf("log = %q", logs.String())
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
		{map[string]string{"RETENTION_PATIENT_RECORDS_YEARS": "2"}, "RETENTION_PATIENT_RECORDS_YEARS"},
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
