package audit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// outage is the network between the writer and its store: while down, every
// connection is cut and no new one opens.
type outage struct {
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func (o *outage) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down {
		return nil, errors.New("the store is unreachable")
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		o.conns = append(o.conns, c)
	}
	return c, err
}

func (o *outage) set(down bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = down
	if down {
		for _, c := range o.conns {
			_ = c.Close()
		}
		o.conns = nil
	}
}

// syncBuffer is a log the writer's goroutine writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDrainOutlastsAStoreOutage stops a writer whose store is unreachable, with events
// queued: the final drain retries until the store is back, or until its time is up,
// when it logs how many events it lost, and nothing of them but their number.
func TestDrainOutlastsAStoreOutage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		downFor  time.Duration
		drainFor time.Duration
		stored   int64
	}{
		{"the store comes back", 700 * time.Millisecond, 10 * time.Second, 3},
		{"the store stays away", time.Hour, 700 * time.Millisecond, 0},
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
			var log syncBuffer
			w := NewWriter(client.Database("auditdrain"), slog.New(slog.NewJSONHandler(&log, nil)))
			w.drainFor = tc.drainFor
			ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "staff-7", Name: "Staff Seven"})
			for range 3 {
				if err := w.Record(ctx, Event{Action: "owner.read", Resource: "owners/o-7", SubjectOwnerID: "o-7", Outcome: OutcomeSuccess}); err != nil {
					t.Fatal(err)
				}
			}
			if err := client.Ping(t.Context(), nil); err != nil {
				t.Fatal(err)
			}
			link.set(true)
			time.AfterFunc(tc.downFor, func() { link.set(false) })
			stopped, stop := context.WithCancel(t.Context())
			stop()
			err = w.Run(stopped)

			if (err == nil) != (tc.stored == 3) {
				t.Fatalf("Run: %v", err)
			}
			direct := embeddedtest.Client(t, store.URI())
			n, cerr := direct.Database("auditdrain").Collection(Collection).CountDocuments(t.Context(), bson.M{})
			if cerr != nil || n != tc.stored {
				t.Fatalf("stored %d events, %v; want %d", n, cerr, tc.stored)
			}
			logged := log.String()
			if lost := strings.Contains(logged, `"msg":"audit events lost at shutdown`); lost != (tc.stored == 0) {
				t.Fatalf("lost logged %v: %s", lost, logged)
			}
			if tc.stored == 0 && (!strings.Contains(logged, `"events":3`) || strings.Contains(logged, "o-7") || strings.Contains(logged, "Staff Seven")) {
				t.Fatalf("the log should count the lost events and name nothing of them: %s", logged)
			}
		})
	}
}

// TestARetriedBatchIsStoredOnce writes the same recorded batch twice, as the writer does
// when a write succeeded but its answer was lost: the events are stored once.
func TestARetriedBatchIsStoredOnce(t *testing.T) {
	store := embeddedtest.Start(t)
	client := embeddedtest.Client(t, store.URI())
	w := NewWriter(client.Database("auditretry"), slog.New(slog.DiscardHandler))
	batch, err := completeAll(t.Context(), []Event{
		{Action: "owner.read", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: OutcomeSuccess},
		{Action: "owner.update", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: OutcomeSuccess},
	})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := range 2 {
		if err := w.insert(t.Context(), batch); err != nil {
			t.Fatalf("attempt %d: %v", attempt+1, err)
		}
	}
	n, err := w.coll.CountDocuments(t.Context(), bson.M{})
	if err != nil || n != 2 {
		t.Fatalf("stored %d events, %v; want 2", n, err)
	}
}

// silence is a store that stops answering without closing its connections (a
// partitioned primary): once on, reads wait until the connection is closed.
type silence struct {
	on atomic.Bool
}

type silentConn struct {
	net.Conn
	s      *silence
	closed chan struct{}
	once   sync.Once
}

func (c *silentConn) Read(p []byte) (int, error) {
	if c.s.on.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Read(p)
}

func (c *silentConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (s *silence) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &silentConn{Conn: c, s: s, closed: make(chan struct{})}, nil
}

// TestStopWhileABatchIsBeingWritten stops the writer while a batch's write waits on a
// store that is gone or has gone silent: Run hands the batch to the final drain at once
// and returns within the drain's time, reporting the events it could not store,
// instead of waiting for the write (for good, on a silent store) and overrunning the
// time the pod has to stop.
func TestStopWhileABatchIsBeingWritten(t *testing.T) {
	for _, tc := range []struct {
		name string
		// store returns the client's dialer and what cuts the store off.
		store func() (options.ContextDialer, func())
	}{
		{"unreachable", func() (options.ContextDialer, func()) {
			link := &outage{}
			return link, func() { link.set(true) }
		}},
		{"silent", func() (options.ContextDialer, func()) {
			quiet := &silence{}
			return quiet, func() { quiet.on.Store(true) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := embeddedtest.Start(t)
			dialer, cut := tc.store()
			client, err := mongo.Connect(options.Client().ApplyURI(store.URI()).SetDialer(dialer).
				SetServerSelectionTimeout(3 * time.Second).SetHeartbeatInterval(500 * time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
			if err := client.Ping(t.Context(), nil); err != nil {
				t.Fatal(err)
			}
			w := NewWriter(client.Database("auditstop"), slog.New(slog.DiscardHandler))
			w.drainFor = time.Second
			cut()
			ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "staff-7"})
			if err := w.Record(ctx, Event{Action: "owner.read", Resource: "owners/o-7", SubjectOwnerID: "o-7", Outcome: OutcomeSuccess}); err != nil {
				t.Fatal(err)
			}
			running, stop := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- w.Run(running) }()
			time.Sleep(300 * time.Millisecond) // the batch's write is waiting on the store
			stop()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("Run reported the events stored")
				}
			case <-time.After(w.drainFor + 700*time.Millisecond):
				t.Fatalf("Run has not returned %s after it was stopped", w.drainFor+700*time.Millisecond)
			}
		})
	}
}

// gate is a network to a store not up yet: dials wait until open is closed.
type gate struct{ open chan struct{} }

func (g *gate) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}

// TestStopWithAFullQueueLosesNoBatch stops the writer while its first batch waits on
// a store not up yet and the queue has filled behind it: the batch goes to the final
// drain with the queue, and every event Record accepted is stored.
func TestStopWithAFullQueueLosesNoBatch(t *testing.T) {
	store := embeddedtest.Start(t)
	link := &gate{open: make(chan struct{})}
	client, err := mongo.Connect(options.Client().ApplyURI(store.URI()).SetDialer(link).
		SetServerSelectionTimeout(30 * time.Second).SetHeartbeatInterval(500 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	w := NewWriter(client.Database("audithandover"), slog.New(slog.DiscardHandler))
	ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "staff-7"})
	ev := Event{Action: "owner.read", Resource: "owners/o-7", SubjectOwnerID: "o-7", Outcome: OutcomeSuccess}
	if err := w.Record(ctx, ev); err != nil {
		t.Fatal(err)
	}
	running, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(running) }()
	time.Sleep(300 * time.Millisecond) // the first batch's attempt waits on the store
	for i := range maxQueued {
		if err := w.Record(ctx, ev); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
	stop()
	close(link.open)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	n, err := embeddedtest.Client(t, store.URI()).Database("audithandover").Collection(Collection).CountDocuments(t.Context(), bson.M{})
	if err != nil || n != maxQueued+1 {
		t.Fatalf("stored %d events, %v; want every one of the %d recorded", n, err, maxQueued+1)
	}
}
