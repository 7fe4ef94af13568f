package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// waitFor bounds how long a test waits for the writer to see the store fail or to
// write a backlog of a full queue, on a loaded machine.
const waitFor = 2 * time.Minute

// running is a writer's Run in the background, started once.
type running struct {
	w     *Writer
	once  sync.Once
	stopc context.CancelFunc
	done  chan error
}

func (r *running) start(ctx context.Context) {
	r.once.Do(func() {
		ctx, r.stopc = context.WithCancel(ctx)
		r.done = make(chan error, 1)
		go func() { r.done <- r.w.Run(ctx) }()
	})
}

// stop stops the writer, which writes what is queued, and answers Run's error.
func (r *running) stop(ctx context.Context) error {
	r.start(ctx)
	r.stopc()
	return <-r.done
}

// until waits for cond (Writer.Await), failing the test if it does not hold within
// waitFor.
func until(t *testing.T, w *Writer, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	if err := w.Await(ctx, cond); err != nil {
		t.Fatalf("%s: %v within %s", what, err, waitFor)
	}
}

// TestAnEventOfACallLetInIsQueued: a call let in (Reserve) that then stores a change
// records the change's event although, between the check and the record, other calls
// filled the queue or the store began to refuse the batches; the event waits in the
// queue and is stored once the store takes batches again. Meanwhile no new call is let
// in, and an event outside a call's room is refused, as before.
func TestAnEventOfACallLetInIsQueued(t *testing.T) {
	other := Event{Action: "owner.read", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: OutcomeSuccess}
	for _, tc := range []struct {
		name string
		// meanwhile makes the writer refuse events outside a call's room.
		meanwhile func(t *testing.T, ctx context.Context, w *Writer, link *outage, run *running)
	}{
		{"other calls filled the queue", func(t *testing.T, ctx context.Context, w *Writer, _ *outage, _ *running) {
			for i := 0; w.Record(ctx, other) == nil; i++ {
				if i > maxQueued {
					t.Fatalf("the queue took %d events", i)
				}
			}
		}},
		{"the store refuses the batches", func(t *testing.T, ctx context.Context, w *Writer, link *outage, run *running) {
			link.set(true)
			if err := w.Record(ctx, other); err != nil {
				t.Fatal(err)
			}
			run.start(t.Context())
			until(t, w, "the writer sees the store refuse its batch", func() bool { return w.failing.Load() })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := embeddedtest.Start(t)
			link := &outage{}
			client, err := mongo.Connect(options.Client().ApplyURI(store.URI()).SetDialer(link).
				SetServerSelectionTimeout(200 * time.Millisecond).SetHeartbeatInterval(500 * time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
			w := NewWriter(client.Database("auditreserve"), slog.New(slog.DiscardHandler))
			run := &running{w: w}
			ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "staff-7"})

			call, release, err := w.Reserve(ctx)
			if err != nil {
				t.Fatalf("a call was not let in: %v", err)
			}
			tc.meanwhile(t, ctx, w, link, run)
			if err := w.Record(ctx, other); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("an event outside a call's room: %v, want ErrUnavailable", err)
			}
			if _, _, err := w.Reserve(ctx); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("a new call: %v, want ErrUnavailable", err)
			}
			changed := Event{Action: "owner.update", Resource: "owners/o-2", SubjectOwnerID: "o-2", Outcome: OutcomeSuccess}
			if err := w.Record(call, changed); err != nil {
				t.Fatalf("the event of the stored change: %v", err)
			}
			release()
			link.set(false)
			run.start(t.Context())
			stored := func() int64 {
				n, err := w.coll.CountDocuments(t.Context(), bson.M{"subject_owner_id": "o-2"})
				if err != nil {
					return 0
				}
				return n
			}
			until(t, w, "the change's event is stored", func() bool { return stored() == 1 })
			if err := run.stop(t.Context()); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if _, release, err := w.Reserve(ctx); err != nil {
				t.Errorf("a call once the events are written: %v", err)
			} else {
				release()
			}
		})
	}
}

// TestACallsRoom: a call's room takes its first events whatever the queue holds and is
// freed when the call ends; events beyond it are queued only while the queue has space,
// all of a Record or none; a Record outside any call takes none of the room.
func TestACallsRoom(t *testing.T) {
	// Nothing is written: the queue alone is under test.
	w := &Writer{queue: make(chan Event, maxQueued), logger: slog.New(slog.DiscardHandler)}
	ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "staff-7"})
	ev := Event{Action: "owner.read", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: OutcomeSuccess}
	events := func(n int) []Event {
		out := make([]Event, n)
		for i := range out {
			out[i] = ev
		}
		return out
	}
	call, release, err := w.Reserve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Record(ctx, events(maxQueued-reservedPerCall)...); err != nil {
		t.Fatalf("filling the queue but the call's room: %v", err)
	}
	steps := []struct {
		name   string
		ctx    context.Context
		events int
		queued bool
	}{
		{"an event outside the call", ctx, 1, false},
		{"more than the call's room", call, reservedPerCall + 1, false},
		{"the call's room", call, reservedPerCall, true},
		{"the call's room once used", call, 1, false},
	}
	for _, s := range steps {
		before := len(w.queue)
		err := w.Record(s.ctx, events(s.events)...)
		if queued := err == nil; queued != s.queued || (err != nil && !errors.Is(err, ErrUnavailable)) {
			t.Fatalf("%s: %v, want queued %v", s.name, err, s.queued)
		}
		want := before
		if s.queued {
			want += s.events
		}
		if len(w.queue) != want {
			t.Fatalf("%s: %d events queued, want %d", s.name, len(w.queue), want)
		}
	}
	release()
	for range maxQueued {
		<-w.queue
	}
	held := make([]func(), 0, maxQueued/reservedPerCall)
	for {
		_, release, err := w.Reserve(ctx)
		if err != nil {
			break
		}
		held = append(held, release)
	}
	if len(held) != maxQueued/reservedPerCall {
		t.Fatalf("%d calls let in on an empty queue, want %d", len(held), maxQueued/reservedPerCall)
	}
	held[0]()
	if _, _, err := w.Reserve(ctx); err != nil {
		t.Fatalf("a call once another ended: %v", err)
	}
}

// TestACallBeyondItsRoomIsLogged: a call that has recorded into its room and then records
// events beyond it (a change whose events outgrow the room) is logged as RoomOverrun: at
// WARN while the queue still takes them, at ERROR when they are refused, with the action
// and never the events' data. A call whose events fit its room, a read recording beyond
// it in its first Record (all refused or none), work outside a call and a call already
// ended are not.
func TestACallBeyondItsRoomIsLogged(t *testing.T) {
	const owner = "0190f5a4-1111-7000-8000-0000000000aa"
	for _, tc := range []struct {
		name string
		// records are the sizes of the call's Records, in order.
		records []int
		// outside records outside any call; ended records after the call's end.
		outside, ended bool
		// full fills the queue with other events before the last Record.
		full bool
		// level is the level logged, none when empty.
		level   string
		refused bool
	}{
		{name: "the room in two records", records: []int{2, 2}},
		{name: "a read beyond the room in one record", records: []int{reservedPerCall + 2}},
		{name: "a fifth event in a later record", records: []int{reservedPerCall, 1}, level: "WARN"},
		{name: "a later record past the room's rest", records: []int{1, reservedPerCall}, level: "WARN"},
		{name: "a fifth event refused", records: []int{reservedPerCall, 1}, full: true, level: "ERROR", refused: true},
		{name: "outside any call, refused", records: []int{1}, outside: true, full: true, refused: true},
		{name: "after the call ended, refused", records: []int{1, 1}, ended: true, full: true, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			w := &Writer{queue: make(chan Event, maxQueued), logger: slog.New(slog.NewJSONHandler(&logs, nil))}
			ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "staff-7"})
			call, release, err := w.Reserve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.outside {
				call = ctx
			}
			ev := Event{Action: "patient.transfer", Resource: "patients/" + owner, SubjectOwnerID: owner, Outcome: OutcomeSuccess}
			var last error
			for i, n := range tc.records {
				final := i == len(tc.records)-1
				if final && tc.ended {
					release()
				}
				if final && tc.full {
					for w.Record(ctx, Event{Action: "owner.read", Outcome: OutcomeSuccess}) == nil {
					}
				}
				last = w.Record(call, slices.Repeat([]Event{ev}, n)...)
				if !final && last != nil {
					t.Fatalf("record %d: %v", i+1, last)
				}
			}
			if refused := errors.Is(last, ErrUnavailable); refused != tc.refused || (last != nil && !refused) {
				t.Fatalf("the last record: %v, want refused %v", last, tc.refused)
			}
			got := logs.String()
			if strings.Contains(got, owner) {
				t.Errorf("the log names the owner: %s", got)
			}
			var entry struct {
				Level, Msg, Action string
			}
			if got != "" {
				if err := json.Unmarshal([]byte(got), &entry); err != nil {
					t.Fatalf("log %q: %v", got, err)
				}
			}
			if entry.Level != tc.level || (tc.level != "" && (entry.Msg != RoomOverrun || entry.Action != ev.Action)) {
				t.Errorf("logged %q, want %s", got, cmp.Or(tc.level, "nothing"))
			}
		})
	}
}

// lockProbe is a log that notes, for each line written, whether the writer's mu was held.
type lockProbe struct {
	w    *Writer
	held []bool
}

func (p *lockProbe) Write(b []byte) (int, error) {
	free := p.w.mu.TryLock()
	if free {
		p.w.mu.Unlock()
	}
	p.held = append(p.held, !free)
	return len(b), nil
}

// TestAnOverrunIsLoggedOutsideTheLock: the log line of a call beyond its room is written
// once the writer's lock is released, queued or refused: every Reserve and Record waits
// on that lock, and would wait on the log's I/O too.
func TestAnOverrunIsLoggedOutsideTheLock(t *testing.T) {
	for _, tc := range []struct {
		name string
		full bool
	}{
		{"queued", false},
		{"refused", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &Writer{queue: make(chan Event, maxQueued)}
			probe := &lockProbe{w: w}
			w.logger = slog.New(slog.NewJSONHandler(probe, nil))
			call, release, err := w.Reserve(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			ev := Event{Action: "patient.transfer", Resource: "patients/p-1", Outcome: OutcomeSuccess}
			if err := w.Record(call, slices.Repeat([]Event{ev}, reservedPerCall)...); err != nil {
				t.Fatal(err)
			}
			if tc.full {
				for w.Record(t.Context(), ev) == nil {
				}
			}
			if err := w.Record(call, ev); (err != nil) != tc.full {
				t.Fatalf("the record beyond the room: %v, want refused %v", err, tc.full)
			}
			if !slices.Equal(probe.held, []bool{false}) {
				t.Errorf("log lines written with the lock held: %v, want one without", probe.held)
			}
		})
	}
}
