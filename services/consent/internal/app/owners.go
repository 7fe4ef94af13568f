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
	// cache is nil when ttl is 0.
	cache *expirable.LRU[string, remembered]
	// mu makes keeping the newer of two answers one step: of two calls in flight, the
	// one asked earlier may answer last.
	mu sync.Mutex
}

// remembered is an owner's status and when the owner service was asked for it: an
// answer is as old as its question, however late it arrives.
type remembered struct {
	status OwnerStatus
	asked  time.Time
}

var _ Owners = (*ownerStatuses)(nil)

func newOwnerStatuses(owners Owners, ttl time.Duration) (*ownerStatuses, error) {
	c := &ownerStatuses{owners: owners, ttl: ttl}
	switch {
	case ttl == 0:
	case ttl < MinOwnerStatusTTL:
		return nil, fmt.Errorf("owner status TTL %s: must be 0 or at least %s", ttl, MinOwnerStatusTTL)
	default:
		// The cache's sweeper goroutine lives as long as the process, as the service does.
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
		if r, ok := c.cache.Get(id); ok && time.Since(r.asked) < c.ttl {
			out[id] = r.status
			continue
		}
		ask = append(ask, id)
	}
	if len(ask) == 0 {
		return out, nil
	}
	asked := time.Now()
	fresh, err := c.owners.Statuses(ctx, ask)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ask {
		st, ok := fresh[id]
		if !ok {
			continue
		}
		if r, ok := c.cache.Peek(id); ok && r.asked.After(asked) {
			// A call asked later has answered already: its status is the newer one.
			out[id] = r.status
			continue
		}
		out[id] = st
		if st.Exists {
			c.cache.Add(id, remembered{status: st, asked: asked})
		}
	}
	return out, nil
}
