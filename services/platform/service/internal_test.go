package service

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/config"
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
