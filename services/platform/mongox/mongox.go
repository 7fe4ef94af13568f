// Package mongox connects to MongoDB (or the embedded store) with tracing of
// every command, declares indexes, and maps driver errors to the platform's
// domain errors without leaking the driver's messages, which can quote key
// values (personal data).
package mongox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/telemetry"
)

// Config names the server and the service's own database.
type Config struct {
	// URI may hold the database user's password; MONGO_URI_FILE may name a file
	// holding it.
	URI      string `env:"MONGO_URI" secret:"file"`
	Database string `env:"MONGO_DATABASE"`
}

// Validate checks that both values are set. It never repeats the URI, which
// may hold a password.
func (c Config) Validate() error {
	var errs []error
	if c.URI == "" {
		errs = append(errs, errors.New("MONGO_URI is required"))
	}
	if c.Database == "" {
		errs = append(errs, errors.New("MONGO_DATABASE is required"))
	}
	return errors.Join(errs...)
}

const connectTimeout = 10 * time.Second

// Connect opens a client, with a command monitor that traces every command
// through tel's tracer provider when tel records spans, and pings the server so
// that a wrong URI fails at start-up.
func Connect(ctx context.Context, uri string, tel *telemetry.Telemetry) (*mongo.Client, error) {
	if tel == nil {
		tel = telemetry.Noop(nil)
	}
	opts := options.Client().
		ApplyURI(uri).
		SetConnectTimeout(connectTimeout).
		SetServerSelectionTimeout(connectTimeout).
		SetLoggerOptions(noCommandLog())
	if tel.Tracing {
		// Without it the driver does not even build the command events.
		opts.SetMonitor(newMonitor(tel.TracerProvider))
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		// The driver's message may contain the URI and so a password.
		return nil, errors.New("connect to MongoDB: invalid MONGO_URI or client options")
	}
	if err := client.Ping(ctx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("ping MongoDB: %w", err)
	}
	return client, nil
}

// noCommandLog keeps the driver from logging commands. The driver reads MONGODB_LOG_ALL
// and MONGODB_LOG_COMMAND itself, and at debug writes every command and reply to
// stderr with its documents: personal data. A level set here wins over the
// environment's for its component; the "all" level is checked beside each component's,
// so it is turned off too (at info it would log other components' info messages on
// every start). The other components (topology, server selection, connection:
// addresses, no documents) still follow their own variables and MONGODB_LOG_ALL.
func noCommandLog() *options.LoggerOptions {
	return options.Logger().
		SetComponentLevel(options.LogComponentAll, logOff).
		SetComponentLevel(options.LogComponentCommand, logOff)
}

// logOff is the driver's level "off", which its options do not name.
const logOff = options.LogLevel(0)

// Index is one index of one collection.
type Index struct {
	Collection string
	Model      mongo.IndexModel
}

// EnsureIndexes creates the indexes that do not exist yet; existing ones
// with the same definition are left alone. It sends one createIndexes command
// per index: FerretDB v1 crashes the connection when one command names several
// indexes of which more than one already exists.
func EnsureIndexes(ctx context.Context, db *mongo.Database, idx []Index) error {
	for _, i := range idx {
		if _, err := db.Collection(i.Collection).Indexes().CreateOne(ctx, i.Model); err != nil {
			return fmt.Errorf("create index on %s: %w", i.Collection, err)
		}
	}
	return nil
}

// IsDuplicateKey reports whether err is a unique index violation.
func IsDuplicateKey(err error) bool {
	return mongo.IsDuplicateKeyError(err)
}

// MapError maps "no document" to apperr.ErrNotFound and a duplicate key to
// apperr.ErrAlreadyExists, dropping the driver's message; other errors pass
// unchanged.
func MapError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("no matching document: %w", apperr.ErrNotFound)
	case IsDuplicateKey(err):
		return fmt.Errorf("duplicate key: %w", apperr.ErrAlreadyExists)
	default:
		return err
	}
}

// QueryShape is the filter and sort keys of one repository query, in index order, for
// the test that checks each is served by a declared index.
type QueryShape struct {
	Collection string
	Keys       []string
}

// Uncovered returns the shapes that are not a prefix of any of the indexes, so that a
// repository's test can fail for a query production MongoDB would answer by a scan.
func Uncovered(indexes []Index, shapes []QueryShape) []QueryShape {
	var out []QueryShape
	for _, q := range shapes {
		covered := slices.ContainsFunc(indexes, func(ix Index) bool {
			keys, ok := ix.Model.Keys.(bson.D)
			if !ok || ix.Collection != q.Collection || len(keys) < len(q.Keys) {
				return false
			}
			for i, k := range q.Keys {
				if keys[i].Key != k {
					return false
				}
			}
			return true
		})
		if !covered {
			out = append(out, q)
		}
	}
	return out
}
