// Package embedded runs an in-process, MongoDB-wire-compatible store (FerretDB v1 on
// SQLite) for the local all-in-one runner and for tests. It is not a production database:
// see docs/EMBEDDED_STORE.md for what it supports and what the code must not rely on.
//
// Clients reach FerretDB through a small proxy in this package that runs commands which
// may change data one at a time, which gives the store MongoDB's single-document
// atomicity (FerretDB v1 alone lets concurrent updates overwrite each other).
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/gofrs/flock"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// unsupportedPathChars may not appear in the data folder's absolute path.
const unsupportedPathChars = `?#%*[]\`

// Store is a running embedded store listening on a loopback port.
type Store struct {
	uri   string
	proxy *proxy
	// stopFerretDB stops FerretDB and waits until it has released the data folder; it
	// may be called more than once.
	stopFerretDB func() error
	// lock holds the data folder for this store alone until Close.
	lock *flock.Flock
}

// Start opens (or creates, mode 0700) the data folder dir and serves it on 127.0.0.1 at a
// free port. It returns once a MongoDB client can ping the store; ctx bounds only that
// start-up, the store itself runs until Close.
func Start(ctx context.Context, dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve embedded store folder: %w", err)
	}
	// FerretDB v1 writes the folder unescaped into each database's SQLite URI and globs it
	// for existing databases: '?' or '#' would silently put every database into one stray
	// file, '%' would be decoded, and glob characters would hide the data on restart.
	if strings.ContainsAny(abs, unsupportedPathChars) {
		return nil, fmt.Errorf("embedded store folder: path must not contain any of %s", unsupportedPathChars)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create embedded store folder: %w", err)
	}
	// One store per folder: a second process on the same files would interleave its
	// writes with this one's, and the atomicity the proxy gives would be lost.
	lock := flock.New(filepath.Join(abs, lockFile))
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock embedded store folder: %w", err)
	}
	if !locked {
		return nil, fmt.Errorf("embedded store folder %s is in use by another process (another runner?)", abs)
	}
	started := false
	defer func() {
		if !started {
			_ = lock.Unlock()
		}
	}()

	// FerretDB wants a file: URI naming a directory with a trailing slash; it unescapes the
	// path to check that the directory exists. FerretDB runs SQLite in WAL mode; with
	// synchronous=normal a commit no longer waits for fsync, which otherwise costs every
	// audited read a few milliseconds. The database stays consistent after a crash; only
	// the last moments before a power loss may be lost, acceptable for the embedded
	// default (production runs on a MongoDB replica set with majority writes).
	sqliteURL := (&url.URL{Scheme: "file", Path: abs + "/", RawQuery: "_pragma=synchronous(normal)"}).String()

	// At its default level FerretDB logs every failed command with its full response, which
	// may echo stored values; errors only keeps the output quiet and free of personal data.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return nil, fmt.Errorf("create embedded store: %w", err)
	}

	// The store must outlive the start-up context, so it gets its own cancellation.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = f.Run(runCtx)
	}()
	stopFerretDB := func() error {
		stop()
		<-done
		if runErr != nil {
			return fmt.Errorf("run embedded store: %w", runErr)
		}
		return nil
	}

	// Clients get only the proxy's address: the proxy is what makes writes atomic.
	upstream, err := url.Parse(f.MongoDBURI())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("read embedded store address: %w", err), stopFerretDB())
	}
	ids := newIDIndexer(abs)
	if err := ids.ensureExisting(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("index the stored collections' _id lookups: %w", err), ids.close(), stopFerretDB())
	}
	p, err := startProxy(upstream.Host, ids)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start embedded store proxy: %w", err), ids.close(), stopFerretDB())
	}
	s := &Store{
		uri:          (&url.URL{Scheme: "mongodb", Host: p.addr(), Path: "/"}).String(),
		proxy:        p,
		stopFerretDB: stopFerretDB,
		lock:         lock,
	}
	started = true

	if err := s.ping(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("wait for embedded store: %w", err), s.Close())
	}
	return s, nil
}

// lockFile is the file in the data folder that the running store holds locked.
const lockFile = ".lock"

// URI is the mongodb:// connection string of the store.
func (s *Store) URI() string {
	return s.uri
}

// Close stops the store and waits until it has released the data folder. Clients still
// connected lose their connections. It is safe to call more than once.
func (s *Store) Close() error {
	return errors.Join(s.proxy.close(), s.stopFerretDB(), s.lock.Unlock())
}

func (s *Store) ping(ctx context.Context) error {
	client, err := mongo.Connect(options.Client().ApplyURI(s.uri))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	pingErr := client.Ping(ctx, readpref.Primary())
	if err := client.Disconnect(context.WithoutCancel(ctx)); err != nil && pingErr == nil {
		return fmt.Errorf("disconnect: %w", err)
	}
	if pingErr != nil {
		return fmt.Errorf("ping: %w", pingErr)
	}
	return nil
}
