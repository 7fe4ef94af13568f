package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/telemetry"
)

func TestConnOfAnUnknownPeerPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Conn of a peer not in Spec.Peers did not panic")
		}
	}()
	(&Deps{}).Conn("owner")
}

type exampleConfig struct {
	Addr string `env:"EXAMPLE_ADDR" envDefault:"127.0.0.1:7101"`
	Max  int    `env:"EXAMPLE_MAX"`
}

func TestLoadAndRun(t *testing.T) {
	errRun := errors.New("run failed")
	tests := []struct {
		name    string
		environ map[string]string
		runErr  error
		wantCfg exampleConfig
		wantErr string
	}{
		{"defaults", nil, nil, exampleConfig{Addr: "127.0.0.1:7101"}, ""},
		{"from the environment", map[string]string{"EXAMPLE_ADDR": ":1", "EXAMPLE_MAX": "3"}, nil, exampleConfig{Addr: ":1", Max: 3}, ""},
		{"run's error", nil, errRun, exampleConfig{Addr: "127.0.0.1:7101"}, errRun.Error()},
		{"unparsable variable, not run", map[string]string{"EXAMPLE_MAX": "many"}, nil, exampleConfig{}, "EXAMPLE_MAX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got exampleConfig
			load := func(cfg any) error { return config.LoadFrom(cfg, tt.environ) }
			err := loadAndRun(t.Context(), load, func(_ context.Context, cfg exampleConfig) error {
				got = cfg
				return tt.runErr
			})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("loadAndRun = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("loadAndRun = %v, want an error naming %q", err, tt.wantErr)
			}
			if got != tt.wantCfg {
				t.Errorf("run got %+v, want %+v", got, tt.wantCfg)
			}
		})
	}
}

func TestEveryRunsUntilStoppedAndSurvivesFailures(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	runs, failures := 0, 0
	errJob := errors.New("store down")
	job := func(context.Context) error {
		runs++
		if runs == 3 {
			cancel() // the server stops during the third run
		}
		if runs == 1 {
			return errJob
		}
		return nil
	}
	if err := every(ctx, 0, time.Nanosecond, job, func(err error) {
		if !errors.Is(err, errJob) {
			t.Errorf("failure reported as %v", err)
		}
		failures++
	}); err != nil {
		t.Fatalf("every = %v, want nil once stopped", err)
	}
	if runs != 3 || failures != 1 {
		t.Errorf("runs = %d, failures = %d; want 3 runs (the first failing) and 1 failure", runs, failures)
	}
}

func TestEveryWithoutIntervalSchedulesNothing(t *testing.T) {
	for _, interval := range []time.Duration{0, -time.Second} {
		d := &Deps{}
		d.Every("sweep", 0, interval, func(context.Context) error { return nil })
		if len(d.tasks) != 0 {
			t.Errorf("interval %v scheduled %d tasks, want none", interval, len(d.tasks))
		}
	}
	d := &Deps{}
	d.Every("sweep", 0, time.Hour, func(context.Context) error { return nil })
	if len(d.tasks) != 1 {
		t.Errorf("interval 1h scheduled %d tasks, want one", len(d.tasks))
	}
}

func TestAuditSweepRemovesWhatPassedItsRetention(t *testing.T) {
	store := embeddedtest.Start(t)
	client, err := mongox.Connect(t.Context(), store.URI(), telemetry.Noop(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(t.Context()) })
	w := audit.NewWriter(client.Database("service_audit_sweep"), slog.New(slog.DiscardHandler))
	now := time.Date(2031, 1, 15, 12, 0, 0, 0, time.UTC)
	old := audit.Event{Time: now.AddDate(-5, 0, -1), Action: "owner.read", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess}
	recent := audit.Event{Time: now.AddDate(-5, 0, 1), Action: "owner.read", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess}
	if err := w.RecordNow(t.Context(), old, recent); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	sweep := auditSweep(w, audit.Config{}, func() time.Time { return now }, slog.New(slog.NewTextHandler(&logged, nil)))
	for range 2 { // the second run removes nothing
		if err := sweep(t.Context()); err != nil {
			t.Fatalf("sweep: %v", err)
		}
	}
	var kept []time.Time
	if err := w.EachBySubject(t.Context(), "o-1", func(e audit.Event) error { kept = append(kept, e.Time); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || !kept[0].Equal(recent.Time) {
		t.Errorf("kept %v, want only the event within five years", kept)
	}
	if out := logged.String(); strings.Count(out, "removed=1") != 1 || strings.Contains(out, "o-1") {
		t.Errorf("log = %q, want one line with the count and no ids", out)
	}
}

func TestRunRefusesAnAuditRetentionOutOfRange(t *testing.T) {
	err := Run(t.Context(), Spec{Name: "echo", Base: Base{Audit: audit.Config{RetentionYears: 51}}})
	if err == nil || !strings.Contains(err.Error(), "AUDIT_RETENTION_YEARS") {
		t.Fatalf("Run = %v, want the AUDIT_RETENTION_YEARS error", err)
	}
}
