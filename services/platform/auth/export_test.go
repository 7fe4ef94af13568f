package auth

import "time"

// WithRefreshEvery gives cfg a background refresh interval, and a gap between forced
// fetches, short enough for a test to wait for.
func WithRefreshEvery(cfg Config, d time.Duration) Config {
	cfg.refreshEvery = d
	return cfg
}
