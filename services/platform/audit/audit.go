// Package audit records who read or changed whose personal data, why, and
// with what outcome, in an append-only collection of the service's own
// database. The events feed the data subject's access report ("who at the
// clinic accessed the data") and the maintainers' accountability.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.opentelemetry.io/otel/trace"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/mongox"
)

// Collection is the audit collection's name in each service's database.
const Collection = "audit_events"

// Outcomes of an audited action.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	OutcomeFailed  = "failed"
)

const (
	// maxList bounds one ListBySubject page.
	maxList      = 1000
	writeTimeout = 10 * time.Second
)

// Event is one audited access.
type Event struct {
	Time         time.Time `bson:"time"`
	ActorSubject string    `bson:"actor_subject"`
	ActorName    string    `bson:"actor_name,omitempty"`
	Roles        []string  `bson:"roles"`
	// Action is "<resource kind>.<verb>", e.g. "owner.read".
	Action string `bson:"action"`
	// Resource names the record, e.g. "owners/<id>"; ids only, no data.
	Resource string `bson:"resource"`
	// SubjectOwnerID is the owner whose data it is, for the access report.
	SubjectOwnerID string `bson:"subject_owner_id,omitempty"`
	Purpose        string `bson:"purpose,omitempty"`
	Outcome        string `bson:"outcome"`
	TraceID        string `bson:"trace_id,omitempty"`
	// Reason says why a call was denied or failed; never personal data.
	Reason string `bson:"reason,omitempty"`
}

// Writer appends events to the service's audit collection.
type Writer struct {
	coll   *mongo.Collection
	logger *slog.Logger
}

// NewWriter returns a writer on db's audit collection; logger reports audit writes
// that fail where no caller can be told (denied calls).
func NewWriter(db *mongo.Database, logger *slog.Logger) *Writer {
	return &Writer{coll: db.Collection(Collection), logger: logger}
}

// Indexes are the indexes the audit queries need: by data subject and by
// actor, newest first.
func (w *Writer) Indexes() []mongox.Index {
	return []mongox.Index{
		{Collection: Collection, Model: mongo.IndexModel{
			Keys:    bson.D{{Key: "subject_owner_id", Value: 1}, {Key: "time", Value: -1}},
			Options: options.Index().SetName("subject_owner_id_time"),
		}},
		{Collection: Collection, Model: mongo.IndexModel{
			Keys:    bson.D{{Key: "actor_subject", Value: 1}, {Key: "time", Value: -1}},
			Options: options.Index().SetName("actor_subject_time"),
		}},
	}
}

// Record appends the events in one write, filling each one's time, actor and roles
// (from the context's identity), purpose (from the call's x-purpose) and trace id when
// they are empty.
func (w *Writer) Record(ctx context.Context, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	docs := make([]any, len(events))
	for i, e := range events {
		if e.Action == "" || e.Outcome == "" {
			return errors.New("audit event needs an action and an outcome")
		}
		docs[i] = complete(ctx, e)
	}
	// The events are written even when the caller's call was cancelled: an access
	// that happened must not lose its audit record.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if _, err := w.coll.InsertMany(wctx, docs); err != nil {
		return fmt.Errorf("record audit event %s: %w", events[0].Action, err)
	}
	return nil
}

// Denied records a call the authorization policy refused; its signature is
// auth.DeniedFunc. The reason names the method and the missing role, never data.
func (w *Writer) Denied(ctx context.Context, method string, id auth.Identity, reason string) {
	err := w.Record(auth.WithIdentity(ctx, id), Event{Action: "rpc.denied", Resource: method, Outcome: OutcomeDenied, Reason: reason})
	if err != nil {
		w.logger.ErrorContext(ctx, "audit of a denied call failed", "method", method, "error", err)
	}
}

func complete(ctx context.Context, e Event) Event {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	if id, ok := auth.FromContext(ctx); ok {
		if e.ActorSubject == "" {
			e.ActorSubject = id.Subject
			if e.ActorName == "" {
				e.ActorName = id.Name
			}
		}
		if e.Roles == nil {
			e.Roles = id.RoleNames()
		}
	}
	if e.Purpose == "" {
		e.Purpose = auth.Purpose(ctx)
	}
	if e.TraceID == "" {
		if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
			e.TraceID = sc.TraceID().String()
		}
	}
	if e.Roles == nil {
		e.Roles = []string{}
	}
	return e
}

// ListBySubject returns the newest events about ownerID, at most limit
// (capped at 1000).
func (w *Writer) ListBySubject(ctx context.Context, ownerID string, limit int) ([]Event, error) {
	if limit <= 0 || limit > maxList {
		limit = maxList
	}
	cur, err := w.coll.Find(ctx,
		bson.D{{Key: "subject_owner_id", Value: ownerID}},
		options.Find().SetSort(bson.D{{Key: "time", Value: -1}}).SetLimit(int64(limit)).SetProjection(bson.D{{Key: "_id", Value: 0}}),
	)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	var events []Event
	if err := cur.All(ctx, &events); err != nil {
		return nil, fmt.Errorf("read audit events: %w", err)
	}
	return events, nil
}
