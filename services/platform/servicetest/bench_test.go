package servicetest_test

import (
	"errors"
	"testing"

	"github.com/lillvet/register/services/platform/servicetest"
)

// BenchmarkCompare runs the pattern on two trivial paths, so that it cannot rot.
func BenchmarkCompare(b *testing.B) {
	n := 0
	servicetest.Compare(b, "op",
		servicetest.Path{Name: "floor", Read: func() error { n++; return nil }},
		servicetest.Path{Name: "twice", Read: func() error {
			n += 2
			if n < 0 {
				return errors.New("overflow")
			}
			return nil
		}},
	)
}
