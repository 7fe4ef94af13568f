// Package audittest holds test helpers for code that writes audit events.
package audittest

import (
	"context"
	"slices"
	"sync"

	"github.com/lillvet/register/services/platform/audit"

	// A test helper: the test command refuses a production binary that links one.
	_ "github.com/lillvet/register/services/platform/testonly"
)

// Recorder keeps every event it is given, queued or stored at once alike, in the
// order recorded; it stands in for the audit writer where a test asserts on the
// events themselves rather than on what the store holds.
type Recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

// Record keeps events.
func (r *Recorder) Record(_ context.Context, events ...audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events...)
	return nil
}

// RecordNow keeps events, as Record does.
func (r *Recorder) RecordNow(ctx context.Context, events ...audit.Event) error {
	return r.Record(ctx, events...)
}

// Reserve keeps no room: the recorder takes every event.
func (r *Recorder) Reserve(ctx context.Context) (context.Context, func(), error) {
	return ctx, func() {}, nil
}

// Events returns a copy of the events kept so far.
func (r *Recorder) Events() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Subjects lists the owners of the events with action, in the order recorded.
func (r *Recorder) Subjects(action string) []string {
	var out []string
	for _, e := range r.Events() {
		if e.Action == action {
			out = append(out, e.SubjectOwnerID)
		}
	}
	return out
}
