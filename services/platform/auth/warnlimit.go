package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// warnBurst lines pass at once; after them, one a second.
	warnBurst = 10
	warnEvery = time.Second
)

// warnLimit bounds log lines to warnBurst at once, then one every warnEvery,
// counting the lines it holds back so that the next one written can say how many.
type warnLimit struct {
	limiter *rate.Limiter

	mu         sync.Mutex
	suppressed int
}

func newWarnLimit() *warnLimit {
	return &warnLimit{limiter: rate.NewLimiter(rate.Every(warnEvery), warnBurst)}
}

// allow reports whether a line may be written at now and, when it may, how many
// were held back since the last one written.
func (l *warnLimit) allow(now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.limiter.AllowN(now, 1) {
		l.suppressed++
		return false, 0
	}
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
