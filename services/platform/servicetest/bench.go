package servicetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
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

// RESTPath is the "rest" path of a comparison: GET url with c as the holder of token,
// the whole body read, and any answer but 200 an error.
func RESTPath(c *http.Client, url, token string) Path {
	return Path{Name: "rest", Read: func() error {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := c.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = res.Body.Close() }()
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %d", url, res.StatusCode)
		}
		return nil
	}}
}

// AuditedDB is database on a fresh embedded store, with an audit writer running on it
// until the test ends (the test fails if the writer returns an error): what a use-case
// benchmark needs to compare a use case with the raw driver on the same store.
func AuditedDB(tb testing.TB, database string) (*mongo.Database, *audit.Writer) {
	tb.Helper()
	store := embeddedtest.Start(tb)
	client, err := mongo.Connect(options.Client().ApplyURI(store.URI()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	db := client.Database(database)
	auditor := audit.NewWriter(db, slog.New(slog.DiscardHandler))
	auditCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- auditor.Run(auditCtx) }()
	tb.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			tb.Errorf("audit writer: %v", err)
		}
	})
	return db, auditor
}
