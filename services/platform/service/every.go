package service

import (
	"context"
	"time"
)

// Every runs job beside the server, the first time first after the start and then
// interval after each run ended, until the server stops. A failed run is logged under
// name (its error must carry no personal data) and the next one runs as planned:
// housekeeping such as a retention sweep must not stop the service it belongs to, and
// the next run retries what the failed one left. An interval of zero or less
// schedules nothing (the job then runs only when called otherwise, e.g. through an
// RPC from an operator's scheduler).
func (d *Deps) Every(name string, first, interval time.Duration, job func(context.Context) error) {
	if interval <= 0 {
		return
	}
	d.Go(func(ctx context.Context) error {
		return every(ctx, first, interval, job, func(err error) {
			d.Telemetry.Logger.ErrorContext(ctx, name+" failed; retried at the next run", "error", err)
		})
	})
}

// every is Every's loop: it returns once ctx is done.
func every(ctx context.Context, first, interval time.Duration, job func(context.Context) error, failed func(error)) error {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if ctx.Err() != nil {
			return nil // both were ready; select chose the timer
		}
		if err := job(ctx); err != nil && ctx.Err() == nil {
			failed(err)
		}
		t.Reset(interval)
	}
}
