package audit_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc/metadata"

	auditv1 "github.com/lillvet/register/proto/gen/go/lillvet/audit/v1"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/telemetry"
)

func TestRecordAndList(t *testing.T) {
	store := embeddedtest.Start(t)
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "test", SpanExporter: tracetest.NewInMemoryExporter()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := mongox.Connect(t.Context(), store.URI(), tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(t.Context()) })
	w := audit.NewWriter(client.Database("audittest"), slog.New(slog.DiscardHandler))
	if err := mongox.EnsureIndexes(t.Context(), client.Database("audittest"), w.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}

	ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("x-purpose", "ticket 12"))
	ctx = auth.WithIdentity(ctx, auth.Identity{Subject: "staff-1", Name: "Staff One", Roles: []auth.Role{auth.RoleMaintainer}})
	ctx, span := tel.TracerProvider.Tracer("t").Start(ctx, "op")
	defer span.End()

	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, e := range []audit.Event{
		{Time: base, Action: "owner.read", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess},
		{Time: base.Add(time.Minute), Action: "owner.update", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeDenied, Purpose: "explicit"},
		{Time: base.Add(2 * time.Minute), Action: "owner.read", Resource: "owners/o-2", SubjectOwnerID: "o-2", Outcome: audit.OutcomeSuccess},
	} {
		if err := w.Record(ctx, e); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
	if err := w.Record(ctx, audit.Event{Resource: "owners/o-1"}); err == nil {
		t.Error("Record without action and outcome succeeded")
	}
	writeQueued(t, w)

	got := bySubject(t, w, "o-1")
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2: %+v", len(got), got)
	}
	oldest, newest := got[0], got[1]
	if newest.Action != "owner.update" || oldest.Action != "owner.read" {
		t.Fatalf("order = %s, %s; want oldest first", oldest.Action, newest.Action)
	}
	if !oldest.Time.Equal(base) {
		t.Errorf("time = %v, want %v", oldest.Time, base)
	}
	if oldest.ActorSubject != "staff-1" || oldest.ActorName != "Staff One" || !slices.Equal(oldest.Roles, []string{"maintainer"}) {
		t.Errorf("actor = %q %q %v", oldest.ActorSubject, oldest.ActorName, oldest.Roles)
	}
	if oldest.Purpose != "ticket 12" || newest.Purpose != "explicit" {
		t.Errorf("purposes = %q, %q", oldest.Purpose, newest.Purpose)
	}
	if oldest.TraceID != span.SpanContext().TraceID().String() {
		t.Errorf("trace id = %q", oldest.TraceID)
	}

	enough := errors.New("enough")
	var seen int
	err = w.EachBySubject(t.Context(), "o-1", func(audit.Event) error { seen++; return enough })
	if !errors.Is(err, enough) || seen != 1 {
		t.Fatalf("an error from fn did not stop the stream: %d events, %v", seen, err)
	}
}

// TestIdentityCodesAreRedacted: a code that reaches an event's purpose, reason or
// actor name, from the call's metadata or set by the service, is stored removed, by
// both ways an event is written.
func TestIdentityCodesAreRedacted(t *testing.T) {
	w := newWriter(t, "auditredact")
	ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("x-purpose", "asiakas 131052-308T soitti"))
	ctx = auth.WithIdentity(ctx, auth.Identity{Subject: "staff-1", Name: "Staff (131052-308T)", Roles: []auth.Role{auth.RoleMaintainer}})
	event := func(owner, purpose, reason string) audit.Event {
		return audit.Event{Action: "owner.read", Resource: "owners/" + owner, SubjectOwnerID: owner, Outcome: audit.OutcomeFailed,
			Purpose: purpose, Reason: reason}
	}
	if err := w.RecordNow(ctx, event("o-1", "", "owner 010190y123m refused")); err != nil {
		t.Fatal(err)
	}
	if err := w.Record(ctx, event("o-2", "invoice for 010190Y123M", "")); err != nil {
		t.Fatal(err)
	}
	writeQueued(t, w)
	want := map[string]audit.Event{
		"o-1": {Purpose: "asiakas [identity code removed] soitti", Reason: "owner [identity code removed] refused", ActorName: "Staff ([identity code removed])"},
		"o-2": {Purpose: "invoice for [identity code removed]", ActorName: "Staff ([identity code removed])"},
	}
	for owner, e := range want {
		got := bySubject(t, w, owner)
		if len(got) != 1 || got[0].Purpose != e.Purpose || got[0].Reason != e.Reason || got[0].ActorName != e.ActorName {
			t.Errorf("stored for %s: %+v, want purpose %q, reason %q, actor %q", owner, got, e.Purpose, e.Reason, e.ActorName)
		}
	}
}

// writeQueued runs w and stops it at once: stopping, it writes everything queued.
func writeQueued(t *testing.T, w *audit.Writer) {
	t.Helper()
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// newWriter is a writer on database in a store of the test's own.
func newWriter(t *testing.T, database string) *audit.Writer {
	t.Helper()
	store := embeddedtest.Start(t)
	client, err := mongox.Connect(t.Context(), store.URI(), telemetry.Noop(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(t.Context()) })
	return audit.NewWriter(client.Database(database), slog.New(slog.DiscardHandler))
}

func bySubject(t *testing.T, w *audit.Writer, ownerID string) []audit.Event {
	t.Helper()
	var out []audit.Event
	if err := w.EachBySubject(t.Context(), ownerID, func(e audit.Event) error { out = append(out, e); return nil }); err != nil {
		t.Fatalf("EachBySubject: %v", err)
	}
	return out
}

func TestRecordFailsClosedWhenQueueIsFull(t *testing.T) {
	w := newWriter(t, "audittest")
	e := audit.Event{Action: "owner.read", Resource: "owners/o-9", SubjectOwnerID: "o-9", Outcome: audit.OutcomeSuccess}
	var refused error
	for range 20_000 {
		if refused = w.Record(t.Context(), e); refused != nil {
			break
		}
	}
	if !errors.Is(refused, audit.ErrUnavailable) {
		t.Fatalf("an unwritten backlog did not refuse new events: %v", refused)
	}
	if _, _, err := w.Reserve(t.Context()); !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("a call let in with a full queue: %v", err)
	}
	if err := w.RecordNow(t.Context(), e); err != nil {
		t.Fatalf("RecordNow: %v", err)
	}
	// Only RecordNow's event is stored: nothing ran the queue.
	if got := bySubject(t, w, "o-9"); len(got) != 1 {
		t.Fatalf("stored %d events, want the one RecordNow wrote", len(got))
	}
}

// TestAnEventWithAnIDIsStoredOnce stores an event with an id again, alone and in a
// batch with a new event: the second write stores nothing of it and all of the new one.
func TestAnEventWithAnIDIsStoredOnce(t *testing.T) {
	w := newWriter(t, "auditonce")
	once := audit.Event{ID: "job-1.finish", Action: "job.finish", Resource: "jobs/job-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess}
	other := audit.Event{Action: "owner.read", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess}
	for i, events := range [][]audit.Event{{once}, {once}, {once, other}} {
		if err := w.RecordNow(t.Context(), events...); err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
	}
	var actions []string
	for _, e := range bySubject(t, w, "o-1") {
		actions = append(actions, e.Action)
	}
	if slices.Sort(actions); !slices.Equal(actions, []string{"job.finish", "owner.read"}) {
		t.Fatalf("stored %v, want the event with the id once and the other", actions)
	}
}

// TestSystemWorkIsFlagged: an event recorded under the identity a service builds for
// its own job is stored flagged as the system's, and kept so when read; one under a
// token's identity is not, whatever subject, name and roles it carries.
func TestSystemWorkIsFlagged(t *testing.T) {
	w := newWriter(t, "auditsystem")
	event := audit.Event{Action: "owner.retention_sweep", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess}
	for _, id := range []auth.Identity{
		auth.SystemIdentity("owner", "retention sweep"),
		{Subject: "service:owner", Name: "retention sweep"},
		{Subject: "history-retention-sweep", Name: "Matti Meikäläinen"},
		{Subject: "u-teppo", Name: "Teppo Testaaja", Roles: []auth.Role{auth.RoleErasureJob}},
	} {
		if err := w.RecordNow(auth.WithIdentity(t.Context(), id), event); err != nil {
			t.Fatal(err)
		}
	}
	var system []string
	for _, e := range bySubject(t, w, "o-1") {
		if e.System {
			system = append(system, e.ActorSubject+" "+e.ActorName)
		}
	}
	if !slices.Equal(system, []string{"service:owner retention sweep"}) {
		t.Errorf("flagged the system's: %q, want the service's own job alone", system)
	}
}

func TestSweepRemovesOnlyEventsBeforeTheCutoff(t *testing.T) {
	w := newWriter(t, "auditsweep")
	cutoff := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	events := []audit.Event{
		{Time: cutoff.Add(-time.Hour), Action: "owner.read", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess},
		{Time: cutoff.Add(-time.Millisecond), Action: "owner.update", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess},
		{Time: cutoff, Action: "owner.read", Resource: "owners/o-1", SubjectOwnerID: "o-1", Outcome: audit.OutcomeSuccess},
		{Time: cutoff.AddDate(1, 0, 0), Action: "owner.read", Resource: "owners/o-2", SubjectOwnerID: "o-2", Outcome: audit.OutcomeSuccess},
	}
	if err := w.RecordNow(t.Context(), events...); err != nil {
		t.Fatalf("RecordNow: %v", err)
	}
	for i, want := range []int64{2, 0} { // the second run finds nothing left to do
		n, err := w.Sweep(t.Context(), cutoff)
		if err != nil || n != want {
			t.Fatalf("sweep %d = %d, %v; want %d removed", i+1, n, err, want)
		}
	}
	if got := bySubject(t, w, "o-1"); len(got) != 1 || !got[0].Time.Equal(cutoff) {
		t.Errorf("o-1 kept %+v, want only the event at the cutoff", got)
	}
	if got := bySubject(t, w, "o-2"); len(got) != 1 {
		t.Errorf("o-2 kept %d events, want its recent one", len(got))
	}
}

func TestConfig(t *testing.T) {
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		years      int
		valid      bool
		wantCutoff time.Time
	}{
		{0, true, time.Date(2021, 3, 10, 8, 0, 0, 0, time.UTC)},
		{1, true, time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)},
		{5, true, time.Date(2021, 3, 10, 8, 0, 0, 0, time.UTC)},
		{50, true, time.Date(1976, 3, 10, 8, 0, 0, 0, time.UTC)},
		{-1, false, time.Time{}},
		{51, false, time.Time{}},
	}
	var set audit.Config
	if err := config.LoadFrom(&set, map[string]string{"AUDIT_RETENTION_YEARS": "12"}); err != nil || set.RetentionYears != 12 {
		t.Errorf("AUDIT_RETENTION_YEARS=12 loads %d, %v", set.RetentionYears, err)
	}
	var defaults audit.Config
	if err := config.LoadFrom(&defaults, map[string]string{}); err != nil || defaults.RetentionYears != audit.DefaultRetentionYears {
		t.Errorf("default = %d, %v; want %d", defaults.RetentionYears, err, audit.DefaultRetentionYears)
	}
	if err := config.LoadFrom(&defaults, map[string]string{"AUDIT_RETENTION_YEARS": "51"}); err == nil || !strings.Contains(err.Error(), "AUDIT_RETENTION_YEARS") {
		t.Errorf("AUDIT_RETENTION_YEARS=51 loads with %v, want its error", err)
	}
	for _, tt := range tests {
		c := audit.Config{RetentionYears: tt.years}
		if err := c.Validate(); (err == nil) != tt.valid {
			t.Errorf("Validate(%d) = %v, want valid %v", tt.years, err, tt.valid)
		}
		if tt.valid && !c.Cutoff(now).Equal(tt.wantCutoff) {
			t.Errorf("Cutoff(%d) = %v, want %v", tt.years, c.Cutoff(now), tt.wantCutoff)
		}
	}
}

// TestDeniedNamesTheOwner: a call the policy refused is audited about the owner its
// request names by a UUID in any form, under the id as the register issues it, so that
// the owner's access report shows it; any other text is no owner's, and could hold
// anything, an identity code included.
func TestDeniedNamesTheOwner(t *testing.T) {
	w := newWriter(t, "auditdenied")
	const ownerID = "01a23cb5-88de-7e02-b4ff-7c11a64efc80"
	forms := []string{ownerID, strings.ToUpper(ownerID), "{" + ownerID + "}", "urn:uuid:" + ownerID}
	notOwners := []string{"131052-308T", ""}
	id := auth.Identity{Subject: "partner-1", Roles: []auth.Role{auth.RolePartner}}
	for _, written := range append(slices.Clone(forms), notOwners...) {
		w.Denied(t.Context(), "/m", id, "role partner may not call /m", &auditv1.ExportOwnerAccessEventsRequest{OwnerId: written})
	}
	w.Denied(t.Context(), "/m", id, "role partner may not call /m", nil)
	writeQueued(t, w)
	got := bySubject(t, w, ownerID)
	if len(got) != len(forms) || slices.ContainsFunc(got, func(e audit.Event) bool {
		return e.Action != "rpc.denied" || e.Outcome != audit.OutcomeDenied
	}) {
		t.Errorf("events about the owner: %+v, want the %d refused calls, one per form of the id", got, len(forms))
	}
	for _, other := range append(forms[1:], notOwners[0]) {
		if got := bySubject(t, w, other); len(got) != 0 {
			t.Errorf("events about %q: %+v, want none", other, got)
		}
	}
}
