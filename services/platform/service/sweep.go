package service

import (
	"context"
	"errors"
	"time"
)

// SweepConfig is when a service runs its retention sweep by itself; every service with
// one reads the same variable the same way.
type SweepConfig struct {
	// Interval (RETENTION_SWEEP_INTERVAL) is how often the sweep runs, the first run a
	// minute after the start (or one interval, when shorter). Zero turns the periodic
	// sweep off: RunRetentionSweep then runs it, e.g. from an operator's scheduler.
	Interval time.Duration `env:"RETENTION_SWEEP_INTERVAL" envDefault:"1h"`
}

// Validate refuses a negative interval.
func (c SweepConfig) Validate() error {
	if c.Interval < 0 {
		return errors.New("RETENTION_SWEEP_INTERVAL must not be negative")
	}
	return nil
}

// sweepSettle lets a service settle (and a rolling update finish) before its first
// sweep.
const sweepSettle = time.Minute

// Sweep runs job as the service's retention sweep on c's schedule (see Every).
func (d *Deps) Sweep(c SweepConfig, job func(context.Context) error) {
	d.Every("retention sweep", min(sweepSettle, c.Interval), c.Interval, job)
}
