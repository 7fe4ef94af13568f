package auth

import (
	"sync"
	"time"
)

const (
	// warnBurst lines pass at once; after them, one a second.
	warnBurst = 10
	warnEvery = time.Second
)

// warnLimit is a token bucket for log lines: warnBurst at once, then one every
// warnEvery, counting the lines it holds back. The zero value is full.
type warnLimit struct {
	mu         sync.Mutex
	started    bool
	tokens     float64
	last       time.Time
	suppressed int
}

// allow reports whether a line may be written at now and, when it may, how many
// were held back since the last one written.
func (l *warnLimit) allow(now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started {
		l.started, l.tokens, l.last = true, warnBurst, now
	}
	if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = min(warnBurst, l.tokens+elapsed.Seconds()/warnEvery.Seconds())
		l.last = now
	}
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
