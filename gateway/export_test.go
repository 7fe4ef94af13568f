package gateway

import "time"

// WithServerTimeouts gives cfg the HTTP server's read timeout and the time it allows
// past the backend cap for the answer, short enough for a test to wait them out.
func WithServerTimeouts(cfg Config, read, answer time.Duration) Config {
	cfg.readTimeout, cfg.answerTime = read, answer
	return cfg
}
