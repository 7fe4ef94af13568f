package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	consentmongo "github.com/lillvet/register/services/consent/internal/adapters/mongo"
	"github.com/lillvet/register/services/consent/internal/app"
	"github.com/lillvet/register/services/consent/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// ownerService stands in for the owner service: it knows the owners set in it, with
// their restriction, and keeps each call's ids.
type ownerService struct {
	mu         sync.Mutex
	restricted map[string]bool
	calls      [][]string
	// slowNext, when set, is called once by the next call after it has read the
	// statuses and before it answers: a slow answer.
	slowNext func()
	// heldNext, when set, is called once by the next call before it reads: a request
	// held back on its way.
	heldNext func()
}

func (o *ownerService) Statuses(_ context.Context, ids []string) (map[string]app.OwnerStatus, error) {
	o.mu.Lock()
	held := o.heldNext
	o.heldNext = nil
	o.mu.Unlock()
	if held != nil {
		held()
	}
	o.mu.Lock()
	o.calls = append(o.calls, slices.Clone(ids))
	out := make(map[string]app.OwnerStatus, len(ids))
	for _, id := range ids {
		if r, ok := o.restricted[id]; ok {
			out[id] = app.OwnerStatus{Exists: true, Restricted: r}
		}
	}
	slow := o.slowNext
	o.slowNext = nil
	o.mu.Unlock()
	if slow != nil {
		slow()
	}
	return out, nil
}

func (o *ownerService) set(id string, restricted bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.restricted[id] = restricted
}

func (o *ownerService) asked() [][]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.calls)
}

const (
	owner1 = "0190b1b4-0000-7000-8000-000000000001"
	owner2 = "0190b1b4-0000-7000-8000-000000000002"
	owner3 = "0190b1b4-0000-7000-8000-000000000003"
)

// newService is the use cases on the embedded store with owner1 known to the stand-in,
// not restricted, and owner1's marketing by e-mail granted.
func newService(t *testing.T, ttl time.Duration) (*app.Service, *ownerService, context.Context) {
	t.Helper()
	return newServiceWith(t, app.Options{OwnerStatusTTL: ttl})
}

// newServiceWith is newService with the options given.
func newServiceWith(t *testing.T, opts app.Options) (*app.Service, *ownerService, context.Context) {
	t.Helper()
	db, auditor := servicetest.AuditedDB(t, "consent_owners")
	owners := &ownerService{restricted: map[string]bool{owner1: false}}
	svc, err := app.New(consentmongo.New(db), owners, auditor, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "test", Roles: []auth.Role{auth.RoleClinicManager}})
	if _, err := svc.RecordDecision(ctx, app.RecordDecision{OwnerID: owner1, Entry: &domain.Entry{
		Purpose: domain.PurposeDirectMarketing, Scope: domain.ChannelEmail, Decision: domain.DecisionGranted,
		Method: domain.MethodInPerson, StatementVersion: "2026-01",
	}}); err != nil {
		t.Fatal(err)
	}
	return svc, owners, ctx
}

func checkEmail(t *testing.T, svc *app.Service, ctx context.Context, ownerID string) domain.Verdict {
	t.Helper()
	v, _, err := svc.Check(ctx, ownerID, domain.PurposeDirectMarketing, domain.ChannelEmail)
	if err != nil {
		t.Fatalf("check owner %s: %v", ownerID, err)
	}
	return v
}

// TestOwnerStatusIsRememberedForTheTTL: within the TTL the owner service is not asked
// again, so a restriction set there is not seen yet; a TTL of 0 asks for every check.
func TestOwnerStatusIsRememberedForTheTTL(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration
		// wantCalls is how many times the owner service is asked for the record and
		// the two checks around the restriction.
		wantCalls int
		// wantAllowed is the check's answer right after the restriction.
		wantAllowed bool
	}{
		{"not remembered", 0, 3, false},
		{"remembered", time.Hour, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, owners, ctx := newService(t, tt.ttl)
			if v := checkEmail(t, svc, ctx, owner1); !v.Allowed {
				t.Fatalf("before the restriction: %+v, want allowed", v)
			}
			owners.set(owner1, true)
			if v := checkEmail(t, svc, ctx, owner1); v.Allowed != tt.wantAllowed {
				t.Fatalf("right after the restriction: %+v, want allowed=%v", v, tt.wantAllowed)
			}
			if got := len(owners.asked()); got != tt.wantCalls {
				t.Fatalf("the owner service was asked %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}

// TestOwnerStatusExpires: once the TTL has passed on the service's clock, the next
// check asks the owner service again and sees its restriction.
func TestOwnerStatusExpires(t *testing.T) {
	const ttl = time.Minute
	clock := servicetest.NewClock(time.Now())
	svc, owners, ctx := newServiceWith(t, app.Options{OwnerStatusTTL: ttl, Now: clock.Now})
	if v := checkEmail(t, svc, ctx, owner1); !v.Allowed {
		t.Fatalf("before the restriction: %+v, want allowed", v)
	}
	owners.set(owner1, true)
	clock.Advance(ttl - time.Millisecond)
	if v := checkEmail(t, svc, ctx, owner1); !v.Allowed {
		t.Fatalf("before the TTL: %+v, want the remembered status, allowed", v)
	}
	clock.Advance(time.Millisecond)
	if v := checkEmail(t, svc, ctx, owner1); v.Allowed || v.Reason != domain.ReasonOwnerRestricted {
		t.Fatalf("after the TTL: %+v, want denied as restricted", v)
	}
}

// TestUnknownOwnerIsNotRemembered: an owner the owner service did not know is asked
// about again, so one registered meanwhile is found at once, whatever the TTL.
func TestUnknownOwnerIsNotRemembered(t *testing.T) {
	svc, owners, ctx := newService(t, time.Hour)
	_, _, err := svc.Check(ctx, owner2, domain.PurposeDirectMarketing, domain.ChannelEmail)
	if !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("check of an unknown owner: %v, want not found", err)
	}
	owners.set(owner2, false)
	if v := checkEmail(t, svc, ctx, owner2); !v.Allowed {
		t.Fatalf("the owner registered meanwhile: %+v, want allowed by default", v)
	}
}

// TestFilterAsksOnceForTheOwnersNotRemembered: one call to the owner service for the
// owners whose status the service does not hold, none for those it does.
func TestFilterAsksOnceForTheOwnersNotRemembered(t *testing.T) {
	svc, owners, ctx := newService(t, time.Hour)
	owners.set(owner2, true)
	before := len(owners.asked())
	res, err := svc.Filter(ctx, []string{owner3, owner1, owner2, owner3}, domain.PurposeDirectMarketing, domain.ChannelEmail)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Allowed, []string{owner1}) || !slices.Equal(res.Unknown, []string{owner3}) {
		t.Fatalf("filter allowed %v and did not know %v, want [%s] and [%s]", res.Allowed, res.Unknown, owner1, owner3)
	}
	if got := owners.asked()[before:]; !slices.EqualFunc(got, [][]string{{owner2, owner3}}, slices.Equal) {
		t.Fatalf("the owner service was asked %v, want once for %s and %s (owner1 is remembered from its record)", got, owner2, owner3)
	}
}

// TestFilterOfTheMostOwnersIsAudited: a filter naming MaxFilterOwners existing owners
// answers, and each of them gets its event, while other events wait in the audit queue
// (a writer not running yet holds them, as a busy or slow store does): the queue holds as
// many events as the filter would add.
func TestFilterOfTheMostOwnersIsAudited(t *testing.T) {
	db, _ := servicetest.AuditedDB(t, "consent_filter")
	waiting := audit.NewWriter(db, slog.New(slog.DiscardHandler))
	svc, err := app.New(consentmongo.New(db), everyoneExists{}, waiting, app.Options{OwnerStatusTTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "test", Roles: []auth.Role{auth.RoleClinicManager}})
	owners := make([]string, app.MaxFilterOwners)
	for i := range owners {
		owners[i] = fmt.Sprintf("0190b1b4-0000-7000-8000-%012d", i)
	}
	if _, _, err := svc.Check(ctx, owners[0], domain.PurposeStatisticalResearch, ""); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Filter(ctx, owners, domain.PurposeStatisticalResearch, "")
	if err != nil {
		t.Fatalf("filter of %d owners: %v", len(owners), err)
	}
	if len(res.Allowed) != len(owners) {
		t.Errorf("filter allowed %d owners, want all %d (no one objected)", len(res.Allowed), len(owners))
	}
	cur, err := db.Collection(audit.Collection).Find(t.Context(), bson.M{"action": "consent.filter"},
		options.Find().SetProjection(bson.M{"_id": 0, "subject_owner_id": 1}))
	if err != nil {
		t.Fatal(err)
	}
	var events []struct {
		Subject string `bson:"subject_owner_id"`
	}
	if err := cur.All(t.Context(), &events); err != nil {
		t.Fatal(err)
	}
	subjects := make([]string, len(events))
	for i, e := range events {
		subjects[i] = e.Subject
	}
	if slices.Sort(subjects); !slices.Equal(subjects, owners) {
		t.Errorf("%d consent.filter events, want one about each of the %d owners", len(events), len(owners))
	}
}

// TestAnOlderAnswerDoesNotUndoARestrictionSeen: a filter's call to the owner service
// reads the owner unrestricted but answers late, after a check has seen the owner
// restricted; the older answer neither allows the filter nor replaces what the check saw.
func TestAnOlderAnswerDoesNotUndoARestrictionSeen(t *testing.T) {
	svc, owners, ctx := newService(t, time.Hour)
	owners.set(owner2, false)
	read, release := make(chan struct{}), make(chan struct{})
	owners.mu.Lock()
	owners.slowNext = func() { close(read); <-release }
	owners.mu.Unlock()
	filtered := make(chan app.FilterResult, 1)
	go func() {
		res, err := svc.Filter(ctx, []string{owner2}, domain.PurposeDirectMarketing, domain.ChannelEmail)
		if err != nil {
			t.Error(err)
		}
		filtered <- res
	}()
	<-read
	owners.set(owner2, true)
	if v := checkEmail(t, svc, ctx, owner2); v.Allowed {
		t.Fatalf("check right after the restriction: %+v, want denied", v)
	}
	close(release)
	if res := <-filtered; len(res.Allowed) != 0 {
		t.Fatalf("the late filter allowed %v", res.Allowed)
	}
	if v := checkEmail(t, svc, ctx, owner2); v.Allowed {
		t.Fatalf("check after the older answer came back: %+v, want denied", v)
	}
}

// TestARestrictionReadLastIsNotUndoneByAnEarlierRead: check A is asked first but its
// request reaches the owner service after the restriction; check B, asked after A, read
// the owner before it and answered first. Neither tells which read was last, so the
// restriction A saw stands, for A and for the checks after it.
func TestARestrictionReadLastIsNotUndoneByAnEarlierRead(t *testing.T) {
	svc, owners, ctx := newService(t, time.Hour)
	owners.set(owner2, false)
	held, release := make(chan struct{}), make(chan struct{})
	owners.mu.Lock()
	owners.heldNext = func() { close(held); <-release }
	owners.mu.Unlock()
	first := make(chan domain.Verdict, 1)
	go func() {
		v, _, err := svc.Check(ctx, owner2, domain.PurposeDirectMarketing, domain.ChannelEmail)
		if err != nil {
			t.Error(err)
		}
		first <- v
	}()
	<-held
	if v := checkEmail(t, svc, ctx, owner2); !v.Allowed {
		t.Fatalf("check B, before the restriction: %+v, want allowed", v)
	}
	owners.set(owner2, true)
	close(release)
	if v := <-first; v.Allowed {
		t.Errorf("check A, whose read saw the restriction: %+v, want denied", v)
	}
	if v := checkEmail(t, svc, ctx, owner2); v.Allowed {
		t.Errorf("a check after both answers: %+v, want denied", v)
	}
}

func TestNewRefusesATTLTooShortToSweep(t *testing.T) {
	_, err := app.New(nil, &ownerService{}, nil, app.Options{OwnerStatusTTL: time.Millisecond})
	if err == nil {
		t.Fatal("a 1 ms TTL was accepted")
	}
}
