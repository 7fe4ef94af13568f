package auth

import (
	"testing"
	"time"
)

// TestWarnLimit: a burst passes at once, then one line a second, the first line after
// a pause counting those held back.
func TestWarnLimit(t *testing.T) {
	l := newWarnLimit()
	start := time.Now()
	for i := range warnBurst {
		if ok, n := l.allow(start); !ok || n != 0 {
			t.Fatalf("line %d of the burst: %v, %d", i, ok, n)
		}
	}
	for range 5 {
		if ok, _ := l.allow(start); ok {
			t.Fatal("a line past the burst passed")
		}
	}
	tests := []struct {
		after      time.Duration
		ok         bool
		suppressed int
	}{
		{after: 500 * time.Millisecond},
		{after: time.Second, ok: true, suppressed: 6},
		{after: time.Second},
		{after: 2 * time.Second, ok: true, suppressed: 1},
		{after: time.Hour, ok: true},
	}
	for _, tt := range tests {
		ok, n := l.allow(start.Add(tt.after))
		if ok != tt.ok || n != tt.suppressed {
			t.Errorf("at +%v: %v, %d; want %v, %d", tt.after, ok, n, tt.ok, tt.suppressed)
		}
	}
}
