package service_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	auditv1 "github.com/lillvet/register/proto/gen/go/lillvet/audit/v1"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/audit/audittest"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/grpcserver"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/service"
	"github.com/lillvet/register/services/platform/servicetest"
	"github.com/lillvet/register/services/platform/tlsconf"
)

const database = "lillvet_service_test"

// echo is the smallest service: it answers EmptyCall.
type echo struct {
	testgrpc.UnimplementedTestServiceServer
}

func (echo) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	return &testgrpc.Empty{}, nil
}

// spec is a service named "echo" on env, listening on a fresh loopback port.
func spec(t *testing.T, env *servicetest.Env) service.Spec {
	t.Helper()
	l := servicetest.Listen(t)
	return service.Spec{
		Name: "echo",
		Base: service.Base{
			GRPC:      grpcserver.Config{Addr: l.Addr().String(), TLS: env.TLS, MaxRecvMsgBytes: 1 << 20, MaxConcurrentStreams: 8},
			Mongo:     mongox.Config{URI: env.Store.URI(), Database: database},
			Auth:      env.Auth,
			Listener:  l,
			Telemetry: env.Telemetry,
		},
		Indexes: []mongox.Index{{Collection: "things", Model: mongo.IndexModel{
			Keys: bson.D{{Key: "name", Value: 1}}, Options: options.Index().SetName("things_name"),
		}}},
		Policy: auth.Policy{testgrpc.TestService_EmptyCall_FullMethodName: {Roles: []auth.Role{auth.RoleNurse}}},
		Register: func(d *service.Deps) error {
			testgrpc.RegisterTestServiceServer(d, echo{})
			return nil
		},
	}
}

func TestRunServesTheService(t *testing.T) {
	env := servicetest.New(t)
	s := spec(t, env)
	metricsL := servicetest.Listen(t)
	s.Base.MetricsListener = metricsL
	taskStopped := make(chan struct{})
	register := s.Register
	s.Register = func(d *service.Deps) error {
		d.Go(func(ctx context.Context) error {
			<-ctx.Done()
			defer close(taskStopped)
			// A task stopped halfway records what it did after the server has stopped.
			time.Sleep(200 * time.Millisecond)
			return d.Auditor.Record(ctx, audit.Event{Action: "task.stopped", Resource: "tasks/1", Outcome: audit.OutcomeSuccess})
		})
		return register(d)
	}
	svc := env.Serve(t, s.Base.Listener.Addr().String(), func(ctx context.Context) error { return service.Run(ctx, s) })
	client := testgrpc.NewTestServiceClient(svc.Conn)

	tests := []struct {
		name string
		role auth.Role
		want codes.Code
	}{
		{"a role in the policy", auth.RoleNurse, codes.OK},
		{"a role not in the policy", auth.RoleBilling, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.EmptyCall(env.As(t, tt.role), &testgrpc.Empty{})
			servicetest.WantCode(t, err, tt.want)
		})
	}

	raw := embeddedtest.Client(t, env.Store.URI())
	db := raw.Database(database)
	t.Run("the service's and the audit log's indexes exist", func(t *testing.T) {
		names, err := db.Collection("things").Indexes().ListSpecifications(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !hasIndex(names, "things_name") {
			t.Errorf("indexes of things = %v, want things_name", names)
		}
		colls, err := db.ListCollectionNames(t.Context(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		if len(colls) < 2 {
			t.Errorf("collections = %v, want things and the audit log's", colls)
		}
	})

	svc.Stop()
	select {
	case <-taskStopped:
	default:
		t.Error("Run returned before its task saw the stop")
	}
	if _, err := metricsL.Accept(); err == nil {
		t.Error("the metrics listener is still open after Run returned")
	}
	t.Run("the denied call is in the audit log", func(t *testing.T) {
		n, err := db.Collection("audit_events").CountDocuments(t.Context(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Error("no audit event after a refused call")
		}
	})
	t.Run("the task's event after the stop is in the audit log", func(t *testing.T) {
		n, err := db.Collection("audit_events").CountDocuments(t.Context(), bson.D{{Key: "action", Value: "task.stopped"}})
		if err != nil || n != 1 {
			t.Errorf("%d events of the stopped task, %v; want 1", n, err)
		}
	})
}

func hasIndex(specs []mongo.IndexSpecification, name string) bool {
	for _, s := range specs {
		if s.Name == name {
			return true
		}
	}
	return false
}

func TestRunGivesThePeersConnections(t *testing.T) {
	env := servicetest.New(t)
	s := spec(t, env)
	s.Peers = []service.Peer{
		{Name: "owner", Target: "127.0.0.1:7101", TLS: env.TLS},
		{Name: "consent", Target: "127.0.0.1:7102", TLS: env.TLS},
	}
	targets := map[string]string{}
	register := s.Register
	s.Register = func(d *service.Deps) error {
		for _, p := range s.Peers {
			targets[p.Name] = d.Conn(p.Name).CanonicalTarget()
		}
		return register(d)
	}
	svc := env.Serve(t, s.Base.Listener.Addr().String(), func(ctx context.Context) error { return service.Run(ctx, s) })
	svc.Stop()
	for _, p := range s.Peers {
		if !strings.HasSuffix(targets[p.Name], p.Target) {
			t.Errorf("connection to %s goes to %q, want %s", p.Name, targets[p.Name], p.Target)
		}
	}
}

func TestRunFailsEarly(t *testing.T) {
	env := servicetest.New(t)
	tests := []struct {
		name   string
		change func(s *service.Spec)
		want   string
	}{
		{
			name: "invalid configuration",
			change: func(s *service.Spec) {
				s.Validate = func() error { return errors.New("OWNER_GRPC_TARGET is required") }
			},
			want: "echo config: OWNER_GRPC_TARGET is required",
		},
		// A bad TLS file stops the service with its configuration, before it opens a
		// listener or connects to the store, the token issuer or a peer.
		{
			name:   "no serving certificate",
			change: func(s *service.Spec) { s.Base.GRPC.TLS = tlsconf.Files{} },
			want:   "echo config: TLS_CERT_FILE and TLS_KEY_FILE are required",
		},
		{
			name:   "serving certificate unreadable",
			change: func(s *service.Spec) { s.Base.GRPC.TLS.CertFile = t.TempDir() },
			want:   "echo config: TLS_CERT_FILE: read ",
		},
		{
			name:   "serving key not the certificate's",
			change: func(s *service.Spec) { s.Base.GRPC.TLS.KeyFile = s.Base.GRPC.TLS.CAFile },
			want:   "echo config: TLS_CERT_FILE and TLS_KEY_FILE: ",
		},
		{
			name:   "token issuer's CA no certificate",
			change: func(s *service.Spec) { s.Base.Auth.CAFile = s.Base.GRPC.TLS.KeyFile },
			want:   "echo config: AUTH_CA_FILE: CA file ",
		},
		{
			name: "metrics address taken",
			change: func(s *service.Spec) {
				s.Base.Metrics.Addr = s.Base.MetricsListener.Addr().String()
				s.Base.MetricsListener = nil
			},
			want: "echo metrics: ",
		},
		{
			name: "peer TLS files missing",
			change: func(s *service.Spec) {
				s.Peers = []service.Peer{{Name: "owner", Target: "127.0.0.1:7101", TLS: tlsconf.Files{CAFile: "/nonexistent/ca.pem"}}}
			},
			want: "echo owner client: ",
		},
		{
			name:   "register fails",
			change: func(s *service.Spec) { s.Register = func(*service.Deps) error { return errors.New("no keys") } },
			want:   "echo: no keys",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(t, env)
			metricsL := servicetest.Listen(t)
			s.Base.MetricsListener = metricsL
			tt.change(&s)
			// A Run that does not fail would serve until the deadline.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			err := service.Run(ctx, s)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error starting %q", err, tt.want)
			}
			if s.Base.MetricsListener == nil {
				return // the listener is the test's own
			}
			if _, err := metricsL.Accept(); err == nil {
				t.Error("the metrics listener is still open after Run failed")
			}
		})
	}
}

// echoAuditing answers EmptyCall and audits it as a read of one owner's data.
type echoAuditing struct {
	testgrpc.UnimplementedTestServiceServer
	log *audit.Writer
}

const auditedOwner = "0190f5a4-1111-7000-8000-000000000001"

func (e echoAuditing) EmptyCall(ctx context.Context, _ *testgrpc.Empty) (*testgrpc.Empty, error) {
	err := e.log.Record(ctx, audit.Event{
		Action: "owner.read", Resource: "owners/" + auditedOwner, SubjectOwnerID: auditedOwner, Outcome: audit.OutcomeSuccess,
	})
	return &testgrpc.Empty{}, err
}

func TestEveryServiceServesItsAuditLog(t *testing.T) {
	env := servicetest.New(t)
	s := spec(t, env)
	var writer *audit.Writer
	s.Register = func(d *service.Deps) error {
		writer = d.Auditor
		testgrpc.RegisterTestServiceServer(d, echoAuditing{log: d.Auditor})
		return nil
	}
	svc := env.Serve(t, s.Base.Listener.Addr().String(), func(ctx context.Context) error { return service.Run(ctx, s) })
	if _, err := testgrpc.NewTestServiceClient(svc.Conn).EmptyCall(env.As(t, auth.RoleNurse), &testgrpc.Empty{}); err != nil {
		t.Fatal(err)
	}
	client := auditv1.NewAuditServiceClient(svc.Conn)
	export := func(t *testing.T, role auth.Role, ownerID string) ([]*auditv1.AccessEvent, error) {
		t.Helper()
		stream, err := client.ExportOwnerAccessEvents(env.As(t, role), &auditv1.ExportOwnerAccessEventsRequest{OwnerId: ownerID})
		if err != nil {
			return nil, err
		}
		var out []*auditv1.AccessEvent
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			out = append(out, resp.GetEvent())
		}
	}

	t.Run("the clinic manager reads who accessed the owner's data", func(t *testing.T) {
		// The audit writer batches; the nurse's read is stored with its batch.
		var events []*auditv1.AccessEvent
		untilWritten(t, writer, "the nurse's read is exported", func() bool {
			var err error
			if events, err = export(t, auth.RoleClinicManager, auditedOwner); err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(events, func(e *auditv1.AccessEvent) bool { return e.GetAction() == "owner.read" })
		})
		i := slices.IndexFunc(events, func(e *auditv1.AccessEvent) bool { return e.GetAction() == "owner.read" })
		if i < 0 {
			t.Fatalf("events = %v, want the nurse's read", events)
		}
		got := events[i]
		if !slices.Equal(got.GetActorRoles(), []string{"nurse"}) || got.GetResource() != "owners/"+auditedOwner ||
			got.GetOutcome() != audit.OutcomeSuccess || got.GetTime().AsTime().IsZero() || got.GetActorSubject() == "" {
			t.Errorf("event = %v", got)
		}
	})
	t.Run("the owner id in capitals exports the owner's events", func(t *testing.T) {
		const owner = "0190f5a4-1111-7000-8000-00000000000a"
		raw := embeddedtest.Client(t, env.Store.URI())
		if _, err := raw.Database(database).Collection(audit.Collection).InsertOne(t.Context(), bson.M{
			"_id": "capitals-1", "time": time.Now().UTC(), "actor_subject": "staff-1", "roles": []string{"reception"},
			"action": "owner.read", "resource": "owners/" + owner, "subject_owner_id": owner, "outcome": audit.OutcomeSuccess,
		}); err != nil {
			t.Fatal(err)
		}
		events, err := export(t, auth.RoleClinicManager, strings.ToUpper(owner))
		if err != nil || !slices.ContainsFunc(events, func(e *auditv1.AccessEvent) bool { return e.GetAction() == "owner.read" }) {
			t.Errorf("exported %v, %v; want the owner's read", events, err)
		}
	})
	t.Run("an event stored with an identity code is exported without it", func(t *testing.T) {
		// Events stored before the writer removed codes from purposes, reasons and
		// names still hold them.
		const owner = "0190f5a4-1111-7000-8000-000000000002"
		raw := embeddedtest.Client(t, env.Store.URI())
		if _, err := raw.Database(database).Collection(audit.Collection).InsertOne(t.Context(), bson.M{
			"_id": "legacy-1", "time": time.Now().UTC(), "actor_subject": "staff-1", "actor_name": "Staff (131052-308T)",
			"roles": []string{"reception"}, "action": "owner.read", "resource": "owners/" + owner, "subject_owner_id": owner,
			"purpose": "asiakas 131052\u00ad-308T soitti", "outcome": audit.OutcomeSuccess,
		}); err != nil {
			t.Fatal(err)
		}
		events, err := export(t, auth.RoleClinicManager, owner)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(events, func(e *auditv1.AccessEvent) bool { return e.GetAction() == "owner.read" })
		if i < 0 || events[i].GetPurpose() != "asiakas [identity code removed] soitti" || events[i].GetActorName() != "Staff ([identity code removed])" {
			t.Errorf("exported %v, want the purpose and actor name without the code", events)
		}
	})
	t.Run("the services' own work is exported flagged as the system's", func(t *testing.T) {
		// Stored as a sweep's event and a token's with the same subject and name: only
		// the stored flag tells them apart.
		const owner = "0190f5a4-1111-7000-8000-000000000003"
		raw := embeddedtest.Client(t, env.Store.URI())
		for id, system := range map[string]bool{"sweep-1": true, "token-1": false} {
			doc := bson.M{
				"_id": id, "time": time.Now().UTC(), "actor_subject": "service:echo", "actor_name": "retention sweep",
				"action": "owner.read", "resource": "owners/" + owner, "subject_owner_id": owner, "outcome": audit.OutcomeSuccess,
			}
			if system {
				doc["system"] = true
			}
			if _, err := raw.Database(database).Collection(audit.Collection).InsertOne(t.Context(), doc); err != nil {
				t.Fatal(err)
			}
		}
		events, err := export(t, auth.RoleClinicManager, owner)
		if err != nil {
			t.Fatal(err)
		}
		var flagged, unflagged int
		for _, e := range events {
			switch {
			case e.GetAction() != "owner.read":
			case e.GetActorSystem():
				flagged++
			default:
				unflagged++
			}
		}
		if flagged != 1 || unflagged != 1 {
			t.Errorf("exported %v, want one read flagged as the system's and one not", events)
		}
	})
	tests := []struct {
		name    string
		role    auth.Role
		ownerID string
		want    codes.Code
	}{
		{"a nurse may not read the audit log", auth.RoleNurse, auditedOwner, codes.PermissionDenied},
		{"a maintainer may not either", auth.RoleMaintainer, auditedOwner, codes.PermissionDenied},
		{"an owner id that is not a UUID", auth.RoleClinicManager, "not-an-id", codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := export(t, tt.role, tt.ownerID)
			servicetest.WantCode(t, err, tt.want)
		})
	}
}

// changing answers EmptyCall once it has stored a change (a thing) and audited it;
// between the two it tells stored and waits for proceed, so that the test can make the
// audit log refuse events meanwhile.
type changing struct {
	testgrpc.UnimplementedTestServiceServer
	db      *mongo.Database
	log     *audit.Writer
	stored  chan struct{}
	proceed chan struct{}
}

func (c *changing) EmptyCall(ctx context.Context, _ *testgrpc.Empty) (*testgrpc.Empty, error) {
	if _, err := c.db.Collection("things").InsertOne(ctx, bson.M{"name": "stored"}); err != nil {
		return nil, err
	}
	c.stored <- struct{}{}
	<-c.proceed
	err := c.log.Record(ctx, audit.Event{
		Action: "thing.create", Resource: "things/stored", SubjectOwnerID: auditedOwner, Outcome: audit.OutcomeSuccess,
	})
	return &testgrpc.Empty{}, err
}

// TestAStoredChangeIsAnsweredAndAudited: a call let in stores its change; before it
// records the change's event, other calls fill the audit queue or the store begins to
// refuse the audit batches. The caller is answered OK, not UNAVAILABLE as if nothing
// had happened, and the change's event is in the audit log once the store takes
// batches again.
func TestAStoredChangeIsAnsweredAndAudited(t *testing.T) {
	other := audit.Event{Action: "owner.read", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess}
	for _, tc := range []struct {
		name string
		// meanwhile makes the audit log refuse events outside a call; the function it
		// returns undoes it.
		meanwhile func(t *testing.T, w *audit.Writer, link *storeLink) (undo func())
	}{
		{"other calls filled the queue", func(t *testing.T, w *audit.Writer, _ *storeLink) func() {
			audittest.FillQueue(t, w)
			return func() {}
		}},
		{"the store refuses the batches", func(t *testing.T, w *audit.Writer, link *storeLink) func() {
			link.set(true)
			if err := w.Record(context.Background(), other); err != nil {
				t.Fatal(err)
			}
			untilWritten(t, w, "the audit writer sees the store refuse its batch", func() bool {
				_, release, err := w.Reserve(t.Context())
				if err == nil {
					release()
				}
				return err != nil
			})
			return func() { link.set(false) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := servicetest.New(t)
			link := newStoreLink(t, env.Store.URI())
			s := spec(t, env)
			s.Base.Mongo.URI = link.URI()
			handler := &changing{stored: make(chan struct{}), proceed: make(chan struct{})}
			s.Register = func(d *service.Deps) error {
				handler.db, handler.log = d.DB, d.Auditor
				testgrpc.RegisterTestServiceServer(d, handler)
				return nil
			}
			svc := env.Serve(t, s.Base.Listener.Addr().String(), func(ctx context.Context) error { return service.Run(ctx, s) })
			answered := make(chan error, 1)
			go func() {
				_, err := testgrpc.NewTestServiceClient(svc.Conn).EmptyCall(env.As(t, auth.RoleNurse), &testgrpc.Empty{})
				answered <- err
			}()
			<-handler.stored
			// A test failing meanwhile lets the handler end, so that the service stops.
			proceed := sync.OnceFunc(func() { close(handler.proceed) })
			t.Cleanup(proceed)
			undo := tc.meanwhile(t, handler.log, link)
			proceed()
			err := <-answered
			undo()
			if err != nil {
				t.Fatalf("the caller of a stored change was answered %v, want OK", err)
			}

			db := embeddedtest.Client(t, env.Store.URI()).Database(database)
			if n, err := db.Collection("things").CountDocuments(t.Context(), bson.M{"name": "stored"}); err != nil || n != 1 {
				t.Fatalf("%d changes stored, %v; want 1", n, err)
			}
			// The writer works through the backlog in batches while the service runs.
			events := db.Collection(audit.Collection)
			untilWritten(t, handler.log, "the change's event is in the audit log", func() bool {
				n, err := events.CountDocuments(t.Context(), bson.M{"action": "thing.create"})
				return err == nil && n == 1
			})
			svc.Stop()
		})
	}
}

// recordingIn answers EmptyCall once it has recorded one Record of as many events as
// each of records says, as a change auditing what it did in steps.
type recordingIn struct {
	testgrpc.UnimplementedTestServiceServer
	log     *audit.Writer
	records []int
}

func (r recordingIn) EmptyCall(ctx context.Context, _ *testgrpc.Empty) (*testgrpc.Empty, error) {
	ev := audit.Event{Action: "thing.update", Resource: "things/1", SubjectOwnerID: auditedOwner, Outcome: audit.OutcomeSuccess}
	for _, n := range r.records {
		if err := r.log.Record(ctx, slices.Repeat([]audit.Event{ev}, n)...); err != nil {
			return nil, err
		}
	}
	return &testgrpc.Empty{}, nil
}

// failures is a test that keeps what it is failed with, for a test of a test helper.
type failures struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// TestACallBeyondItsRoomFailsItsTest: a component test whose service's call records
// audit events beyond the room the call keeps, after using part of it, fails when it ends
// (servicetest), although the queue took the events and the call was answered OK; one
// whose call's events fit its room does not.
func TestACallBeyondItsRoomFailsItsTest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		records []int
		fails   bool
	}{
		{"four events in two records", []int{2, 2}, false},
		{"a fifth event in a third record", []int{2, 2, 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *failures
			t.Run("component test", func(t *testing.T) {
				got = &failures{TB: t}
				env := servicetest.New(got)
				s := spec(t, env)
				s.Register = func(d *service.Deps) error {
					testgrpc.RegisterTestServiceServer(d, recordingIn{log: d.Auditor, records: tc.records})
					return nil
				}
				svc := env.Serve(got, s.Base.Listener.Addr().String(), func(ctx context.Context) error { return service.Run(ctx, s) })
				if _, err := testgrpc.NewTestServiceClient(svc.Conn).EmptyCall(env.As(t, auth.RoleNurse), &testgrpc.Empty{}); err != nil {
					t.Fatalf("the call: %v", err)
				}
			})
			failed := slices.ContainsFunc(got.errors, func(e string) bool { return strings.Contains(e, audit.RoomOverrun) })
			if failed != tc.fails || len(got.errors) > 1 {
				t.Errorf("the component test failed with %q, want a failure naming the overrun %v", got.errors, tc.fails)
			}
		})
	}
}

// writeLimit bounds how long a test waits for the audit writer to see the store refuse
// its batches or to write the backlog of a full queue, on a loaded machine.
const writeLimit = 2 * time.Minute

// untilWritten waits for cond (audit.Writer.Await), failing the test if it does not
// hold within writeLimit.
func untilWritten(t *testing.T, w *audit.Writer, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), writeLimit)
	defer cancel()
	if err := w.Await(ctx, cond); err != nil {
		t.Fatalf("%s: %v within %s", what, err, writeLimit)
	}
}

// storeLink is a loopback TCP relay to the store's socket that the test can cut: cut,
// it closes every connection it relays and every new one, as a partition would.
type storeLink struct {
	l      net.Listener
	socket string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newStoreLink(t *testing.T, storeURI string) *storeLink {
	t.Helper()
	socket, err := url.QueryUnescape(strings.TrimSuffix(strings.TrimPrefix(storeURI, "mongodb://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	k := &storeLink{l: servicetest.Listen(t), socket: socket}
	t.Cleanup(func() {
		_ = k.l.Close()
		k.set(true)
	})
	go k.serve()
	return k
}

// URI is the store's connection string through the link.
func (k *storeLink) URI() string {
	return "mongodb://" + k.l.Addr().String() + "/?directConnection=true"
}

func (k *storeLink) serve() {
	for {
		c, err := k.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("unix", k.socket)
		if err != nil {
			_ = c.Close()
			continue
		}
		if k.track(c, up) {
			go relay(c, up)
			go relay(up, c)
		}
	}
}

// track keeps conns to cut them later, or closes them while the link is cut.
func (k *storeLink) track(conns ...net.Conn) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cut {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	k.conns = append(k.conns, conns...)
	return true
}

func (k *storeLink) set(cut bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cut = cut
	if cut {
		for _, c := range k.conns {
			_ = c.Close()
		}
		k.conns = nil
	}
}

func relay(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}
