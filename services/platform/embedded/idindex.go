package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	// The SQLite driver FerretDB itself uses, for the one index FerretDB gets wrong.
	_ "modernc.org/sqlite"
)

// FerretDB v1.24 on SQLite builds its _id index on the expression _ferretdb_sjson->"_id"
// but looks documents up by _ferretdb_sjson->'$._id', so SQLite never uses the index and
// every read by _id scans the table until the match. idIndexer adds, once per collection,
// an index on the exact expression the lookups use, which makes a read by _id an index
// search as the services' designs assume. It runs under the proxy's write lock, after a
// command that may have created the collection, so it never races FerretDB's writes.
// It is an optimisation only: should it fail, reads stay correct, just slower.
type idIndexer struct {
	dir string

	mu sync.Mutex
	// dbs are the SQLite handles by database name; done holds "db\x00collection" of the
	// collections already indexed.
	dbs  map[string]*sql.DB
	done map[string]bool
}

// idIndexTimeout bounds the index work a write waits for.
const idIndexTimeout = 10 * time.Second

func newIDIndexer(dir string) *idIndexer {
	return &idIndexer{dir: dir, dbs: map[string]*sql.DB{}, done: map[string]bool{}}
}

// indexTarget names the database and collection a command may have created, or "" for
// commands that create none.
func indexTarget(cmd bson.Raw) (db, coll string) {
	first, err := cmd.IndexErr(0)
	if err != nil {
		return "", ""
	}
	switch first.Key() {
	case "insert", "update", "findAndModify", "findandmodify", "create", "createIndexes":
	default:
		return "", ""
	}
	coll, _ = first.Value().StringValueOK()
	db, _ = cmd.Lookup("$db").StringValueOK()
	if db == "" || coll == "" || strings.ContainsAny(db, `/\`) {
		return "", ""
	}
	return db, coll
}

// dropsCollections reports whether cmd may remove or rename collections, after which a
// collection of the same name is a new table that needs the index again.
func dropsCollections(cmd bson.Raw) bool {
	first, err := cmd.IndexErr(0)
	if err != nil {
		return false
	}
	switch first.Key() {
	case "drop", "dropDatabase", "renameCollection":
		return true
	default:
		return false
	}
}

// forget drops what is known of the indexed collections, and the SQLite handles: a
// dropped database's file is deleted, and one made again is a new file.
func (x *idIndexer) forget() {
	x.mu.Lock()
	defer x.mu.Unlock()
	clear(x.done)
	for _, h := range x.dbs {
		// A handle on a deleted file has nothing left to lose.
		_ = h.Close()
	}
	clear(x.dbs)
}

// ensure adds the lookup index to db.coll's table unless it was added already.
func (x *idIndexer) ensure(db, coll string) error {
	key := db + "\x00" + coll
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done[key] {
		return nil
	}
	h, err := x.handle(db)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), idIndexTimeout)
	defer cancel()
	var table string
	err = h.QueryRowContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE name = ?`, coll).Scan(&table)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // the command failed before creating the collection
	}
	if err != nil {
		return fmt.Errorf("find the table of %s.%s: %w", db, coll, err)
	}
	quoted := `"` + strings.ReplaceAll(table, `"`, `""`) + `"`
	index := `"` + strings.ReplaceAll(table+"_lillvet_id_lookup", `"`, `""`) + `"`
	if _, err := h.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS `+index+` ON `+quoted+` (_ferretdb_sjson->'$._id')`); err != nil {
		return fmt.Errorf("index the _id lookups of %s.%s: %w", db, coll, err)
	}
	x.done[key] = true
	return nil
}

// ensureExisting indexes every collection already in the data folder, so that a folder
// written before the indexer existed reads by _id through the index from the start.
func (x *idIndexer) ensureExisting(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return fmt.Errorf("list the databases: %w", err)
	}
	for _, f := range files {
		db := strings.TrimSuffix(filepath.Base(f), ".sqlite")
		colls, err := x.collections(ctx, db)
		if err != nil {
			return err
		}
		for _, coll := range colls {
			if err := x.ensure(db, coll); err != nil {
				return err
			}
		}
	}
	return nil
}

// collections lists the collections of one database from FerretDB's metadata.
func (x *idIndexer) collections(ctx context.Context, db string) ([]string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	h, err := x.handle(db)
	if err != nil {
		return nil, err
	}
	rows, err := h.QueryContext(ctx, `SELECT name FROM _ferretdb_collections`)
	if err != nil {
		return nil, fmt.Errorf("list the collections of %s: %w", db, err)
	}
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, errors.Join(fmt.Errorf("list the collections of %s: %w", db, err), rows.Close())
		}
		out = append(out, name)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("list the collections of %s: %w", db, err)
	}
	return out, nil
}

// handle opens db's SQLite file (which FerretDB names <db>.sqlite) once.
func (x *idIndexer) handle(db string) (*sql.DB, error) {
	if h, ok := x.dbs[db]; ok {
		return h, nil
	}
	path := filepath.Join(x.dir, db+".sqlite")
	// Opening a missing file would create it, and FerretDB would list an empty database.
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("the SQLite file of %s: %w", db, err)
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: "_pragma=busy_timeout(10000)"}
	h, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("open the SQLite file of %s: %w", db, err)
	}
	h.SetMaxOpenConns(1)
	x.dbs[db] = h
	return h, nil
}

// close closes the SQLite handles.
func (x *idIndexer) close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var errs []error
	for _, h := range x.dbs {
		errs = append(errs, h.Close())
	}
	clear(x.dbs)
	return errors.Join(errs...)
}
