package disclosure_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/platform/config"
)

func TestJobConfig(t *testing.T) {
	var defaults disclosure.JobConfig
	if err := config.LoadFrom(&defaults, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if err := defaults.Validate(); err != nil || defaults.TokenFile != "" || defaults.Lease <= defaults.CallTimeout {
		t.Fatalf("defaults %+v: %v", defaults, err)
	}
	tests := []struct {
		name string
		cfg  disclosure.JobConfig
		want string
	}{
		{"lease not past the call timeout", disclosure.JobConfig{Poll: time.Second, CallTimeout: time.Minute, Lease: time.Minute}, "DISCLOSURE_JOB_LEASE"},
		{"no poll", disclosure.JobConfig{CallTimeout: time.Second, Lease: time.Minute}, "DISCLOSURE_JOB_POLL_INTERVAL"},
		{"no call timeout", disclosure.JobConfig{Poll: time.Second, Lease: time.Minute}, "DISCLOSURE_JOB_CALL_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestRecordsRetentionConfig(t *testing.T) {
	for _, tt := range []struct {
		value   string
		want    int
		wantErr bool
	}{
		{"", 5, false},
		{"3", 3, false},
		{"2", 0, true},
		{"51", 0, true},
	} {
		t.Run(tt.value, func(t *testing.T) {
			environ := map[string]string{}
			if tt.value != "" {
				environ["DISCLOSURE_RECORDS_RETENTION_YEARS"] = tt.value
			}
			var cfg disclosure.Config
			// The rest of the configuration is missing, so loading always fails; only
			// this variable's part of the answer is checked.
			err := config.LoadFrom(&cfg, environ)
			named := err != nil && strings.Contains(err.Error(), "DISCLOSURE_RECORDS_RETENTION_YEARS")
			if named != tt.wantErr {
				t.Fatalf("load error %v; want one naming DISCLOSURE_RECORDS_RETENTION_YEARS: %v", err, tt.wantErr)
			}
			if !tt.wantErr && (cfg.RecordsRetentionYears != tt.want || cfg.Sweep.Interval != time.Hour) {
				t.Fatalf("years %d, interval %v; want %d, 1h", cfg.RecordsRetentionYears, cfg.Sweep.Interval, tt.want)
			}
		})
	}
}
