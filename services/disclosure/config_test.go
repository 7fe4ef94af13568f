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
