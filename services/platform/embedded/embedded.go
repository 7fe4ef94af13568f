// Package embedded runs an in-process, MongoDB-wire-compatible store (FerretDB v1 on
// SQLite) for the local all-in-one runner and for tests. It is not a production database:
// see docs/EMBEDDED_STORE.md for what it supports and what the code must not rely on.
//
// FerretDB v1 on SQLite has no authentication, so the store listens on Unix domain
// sockets in a folder only the user running it may enter, never on a TCP port, which
// every local user could connect to.
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
	"runtime"
	"strings"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/gofrs/flock"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/lillvet/register/services/platform/atomicfile"
)

// unsupportedPathChars may not appear in the data folder's absolute path.
const unsupportedPathChars = `?#%*[]\`

// Store is a running embedded store listening on a Unix domain socket.
type Store struct {
	uri   string
	proxy *proxy
	// dir is the data folder.
	dir string
	// sockets is the private folder holding the sockets, removed on Close.
	sockets string
	// stopFerretDB stops FerretDB and waits until it has released the data folder; it
	// may be called more than once.
	stopFerretDB func() error
	// lock holds the data folder for this store alone until Close.
	lock *flock.Flock
}

// Start opens (or creates, mode 0700) the data folder dir and serves it on a Unix domain
// socket in a fresh private folder (mode 0700) under os.TempDir. It returns once a
// MongoDB client can ping the store; ctx bounds only that start-up, the store itself
// runs until Close.
func Start(ctx context.Context, dir string) (*Store, error) {
	if runtime.GOOS == "windows" {
		return nil, errNoWindows
	}
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
	removeStaleSockets(abs)
	sockets, err := privateSocketDir()
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(abs, socketsRecord), []byte(sockets), 0o600); err != nil {
		_ = os.RemoveAll(sockets)
		return nil, fmt.Errorf("record embedded store socket folder: %w", err)
	}
	defer func() {
		if !started {
			_ = os.RemoveAll(sockets)
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
		Listener:  ferretdb.ListenerConfig{Unix: filepath.Join(sockets, ferretDBSocket)},
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

	// Clients get only the proxy's socket: the proxy is what makes writes atomic.
	ids := newIDIndexer(abs)
	if err := ids.ensureExisting(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("index the stored collections' _id lookups: %w", err), ids.close(), stopFerretDB())
	}
	p, err := startProxy(filepath.Join(sockets, proxySocket), filepath.Join(sockets, ferretDBSocket), ids)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start embedded store proxy: %w", err), ids.close(), stopFerretDB())
	}
	s := &Store{
		uri:          socketURI(p.addr()),
		proxy:        p,
		dir:          abs,
		sockets:      sockets,
		stopFerretDB: stopFerretDB,
		lock:         lock,
	}
	started = true

	if err := s.ping(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("wait for embedded store: %w", err), s.Close())
	}
	return s, nil
}

// errNoWindows: on Windows a socket path starts with a drive letter and its ':', which
// the driver reads as a port (it splits a mongodb:// host at ':', escaped or not), and
// every data folder's path holds a backslash, which the SQLite URI cannot (see
// unsupportedPathChars), so the store could not start there. A loopback TCP port instead
// would let every local user read the unauthenticated store, and nothing here is tested
// on Windows.
var errNoWindows = errors.New("the embedded store does not run on Windows: run the local runner in WSL 2 (a Linux on Windows), or on Linux or macOS")

// lockFile is the file in the data folder that the running store holds locked.
const lockFile = ".lock"

// socketsRecord is the file in the data folder naming the running store's socket
// folder, so that the next start can remove the folder of a store that was killed
// before Close.
const socketsRecord = ".sockets"

// removeStaleSockets removes the socket folder a store on dir left behind when its
// process was killed: holding dir's lock proves that store is gone. Only the sockets a
// store makes and then the folder, if empty, are removed, never anything else that
// might have come to be at that path. A failure is no reason not to start: the
// folder is empty of data, private, and the system's temporary-file cleaning takes it
// in the end.
func removeStaleSockets(dir string) {
	record, err := os.ReadFile(filepath.Clean(filepath.Join(dir, socketsRecord)))
	if err != nil || len(record) == 0 {
		return
	}
	// A symbolic link at that path now is not the folder the store made.
	stale := filepath.Clean(string(record))
	if fi, err := os.Lstat(stale); err != nil || !fi.IsDir() { //nolint:gosec // the store's own record, in its private data folder
		return
	}
	root, err := os.OpenRoot(stale)
	if err != nil {
		return
	}
	for _, name := range []string{ferretDBSocket, proxySocket} {
		_ = root.Remove(name)
	}
	_ = root.Close()
	_ = os.Remove(stale) //nolint:gosec // the store's own record, in its private data folder
}

// The sockets in the private folder. The driver takes a host for a Unix domain socket
// only when it ends in .sock.
const (
	ferretDBSocket = "ferretdb.sock"
	proxySocket    = "store.sock"
)

// maxSocketPath is the longest socket path every Unix accepts: sun_path holds 104 bytes
// on macOS and the BSDs (108 on Linux), the terminating NUL included.
const maxSocketPath = 103

// privateSocketDir creates a fresh folder for the sockets that only this user may
// enter. It is not in the data folder: a socket path is limited to about 100 bytes,
// which a deep data folder (a test's, a user's home) can exceed on its own, while
// os.TempDir gives a short one. os.MkdirTemp makes it mode 0700 under a random name
// that nobody could have prepared in advance, even in a shared /tmp.
func privateSocketDir() (string, error) {
	dir, err := os.MkdirTemp("", "lillvet-store-")
	if err != nil {
		return "", fmt.Errorf("create embedded store socket folder: %w", err)
	}
	// The driver reads a host as host:port even for a socket path, so a ':' in it
	// fails every connection with a parse error that names no folder.
	if strings.Contains(dir, ":") {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("embedded store socket folder %s holds a ':', which the MongoDB driver cannot take in a socket path: set TMPDIR to a folder without one", dir)
	}
	for _, name := range []string{ferretDBSocket, proxySocket} {
		if p := filepath.Join(dir, name); len(p) > maxSocketPath {
			_ = os.RemoveAll(dir)
			return "", fmt.Errorf("embedded store socket path %s is longer than %d bytes: set TMPDIR to a shorter folder", p, maxSocketPath)
		}
	}
	return dir, nil
}

// socketURI is the connection string of a Unix domain socket: the driver and mongosh
// want the path escaped as the host. The driver unescapes it as a query value and
// mongosh as a URI component, which disagree only on '+', so a blank is written as %20.
func socketURI(path string) string {
	return "mongodb://" + strings.ReplaceAll(url.QueryEscape(path), "+", "%20") + "/"
}

// URI is the mongodb:// connection string of the store: its Unix domain socket, which
// only the user running the store may connect to.
func (s *Store) URI() string {
	return s.uri
}

// Close stops the store and waits until it has released the data folder. Clients still
// connected lose their connections. It is safe to call more than once.
func (s *Store) Close() error {
	err := errors.Join(s.proxy.close(), s.stopFerretDB())
	if rmErr := os.RemoveAll(s.sockets); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove embedded store socket folder: %w", rmErr))
	}
	// A second Close may come after another store took the folder: its record stays.
	record := filepath.Join(s.dir, socketsRecord)
	if held, _ := os.ReadFile(filepath.Clean(record)); string(held) == s.sockets {
		if rmErr := os.Remove(record); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove embedded store socket record: %w", rmErr))
		}
	}
	return errors.Join(err, s.lock.Unlock())
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
