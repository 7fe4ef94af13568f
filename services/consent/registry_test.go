package consent_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/protobuf/types/known/timestamppb"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	consentmongo "github.com/lillvet/register/services/consent/internal/adapters/mongo"
	"github.com/lillvet/register/services/consent/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

const (
	chip = consentv1.Purpose_PURPOSE_MICROCHIP_REGISTRY_DISCLOSURE
	// registryA and registryB are two microchip registries' recipient ids in the
	// disclosure service.
	registryA = "0190f5a4-1f00-7000-8000-0000000000b1"
	registryB = "0190f5a4-1f00-7000-8000-0000000000b2"
)

// pushUnscopedRegistryDecision appends to the owner's ledger, as an earlier version
// stored it, a microchip registry decision ("granted", "withdrawn", "refused") without
// a scope, the purpose taking none then: entry id, effective at effective and recorded
// at recorded; a grant valid from validFrom until validUntil, when not zero.
func (s *system) pushUnscopedRegistryDecision(t *testing.T, ownerID, id, decision string, effective, recorded, validFrom, validUntil time.Time) {
	t.Helper()
	entry := bson.M{
		"id": id, "purpose": "microchip_registry_disclosure", "decision": decision, "method": "written",
		"evidence_ref": "siru-2025/4", "effective_at": effective.UTC().Truncate(time.Millisecond),
		"recorded_by": "test-reception", "recorded_at": recorded.UTC().Truncate(time.Millisecond),
	}
	if decision == "granted" {
		entry["statement_version"] = "2025-01"
		if !validFrom.IsZero() {
			entry["valid_from"] = validFrom.UTC().Truncate(time.Millisecond)
		}
		if !validUntil.IsZero() {
			entry["valid_until"] = validUntil.UTC().Truncate(time.Millisecond)
		}
	}
	res, err := s.raw.Database(consentDatabase).Collection("ledgers").UpdateByID(t.Context(), ownerID,
		bson.M{"$push": bson.M{"entries": entry}})
	if err != nil {
		t.Fatal(err)
	}
	if res.MatchedCount != 1 {
		t.Fatal("no ledger to append to: record a decision first")
	}
}

// chipState is the owner's listed state of the microchip registry purpose with scope,
// nil when none is listed.
func (s *system) chipState(t *testing.T, ownerID, scope string) *consentv1.ConsentState {
	t.Helper()
	state, err := s.consent.ListConsents(s.as(t, auth.RoleReception), &consentv1.ListConsentsRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	for _, c := range state.GetConsents() {
		if c.GetPurpose() == chip && c.GetScope() == scope {
			return c
		}
	}
	return nil
}

// TestMicrochipRegistryGrantNamesTheRegistry: a microchip registry grant names its
// registry by recipient id (required, any spelling kept canonical) and allows that
// registry only. A grant an earlier version stored without a scope allows no registry,
// and every read still answers: the history lists it as recorded, the state shows the
// purpose unscoped as no grant without a deciding decision, checks and filters for a
// registry find no grant, and the erasure erases it without keeping a suppression.
func TestMicrochipRegistryGrantNamesTheRegistry(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Sirunen")
	s.record(t, id, objection(marketing, "email"))
	hourAgo := time.Now().Add(-time.Hour)
	s.pushUnscopedRegistryDecision(t, id, "0190f5a4-1f00-7000-8000-00000000c0de", "granted", hourAgo, hourAgo, time.Time{}, time.Time{})
	reception, manager := s.as(t, auth.RoleReception), s.as(t, auth.RoleClinicManager)

	history, err := s.consent.ListConsentDecisions(reception, &consentv1.ListConsentDecisionsRequest{OwnerId: id})
	if err != nil {
		t.Fatalf("history with an unscoped grant: %v", err)
	}
	if d := history.GetDecisions(); len(d) != 2 || d[0].GetPurpose() != chip || d[0].GetScope() != "" ||
		d[0].GetDecision() != granted || d[0].GetEvidenceRef() != "siru-2025/4" {
		t.Fatalf("history %v, want the unscoped grant as recorded, newest first", d)
	}
	if c := s.chipState(t, id, ""); c == nil || c.GetAllowed() || c.GetReason() != consentv1.Reason_REASON_NO_GRANT || c.GetDecidingDecision() != nil {
		t.Fatalf("the unscoped grant's state is %v, want not allowed, no grant, no deciding decision", c)
	}
	for _, registry := range []string{registryA, registryB} {
		if res := s.check(t, id, chip, registry); res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_NO_GRANT {
			t.Fatalf("the unscoped grant answers registry %s with %v", registry, res)
		}
		if s.allowedFor(t, id, chip, registry) {
			t.Fatalf("a filter for registry %s keeps the owner of an unscoped grant", registry)
		}
	}
	_, err = s.consent.CheckConsent(manager, &consentv1.CheckConsentRequest{OwnerId: id, Purpose: chip})
	if got := violations(t, err); !slices.Equal(got, []string{"scope"}) {
		t.Fatalf("check without a registry: violations %v, want scope", got)
	}
	_, err = s.consent.FilterConsents(manager, &consentv1.FilterConsentsRequest{OwnerIds: []string{id}, Purpose: chip})
	if got := violations(t, err); !slices.Equal(got, []string{"scope"}) {
		t.Fatalf("filter without a registry: violations %v, want scope", got)
	}
	for _, scope := range []string{"", "Turvasiru"} {
		_, err = s.consent.RecordConsentDecision(reception, &consentv1.RecordConsentDecisionRequest{
			OwnerId: id, Decision: decision(chip, scope, granted),
		})
		if got := violations(t, err); !slices.Equal(got, []string{"decision.scope"}) {
			t.Fatalf("a grant to registry %q: violations %v, want decision.scope", scope, got)
		}
	}

	grant := s.record(t, id, decision(chip, " 0190F5A4-1F00-7000-8000-0000000000B1 ", granted))
	if grant.GetScope() != registryA {
		t.Fatalf("the grant's scope is %q, want the registry's id %s", grant.GetScope(), registryA)
	}
	if res := s.check(t, id, chip, registryA); !res.GetAllowed() || res.GetDecidingDecision().GetId() != grant.GetId() {
		t.Fatalf("registry A with its grant: %v", res)
	}
	if res := s.check(t, id, chip, registryB); res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_NO_GRANT {
		t.Fatalf("registry B with registry A's grant: %v", res)
	}
	if !s.allowedFor(t, id, chip, registryA) || s.allowedFor(t, id, chip, registryB) {
		t.Fatal("a filter tells the registries apart only by the grant's registry")
	}
	if c := s.chipState(t, id, ""); c == nil || c.GetAllowed() {
		t.Fatalf("the unscoped state after a scoped grant: %v, want still listed and not allowed", c)
	}

	s.restrictInOwnerService(t, id)
	servicetest.EqualMessages(t, s.erase(t, id, jobOne), []*consentv1.RecordDisposition{
		{RecordClass: "consent_ledger", Count: 3},
		{RecordClass: "marketing_suppression", Kept: true, LegalBasis: "basis.marketing_objection", Count: 1},
	})
	var doc struct {
		Suppressions []struct{ Purpose, Scope string } `bson:"suppressions"`
	}
	if err := s.raw.Database(consentDatabase).Collection("ledgers").FindOne(t.Context(), bson.M{"_id": id}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suppressions) != 1 || doc.Suppressions[0].Purpose != "direct_marketing" || doc.Suppressions[0].Scope != "email" {
		t.Fatalf("suppressions %+v, want the e-mail objection's only", doc.Suppressions)
	}
}

// TestUnscopedRegistryWithdrawalHoldsForEveryRegistry: a withdrawal stored before the
// purpose named the registry was the owner's word against every registry. Reception
// recording the original grant form again naming registry A, with the form's date
// (written decisions carry theirs), must not undo the later withdrawal: A and B are
// refused with the withdrawal as the deciding decision, and the state lists the unscoped
// purpose as withdrawn. A grant to A made after the withdrawal allows A only.
func TestUnscopedRegistryWithdrawalHoldsForEveryRegistry(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Sirunen")
	s.record(t, id, objection(marketing, "email")) // the ledger the earlier version's entries go into
	const withdrawal = "0190f5a4-1f00-7000-8000-00000000c0d2"
	march, september := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), time.Date(2025, 9, 1, 9, 0, 0, 0, time.UTC)
	s.pushUnscopedRegistryDecision(t, id, "0190f5a4-1f00-7000-8000-00000000c0d1", "granted", march, march, time.Time{}, time.Time{})
	s.pushUnscopedRegistryDecision(t, id, withdrawal, "withdrawn", september, september, time.Time{}, time.Time{})

	backdated := decision(chip, registryA, granted)
	backdated.EffectiveTime = timestamppb.New(march)
	s.record(t, id, backdated)
	withdrawnFromAll := func(when string) {
		t.Helper()
		for _, registry := range []string{registryA, registryB} {
			res := s.check(t, id, chip, registry)
			if res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_WITHDRAWAL || res.GetDecidingDecision().GetId() != withdrawal {
				t.Fatalf("%s: registry %s is answered %v, want refused by the unscoped withdrawal", when, registry, res)
			}
			if s.allowedFor(t, id, chip, registry) {
				t.Fatalf("%s: a filter for registry %s keeps the owner who withdrew", when, registry)
			}
		}
		if c := s.chipState(t, id, ""); c.GetAllowed() || c.GetReason() != consentv1.Reason_REASON_WITHDRAWAL ||
			c.GetDecidingDecision().GetId() != withdrawal {
			t.Fatalf("%s: the unscoped state is %v, want the withdrawal", when, c)
		}
	}
	withdrawnFromAll("after a grant to A dated before the withdrawal")
	if c := s.chipState(t, id, registryA); c.GetAllowed() || c.GetReason() != consentv1.Reason_REASON_WITHDRAWAL {
		t.Fatalf("registry A's state after the backdated grant is %v, want the withdrawal", c)
	}

	grant := s.record(t, id, decision(chip, registryA, granted))
	if res := s.check(t, id, chip, registryA); !res.GetAllowed() || res.GetDecidingDecision().GetId() != grant.GetId() {
		t.Fatalf("registry A with a grant made after the withdrawal: %v", res)
	}
	if !s.allowedFor(t, id, chip, registryA) {
		t.Fatal("a filter for registry A leaves out the owner who granted it after the withdrawal")
	}
	res := s.check(t, id, chip, registryB)
	if res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_WITHDRAWAL || res.GetDecidingDecision().GetId() != withdrawal {
		t.Fatalf("registry B after a new grant to A: %v, want still the withdrawal", res)
	}
}

// unscopedDecision is a microchip registry decision an earlier version stored without
// a scope.
// A grant's validity is from..until, either zero for no bound.
type unscopedDecision struct {
	decision            string
	effective, recorded time.Time
	from, until         time.Time
}

// TestOperationsFindsTheRegistryOwnersToAsk follows docs/OPERATIONS.md's "Microchip
// registry grants stored before they named the registry": the document's query, read
// from it and run through the driver on the store, lists the candidates, and each one's
// consent state decides by the document's three conditions whom reception asks to record
// the grant again. Only owners whose latest unscoped decision is a grant and who have
// decided nothing naming a registry since are asked: not the owner who withdrew after a
// grant scheduled ahead (whose last row is that grant), nor one who withdrew naming a
// registry, nor one whose grant was recorded again, whether that grant is in force, not
// yet valid, expired or scheduled ahead (a registry's row showing no grant). The old
// filter, which left out only a registry's row showing a prohibition or a grant in
// force, asked the last three. Nor is one asked whose latest unscoped grant (made last,
// a grant scheduled ahead counted when recorded) has expired, which its row shows as no
// grant all the same (recording it again would give consent beyond what the owner
// gave); one whose grant is valid until next year, or not yet valid (recorded again
// with its valid_from), or whose expired grant was followed by an unbounded one or by
// one scheduled ahead (recorded again scheduled ahead to the same day, so the registry
// has nothing before the owner's own grant takes effect, unless an earlier grant is in
// force until then, recorded again first), is. The grants recorded again as the
// document says, the one in force and then every one scheduled ahead made after it in
// the order made, each with the owner's validity and effective time, show for the
// registry what the owner's own would, and the consent service's Decide allows the
// registry, now and at every time the owner's rows name ahead, exactly when it would
// allow it by the owner's own decisions: with a grant in force, one scheduled ahead
// that expires before another is scheduled leaves the registry without consent between,
// and one scheduled ahead that the grant in force, made later, overrules for good is
// not recorded again.
func TestOperationsFindsTheRegistryOwnersToAsk(t *testing.T) {
	s := start(t)
	day := func(month time.Month, d int) time.Time { return time.Date(2025, month, d, 9, 0, 0, 0, time.UTC) }
	named := func(d consentv1.Decision, registry string) *consentv1.ConsentDecision {
		return decision(chip, registry, d)
	}
	// dated is a grant to registryA effective at effective, valid from from until until
	// (either zero for no bound).
	dated := func(effective, from, until time.Time) *consentv1.ConsentDecision {
		d := named(granted, registryA)
		d.EffectiveTime = timestamppb.New(effective)
		if !from.IsZero() {
			d.ValidFrom = timestamppb.New(from)
		}
		if !until.IsZero() {
			d.ValidUntil = timestamppb.New(until)
		}
		return d
	}
	now := time.Now()
	cases := []struct {
		name     string
		unscoped []unscopedDecision
		named    []*consentv1.ConsentDecision
		listed   bool
		// shows is the reason registryA's row shows, when the case has one.
		shows consentv1.Reason
		ask   bool
		// then is the reason registryA's row shows once reception has recorded the grants
		// again as the document says, for a case asked, again how many it records (one
		// when zero), and scheduled when the grant recorded last takes effect, when the
		// owner's was scheduled ahead.
		then      consentv1.Reason
		again     int
		scheduled time.Time
	}{
		{name: "an unscoped grant", listed: true, ask: true, then: consentv1.Reason_REASON_EXPLICIT_GRANT,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1)}}},
		{name: "a withdrawal, then a grant", listed: true, ask: true, then: consentv1.Reason_REASON_EXPLICIT_GRANT,
			unscoped: []unscopedDecision{{decision: "withdrawn", effective: day(3, 1), recorded: day(3, 1)}, {decision: "granted", effective: day(9, 1), recorded: day(9, 1)}}},
		{name: "a grant scheduled ahead, then a withdrawal before it took effect", listed: true,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(10, 1), recorded: day(8, 1)}, {decision: "withdrawn", effective: day(9, 1), recorded: day(9, 1)}}},
		{name: "a grant, then a refusal", listed: true,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1)}, {decision: "refused", effective: day(9, 1), recorded: day(9, 1)}}},
		{name: "a grant, then a withdrawal naming a registry", listed: true,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1)}},
			named:    []*consentv1.ConsentDecision{named(withdrawn, registryB)}},
		{name: "a grant, then an objection naming a registry", listed: true, shows: consentv1.Reason_REASON_OBJECTION,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1)}},
			named:    []*consentv1.ConsentDecision{objection(chip, registryA)}},
		{name: "a grant recorded again naming the registry", listed: true, shows: consentv1.Reason_REASON_EXPLICIT_GRANT,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1)}},
			named:    []*consentv1.ConsentDecision{named(granted, registryA)}},
		{name: "a grant recorded again naming the registry, valid from next month", listed: true,
			shows:    consentv1.Reason_REASON_NOT_YET_VALID,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1)}},
			named:    []*consentv1.ConsentDecision{dated(now, now.AddDate(0, 1, 0), time.Time{})}},
		{name: "a grant recorded again naming the registry, valid until last month", listed: true,
			shows:    consentv1.Reason_REASON_EXPIRED,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1)}},
			named:    []*consentv1.ConsentDecision{dated(now.AddDate(0, -2, 0), time.Time{}, now.AddDate(0, -1, 0))}},
		{name: "a grant recorded again naming the registry, scheduled ahead", listed: true,
			shows:    consentv1.Reason_REASON_NO_GRANT,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1)}},
			named:    []*consentv1.ConsentDecision{dated(now.AddDate(0, 1, 0), time.Time{}, time.Time{})}},
		{name: "an unscoped grant valid until next year", listed: true, ask: true, then: consentv1.Reason_REASON_EXPLICIT_GRANT,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1), until: now.AddDate(1, 0, 0)}}},
		{name: "an unscoped grant that has expired", listed: true,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1), until: now.AddDate(0, -1, 0)}}},
		{name: "an unscoped grant not yet valid", listed: true, ask: true, then: consentv1.Reason_REASON_NOT_YET_VALID,
			unscoped: []unscopedDecision{{decision: "granted", effective: day(3, 1), recorded: day(3, 1), from: now.AddDate(0, 1, 0)}}},
		{name: "an expired unscoped grant, then an unbounded one", listed: true, ask: true, then: consentv1.Reason_REASON_EXPLICIT_GRANT,
			unscoped: []unscopedDecision{
				{decision: "granted", effective: day(3, 1), recorded: day(3, 1), until: now.AddDate(0, -1, 0)},
				{decision: "granted", effective: day(9, 1), recorded: day(9, 1)},
			}},
		{name: "an expired unscoped grant, then one scheduled ahead", listed: true, ask: true,
			then: consentv1.Reason_REASON_NO_GRANT, scheduled: now.AddDate(0, 1, 0),
			unscoped: []unscopedDecision{
				{decision: "granted", effective: day(3, 1), recorded: day(3, 1), until: now.AddDate(0, -1, 0)},
				{decision: "granted", effective: now.AddDate(0, 1, 0), recorded: now.AddDate(0, 0, -1)},
			}},
		{name: "an unscoped grant, then one scheduled ahead", listed: true, ask: true,
			then: consentv1.Reason_REASON_EXPLICIT_GRANT, again: 2, scheduled: now.AddDate(0, 1, 0),
			unscoped: []unscopedDecision{
				{decision: "granted", effective: day(3, 1), recorded: day(3, 1)},
				{decision: "granted", effective: now.AddDate(0, 1, 0), recorded: now.AddDate(0, 0, -1), until: now.AddDate(1, 0, 0)},
			}},
		{name: "a grant in force, then one scheduled ahead that expires before another scheduled later", listed: true, ask: true,
			then: consentv1.Reason_REASON_EXPLICIT_GRANT, again: 3, scheduled: now.AddDate(0, 3, 0),
			unscoped: []unscopedDecision{
				{decision: "granted", effective: day(3, 1), recorded: day(3, 1), until: now.AddDate(0, 6, 0)},
				{decision: "granted", effective: now.AddDate(0, 1, 0), recorded: now.AddDate(0, 0, -2), until: now.AddDate(0, 2, 0)},
				{decision: "granted", effective: now.AddDate(0, 3, 0), recorded: now.AddDate(0, 0, -1)},
			}},
		{name: "two grants scheduled ahead, the later recorded first", listed: true, ask: true,
			then: consentv1.Reason_REASON_EXPLICIT_GRANT, again: 3, scheduled: now.AddDate(0, 1, 0),
			unscoped: []unscopedDecision{
				{decision: "granted", effective: day(3, 1), recorded: day(3, 1)},
				{decision: "granted", effective: now.AddDate(0, 3, 0), recorded: now.AddDate(0, 0, -2)},
				{decision: "granted", effective: now.AddDate(0, 1, 0), recorded: now.AddDate(0, 0, -1), until: now.AddDate(0, 2, 0)},
			}},
		{name: "a grant scheduled ahead, then a grant in force made after it was recorded", listed: true, ask: true,
			then: consentv1.Reason_REASON_EXPLICIT_GRANT,
			unscoped: []unscopedDecision{
				{decision: "granted", effective: now.AddDate(0, 1, 0), recorded: now.AddDate(0, 0, -10)},
				{decision: "granted", effective: now.AddDate(0, 0, -5), recorded: now.AddDate(0, 0, -5), until: now.AddDate(0, 2, 0)},
			}},
		{name: "an unscoped grant scheduled ahead, valid from later still", listed: true, ask: true,
			then: consentv1.Reason_REASON_NO_GRANT, scheduled: now.AddDate(0, 1, 0),
			unscoped: []unscopedDecision{
				{decision: "granted", effective: now.AddDate(0, 1, 0), recorded: now.AddDate(0, 0, -1), from: now.AddDate(0, 2, 0)},
			}},
		{name: "an unbounded unscoped grant, then an expired one", listed: true,
			unscoped: []unscopedDecision{
				{decision: "granted", effective: day(3, 1), recorded: day(3, 1)},
				{decision: "granted", effective: day(9, 1), recorded: day(9, 1), until: now.AddDate(0, -1, 0)},
			}},
		{name: "an unbounded unscoped grant scheduled ahead, then an expired one made after it was recorded", listed: true,
			unscoped: []unscopedDecision{
				{decision: "granted", effective: day(10, 1), recorded: day(8, 1)},
				{decision: "granted", effective: day(9, 1), recorded: day(9, 1), until: now.AddDate(0, -1, 0)},
			}},
		{name: "a grant naming a registry only",
			named: []*consentv1.ConsentDecision{named(granted, registryA)}},
	}
	owners := make([]string, len(cases))
	for i, tc := range cases {
		owners[i] = s.newOwner(t, "Sirunen")
		s.record(t, owners[i], objection(marketing, "email")) // the ledger the earlier version's entries go into
		for j, u := range tc.unscoped {
			id := fmt.Sprintf("0190f5a4-1f00-7000-8000-0000000%02d%03d", i, j)
			s.pushUnscopedRegistryDecision(t, owners[i], id, u.decision, u.effective, u.recorded, u.from, u.until)
		}
		for _, d := range tc.named {
			s.record(t, owners[i], d)
		}
	}

	listed := s.runOperationsRegistryQuery(t)
	for i, tc := range cases {
		rows := listed[owners[i]]
		if (len(rows) > 0) != tc.listed {
			t.Errorf("%s: listed by the query %v, want %v", tc.name, len(rows) > 0, tc.listed)
		}
		if len(rows) == 0 {
			continue
		}
		state, err := s.consent.ListConsents(s.as(t, auth.RoleReception), &consentv1.ListConsentsRequest{OwnerId: owners[i]})
		if err != nil {
			t.Fatalf("%s: state: %v", tc.name, err)
		}
		if tc.shows != consentv1.Reason_REASON_UNSPECIFIED {
			if c := s.chipState(t, owners[i], registryA); c.GetReason() != tc.shows {
				t.Errorf("%s: registry A's row is %v, want %v", tc.name, c, tc.shows)
			}
		}
		if got := askAgain(state.GetConsents(), rows, time.Now()); got != tc.ask {
			t.Errorf("%s: asked %v, want %v", tc.name, got, tc.ask)
		}
		if !tc.ask {
			continue
		}
		before := s.ledger(t, owners[i]).Entries
		again := grantsAgain(rows, time.Now())
		if want := max(tc.again, 1); len(again) != want {
			t.Errorf("%s: %d grants to record again, want %d", tc.name, len(again), want)
		}
		var last *consentv1.ConsentDecision
		for _, r := range again {
			last = s.record(t, owners[i], r.grantAgain(registryA))
			if !sameTime(last.GetValidFrom(), r.Entry.ValidFrom) || !sameTime(last.GetValidUntil(), r.Entry.ValidUntil) {
				t.Errorf("%s: a grant recorded again is valid %v..%v, the owner's %v..%v", tc.name,
					last.GetValidFrom(), last.GetValidUntil(), r.Entry.ValidFrom, r.Entry.ValidUntil)
			}
		}
		if c := s.chipState(t, owners[i], registryA); c.GetReason() != tc.then {
			t.Errorf("%s: registry A's row once the grant is recorded again is %v, want %v", tc.name, c, tc.then)
		}
		if want := tc.scheduled.Truncate(time.Millisecond); !tc.scheduled.IsZero() && !last.GetEffectiveTime().AsTime().Equal(want) {
			t.Errorf("%s: the grant recorded again last takes effect at %v, want %v", tc.name, last.GetEffectiveTime().AsTime(), want)
		}
		registry := s.ledger(t, owners[i]).Entries
		for _, at := range instantsAhead(rows, time.Now()) {
			got := domain.Decide(registry, domain.PurposeMicrochipRegistryDisclosure, registryA, at)
			want := domain.Decide(namingRegistry(before, registryA), domain.PurposeMicrochipRegistryDisclosure, registryA, at)
			if got.Allowed != want.Allowed {
				t.Errorf("%s: at %v registry A is allowed %v (%s), by the owner's own decisions %v (%s)",
					tc.name, at, got.Allowed, got.Reason, want.Allowed, want.Reason)
			}
		}
	}
}

// ledger is the owner's ledger as the consent service reads it.
func (s *system) ledger(t *testing.T, ownerID string) *domain.Ledger {
	t.Helper()
	l, err := consentmongo.New(s.raw.Database(consentDatabase)).Ledger(t.Context(), ownerID)
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	return l
}

// namingRegistry is entries with the unscoped microchip registry decisions naming
// registry: what the owner's own decisions would allow it.
func namingRegistry(entries []domain.Entry, registry string) []domain.Entry {
	out := slices.Clone(entries)
	for i := range out {
		if out[i].Purpose == domain.PurposeMicrochipRegistryDisclosure && out[i].Scope == "" {
			out[i].Scope = registry
		}
	}
	return out
}

// instantsAhead are now and every time of rows still to come, and a day after each: the
// instants the owner's decisions may change the answer at, and one between.
func instantsAhead(rows []registryRow, now time.Time) []time.Time {
	instants := []time.Time{now}
	for _, r := range rows {
		for _, t := range []*time.Time{&r.Entry.EffectiveAt, r.Entry.ValidFrom, r.Entry.ValidUntil} {
			if t != nil && t.After(now) {
				instants = append(instants, *t, t.AddDate(0, 0, 1))
			}
		}
	}
	return instants
}

// sameTime reports whether a recorded decision's time ts is the row's t, both unset
// counting as the same.
func sameTime(ts *timestamppb.Timestamp, t *time.Time) bool {
	if ts == nil || t == nil {
		return ts == nil && t == nil
	}
	return ts.AsTime().Equal(*t)
}

// askAgain applies docs/OPERATIONS.md's three conditions to an owner's consent state
// and the rows the query listed for them, at now: the registry purpose without a scope
// shows no grant, no row of the purpose names a registry, whatever its reason, and the
// grant listed that was made last (by effective_at, or recorded_at when earlier) has no
// valid_until passed; its valid_from may be still to come.
func askAgain(states []*consentv1.ConsentState, rows []registryRow, now time.Time) bool {
	if latest := latestGrant(rows); latest != nil && latest.expired(now) {
		return false
	}
	noGrant := false
	for _, c := range states {
		switch {
		case c.GetPurpose() != chip:
		case c.GetScope() != "":
			return false
		default:
			noGrant = c.GetReason() == consentv1.Reason_REASON_NO_GRANT
		}
	}
	return noGrant
}

// grantsAgain are the rows whose grants docs/OPERATIONS.md has reception record again
// naming the registry, in order, for an owner asked, from the rows the query listed for
// them, at now: the row in effect now (made last among those whose effective_at has
// come) when it is a grant not expired, then each grant still to come recorded after
// the row in effect now was made (every one when none is), in the order recorded.
func grantsAgain(rows []registryRow, now time.Time) []registryRow {
	var again []registryRow
	inEffect := latestInEffect(rows, now)
	if inEffect != nil && inEffect.Entry.Decision == "granted" && !inEffect.expired(now) {
		again = append(again, *inEffect)
	}
	var ahead []registryRow
	for _, r := range rows {
		if r.Entry.Decision == "granted" && r.Entry.EffectiveAt.After(now) &&
			(inEffect == nil || r.Entry.RecordedAt.After(inEffect.made())) {
			ahead = append(ahead, r)
		}
	}
	slices.SortStableFunc(ahead, func(a, b registryRow) int { return a.Entry.RecordedAt.Compare(b.Entry.RecordedAt) })
	return append(again, ahead...)
}

// grantAgain is r's grant recorded again naming registry: its valid_from, valid_until
// and effective_at, so that it holds from no sooner and for no longer than the owner's.
func (r registryRow) grantAgain(registry string) *consentv1.ConsentDecision {
	d := decision(chip, registry, granted)
	d.EffectiveTime = timestamppb.New(r.Entry.EffectiveAt)
	if r.Entry.ValidFrom != nil {
		d.ValidFrom = timestamppb.New(*r.Entry.ValidFrom)
	}
	if r.Entry.ValidUntil != nil {
		d.ValidUntil = timestamppb.New(*r.Entry.ValidUntil)
	}
	return d
}

// expired reports whether r's valid_until has passed at now.
func (r registryRow) expired(now time.Time) bool {
	return r.Entry.ValidUntil != nil && !r.Entry.ValidUntil.After(now)
}

// latestInEffect is the row made last among those whose effective_at has come by now,
// as the consent service counts them, or nil.
func latestInEffect(rows []registryRow, now time.Time) *registryRow {
	var latest *registryRow
	for i, r := range rows {
		if !r.Entry.EffectiveAt.After(now) && (latest == nil || !r.made().Before(latest.made())) {
			latest = &rows[i]
		}
	}
	return latest
}

// latestGrant is the grant of rows made last, as the consent service counts it, or nil.
func latestGrant(rows []registryRow) *registryRow {
	var latest *registryRow
	for i, r := range rows {
		if r.Entry.Decision == "granted" && (latest == nil || !r.made().Before(latest.made())) {
			latest = &rows[i]
		}
	}
	return latest
}

// registryRow is a row of docs/OPERATIONS.md's microchip registry query: an owner and
// one of their unscoped registry decisions, with the fields the query keeps.
type registryRow struct {
	Owner string `bson:"_id"`
	Entry struct {
		Decision    string     `bson:"decision"`
		EffectiveAt time.Time  `bson:"effective_at"`
		RecordedAt  time.Time  `bson:"recorded_at"`
		ValidFrom   *time.Time `bson:"valid_from"`
		ValidUntil  *time.Time `bson:"valid_until"`
	} `bson:"entries"`
}

// made is when the row's decision was made, as the consent service counts it: its
// effective_at, or its recorded_at when earlier (a grant scheduled ahead).
func (r registryRow) made() time.Time {
	if !r.Entry.RecordedAt.IsZero() && r.Entry.RecordedAt.Before(r.Entry.EffectiveAt) {
		return r.Entry.RecordedAt
	}
	return r.Entry.EffectiveAt
}

// runOperationsRegistryQuery runs the mongosh aggregation of docs/OPERATIONS.md's
// microchip registry section on the consent database and returns the rows it lists, by
// owner.
func (s *system) runOperationsRegistryQuery(t *testing.T) map[string][]registryRow {
	t.Helper()
	collection, pipeline := operationsQuery(t, "## Microchip registry grants stored before they named the registry")
	cur, err := s.raw.Database(consentDatabase).Collection(collection).Aggregate(t.Context(), pipeline)
	if err != nil {
		t.Fatalf("the documented query: %v", err)
	}
	var rows []registryRow
	if err := cur.All(t.Context(), &rows); err != nil {
		t.Fatalf("the documented query's rows: %v", err)
	}
	listed := map[string][]registryRow{}
	for _, r := range rows {
		listed[r.Owner] = append(listed[r.Owner], r)
	}
	return listed
}

// operationsQuery reads the collection and pipeline of the first js block of the
// docs/OPERATIONS.md section under heading. mongosh's bare keys are quoted, which makes
// the pipeline Extended JSON.
func operationsQuery(t *testing.T, heading string) (string, mongo.Pipeline) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), heading+"\n")
	if !ok {
		t.Fatalf("OPERATIONS.md has no section %q", heading)
	}
	_, block, _ := strings.Cut(section, "```js\n")
	block, _, _ = strings.Cut(block, "```")
	m := regexp.MustCompile(`(?s)^db\.(\w+)\.aggregate\((.*)\)\s*$`).FindStringSubmatch(block)
	if m == nil {
		t.Fatalf("the section's js block is no aggregation: %q", block)
	}
	ext := regexp.MustCompile(`([{,]\s*)([$\w]+)\s*:`).ReplaceAllString(m[2], `$1"$2":`)
	var query struct {
		Pipeline mongo.Pipeline `bson:"pipeline"`
	}
	if err := bson.UnmarshalExtJSON([]byte(`{"pipeline": `+ext+`}`), false, &query); err != nil {
		t.Fatalf("the documented pipeline %s: %v", ext, err)
	}
	return m[1], query.Pipeline
}
