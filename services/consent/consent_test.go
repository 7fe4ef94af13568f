package consent_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/owner/ownertest"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
)

const (
	ownerDatabase   = "lillvet_owner_test"
	consentDatabase = "lillvet_consent_test"
	// unknownOwner is a well-formed id no owner has.
	unknownOwner = "0190b1b4-0000-7000-8000-000000000000"
)

// system is the consent service and the owner service it asks, on one embedded store.
type system struct {
	env     *servicetest.Env
	owners  ownerv1.OwnerServiceClient
	consent consentv1.ConsentServiceClient
	stop    func()
	// stopOwners stops the owner service.
	stopOwners func()
	raw        *mongo.Client
}

// start runs the system; opts adjust the consent service's configuration.
func start(t *testing.T, opts ...func(*consent.Config)) *system {
	t.Helper()
	env := servicetest.New(t)
	ownerSvc, ownerAddr := ownertest.Start(t, env, ownerDatabase)

	consentL := servicetest.Listen(t)
	cfg := consent.Config{
		Base: env.Base(consentL, consentDatabase), OwnerAddr: ownerAddr, OwnerTLS: env.TLS,
	}
	for _, o := range opts {
		o(&cfg)
	}
	svc := env.Serve(t, consentL.Addr().String(), func(ctx context.Context) error { return consent.Run(ctx, cfg) })
	raw := embeddedtest.Client(t, env.Store.URI())
	return &system{
		env: env, owners: ownerv1.NewOwnerServiceClient(ownerSvc.Conn),
		consent: consentv1.NewConsentServiceClient(svc.Conn), stop: svc.Stop, stopOwners: ownerSvc.Stop, raw: raw,
	}
}

func (s *system) as(t *testing.T, roles ...auth.Role) context.Context {
	t.Helper()
	return s.env.As(t, roles...)
}

// newOwner registers an owner in the owner service and returns its id.
func (s *system) newOwner(t *testing.T, family string) string {
	t.Helper()
	res, err := s.owners.CreateOwner(s.as(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: &ownerv1.Owner{
		GivenNames: "Aino", FamilyName: family, Phone: "040 123 4567",
		Address:    &ownerv1.Address{Street: "Ruukintie 1", PostalCode: "60100", City: "Seinäjoki"},
		HomeClinic: ownerv1.Clinic_CLINIC_SEINAJOKI,
	}})
	if err != nil {
		t.Fatalf("create owner: %v", err)
	}
	return res.GetOwner().GetId()
}

// restrictInOwnerService restricts the owner in the owner service, as the erasure job's
// first step does.
func (s *system) restrictInOwnerService(t *testing.T, ownerID string) {
	t.Helper()
	_, err := s.owners.SetOwnerRestriction(s.as(t, auth.RoleClinicManager), &ownerv1.SetOwnerRestrictionRequest{
		OwnerId: ownerID, Restricted: true, Reason: "erasure request 12",
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *system) record(t *testing.T, ownerID string, d *consentv1.ConsentDecision) *consentv1.ConsentDecision {
	t.Helper()
	res, err := s.consent.RecordConsentDecision(s.as(t, auth.RoleReception),
		&consentv1.RecordConsentDecisionRequest{OwnerId: ownerID, Decision: d})
	if err != nil {
		t.Fatalf("record %v: %v", d, err)
	}
	return res.GetDecision()
}

func (s *system) check(t *testing.T, ownerID string, p consentv1.Purpose, scope string) *consentv1.CheckConsentResponse {
	t.Helper()
	res, err := s.consent.CheckConsent(s.as(t, auth.RoleClinicManager),
		&consentv1.CheckConsentRequest{OwnerId: ownerID, Purpose: p, Scope: scope})
	if err != nil {
		t.Fatalf("check %v/%s: %v", p, scope, err)
	}
	return res
}

// Decisions as the desk records them.
func objection(p consentv1.Purpose, scope string) *consentv1.ConsentDecision {
	return &consentv1.ConsentDecision{
		Purpose: p, Scope: scope, Decision: consentv1.Decision_DECISION_OBJECTED, Method: consentv1.Method_METHOD_IN_PERSON,
	}
}

func decision(p consentv1.Purpose, scope string, d consentv1.Decision) *consentv1.ConsentDecision {
	out := &consentv1.ConsentDecision{
		Purpose: p, Scope: scope, Decision: d, Method: consentv1.Method_METHOD_WRITTEN, EvidenceRef: "form-17",
	}
	if d == consentv1.Decision_DECISION_GRANTED {
		out.StatementVersion = "2026-01"
	}
	return out
}

var (
	wantCode   = servicetest.WantCode
	violations = servicetest.Violations
)

const (
	marketing = consentv1.Purpose_PURPOSE_DIRECT_MARKETING
	stats     = consentv1.Purpose_PURPOSE_STATISTICAL_RESEARCH
	insurer   = consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE
	kennel    = consentv1.Purpose_PURPOSE_KENNEL_CLUB_DISCLOSURE
	granted   = consentv1.Decision_DECISION_GRANTED
	refused   = consentv1.Decision_DECISION_REFUSED
	withdrawn = consentv1.Decision_DECISION_WITHDRAWN
	objected  = consentv1.Decision_DECISION_OBJECTED
	// insurerIf is the recipient id of an insurer in the disclosure service.
	insurerIf = "0190f5a4-1f00-7000-8000-0000000000a1"
)

func TestObjectionTakesEffectOnTheNextCheck(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Mäkinen")
	if res := s.check(t, id, marketing, "email"); !res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_DEFAULT_OPT_OUT {
		t.Fatalf("before any decision: %v, want allowed by default", res)
	}
	entry := s.record(t, id, objection(marketing, "email"))
	res := s.check(t, id, marketing, "email")
	if res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_OBJECTION || res.GetDecidingDecision().GetId() != entry.GetId() {
		t.Fatalf("after the objection: %v, want denied by entry %s", res, entry.GetId())
	}
	// The objection covers its channel only.
	if res := s.check(t, id, marketing, "SMS"); !res.GetAllowed() {
		t.Fatalf("an e-mail objection denied SMS: %v", res)
	}
	if entry.GetRecordedBy() != "test-reception" || entry.GetSequence() != 1 || entry.GetRecordTime() == nil {
		t.Fatalf("entry does not say who recorded it and where it stands: %v", entry)
	}
}

func TestExpiredGrantDenies(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Virtanen")
	now := time.Now()
	const lahiTapiola = "0190f5a4-1f00-7000-8000-0000000000b2"
	g := decision(insurer, lahiTapiola, granted)
	g.EffectiveTime = timestamppb.New(now.Add(-48 * time.Hour))
	g.ValidUntil = timestamppb.New(now.Add(-24 * time.Hour))
	entry := s.record(t, id, g)
	res := s.check(t, id, insurer, strings.ToUpper(lahiTapiola)) // any spelling of the id
	if res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_EXPIRED || res.GetDecidingDecision().GetId() != entry.GetId() {
		t.Fatalf("expired grant: %v, want denied as expired", res)
	}
	// Another insurer never had a grant.
	if res := s.check(t, id, insurer, insurerIf); res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_NO_GRANT {
		t.Fatalf("other insurer: %v, want no grant", res)
	}
}

// pushLegacyInsurerDecision appends to the owner's ledger, creating it when needed, an
// insurer decision ("granted", "withdrawn") as a release before insurer scopes had to
// be recipient ids stored it: its scope as typed, trimmed only.
func (s *system) pushLegacyInsurerDecision(t *testing.T, ownerID, id, decision, scope string, effective time.Time) {
	t.Helper()
	entry := bson.M{
		"id": id, "purpose": "insurer_disclosure", "scope": scope, "decision": decision, "method": "written",
		"evidence_ref": "form-2025/9", "effective_at": effective.UTC().Truncate(time.Millisecond),
		"recorded_by": "test-reception", "recorded_at": effective.UTC().Truncate(time.Millisecond),
	}
	if decision == "granted" {
		entry["statement_version"] = "2025-01"
	}
	_, err := s.raw.Database(consentDatabase).Collection("ledgers").UpdateByID(t.Context(), ownerID,
		bson.M{"$push": bson.M{"entries": entry}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		t.Fatal(err)
	}
}

// TestLegacyInsurerScopesMeetTheChecks: an insurer grant and a later withdrawal stored
// before insurer scopes were kept canonical, in two spellings of the same recipient id,
// are one insurer's decisions: the withdrawal stops the check and the filter, and the
// state lists one row under the canonical id.
func TestLegacyInsurerScopesMeetTheChecks(t *testing.T) {
	s := start(t)
	upper := strings.ToUpper(insurerIf)
	for _, tc := range []struct{ name, grant, withdrawal string }{
		{"withdrawal in upper case", insurerIf, upper},
		{"withdrawal in braces", insurerIf, "{" + insurerIf + "}"},
		{"withdrawal as a URN", insurerIf, "urn:uuid:" + insurerIf},
		{"withdrawal without hyphens", insurerIf, strings.ReplaceAll(insurerIf, "-", "")},
		{"grant in upper case", upper, insurerIf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := s.newOwner(t, "Vakuutettu")
			const withdrawalID = "0190f5a4-1f00-7000-8000-00000000c002"
			granted := time.Now().Add(-48 * time.Hour)
			s.pushLegacyInsurerDecision(t, id, "0190f5a4-1f00-7000-8000-00000000c001", "granted", tc.grant, granted)
			s.pushLegacyInsurerDecision(t, id, withdrawalID, "withdrawn", tc.withdrawal, granted.Add(24*time.Hour))

			res := s.check(t, id, insurer, insurerIf)
			if res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_WITHDRAWAL || res.GetDecidingDecision().GetId() != withdrawalID {
				t.Errorf("check: %v, want denied by the withdrawal", res)
			}
			if got := res.GetDecidingDecision().GetScope(); got != insurerIf {
				t.Errorf("the deciding decision's scope is %q, want %q", got, insurerIf)
			}
			filtered, err := s.consent.FilterConsents(s.as(t, auth.RoleClinicManager), &consentv1.FilterConsentsRequest{
				OwnerIds: []string{id}, Purpose: insurer, Scope: insurerIf,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(filtered.GetAllowedOwnerIds()) != 0 {
				t.Errorf("the filter allows %v after the withdrawal", filtered.GetAllowedOwnerIds())
			}
			state, err := s.consent.ListConsents(s.as(t, auth.RoleReception), &consentv1.ListConsentsRequest{OwnerId: id})
			if err != nil {
				t.Fatal(err)
			}
			var rows []string
			for _, c := range state.GetConsents() {
				if c.GetPurpose() == insurer {
					rows = append(rows, c.GetScope()+" "+c.GetReason().String())
				}
			}
			if want := []string{insurerIf + " REASON_WITHDRAWAL"}; !slices.Equal(rows, want) {
				t.Errorf("the state's insurer rows are %q, want %q", rows, want)
			}
		})
	}
}

// TestLegacyInsurerWithdrawalUnderATypedName: an insurer withdrawal stored before
// insurer scopes had to be recipient ids, under the insurer's name as typed, names no
// recipient id the check or the filter asks with. It was the owner's word against an
// insurer the ledger cannot tell, so it counts for every insurer: a grant made before it
// is withdrawn (here one stored in upper case, read as the canonical id), and a grant
// recorded after it allows only the insurer it names.
func TestLegacyInsurerWithdrawalUnderATypedName(t *testing.T) {
	s := start(t)
	const (
		grantID      = "0190f5a4-1f00-7000-8000-00000000c101"
		withdrawalID = "0190f5a4-1f00-7000-8000-00000000c102"
		// insurerY is another insurer's recipient id.
		insurerY = "0190f5a4-1f00-7000-8000-0000000000a2"
	)
	earlier := time.Now().Add(-48 * time.Hour)

	t.Run("stops an earlier grant", func(t *testing.T) {
		id := s.newOwner(t, "Vakuutettu")
		s.pushLegacyInsurerDecision(t, id, grantID, "granted", strings.ToUpper(insurerIf), earlier)
		s.pushLegacyInsurerDecision(t, id, withdrawalID, "withdrawn", "LähiTapiola", earlier.Add(24*time.Hour))

		res := s.check(t, id, insurer, insurerIf)
		if res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_WITHDRAWAL || res.GetDecidingDecision().GetId() != withdrawalID {
			t.Errorf("check: %v, want denied by the withdrawal", res)
		}
		if s.allowedFor(t, id, insurer, insurerIf) {
			t.Error("the filter allows the owner after the withdrawal")
		}
	})
	t.Run("a later grant allows the insurer it names only", func(t *testing.T) {
		id := s.newOwner(t, "Vakuutettu")
		s.pushLegacyInsurerDecision(t, id, withdrawalID, "withdrawn", "LähiTapiola", earlier)
		grant := s.record(t, id, decision(insurer, insurerIf, granted))

		if res := s.check(t, id, insurer, insurerIf); !res.GetAllowed() || res.GetDecidingDecision().GetId() != grant.GetId() {
			t.Errorf("check of the insurer granted: %v, want allowed by the grant", res)
		}
		if !s.allowedFor(t, id, insurer, insurerIf) {
			t.Error("the filter refuses the insurer granted")
		}
		res := s.check(t, id, insurer, insurerY)
		if res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_WITHDRAWAL || res.GetDecidingDecision().GetId() != withdrawalID {
			t.Errorf("check of another insurer: %v, want denied by the withdrawal", res)
		}
		if s.allowedFor(t, id, insurer, insurerY) {
			t.Error("the filter allows another insurer")
		}
	})
}

// TestOperationsListsTheRecipientScopesToReview runs docs/OPERATIONS.md's query of
// insurer and microchip registry decisions whose scope is no canonical recipient id: it
// lists those stored in another spelling, under a name or without a scope, and none
// recorded since, nor another purpose's.
func TestOperationsListsTheRecipientScopesToReview(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Vakuutettu")
	other := s.newOwner(t, "Uusi")
	earlier := time.Now().Add(-72 * time.Hour)
	s.pushLegacyInsurerDecision(t, id, "0190f5a4-1f00-7000-8000-00000000c201", "granted", strings.ToUpper(insurerIf), earlier)
	s.pushLegacyInsurerDecision(t, id, "0190f5a4-1f00-7000-8000-00000000c202", "withdrawn", "{"+insurerIf+"}", earlier)
	s.pushLegacyInsurerDecision(t, id, "0190f5a4-1f00-7000-8000-00000000c203", "withdrawn", "LähiTapiola", earlier)
	s.pushLegacyInsurerDecision(t, id, "0190f5a4-1f00-7000-8000-00000000c204", "granted", insurerIf, earlier)
	s.pushUnscopedRegistryDecision(t, id, "0190f5a4-1f00-7000-8000-00000000c205", "granted", earlier, earlier, time.Time{}, time.Time{})
	for _, d := range []*consentv1.ConsentDecision{
		decision(insurer, insurerIf, granted), decision(chip, registryA, granted), objection(marketing, "email"),
	} {
		s.record(t, id, d)
		s.record(t, other, d)
	}

	collection, pipeline := operationsQuery(t, "## Insurer decisions stored before their scope was a recipient id")
	cur, err := s.raw.Database(consentDatabase).Collection(collection).Aggregate(t.Context(), pipeline)
	if err != nil {
		t.Fatalf("the documented query: %v", err)
	}
	var rows []struct {
		Owner string `bson:"_id"`
		Entry struct {
			ID    string `bson:"id"`
			Scope string `bson:"scope"`
		} `bson:"entries"`
	}
	if err := cur.All(t.Context(), &rows); err != nil {
		t.Fatalf("the documented query's rows: %v", err)
	}
	var listed []string
	for _, r := range rows {
		listed = append(listed, r.Owner+" "+r.Entry.ID+" "+r.Entry.Scope)
	}
	want := []string{
		id + " 0190f5a4-1f00-7000-8000-00000000c201 " + strings.ToUpper(insurerIf),
		id + " 0190f5a4-1f00-7000-8000-00000000c202 {" + insurerIf + "}",
		id + " 0190f5a4-1f00-7000-8000-00000000c203 LähiTapiola",
		id + " 0190f5a4-1f00-7000-8000-00000000c205 ",
	}
	slices.Sort(listed)
	if !slices.Equal(listed, want) {
		t.Errorf("the query lists\n%q\nwant\n%q", listed, want)
	}
}

func TestUnknownOwnerIsNotFound(t *testing.T) {
	s := start(t)
	ctx := s.as(t, auth.RoleClinicManager)
	calls := map[string]func() error{
		"record": func() error {
			_, err := s.consent.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{
				OwnerId: unknownOwner, Decision: objection(stats, ""),
			})
			return err
		},
		"check": func() error {
			_, err := s.consent.CheckConsent(ctx, &consentv1.CheckConsentRequest{OwnerId: unknownOwner, Purpose: stats})
			return err
		},
		"state": func() error {
			_, err := s.consent.ListConsents(ctx, &consentv1.ListConsentsRequest{OwnerId: unknownOwner})
			return err
		},
		"history": func() error {
			_, err := s.consent.ListConsentDecisions(ctx, &consentv1.ListConsentDecisionsRequest{OwnerId: unknownOwner})
			return err
		},
		"restriction": func() error {
			_, err := s.consent.SetOwnerRestriction(ctx, &consentv1.SetOwnerRestrictionRequest{
				OwnerId: unknownOwner, Restricted: true, Reason: "erasure request " + jobOne,
			})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if st := wantCode(t, call(), codes.NotFound); st.Message() != "owner "+unknownOwner+" not found" {
				t.Errorf("an unknown owner is answered %q, want it named by its id", st.Message())
			}
		})
	}
}

func TestRetriedRecordIsOneEntry(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Korhonen")
	ctx := s.as(t, auth.RoleReception)
	req := &consentv1.RecordConsentDecisionRequest{OwnerId: id, RequestId: "desk-2026-0042", Decision: objection(stats, "")}
	first, err := s.consent.RecordConsentDecision(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.consent.RecordConsentDecision(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// The gateway's Idempotency-Key arrives as metadata.
	keyed := metadata.AppendToOutgoingContext(ctx, "idempotency-key", "desk-2026-0042")
	third, err := s.consent.RecordConsentDecision(keyed, &consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: objection(stats, "")})
	if err != nil {
		t.Fatal(err)
	}
	if second.GetDecision().GetId() != first.GetDecision().GetId() || third.GetDecision().GetId() != first.GetDecision().GetId() ||
		second.GetDecision().GetSequence() != 1 {
		t.Fatalf("retries made new entries: %v, %v, %v", first.GetDecision(), second.GetDecision(), third.GetDecision())
	}
	hist, err := s.consent.ListConsentDecisions(ctx, &consentv1.ListConsentDecisionsRequest{OwnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.GetDecisions()) != 1 {
		t.Fatalf("history has %d entries after three tries of one record, want 1", len(hist.GetDecisions()))
	}

	// The same request id for another decision is refused, never answered with the
	// first one as if the new decision were recorded.
	_, err = s.consent.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{
		OwnerId: id, RequestId: "desk-2026-0042", Decision: decision(stats, "", granted),
	})
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(fmt.Sprint(st.Details()), "REQUEST_ID_REUSED") {
		t.Errorf("a request id reused for a grant: %v", st)
	}
}

// TestRequestIDReusedForAnotherDecision: a request id already used is refused for a
// decision that differs in any field the client set, so that a renewed grant sent under
// the old grant's id is never answered with the expired grant as if it were recorded.
func TestRequestIDReusedForAnotherDecision(t *testing.T) {
	s := start(t)
	ctx := s.as(t, auth.RoleReception)
	expired := func() *consentv1.ConsentDecision {
		d := decision(kennel, "", granted)
		d.EffectiveTime = timestamppb.New(time.Now().Add(-48 * time.Hour))
		d.ValidUntil = timestamppb.New(time.Now().Add(-24 * time.Hour))
		return d
	}
	for _, tc := range []struct {
		name   string
		change func(*consentv1.ConsentDecision)
	}{
		{"renewed for a year", func(d *consentv1.ConsentDecision) {
			d.EffectiveTime, d.ValidUntil = nil, timestamppb.New(time.Now().AddDate(1, 0, 0))
		}},
		{"renewed without an end", func(d *consentv1.ConsentDecision) { d.EffectiveTime, d.ValidUntil = nil, nil }},
		{"another form", func(d *consentv1.ConsentDecision) { d.EvidenceRef = "form-18" }},
		{"another statement", func(d *consentv1.ConsentDecision) { d.StatementVersion = "2026-02" }},
		{"given in person", func(d *consentv1.ConsentDecision) { d.Method, d.EvidenceRef = consentv1.Method_METHOD_IN_PERSON, "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := s.newOwner(t, "Uusija")
			const rid = "kennel-grant"
			if _, err := s.consent.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{OwnerId: id, RequestId: rid, Decision: expired()}); err != nil {
				t.Fatal(err)
			}
			again := expired()
			tc.change(again)
			_, err := s.consent.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{OwnerId: id, RequestId: rid, Decision: again})
			if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(fmt.Sprint(st.Details()), "REQUEST_ID_REUSED") {
				t.Fatalf("the request id reused: %v", st)
			}
			if res := s.check(t, id, kennel, ""); res.GetReason() != consentv1.Reason_REASON_EXPIRED {
				t.Fatalf("check after the refusal: %v, want the first grant's expiry", res.GetReason())
			}
		})
	}
}

// TestRetryAfterTheGrantExpired: a grant valid for an hour, recorded without an
// effective time, is retried under its request id once the hour has passed: the retry
// answers the first entry, as it would have within the hour, and adds none; the request
// id sent with another decision is still refused as reused, and the same grant under a
// new request id is refused for a validity that ends before it takes effect.
func TestRetryAfterTheGrantExpired(t *testing.T) {
	clock := servicetest.NewClock(time.Now())
	s := start(t, func(c *consent.Config) { c.Now = clock.Now })
	id := s.newOwner(t, "Myöhäinen")
	ctx := s.as(t, auth.RoleReception)
	grant := func() *consentv1.ConsentDecision {
		d := decision(kennel, "", granted)
		d.ValidUntil = timestamppb.New(clock.Now().Add(time.Hour))
		return d
	}
	const rid = "desk-2026-0077"
	req := &consentv1.RecordConsentDecisionRequest{OwnerId: id, RequestId: rid, Decision: grant()}
	first, err := s.consent.RecordConsentDecision(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)

	again, err := s.consent.RecordConsentDecision(ctx, req)
	if err != nil {
		t.Fatalf("the retry after the grant expired: %v", err)
	}
	if again.GetDecision().GetId() != first.GetDecision().GetId() || again.GetDecision().GetSequence() != 1 {
		t.Errorf("the retry answered %v, want the first entry %v", again.GetDecision(), first.GetDecision())
	}
	hist, err := s.consent.ListConsentDecisions(ctx, &consentv1.ListConsentDecisionsRequest{OwnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.GetDecisions()) != 1 {
		t.Errorf("history has %d entries after the retry, want 1", len(hist.GetDecisions()))
	}

	other := proto.Clone(req).(*consentv1.RecordConsentDecisionRequest)
	other.Decision.EvidenceRef = "form-18"
	_, err = s.consent.RecordConsentDecision(ctx, other)
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(fmt.Sprint(st.Details()), "REQUEST_ID_REUSED") {
		t.Errorf("the request id reused for another form: %v", st)
	}

	renewed := proto.Clone(req).(*consentv1.RecordConsentDecisionRequest)
	renewed.RequestId = "desk-2026-0078"
	_, err = s.consent.RecordConsentDecision(ctx, renewed)
	if got := violations(t, err); !slices.Equal(got, []string{"decision.valid_until"}) {
		t.Errorf("the expired grant under a new request id: violations %v, want decision.valid_until", got)
	}
}

// TestLateRetryOfAnEntryRecordedUnderOlderRules: a grant recorded before a statement
// version had to be a label, with one typed as free text (set here with the raw
// driver, as that release stored it), is retried under its request id: the retry
// answers the first entry, not INVALID_ARGUMENT for a rule the entry predates, and adds
// none; the request id sent with another such version is refused as reused, and the
// same grant under a new request id is refused for its version.
func TestLateRetryOfAnEntryRecordedUnderOlderRules(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Myöhäinen")
	ctx := s.as(t, auth.RoleReception)
	const (
		rid   = "desk-2025-0042"
		typed = "Seloste 2025"
	)
	first, err := s.consent.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{
		OwnerId: id, RequestId: rid, Decision: decision(kennel, "", granted),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.raw.Database(consentDatabase).Collection("ledgers").UpdateByID(t.Context(), id,
		bson.M{"$set": bson.M{"entries.0.statement_version": typed}})
	if err != nil {
		t.Fatal(err)
	}
	retry := func(rid, version string) (*consentv1.RecordConsentDecisionResponse, error) {
		d := decision(kennel, "", granted)
		d.StatementVersion = version
		return s.consent.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{OwnerId: id, RequestId: rid, Decision: d})
	}

	again, err := retry(rid, typed)
	if err != nil {
		t.Fatalf("the late retry: %v", err)
	}
	if again.GetDecision().GetId() != first.GetDecision().GetId() || again.GetDecision().GetStatementVersion() != typed {
		t.Errorf("the late retry answered %v, want the first entry", again.GetDecision())
	}
	hist, err := s.consent.ListConsentDecisions(ctx, &consentv1.ListConsentDecisionsRequest{OwnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.GetDecisions()) != 1 {
		t.Errorf("history has %d entries after the retry, want 1", len(hist.GetDecisions()))
	}

	_, err = retry(rid, "Seloste 2026")
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(fmt.Sprint(st.Details()), "REQUEST_ID_REUSED") {
		t.Errorf("the request id reused for another statement: %v", st)
	}
	_, err = retry("desk-2025-0043", typed)
	if got := violations(t, err); !slices.Equal(got, []string{"decision.statement_version"}) {
		t.Errorf("the typed version under a new request id: violations %v, want decision.statement_version", got)
	}
}

// TestDecisionSequences records each sequence for a fresh owner through the API and
// checks the verdict, for opt-out and opt-in purposes alike.
func TestDecisionSequences(t *testing.T) {
	s := start(t)
	for _, tc := range []struct {
		name    string
		purpose consentv1.Purpose
		scope   string
		seq     []consentv1.Decision
		allowed bool
		reason  consentv1.Reason
	}{
		{"opt-out, nothing", stats, "", nil, true, consentv1.Reason_REASON_DEFAULT_OPT_OUT},
		{"opt-out, objected", stats, "", []consentv1.Decision{objected}, false, consentv1.Reason_REASON_OBJECTION},
		{"opt-out, objected then granted", stats, "", []consentv1.Decision{objected, granted}, true, consentv1.Reason_REASON_EXPLICIT_GRANT},
		{"opt-out, granted then objected", stats, "", []consentv1.Decision{granted, objected}, false, consentv1.Reason_REASON_OBJECTION},
		{"opt-out, refused", marketing, "post", []consentv1.Decision{refused}, false, consentv1.Reason_REASON_REFUSAL},
		{"opt-out, granted then withdrawn", marketing, "phone", []consentv1.Decision{granted, withdrawn}, false, consentv1.Reason_REASON_WITHDRAWAL},
		{"opt-in, nothing", kennel, "", nil, false, consentv1.Reason_REASON_NO_GRANT},
		{"opt-in, granted", kennel, "", []consentv1.Decision{granted}, true, consentv1.Reason_REASON_EXPLICIT_GRANT},
		{"opt-in, granted then withdrawn", kennel, "", []consentv1.Decision{granted, withdrawn}, false, consentv1.Reason_REASON_WITHDRAWAL},
		{"opt-in, withdrawn then granted", kennel, "", []consentv1.Decision{withdrawn, granted}, true, consentv1.Reason_REASON_EXPLICIT_GRANT},
		{"opt-in, refused", insurer, insurerIf, []consentv1.Decision{refused}, false, consentv1.Reason_REASON_REFUSAL},
		{"opt-in, objected", insurer, insurerIf, []consentv1.Decision{granted, objected}, false, consentv1.Reason_REASON_OBJECTION},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := s.newOwner(t, "Sequence")
			var last *consentv1.ConsentDecision
			for _, d := range tc.seq {
				last = s.record(t, id, decision(tc.purpose, tc.scope, d))
			}
			res := s.check(t, id, tc.purpose, tc.scope)
			if res.GetAllowed() != tc.allowed || res.GetReason() != tc.reason {
				t.Fatalf("got allowed=%v reason=%v, want %v %v", res.GetAllowed(), res.GetReason(), tc.allowed, tc.reason)
			}
			if last != nil && res.GetDecidingDecision().GetId() != last.GetId() {
				t.Fatalf("deciding entry %q, want the latest %q", res.GetDecidingDecision().GetId(), last.GetId())
			}
		})
	}
}

func TestCurrentStateAndRestriction(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Laine")
	s.record(t, id, objection(marketing, "sms"))
	s.record(t, id, decision(insurer, insurerIf, granted))
	ctx := s.as(t, auth.RoleNurse)
	state := func() *consentv1.ListConsentsResponse {
		t.Helper()
		res, err := s.consent.ListConsents(ctx, &consentv1.ListConsentsRequest{OwnerId: id})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var got []string
	for _, c := range state().GetConsents() {
		got = append(got, fmt.Sprintf("%v/%s=%v", c.GetPurpose(), c.GetScope(), c.GetReason()))
	}
	want := []string{
		"PURPOSE_DIRECT_MARKETING/email=REASON_DEFAULT_OPT_OUT", "PURPOSE_DIRECT_MARKETING/phone=REASON_DEFAULT_OPT_OUT",
		"PURPOSE_DIRECT_MARKETING/post=REASON_DEFAULT_OPT_OUT", "PURPOSE_DIRECT_MARKETING/sms=REASON_OBJECTION",
		"PURPOSE_STATISTICAL_RESEARCH/=REASON_DEFAULT_OPT_OUT", "PURPOSE_SERVICE_DEVELOPMENT/=REASON_DEFAULT_OPT_OUT",
		"PURPOSE_CARE_REMINDERS/=REASON_DEFAULT_OPT_OUT", "PURPOSE_INSURER_DISCLOSURE/" + insurerIf + "=REASON_EXPLICIT_GRANT",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("state\n got %v\nwant %v", got, want)
	}

	// The erasure job restricts the owner: nothing is allowed, grants included.
	manager := s.as(t, auth.RoleClinicManager)
	if _, err := s.consent.SetOwnerRestriction(manager, &consentv1.SetOwnerRestrictionRequest{
		OwnerId: id, Restricted: true, Reason: "erasure request " + jobOne,
	}); err != nil {
		t.Fatal(err)
	}
	restricted := state()
	if !restricted.GetOwnerRestricted() {
		t.Fatal("state does not say the owner is restricted")
	}
	for _, c := range restricted.GetConsents() {
		if c.GetAllowed() || c.GetReason() != consentv1.Reason_REASON_OWNER_RESTRICTED {
			t.Fatalf("restricted owner allowed %v", c)
		}
	}
	if _, err := s.consent.SetOwnerRestriction(manager, &consentv1.SetOwnerRestrictionRequest{
		OwnerId: id, Restricted: false, Reason: "case-2026-17",
	}); err != nil {
		t.Fatal(err)
	}
	if res := s.check(t, id, insurer, insurerIf); !res.GetAllowed() {
		t.Fatalf("lifted restriction still denies: %v", res)
	}

	// An owner the owner service restricts, without a ledger here, is denied too.
	other := s.newOwner(t, "Heikkinen")
	s.restrictInOwnerService(t, other)
	if res := s.check(t, other, stats, ""); res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_OWNER_RESTRICTED {
		t.Fatalf("owner restricted in the owner service: %v", res)
	}
}

// TestRestrictionAuditedAsSetOrLifted: a restriction lifted is audited as a lift, so
// that the owner's access log does not read it as their processing restricted.
func TestRestrictionAuditedAsSetOrLifted(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Laine")
	manager := s.as(t, auth.RoleClinicManager)
	for _, restricted := range []bool{true, false, false} {
		if _, err := s.consent.SetOwnerRestriction(manager, &consentv1.SetOwnerRestrictionRequest{
			OwnerId: id, Restricted: restricted, Reason: "form-17",
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.stop()
	for _, want := range []struct {
		action string
		n      int64
	}{
		{"consent.restriction.set", 1},
		{"consent.restriction.lift", 2},
	} {
		n, err := s.raw.Database(consentDatabase).Collection("audit_events").CountDocuments(t.Context(),
			bson.M{"action": want.action, "subject_owner_id": id})
		if err != nil || n != want.n {
			t.Errorf("%d %s events (%v), want %d", n, want.action, err, want.n)
		}
	}
}

func TestHistoryIsPagedNewestFirst(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Niemi")
	var recorded []string
	for _, d := range []consentv1.Decision{objected, granted, objected, granted, withdrawn} {
		recorded = append(recorded, s.record(t, id, decision(stats, "", d)).GetId())
	}
	slices.Reverse(recorded)
	ctx := s.as(t, auth.RoleVeterinarian)
	var got []string
	token := ""
	for page := 0; ; page++ {
		res, err := s.consent.ListConsentDecisions(ctx, &consentv1.ListConsentDecisionsRequest{OwnerId: id, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetDecisions()) > 2 || page > 3 {
			t.Fatalf("page %d has %d entries", page, len(res.GetDecisions()))
		}
		for _, d := range res.GetDecisions() {
			got = append(got, d.GetId())
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	if !slices.Equal(got, recorded) {
		t.Fatalf("history\n got %v\nwant %v (newest first)", got, recorded)
	}
	_, err := s.consent.ListConsentDecisions(ctx, &consentv1.ListConsentDecisionsRequest{OwnerId: id, PageToken: "bm9wZQ"})
	if fields := violations(t, err); fields[0] != "page_token" {
		t.Fatalf("violations %v", fields)
	}
}

func TestFilter(t *testing.T) {
	s := start(t)
	objector := s.newOwner(t, "Objector")
	s.record(t, objector, objection(marketing, "email"))
	silent := s.newOwner(t, "Silent")
	smsOnly := s.newOwner(t, "SmsOnly")
	s.record(t, smsOnly, objection(marketing, "sms"))
	held := s.newOwner(t, "Held")
	s.restrictInOwnerService(t, held)
	res, err := s.consent.FilterConsents(s.as(t, auth.RoleClinicManager), &consentv1.FilterConsentsRequest{
		OwnerIds: []string{objector, silent, unknownOwner, held, smsOnly, silent},
		Purpose:  marketing, Scope: "email",
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{silent, smsOnly}; !slices.Equal(res.GetAllowedOwnerIds(), want) {
		t.Fatalf("allowed %v, want %v", res.GetAllowedOwnerIds(), want)
	}
	if want := []string{unknownOwner}; !slices.Equal(res.GetUnknownOwnerIds(), want) {
		t.Fatalf("unknown %v, want %v", res.GetUnknownOwnerIds(), want)
	}
}

func TestBadInputNamesTheFields(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Input")
	ctx := s.as(t, auth.RoleClinicManager)
	record := func(d *consentv1.ConsentDecision) error {
		_, err := s.consent.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: d})
		return err
	}
	tooMany := make([]string, 10_001)
	for i := range tooMany {
		tooMany[i] = unknownOwner
	}
	for _, tc := range []struct {
		name string
		call func() error
		want []string
	}{
		{"no decision", func() error { return record(nil) }, []string{"decision"}},
		{"empty decision", func() error { return record(&consentv1.ConsentDecision{}) }, []string{"decision.purpose", "decision.decision", "decision.method"}},
		{"marketing without a channel", func() error { return record(objection(marketing, "")) }, []string{"decision.scope"}},
		{"written without evidence", func() error {
			d := objection(stats, "")
			d.Method = consentv1.Method_METHOD_WRITTEN
			return record(d)
		}, []string{"decision.evidence_ref"}},
		{"grant without statement version", func() error {
			d := decision(kennel, "", granted)
			d.StatementVersion = ""
			return record(d)
		}, []string{"decision.statement_version"}},
		{"objection in the future", func() error {
			d := objection(stats, "")
			d.EffectiveTime = timestamppb.New(time.Now().Add(time.Hour))
			return record(d)
		}, []string{"decision.effective_time"}},
		{"owner id not a UUID", func() error {
			_, err := s.consent.CheckConsent(ctx, &consentv1.CheckConsentRequest{OwnerId: "owner-1", Purpose: stats})
			return err
		}, []string{"owner_id"}},
		{"check without purpose", func() error {
			_, err := s.consent.CheckConsent(ctx, &consentv1.CheckConsentRequest{OwnerId: id})
			return err
		}, []string{"purpose"}},
		{"check with a scope the purpose has none of", func() error {
			_, err := s.consent.CheckConsent(ctx, &consentv1.CheckConsentRequest{OwnerId: id, Purpose: kennel, Scope: "x"})
			return err
		}, []string{"scope"}},
		{"filter of nobody", func() error {
			_, err := s.consent.FilterConsents(ctx, &consentv1.FilterConsentsRequest{Purpose: stats})
			return err
		}, []string{"owner_ids"}},
		{"filter of too many", func() error {
			_, err := s.consent.FilterConsents(ctx, &consentv1.FilterConsentsRequest{OwnerIds: tooMany, Purpose: stats})
			return err
		}, []string{"owner_ids"}},
		{"filter with a bad id", func() error {
			_, err := s.consent.FilterConsents(ctx, &consentv1.FilterConsentsRequest{OwnerIds: []string{id, "x"}, Purpose: stats})
			return err
		}, []string{"owner_ids[1]"}},
		{"restriction without reason", func() error {
			_, err := s.consent.SetOwnerRestriction(ctx, &consentv1.SetOwnerRestrictionRequest{OwnerId: id, Restricted: true})
			return err
		}, []string{"reason"}},
		// Every invalid field at once, the owner's id with the others.
		{"record for a bad id without a decision", func() error {
			_, err := s.consent.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{OwnerId: "nope"})
			return err
		}, []string{"owner_id", "decision"}},
		{"record for a bad id with a bad decision", func() error {
			_, err := s.consent.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{OwnerId: "nope", Decision: objection(marketing, "")})
			return err
		}, []string{"owner_id", "decision.scope"}},
		{"history of a bad id from a bad page", func() error {
			_, err := s.consent.ListConsentDecisions(ctx, &consentv1.ListConsentDecisionsRequest{OwnerId: "nope", PageSize: -1, PageToken: "garbage"})
			return err
		}, []string{"owner_id", "page_size", "page_token"}},
		{"check of a bad id without purpose", func() error {
			_, err := s.consent.CheckConsent(ctx, &consentv1.CheckConsentRequest{OwnerId: "nope"})
			return err
		}, []string{"owner_id", "purpose"}},
		{"filter of a bad id without purpose", func() error {
			_, err := s.consent.FilterConsents(ctx, &consentv1.FilterConsentsRequest{OwnerIds: []string{"nope"}})
			return err
		}, []string{"owner_ids[0]", "purpose"}},
		{"restriction of a bad id without reason", func() error {
			_, err := s.consent.SetOwnerRestriction(ctx, &consentv1.SetOwnerRestrictionRequest{OwnerId: "nope", Restricted: true})
			return err
		}, []string{"owner_id", "reason"}},
		{"erasure of a bad id without request id", func() error {
			_, err := s.consent.EraseOwnerData(ctx, &consentv1.EraseOwnerDataRequest{OwnerId: "nope"})
			return err
		}, []string{"owner_id", "request_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := violations(t, tc.call()); !slices.Equal(got, tc.want) {
				t.Fatalf("violations %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPermissions calls each RPC as each role through the real server: the policy
// table's unit test covers every rule; this shows it is enforced.
func TestPermissions(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Permission")
	calls := map[string]func(ctx context.Context) error{
		"record": func(ctx context.Context) error {
			_, err := s.consent.RecordConsentDecision(ctx, &consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: objection(stats, "")})
			return err
		},
		"history": func(ctx context.Context) error {
			_, err := s.consent.ListConsentDecisions(ctx, &consentv1.ListConsentDecisionsRequest{OwnerId: id})
			return err
		},
		"check": func(ctx context.Context) error {
			_, err := s.consent.CheckConsent(ctx, &consentv1.CheckConsentRequest{OwnerId: id, Purpose: stats})
			return err
		},
		"filter": func(ctx context.Context) error {
			_, err := s.consent.FilterConsents(ctx, &consentv1.FilterConsentsRequest{OwnerIds: []string{id}, Purpose: stats})
			return err
		},
	}
	for _, tc := range []struct {
		role    auth.Role
		allowed []string
	}{
		{auth.RoleReception, []string{"record", "history", "check"}},
		{auth.RoleClinicManager, []string{"record", "history", "check", "filter"}},
		{auth.RoleBilling, nil},
		{auth.RoleMaintainer, nil},
		{auth.RolePartner, nil},
		{auth.RoleSubcontractor, nil},
	} {
		for name, call := range calls {
			t.Run(string(tc.role)+"/"+name, func(t *testing.T) {
				err := call(s.as(t, tc.role))
				if slices.Contains(tc.allowed, name) {
					if err != nil {
						t.Fatalf("denied: %v", err)
					}
					return
				}
				wantCode(t, err, codes.PermissionDenied)
			})
		}
	}
	// A maintainer reads with a stated purpose, which the audit keeps.
	ctx := auth.WithOutgoingToken(t.Context(), s.env.Token(t, auth.RoleMaintainer), "support case 7")
	if err := calls["check"](ctx); err != nil {
		t.Fatalf("maintainer with a purpose: %v", err)
	}
}

// TestOnlyTheClinicManagerLiftsARestriction: the erasure job "may restrict and erase
// an owner in each service ... and read nothing" (DATA_PROTECTION.md); a lift is the
// clinic manager's, and one refused leaves the owner restricted.
func TestOnlyTheClinicManagerLiftsARestriction(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Nostaja")
	setAs := func(role auth.Role, ownerID string, restricted bool) error {
		_, err := s.consent.SetOwnerRestriction(s.as(t, role), &consentv1.SetOwnerRestrictionRequest{
			OwnerId: ownerID, Restricted: restricted, Reason: "erasure request " + jobOne,
		})
		return err
	}
	set := func(role auth.Role, restricted bool) error { return setAs(role, id, restricted) }
	for _, tc := range []struct {
		name       string
		role       auth.Role
		restricted bool
		want       codes.Code
		reason     consentv1.Reason
	}{
		{"the erasure job restricts", auth.RoleErasureJob, true, codes.OK, consentv1.Reason_REASON_OWNER_RESTRICTED},
		{"the erasure job lifts", auth.RoleErasureJob, false, codes.PermissionDenied, consentv1.Reason_REASON_OWNER_RESTRICTED},
		{"the clinic manager lifts", auth.RoleClinicManager, false, codes.OK, consentv1.Reason_REASON_DEFAULT_OPT_OUT},
		{"the clinic manager restricts", auth.RoleClinicManager, true, codes.OK, consentv1.Reason_REASON_OWNER_RESTRICTED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, set(tc.role, tc.restricted), tc.want)
			if got := s.check(t, id, stats, "").GetReason(); got != tc.reason {
				t.Fatalf("statistics now: %v, want %v", got, tc.reason)
			}
		})
	}
	// An owner id written another way a UUID may be is refused the same, and its event
	// names the owner as issued, which the access report reads.
	for _, written := range []string{strings.ToUpper(id), "{" + id + "}", "urn:uuid:" + id} {
		wantCode(t, setAs(auth.RoleErasureJob, written, false), codes.PermissionDenied)
	}
	// The policy let the job in, so its refused lifts are audited by the service, about
	// the owner, for the owner's access report (which reads events by subject).
	s.stop()
	cur, err := s.raw.Database(consentDatabase).Collection("audit_events").Find(t.Context(),
		bson.M{"subject_owner_id": id, "outcome": "denied"})
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		Action   string `bson:"action"`
		Resource string `bson:"resource"`
		Actor    string `bson:"actor_subject"`
	}
	var denied []event
	if err := cur.All(t.Context(), &denied); err != nil {
		t.Fatal(err)
	}
	want := "consent.restriction.lift owners/" + id + "/consents test-erasure_job"
	if len(denied) != 4 || slices.ContainsFunc(denied, func(d event) bool { return d.Action+" "+d.Resource+" "+d.Actor != want }) {
		t.Fatalf("denied events about the owner: %+v, want four: %s", denied, want)
	}
}

// TestEveryAccessIsAudited reads the audit collection after the service has drained its
// queue: one event per read or change, the filter's one for each existing owner named.
func TestEveryAccessIsAudited(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Audit")
	s.record(t, id, objection(stats, ""))
	ctx := auth.WithOutgoingToken(t.Context(), s.env.Token(t, auth.RoleMaintainer), "ticket 99")
	if _, err := s.consent.CheckConsent(ctx, &consentv1.CheckConsentRequest{OwnerId: id, Purpose: stats}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.consent.FilterConsents(ctx, &consentv1.FilterConsentsRequest{OwnerIds: []string{id, unknownOwner}, Purpose: stats}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.consent.ListConsents(s.as(t, auth.RolePartner), &consentv1.ListConsentsRequest{OwnerId: id}); err == nil {
		t.Fatal("partner read the state")
	}
	s.stop()
	cur, err := s.raw.Database(consentDatabase).Collection("audit_events").Find(t.Context(), bson.M{},
		options.Find().SetSort(bson.D{{Key: "time", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var events []struct {
		Action  string `bson:"action"`
		Subject string `bson:"subject_owner_id"`
		Purpose string `bson:"purpose"`
		Outcome string `bson:"outcome"`
		Actor   string `bson:"actor_subject"`
	}
	if err := cur.All(t.Context(), &events); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s %s subject=%v purpose=%q %s", e.Action, e.Actor, e.Subject == id, e.Purpose, e.Outcome))
	}
	want := []string{
		`consent.decision.record test-reception subject=true purpose="" success`,
		`consent.check test-maintainer subject=true purpose="ticket 99" success`,
		`consent.filter test-maintainer subject=true purpose="ticket 99" success`,
	}
	if len(got) != 4 || !slices.Equal(got[:3], want) || events[3].Outcome != "denied" || events[3].Actor != "test-partner" {
		t.Fatalf("audit events\n got %v\nwant %v and a denied read", got, want)
	}
}

// TestFilterIsInEachOwnersAccessLog: a filter (a marketing or statistics export, here
// by the maintainer with a stated reason) reads the consent state of every owner named,
// so each owner's access report, which reads events by subject_owner_id, shows who read
// their consents, when and why.
func TestFilterIsInEachOwnersAccessLog(t *testing.T) {
	s := start(t)
	a, b := s.newOwner(t, "Alpha"), s.newOwner(t, "Beta")
	ctx := auth.WithOutgoingToken(t.Context(), s.env.Token(t, auth.RoleMaintainer), "ticket 99")
	for _, ids := range [][]string{{a, b, a}, {unknownOwner}} {
		if _, err := s.consent.FilterConsents(ctx, &consentv1.FilterConsentsRequest{OwnerIds: ids, Purpose: stats}); err != nil {
			t.Fatal(err)
		}
	}
	s.stop()
	// The filter that named no existing owner is audited without one.
	for id, want := range map[string]int64{a: 1, b: 1, unknownOwner: 0, "": 1} {
		filter := bson.M{"action": "consent.filter", "actor_subject": "test-maintainer", "purpose": "ticket 99", "subject_owner_id": id}
		if id == "" {
			filter["subject_owner_id"] = bson.M{"$exists": false}
		}
		n, err := s.raw.Database(consentDatabase).Collection("audit_events").CountDocuments(t.Context(), filter)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("owner %q: %d consent.filter events in their access log, want %d", id, n, want)
		}
	}
}

// TestEventsNameWhatWasChecked: the audit events of a check and of a filter say which
// purpose, and which channel or recipient, the owner's consents were read for, so that
// an owner's access report tells a marketing export from a statistics one, or an
// insurer's check from a marketing one. The scope is given in its normal form, as it
// was checked.
func TestEventsNameWhatWasChecked(t *testing.T) {
	s := start(t)
	a := s.newOwner(t, "Alpha")
	ctx := auth.WithOutgoingToken(t.Context(), s.env.Token(t, auth.RoleMaintainer), "ticket 99")
	tests := []struct {
		purpose consentv1.Purpose
		scope   string
		checked string
	}{
		{stats, "", "/statistical_research"},
		{marketing, " EMAIL ", "/direct_marketing/email"},
		{insurer, strings.ToUpper(insurerIf), "/insurer_disclosure/" + insurerIf},
	}
	for _, tt := range tests {
		for _, ids := range [][]string{{a}, {unknownOwner}} {
			if _, err := s.consent.FilterConsents(ctx, &consentv1.FilterConsentsRequest{OwnerIds: ids, Purpose: tt.purpose, Scope: tt.scope}); err != nil {
				t.Fatalf("filter %v %q: %v", tt.purpose, tt.scope, err)
			}
		}
		req := &consentv1.CheckConsentRequest{OwnerId: a, Purpose: tt.purpose, Scope: tt.scope}
		if _, err := s.consent.CheckConsent(s.as(t, auth.RoleClinicManager), req); err != nil {
			t.Fatalf("check %v %q: %v", tt.purpose, tt.scope, err)
		}
	}
	s.stop()
	events := s.raw.Database(consentDatabase).Collection("audit_events")
	for _, tt := range tests {
		for _, want := range []struct{ action, owner, resource string }{
			{"consent.filter", a, "owners/" + a + "/consents" + tt.checked},
			{"consent.filter", "", "consents:filter" + tt.checked},
			{"consent.check", a, "owners/" + a + "/consents" + tt.checked},
		} {
			filter := bson.M{"action": want.action, "resource": want.resource}
			if want.owner == "" {
				filter["subject_owner_id"] = bson.M{"$exists": false}
			} else {
				filter["subject_owner_id"] = want.owner
			}
			if n, err := events.CountDocuments(t.Context(), filter); err != nil || n != 1 {
				t.Errorf("%d %s events on %s (%v), want 1", n, want.action, want.resource, err)
			}
		}
	}
}

// TestOutageOfTheOwnerService: every verdict needs the owner service's restriction of
// the owner. While the owner service is down the consent service answers, and records,
// with an owner's status it got less than OWNER_STATUS_TTL ago, and past that says it is
// unavailable: it never allows on a restriction it cannot see. (A disclosure asks the
// owner service itself first, so it stops during the outage anyway.)
func TestOutageOfTheOwnerService(t *testing.T) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		want codes.Code
	}{
		{"status remembered", time.Minute, codes.OK},
		{"nothing remembered", 0, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, func(c *consent.Config) { c.OwnerStatusTTL = tc.ttl })
			id := s.newOwner(t, "Outage")
			s.record(t, id, objection(stats, ""))
			s.stopOwners()
			res, err := s.consent.CheckConsent(s.as(t, auth.RoleClinicManager),
				&consentv1.CheckConsentRequest{OwnerId: id, Purpose: stats})
			wantCode(t, err, tc.want)
			if err == nil && (res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_OBJECTION) {
				t.Fatalf("check during the outage: %v", res)
			}
			_, err = s.consent.RecordConsentDecision(s.as(t, auth.RoleReception),
				&consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: decision(stats, "", granted)})
			wantCode(t, err, tc.want)
		})
	}
}

// TestRestrictionInTheOwnerServiceOnly: a clinic manager restricts an owner who has a
// ledger through the owner service alone (an Art. 18 restriction or an objection
// handled there, not the erasure job, which restricts here too). Once the consent
// service's memory of the owner's status has expired (on its clock), the check, the
// current state and the export filter all deny the owner, whose grant was recorded
// before; lifting the restriction there allows again.
func TestRestrictionInTheOwnerServiceOnly(t *testing.T) {
	const ttl = time.Minute
	now := servicetest.NewClock(time.Now())
	s := start(t, func(c *consent.Config) { c.OwnerStatusTTL, c.Now = ttl, now.Now })
	id, other := s.newOwner(t, "Rajoitettu"), s.newOwner(t, "Rajoittamaton")
	s.record(t, id, decision(marketing, "email", granted))
	manager := s.as(t, auth.RoleClinicManager)
	filter := func() []string {
		t.Helper()
		res, err := s.consent.FilterConsents(manager, &consentv1.FilterConsentsRequest{
			OwnerIds: []string{id, other}, Purpose: marketing, Scope: "email",
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetAllowedOwnerIds()
	}
	if res := s.check(t, id, marketing, "email"); !res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_EXPLICIT_GRANT {
		t.Fatalf("before the restriction: %v, want allowed by the grant", res)
	}
	if got := filter(); !slices.Equal(got, []string{id, other}) {
		t.Fatalf("filter before the restriction: %v, want both owners", got)
	}

	s.restrictInOwnerService(t, id)
	now.Advance(ttl)
	if res := s.check(t, id, marketing, "email"); res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_OWNER_RESTRICTED {
		t.Fatalf("after the restriction: %v, want denied as restricted", res)
	}
	state, err := s.consent.ListConsents(manager, &consentv1.ListConsentsRequest{OwnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if !state.GetOwnerRestricted() {
		t.Fatal("the current state does not say the owner is restricted")
	}
	for _, c := range state.GetConsents() {
		if c.GetAllowed() {
			t.Fatalf("the current state of the restricted owner allows %v", c)
		}
	}
	if got := filter(); !slices.Equal(got, []string{other}) {
		t.Fatalf("filter after the restriction: %v, want only %s", got, other)
	}

	if _, err := s.owners.SetOwnerRestriction(manager, &ownerv1.SetOwnerRestrictionRequest{
		OwnerId: id, Restricted: false, Reason: "restriction lifted: accuracy verified",
	}); err != nil {
		t.Fatal(err)
	}
	now.Advance(ttl)
	if res := s.check(t, id, marketing, "email"); !res.GetAllowed() {
		t.Fatalf("after the lift: %v, want allowed by the grant again", res)
	}
}
