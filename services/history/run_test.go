package history

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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
		// Without the request digest key loading stops before the retention is checked.
		tc.env["REQUEST_DIGEST_KEY"] = base64.StdEncoding.EncodeToString(make([]byte, 32))
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

// TestConfigRequestDigestKey: the service does not start without the key (the binary
// loads its configuration as LoadFrom does), from the environment or its file; set, it
// must be standard base64 of at least 32 bytes, and a refusal does not repeat it.
func TestConfigRequestDigestKey(t *testing.T) {
	const required = "REQUEST_DIGEST_KEY is required: set it, or REQUEST_DIGEST_KEY_FILE to a file holding it"
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	dir := t.TempDir()
	emptyFile, keyFile := filepath.Join(dir, "empty"), filepath.Join(dir, "key")
	for path, content := range map[string]string{emptyFile: "\n", keyFile: key + "\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // what the refusal says; empty: the key is taken
	}{
		{"not set", map[string]string{}, required},
		{"empty", map[string]string{"REQUEST_DIGEST_KEY": ""}, required},
		{"empty file", map[string]string{"REQUEST_DIGEST_KEY_FILE": emptyFile}, "REQUEST_DIGEST_KEY_FILE: " + emptyFile + " is empty"},
		{"32 bytes", map[string]string{"REQUEST_DIGEST_KEY": key}, ""},
		{"32 bytes from a file", map[string]string{"REQUEST_DIGEST_KEY_FILE": keyFile}, ""},
		{"16 bytes", map[string]string{"REQUEST_DIGEST_KEY": base64.StdEncoding.EncodeToString(make([]byte, 16))},
			"REQUEST_DIGEST_KEY has 16 bytes, want at least 32"},
		{"not base64", map[string]string{"REQUEST_DIGEST_KEY": "not base64: 0123456789abcdef0123456789abcdef"},
			"REQUEST_DIGEST_KEY must be standard base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			err := config.LoadFrom(&cfg, tc.env)
			named := err != nil && strings.Contains(err.Error(), "REQUEST_DIGEST_KEY")
			if tc.want == "" && named || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("LoadFrom = %v, want %q", err, tc.want)
			}
			if k := tc.env["REQUEST_DIGEST_KEY"]; k != "" && err != nil && strings.Contains(err.Error(), k) {
				t.Errorf("the refusal repeats the key: %v", err)
			}
		})
	}
}

// refusedKey is every refusal of a REQUEST_DIGEST_KEY: none holds any of the key.
var refusedKey = regexp.MustCompile(`^REQUEST_DIGEST_KEY (must be standard base64|has [0-9]+ bytes, want at least 32)$`)

// FuzzRequestDigestKey: any REQUEST_DIGEST_KEY is accepted exactly when it is standard
// base64 of at least 32 bytes, and a refusal never repeats it.
func FuzzRequestDigestKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add("short")
	f.Fuzz(func(t *testing.T, key string) {
		got, err := Config{RequestDigestKey: key}.requestKey()
		decoded, derr := base64.StdEncoding.DecodeString(key)
		if want := key == "" || derr == nil && len(decoded) >= 32; (err == nil) != want {
			t.Fatalf("%q: %v", key, err)
		}
		if err == nil && key != "" && len(got) < 32 {
			t.Fatalf("%q: a key of %d bytes", key, len(got))
		}
		if err != nil && !refusedKey.MatchString(err.Error()) {
			t.Fatalf("the refusal says more than why: %v", err)
		}
	})
}

// TestConfigNameRetention: the job runs every minute by default with a 10s deadline per
// call; a negative interval or deadline is refused, and so is a token file that holds
// nothing or lies in a folder that does not exist, while a file not written yet in an
// existing folder is accepted (the Secret created later).
func TestConfigNameRetention(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"defaults", map[string]string{}, ""},
		{"a token file not written yet", map[string]string{"NAME_RETENTION_JOB_TOKEN_FILE": filepath.Join(dir, "token")}, ""},
		{"no such folder", map[string]string{"NAME_RETENTION_JOB_TOKEN_FILE": filepath.Join(dir, "job", "token")}, "NAME_RETENTION_JOB_TOKEN_FILE: the folder of the file it names does not exist"},
		{"an empty token file", map[string]string{"NAME_RETENTION_JOB_TOKEN_FILE": empty}, "NAME_RETENTION_JOB_TOKEN_FILE"},
		{"a negative interval", map[string]string{"NAME_RETENTION_JOB_INTERVAL": "-1m"}, "NAME_RETENTION_JOB_INTERVAL"},
		{"a negative deadline", map[string]string{"NAME_RETENTION_JOB_CALL_TIMEOUT": "-1s"}, "NAME_RETENTION_JOB_CALL_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			tc.env["REQUEST_DIGEST_KEY"] = base64.StdEncoding.EncodeToString(make([]byte, 32))
			// The test environment lacks the service's other required settings.
			err := config.LoadFrom(&cfg, tc.env)
			named := err != nil && strings.Contains(err.Error(), "NAME_RETENTION_JOB")
			if named != (tc.want != "") || named && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("load: %v, want an error naming %q", err, tc.want)
			}
			if tc.name == "defaults" && (cfg.NameRetention.Interval != time.Minute || cfg.NameRetention.CallTimeout != 10*time.Second) {
				t.Errorf("defaults: %+v", cfg.NameRetention)
			}
		})
	}
}
