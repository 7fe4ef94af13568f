package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/service"
)

// TestSweepConfig: an hour unless set, zero turns the periodic sweep off, and a value
// that is not a duration, or a negative one, stops the service at start naming the
// variable.
func TestSweepConfig(t *testing.T) {
	for _, tt := range []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", time.Hour, false},
		{"15m", 15 * time.Minute, false},
		{"0", 0, false},
		{"-1s", 0, true},
		{"soon", 0, true},
	} {
		t.Run(tt.value, func(t *testing.T) {
			environ := map[string]string{}
			if tt.value != "" {
				environ["RETENTION_SWEEP_INTERVAL"] = tt.value
			}
			var cfg service.SweepConfig
			err := config.LoadFrom(&cfg, environ)
			named := err != nil && strings.Contains(err.Error(), "RETENTION_SWEEP_INTERVAL")
			if named != tt.wantErr || (err != nil && !named) {
				t.Fatalf("error %v; want one naming RETENTION_SWEEP_INTERVAL: %v", err, tt.wantErr)
			}
			if !tt.wantErr && cfg.Interval != tt.want {
				t.Fatalf("interval %v, want %v", cfg.Interval, tt.want)
			}
		})
	}
}
