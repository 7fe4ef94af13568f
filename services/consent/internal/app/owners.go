package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// maxCachedOwners bounds the owner statuses one process remembers: more owners than
// both clinics have, in a few tens of megabytes at most.
const maxCachedOwners = 100_000

// MinOwnerStatusTTL is the shortest time an owner's status may be remembered, other than
// not at all: the cache sweeps its expired entries every hundredth of the time, which
// below this keeps a goroutine waking up more often than every millisecond.
const MinOwnerStatusTTL = 100 * time.Millisecond

// ownerStatuses asks the owner service about owners and remembers, for ttl, the status
// of each owner it knows. Every verdict depends on the owner service's restriction,
// which is set there without the consent service hearing of it: remembering it for a
// few seconds bounds how long a new restriction goes unseen, while checks and filters
// repeated within that time cost no call. An owner the owner service does not know is
// not remembered, so one registered a moment later is found.
type ownerStatuses struct {
	owners Owners
	ttl    time.Duration
	// now is the service's clock, which an entry's age is measured on.
	now func() time.Time
	// cache is nil when ttl is 0.
	cache *expirable.LRU[string, remembered]
	// mu makes keeping the newer of two answers one step: of two calls in flight, the
	// one asked earlier may answer last.
	mu sync.Mutex
}

// remembered is an owner's status, when the owner service was asked for it and when
// it answered: the owner service read the owner somewhere in between.
type remembered struct {
	status          OwnerStatus
	asked, answered time.Time
}

// newer is what the service knows of an owner from two answers. One asked after the
// other had answered read the owner later, and wins. Of two calls in flight together
// either may have read the owner last, so the restriction of either stands: a lifted
// restriction may go unseen for one more TTL, a new one never.
func newer(a, b remembered) remembered {
	switch {
	case a.answered.Before(b.asked):
		return b
	case b.answered.Before(a.asked):
		return a
	}
	a.status.Restricted = a.status.Restricted || b.status.Restricted
	if b.asked.After(a.asked) {
		a.asked = b.asked
	}
	if b.answered.After(a.answered) {
		a.answered = b.answered
	}
	return a
}

var _ Owners = (*ownerStatuses)(nil)

func newOwnerStatuses(owners Owners, ttl time.Duration, now func() time.Time) (*ownerStatuses, error) {
	c := &ownerStatuses{owners: owners, ttl: ttl, now: now}
	switch {
	case ttl == 0:
	case ttl < MinOwnerStatusTTL:
		return nil, fmt.Errorf("owner status TTL %s: must be 0 or at least %s", ttl, MinOwnerStatusTTL)
	default:
		// The cache's sweeper goroutine lives as long as the process, as the service does.
		// It drops entries by the real clock; Statuses ages them by the service's.
		c.cache = expirable.NewLRU[string, remembered](maxCachedOwners, nil, ttl)
	}
	return c, nil
}

// Statuses implements Owners: the remembered statuses of ids, and those of the others
// from one call to the owner service.
func (c *ownerStatuses) Statuses(ctx context.Context, ids []string) (map[string]OwnerStatus, error) {
	if c.cache == nil {
		return c.owners.Statuses(ctx, ids)
	}
	out := make(map[string]OwnerStatus, len(ids))
	var ask []string
	for _, id := range ids {
		if r, ok := c.cache.Get(id); ok && c.now().Sub(r.asked) < c.ttl {
			out[id] = r.status
			continue
		}
		ask = append(ask, id)
	}
	if len(ask) == 0 {
		return out, nil
	}
	asked := c.now()
	fresh, err := c.owners.Statuses(ctx, ask)
	if err != nil {
		return nil, err
	}
	answered := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ask {
		st, ok := fresh[id]
		if !ok {
			continue
		}
		r := remembered{status: st, asked: asked, answered: answered}
		if known, ok := c.cache.Peek(id); ok {
			r = newer(known, r)
		}
		out[id] = r.status
		if r.status.Exists {
			c.cache.Add(id, r)
		}
	}
	return out, nil
}
