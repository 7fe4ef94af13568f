package disclosure_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/devpki"
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

// TestJobTokenFileRefusedAtStart: the erasure job reads its token file again at every
// step, but a file the configuration names that cannot be read or holds nothing stops
// the service at start, as any NAME_FILE does, naming the variable and never the
// file's contents. A file not there yet is the optional Kubernetes Secret before it
// is first created (an empty folder mounted): the service starts and the job waits.
func TestJobTokenFileRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// The optional Secret's volume before the Secret exists: an empty folder.
	mount := filepath.Join(dir, "job")
	if err := os.Mkdir(mount, 0o750); err != nil {
		t.Fatal(err)
	}
	pki, err := devpki.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr string // the error's end; empty: the configuration loads
	}{
		{"a token", file("token", "header.payload.signature\n"), ""},
		{"not there yet", filepath.Join(mount, "token"), ""},
		{"no such folder", filepath.Join(dir, "jbo", "token"), "DISCLOSURE_JOB_TOKEN_FILE: the folder of the file it names does not exist"},
		{"under a file", filepath.Join(file("plain", "x"), "token"), "DISCLOSURE_JOB_TOKEN_FILE: cannot read the file it names: not a directory"},
		{"a folder", dir, "DISCLOSURE_JOB_TOKEN_FILE: cannot read the file it names: is a directory"},
		{"an empty file", file("empty", ""), "DISCLOSURE_JOB_TOKEN_FILE: " + filepath.Join(dir, "empty") + " is empty"},
		{"a newline", file("newline", "\n"), "DISCLOSURE_JOB_TOKEN_FILE: " + filepath.Join(dir, "newline") + " is empty"},
		{"white space", file("blank", " \t\n"), "DISCLOSURE_JOB_TOKEN_FILE: " + filepath.Join(dir, "blank") + " is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg disclosure.Config
			err := config.LoadFrom(&cfg, map[string]string{
				"MONGO_URI": "mongodb://mongo1:27017", "MONGO_DATABASE": "register", "AUTH_JWKS_URL": "https://jwks:8443/jwks.json",
				"TLS_CERT_FILE": pki.CertFile, "TLS_KEY_FILE": pki.KeyFile, "DISCLOSURE_JOB_TOKEN_FILE": tt.path,
			})
			if tt.wantErr == "" {
				if err != nil || cfg.Job.TokenFile != tt.path {
					t.Fatalf("LoadFrom = %v, token file %q; want %q loaded", err, cfg.Job.TokenFile, tt.path)
				}
				return
			}
			if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) {
				t.Fatalf("LoadFrom = %v, want an error ending %q", err, tt.wantErr)
			}
		})
	}
}
