package servicetest

import (
	"testing"
	"time"
)

// Path is one way of doing the same read, for Compare.
type Path struct {
	Name string
	Read func() error
}

// Compare runs the register's benchmark pattern: a sub-benchmark per path, then
// "interleaved", where the paths take turns within one loop so that a drift of the
// machine or the store (the audit collection grows with every read) weighs on each
// alike. It reports each path's time per read as "<name>-ns/<unit>" and each path's
// ratio to the first (the raw driver) as "<name>/<first>".
func Compare(b *testing.B, unit string, paths ...Path) {
	b.Helper()
	for _, p := range paths {
		b.Run(p.Name, func(b *testing.B) {
			for b.Loop() {
				if err := p.Read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("interleaved", func(b *testing.B) {
		spent := make([]time.Duration, len(paths))
		for b.Loop() {
			for i, p := range paths {
				start := time.Now()
				if err := p.Read(); err != nil {
					b.Fatal(err)
				}
				spent[i] += time.Since(start)
			}
		}
		for i, p := range paths {
			b.ReportMetric(float64(spent[i].Nanoseconds())/float64(b.N), p.Name+"-ns/"+unit)
			if i > 0 {
				b.ReportMetric(float64(spent[i])/float64(spent[0]), p.Name+"/"+paths[0].Name)
			}
		}
	})
}
