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
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.opentelemetry.io/otel/trace"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/identitycode"
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
	// maxQueued bounds the events waiting to be written and the room calls keep for
	// theirs (Reserve); past it new calls are refused.
	maxQueued = 10_000
	// reservedPerCall is the room a call keeps for the events of what it changes: a
	// patient transfer audits both owners, and both again when it is taken back.
	reservedPerCall = 4
	// maxBatch and batchWindow bound one batch: whichever comes first.
	maxBatch    = 500
	batchWindow = 25 * time.Millisecond
	// retryMin and retryMax bound the pause between attempts at a failed batch.
	retryMin     = 50 * time.Millisecond
	retryMax     = 5 * time.Second
	writeTimeout = 10 * time.Second
	// drainTimeout bounds the final drain's attempts at shutdown: after the
	// Deployments' 5 s pre-stop pause and the gRPC server's grace period
	// (GRPC_SHUTDOWN_GRACE, 10 s by default), within the 30 s Kubernetes gives a pod
	// to stop. A batch being written when the writer stops is handed to the drain at
	// once, so nothing else waits in between.
	drainTimeout = 10 * time.Second
)

// Config is how long the audit log keeps its events: the same in every service,
// which each carries it in its Config beside GRPC, Mongo, Auth and Metrics.
type Config struct {
	// RetentionYears is how long an event is kept after it happened: 1–50, zero
	// (a Config built by hand) meaning DefaultRetentionYears. The events are the
	// controller's proof of who accessed whose data (GDPR Art. 5(2)
	// accountability) and answer the access report's "who at the clinic accessed
	// your data"; five years outlasts the three-year general limitation period of
	// claims (Act on the limitation of debts 728/2003 §4) with a margin for
	// a claim raised late in it and the proceedings that follow.
	RetentionYears int `env:"AUDIT_RETENTION_YEARS" envDefault:"5"`
}

// DefaultRetentionYears is AUDIT_RETENTION_YEARS' default.
const DefaultRetentionYears = 5

// Validate checks that the period is 1–50 years (zero means the default).
func (c Config) Validate() error {
	if c.RetentionYears != 0 && (c.RetentionYears < 1 || c.RetentionYears > 50) {
		return fmt.Errorf("AUDIT_RETENTION_YEARS must be 1–50, got %d", c.RetentionYears)
	}
	return nil
}

// Cutoff is the time before which events have passed their retention at now.
func (c Config) Cutoff(now time.Time) time.Time {
	years := c.RetentionYears
	if years == 0 {
		years = DefaultRetentionYears
	}
	return now.UTC().AddDate(-years, 0, 0)
}

// Event is one audited access.
type Event struct {
	// ID names the event, so that storing it again stores nothing: set by the caller
	// for an event a worker may repeat after dying around its write (ids only, no
	// data, as in Resource); else the writer gives it a new ObjectID's hex when it is
	// recorded, before the first attempt, so that a batch retried after a write whose
	// answer was lost is not stored twice.
	ID           string    `bson:"_id"`
	Time         time.Time `bson:"time"`
	ActorSubject string    `bson:"actor_subject"`
	ActorName    string    `bson:"actor_name,omitempty"`
	Roles        []string  `bson:"roles"`
	// System marks the service's own in-process work (auth.Identity.System), which no
	// token can claim; events stored before it was recorded lack it.
	System bool `bson:"system,omitempty"`
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

// Writer appends events to the service's audit collection. Routine events go
// through a queue that Run writes in batches, so that an audited read does not
// pay for a write of its own; events that must be stored before the caller is
// answered go through RecordNow. A call is let in only while the queue has room
// for its events and the store takes the batches (Reserve); an event a call
// records into its room is queued whatever happens meanwhile, since the change it
// audits may already be stored, and waits in the queue while the store refuses
// the batches. Other events are refused while the queue is full or the store
// refuses the batches, so that nothing is read without its event queued.
type Writer struct {
	coll   *mongo.Collection
	logger *slog.Logger
	queue  chan Event
	// mu orders every send to queue with reserved, so that no one takes a call's
	// room: len(queue)+reserved never exceeds cap(queue), and a send never blocks.
	mu sync.Mutex
	// reserved is the room the calls under way keep and have not used yet.
	reserved int
	// failing is set while the last batch could not be written.
	failing atomic.Bool
	// attempted, made for Await and guarded by mu, is closed once the next attempt at
	// a batch ends.
	attempted chan struct{}
	// drainFor is drainTimeout, shorter in tests.
	drainFor time.Duration
}

// NewWriter returns a writer on db's audit collection; logger reports batches
// that fail and audit writes no caller can be told about (denied calls). Call
// Run to write the queued events.
func NewWriter(db *mongo.Database, logger *slog.Logger) *Writer {
	return &Writer{coll: db.Collection(Collection), logger: logger, queue: make(chan Event, maxQueued), drainFor: drainTimeout}
}

// Indexes are the indexes the audit queries need: by data subject and by
// actor, newest first, and by time for the retention sweep.
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
		{Collection: Collection, Model: mongo.IndexModel{
			Keys:    bson.D{{Key: "time", Value: 1}},
			Options: options.Index().SetName("time"),
		}},
	}
}

// ErrUnavailable is returned by Reserve and Record while events cannot be stored;
// callers refuse the read or change rather than do it unaudited.
var ErrUnavailable = fmt.Errorf("audit log: %w", apperr.ErrUnavailable)

// Record queues the events for the next batch, filling each one's time,
// actor and roles (from the context's identity), purpose (from the call's
// x-purpose) and trace id when they are empty. The events go into the room ctx's
// call keeps (Reserve) as far as it reaches, and are then queued whatever the
// queue and the store do; beyond it, Record fails with ErrUnavailable while the
// queue is full or batches are failing. Either every event is queued or none is. A call
// that has used part of its room and records beyond it is logged (RoomOverrun).
func (w *Writer) Record(ctx context.Context, events ...Event) error {
	completed, err := completeAll(ctx, events)
	if err != nil {
		return err
	}
	over, err := w.enqueue(ctx, completed)
	if over != nil {
		w.overran(ctx, *over)
	}
	return err
}

// enqueue queues completed into the room of ctx's call and beyond it, or refuses them
// all; it reports an overrun for Record to log once w.mu is released, since every
// Reserve and Record waits on that lock.
//
// Only a call that has recorded into its room before is reported. The writer cannot
// tell a read from a change, and the first Record of a call is where a read records
// its events, one per owner it touched, as many as it found: refusing them all is
// safe for a read, as nothing was changed and nothing is answered. A change whose
// first Record alone outgrows the room is therefore not reported here.
func (w *Writer) enqueue(ctx context.Context, completed []Event) (*overrun, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.reservationOf(ctx)
	kept := min(r.left, len(completed))
	var over *overrun
	if beyond := len(completed) - kept; beyond > 0 {
		err := w.refusal(beyond)
		if r.left < r.size {
			over = &overrun{action: completed[kept].Action, beyond: beyond, refused: err != nil}
		}
		if err != nil {
			return over, err
		}
	}
	r.left -= kept
	w.reserved -= kept
	for _, e := range completed {
		w.queue <- e
	}
	return over, nil
}

// Reserve lets a call in: it fails with ErrUnavailable while the store refuses the
// batches or the queue has no room for a call's events, so that no change is made
// whose audit event could not then be queued. Otherwise it keeps room in the queue
// for the first events the call records with the context it returns, until release,
// which the call's end calls. A server reserves before each call.
func (w *Writer) Reserve(ctx context.Context) (_ context.Context, release func(), _ error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.refusal(reservedPerCall); err != nil {
		return ctx, func() {}, err
	}
	w.reserved += reservedPerCall
	r := &reservation{w: w, size: reservedPerCall, left: reservedPerCall}
	return context.WithValue(ctx, reservationKey{}, r), func() { w.release(r) }, nil
}

// reservation is the room one call keeps in a writer's queue: size events while the
// call is under way, of which left are not used yet; both guarded by the writer's mu.
type reservation struct {
	w    *Writer
	size int
	left int
}

type reservationKey struct{}

// reservationOf is the room ctx's call keeps in w's queue; none for work outside a
// call, or a call of another writer's server.
func (w *Writer) reservationOf(ctx context.Context) *reservation {
	if r, ok := ctx.Value(reservationKey{}).(*reservation); ok && r.w == w {
		return r
	}
	return &reservation{w: w}
}

func (w *Writer) release(r *reservation) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reserved -= r.left
	r.left, r.size = 0, 0
}

// RoomOverrun is the message the writer logs when a call that has recorded into its
// room records events beyond it: a change whose events outgrow reservedPerCall, whose
// last events a full queue or a failing store would refuse after the change is stored.
// Logged at ERROR when they are refused, else at WARN; the test environment
// (servicetest) fails a test whose service logs it.
const RoomOverrun = "audit events of a call beyond the room it keeps"

// overrun is a call's Record beyond its room once it has used part of it: the action
// of the first event beyond, how many are, and whether they were refused; never the
// events' data.
type overrun struct {
	action  string
	beyond  int
	refused bool
}

// overran logs o, at ERROR when its events were refused. w.mu is not held: the log's
// I/O would hold up every Reserve and Record.
func (w *Writer) overran(ctx context.Context, o overrun) {
	level := slog.LevelWarn
	if o.refused {
		level = slog.LevelError
	}
	w.logger.Log(ctx, level, RoomOverrun, "action", o.action, "beyond", o.beyond, "room", reservedPerCall, "refused", o.refused)
}

// refusal is why n events beyond any call's room cannot be queued now: the store
// refuses the batches, or the queue and the room kept have no space for them. w.mu
// is held.
func (w *Writer) refusal(n int) error {
	switch {
	case w.failing.Load():
		return fmt.Errorf("%w: the store refuses audit events", ErrUnavailable)
	case len(w.queue)+w.reserved+n > cap(w.queue):
		return fmt.Errorf("%w: %d events are waiting to be written or kept room for", ErrUnavailable, len(w.queue)+w.reserved)
	}
	return nil
}

// RecordNow stores the events before it returns: for accesses whose record
// must exist before the data leaves (an identity code shown in full).
func (w *Writer) RecordNow(ctx context.Context, events ...Event) error {
	completed, err := completeAll(ctx, events)
	if err != nil {
		return err
	}
	// The events are written even when the caller's call was cancelled: an access
	// that happened must not lose its audit record.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	return w.insert(wctx, completed)
}

// insert stores events unordered, so that an event whose id is taken (stored before)
// keeps none of the others out, and counts such an event as stored.
func (w *Writer) insert(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	_, err := w.coll.InsertMany(ctx, events, options.InsertMany().SetOrdered(false))
	if err != nil && !onlyStoredBefore(err) {
		return fmt.Errorf("record %d audit events: %w", len(events), err)
	}
	return nil
}

// onlyStoredBefore reports whether every write that failed in err failed on a taken
// id. The audit collection has no other unique index.
func onlyStoredBefore(err error) bool {
	var bw mongo.BulkWriteException
	if !errors.As(err, &bw) || bw.WriteConcernError != nil || len(bw.WriteErrors) == 0 {
		return false
	}
	for _, we := range bw.WriteErrors {
		if !mongox.IsDuplicateKey(we) {
			return false
		}
	}
	return true
}

func completeAll(ctx context.Context, events []Event) ([]Event, error) {
	out := make([]Event, len(events))
	for i, e := range events {
		if e.Action == "" || e.Outcome == "" {
			return nil, errors.New("audit event needs an action and an outcome")
		}
		out[i] = complete(ctx, e)
	}
	return out, nil
}

// Run writes queued events in batches until ctx is done, then writes what is
// still queued and returns. Stop the server first, so that no call records an
// event after Run has drained the queue.
func (w *Writer) Run(ctx context.Context) error {
	for {
		select {
		case e := <-w.queue:
			if unwritten := w.writeBatch(ctx, w.collect(ctx, e)); unwritten != nil {
				return w.drain(context.WithoutCancel(ctx), unwritten)
			}
		case <-ctx.Done():
			return w.drain(context.WithoutCancel(ctx), nil)
		}
	}
}

// collect gathers a batch that starts with first.
func (w *Writer) collect(ctx context.Context, first Event) []Event {
	batch := []Event{first}
	window := time.NewTimer(batchWindow)
	defer window.Stop()
	for len(batch) < maxBatch {
		select {
		case e := <-w.queue:
			batch = append(batch, e)
		case <-window.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// writeBatch writes one batch, retrying with backoff until it is stored or
// ctx is done; while it fails, Reserve lets no call in and Record refuses events
// beyond a call's room, while the events queued wait for the store. Each attempt has a
// deadline, so that a store that stops answering fails the log instead of holding
// the batch for good, and ends when ctx does: it then returns the batch, which the
// final drain takes over at once, within its own time (an event that attempt stored
// keeps its id, and is not stored twice).
func (w *Writer) writeBatch(ctx context.Context, batch []Event) (unwritten []Event) {
	pause := retryMin
	for {
		attempt, cancel := context.WithTimeout(ctx, writeTimeout)
		err := w.insert(attempt, batch)
		cancel()
		if err == nil {
			w.failing.Store(false)
			w.attemptEnded()
			return nil
		}
		if ctx.Err() != nil {
			return batch
		}
		w.failing.Store(true)
		w.logger.ErrorContext(ctx, "audit batch not stored; retrying", "events", len(batch), "error", err)
		w.attemptEnded()
		select {
		case <-time.After(pause):
			pause = min(2*pause, retryMax)
		case <-ctx.Done():
			return batch
		}
	}
}

// Await returns once cond holds, checked now and again each time an attempt at a batch
// ends, the batch stored or refused (Reserve and Record answer by what it saw), or with
// ctx's error when ctx ends first.
//
// It is for tests only, which wait on it for what the writer did with its queue instead
// of polling; no service calls it. It stays exported because the component tests of
// services/platform/service wait on the writer of a running service, and a test in
// another package reaches only exported API: an export_test.go is compiled into this
// package's own tests alone, and a helper in audittest would need an exported hook into
// the writer's attempts all the same.
func (w *Writer) Await(ctx context.Context, cond func() bool) error {
	for {
		next := w.nextAttempt()
		if cond() {
			return nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return fmt.Errorf("await the audit writer: %w", ctx.Err())
		}
	}
}

// nextAttempt is a channel closed once the next attempt at a batch ends.
func (w *Writer) nextAttempt() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.attempted == nil {
		w.attempted = make(chan struct{})
	}
	return w.attempted
}

// attemptEnded tells those waiting in Await; no channel is made while no one waits.
func (w *Writer) attemptEnded() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.attempted != nil {
		close(w.attempted)
		w.attempted = nil
	}
}

// drain writes unwritten, a batch the writer was writing when it stopped, and every
// event still queued, retrying with backoff for at most drainFor:
// the store may be failing over while the service stops, and an event not written now
// is lost. Events lost are logged by count (the log pipeline is where operators are
// alerted) and returned as the error, so that the process exits with a failure.
func (w *Writer) drain(ctx context.Context, unwritten []Event) error {
	ctx, cancel := context.WithTimeout(ctx, w.drainFor)
	defer cancel()
	batch := unwritten
	for len(w.queue) > 0 {
		batch = append(batch, <-w.queue)
	}
	pause := retryMin
	for attempt := 1; ; attempt++ {
		err := w.insert(ctx, batch)
		if err == nil {
			return nil
		}
		select {
		case <-time.After(pause):
			pause = min(2*pause, retryMax)
		case <-ctx.Done():
			w.logger.ErrorContext(ctx, "audit events lost at shutdown: the store refused them",
				"events", len(batch), "attempts", attempt, "error", err)
			return fmt.Errorf("audit events at shutdown: %d not stored after %d attempts: %w", len(batch), attempt, err)
		}
	}
}

// Denied records a call the authorization policy refused; its signature is
// auth.DeniedFunc. The reason names the method and the missing role, never data. When
// the request names an owner, the event is about them, so that their access report
// shows the attempt.
func (w *Writer) Denied(ctx context.Context, method string, id auth.Identity, reason string, req any) {
	err := w.Record(auth.WithIdentity(ctx, id), Event{
		Action: "rpc.denied", Resource: method, Outcome: OutcomeDenied, Reason: reason, SubjectOwnerID: deniedSubject(req),
	})
	if err != nil {
		w.logger.ErrorContext(ctx, "audit of a denied call failed", "method", method, "error", err)
	}
}

// Refusal is the event of a call about an owner that the policy let in and a rule of
// the service then refused (a role the request's content needs, the owner's data
// erased): denied and about the owner, so that their access report shows the attempt
// as it shows the policy's own refusals (Denied). rule names the rule, never data. It
// is the one way a service builds such an event.
func Refusal(action, resource, ownerID, rule string) Event {
	return Event{Action: action, Resource: resource, SubjectOwnerID: ownerID, Outcome: OutcomeDenied, Reason: rule}
}

// NowRecorder stores events before it returns (Writer.RecordNow).
type NowRecorder interface {
	RecordNow(ctx context.Context, events ...Event) error
}

// Deny stores refusal (a Refusal) with r before the answer, so that a refusal the
// caller is told of is in the owner's access report, and returns the answer: the
// refusal's rule as PERMISSION_DENIED (apperr.ErrPermissionDenied) saying the rule, or
// the audit's failure.
func Deny(ctx context.Context, r NowRecorder, refusal Event) error {
	if err := r.RecordNow(ctx, refusal); err != nil {
		return fmt.Errorf("audit a refused %s: %w", refusal.Action, err)
	}
	return apperr.New(apperr.ErrPermissionDenied, "%s", refusal.Reason)
}

// deniedSubject is the owner id a refused request names, as the register issues ids,
// and none when it is not a UUID: no handler checked the request, so only a parsed id,
// which cannot carry free text, is kept. A UUID in another form (capitals, braces,
// urn:uuid:) names the same owner, whose access report must show the attempt.
func deniedSubject(req any) string {
	r, ok := req.(interface{ GetOwnerId() string })
	if !ok {
		return ""
	}
	id, err := uuid.Parse(r.GetOwnerId())
	if err != nil {
		return ""
	}
	return id.String()
}

func complete(ctx context.Context, e Event) Event {
	if e.ID == "" {
		e.ID = bson.NewObjectID().Hex()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	if id, ok := auth.FromContext(ctx); ok {
		if e.ActorSubject == "" {
			e.ActorSubject = id.Subject
			e.System = id.System
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
	e = withoutIdentityCodes(e)
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

// withoutIdentityCodes removes any identity code from e's free text. The services
// refuse a code typed into free text, and the auth interceptor one in the stated
// purpose; one that still reaches an event (a purpose or reason built from something
// else) is removed before the event is stored, so that the log, kept for years and
// shown in access reports, never holds it, and again when events are read, for those
// stored before the writer removed them.
func withoutIdentityCodes(e Event) Event {
	e.Purpose = identitycode.Redact(e.Purpose)
	e.Reason = identitycode.Redact(e.Reason)
	e.ActorName = identitycode.Redact(e.ActorName)
	return e
}

// EachBySubject calls fn with every event about ownerID, oldest first, and stops
// at the first error fn returns. The events stream from the store: an owner with a
// long history costs no more memory than one event. No event carries an identity code
// (see withoutIdentityCodes).
func (w *Writer) EachBySubject(ctx context.Context, ownerID string, fn func(Event) error) error {
	cur, err := w.coll.Find(ctx,
		bson.D{{Key: "subject_owner_id", Value: ownerID}},
		options.Find().SetSort(bson.D{{Key: "time", Value: 1}, {Key: "_id", Value: 1}}).SetProjection(bson.D{{Key: "_id", Value: 0}}),
	)
	if err != nil {
		return fmt.Errorf("find audit events: %w", err)
	}
	defer func() { _ = cur.Close(context.WithoutCancel(ctx)) }()
	for cur.Next(ctx) {
		var e Event
		if err := cur.Decode(&e); err != nil {
			return fmt.Errorf("decode audit event: %w", err)
		}
		if err := fn(withoutIdentityCodes(e)); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("read audit events: %w", err)
	}
	return nil
}

// Sweep deletes the events that happened before the cutoff and returns how
// many. It is the retention rules' housekeeping, not an access to anyone's
// data, so it records no event of its own. MongoDB finds them by the time
// index; the embedded store scans the collection, once a day.
func (w *Writer) Sweep(ctx context.Context, before time.Time) (int64, error) {
	res, err := w.coll.DeleteMany(ctx, bson.D{{Key: "time", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}})
	if err != nil {
		return 0, fmt.Errorf("sweep audit events: %w", err)
	}
	return res.DeletedCount, nil
}
