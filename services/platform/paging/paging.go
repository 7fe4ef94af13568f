// Package paging holds the page-size rule every list RPC follows.
package paging

// Size is the page size to serve for a requested one: def when none (or a
// negative one) is asked for, at most max.
func Size(requested, def, maxSize int) int {
	switch {
	case requested <= 0:
		return def
	case requested > maxSize:
		return maxSize
	default:
		return requested
	}
}
