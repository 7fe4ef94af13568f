package consent_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// jobOne and jobTwo are erasure requests' ids, UUIDs as the disclosure service's
// erasure job makes them.
const (
	jobOne = "0199a0b0-0000-7000-8000-000000000011"
	jobTwo = "0199a0b0-0000-7000-8000-000000000012"
)

func (s *system) erase(t *testing.T, ownerID, requestID string) []*consentv1.RecordDisposition {
	t.Helper()
	res, err := s.consent.EraseOwnerData(s.as(t, auth.RoleClinicManager), &consentv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: requestID})
	if err != nil {
		t.Fatalf("erase: %v", err)
	}
	return res.GetDispositions()
}

// allowedFor filters one owner for purpose and scope, as a marketing export does.
func (s *system) allowedFor(t *testing.T, ownerID string, p consentv1.Purpose, scope string) bool {
	t.Helper()
	res, err := s.consent.FilterConsents(s.as(t, auth.RoleClinicManager), &consentv1.FilterConsentsRequest{
		OwnerIds: []string{ownerID}, Purpose: p, Scope: scope,
	})
	if err != nil {
		t.Fatalf("filter: %v", err)
	}
	return slices.Contains(res.GetAllowedOwnerIds(), ownerID)
}

func TestEraseOwnerData(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	// 00:30 on 26 November in Helsinki is still the 25th in UTC: suppressions carry the
	// Finnish day.
	now := time.Date(2026, 11, 26, 0, 30, 0, 0, loc)
	s := start(t, func(c *consent.Config) { c.Now = func() time.Time { return now } })
	id := s.newOwner(t, "Markkinoimaton")
	s.record(t, id, objection(marketing, "email"))
	s.record(t, id, decision(marketing, "sms", refused))
	s.record(t, id, decision(marketing, "post", granted))
	s.record(t, id, decision(marketing, "phone", granted))
	s.record(t, id, decision(marketing, "phone", withdrawn))
	s.record(t, id, objection(stats, ""))
	s.record(t, id, decision(insurer, insurerIf, granted))
	s.restrictInOwnerService(t, id)

	first := s.erase(t, id, jobOne)
	servicetest.EqualMessages(t, first, []*consentv1.RecordDisposition{
		{RecordClass: "consent_ledger", Count: 7},
		{RecordClass: "marketing_suppression", Kept: true, LegalBasis: "basis.marketing_objection", Count: 3},
	})

	nurse := s.as(t, auth.RoleNurse)
	history, err := s.consent.ListConsentDecisions(nurse, &consentv1.ListConsentDecisionsRequest{OwnerId: id})
	if err != nil || len(history.GetDecisions()) != 0 {
		t.Fatalf("history after erasure: %d decisions (%v), want none", len(history.GetDecisions()), err)
	}
	state, err := s.consent.ListConsents(nurse, &consentv1.ListConsentsRequest{OwnerId: id})
	if err != nil || !state.GetOwnerRestricted() {
		t.Fatalf("state after erasure: %v (%v)", state, err)
	}
	for _, c := range state.GetConsents() {
		if c.GetAllowed() || c.GetDecidingDecision() != nil {
			t.Fatalf("an erased owner's state allows or names a decision: %v", c)
		}
	}
	for _, ch := range []string{"email", "sms", "post", "phone"} {
		if res := s.check(t, id, marketing, ch); res.GetAllowed() {
			t.Fatalf("marketing by %s allowed after erasure", ch)
		}
		if s.allowedFor(t, id, marketing, ch) {
			t.Fatalf("an export by %s keeps the erased owner", ch)
		}
	}

	t.Run("what is stored holds no personal data", func(t *testing.T) {
		var doc bson.M
		if err := s.raw.Database(consentDatabase).Collection("ledgers").FindOne(t.Context(), bson.M{"_id": id}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range doc {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"_id", "entries", "erased", "erasures", "restricted", "suppressions"}
		if !slices.Equal(keys, want) {
			t.Fatalf("erased ledger keeps %v, want only %v", keys, want)
		}
		if n := len(doc["entries"].(bson.A)); n != 0 {
			t.Fatalf("erased ledger keeps %d entries", n)
		}
		var sups []string
		for _, x := range doc["suppressions"].(bson.A) {
			d := x.(bson.D)
			m := map[string]string{}
			for _, e := range d {
				m[e.Key], _ = e.Value.(string)
			}
			if len(d) != 3 {
				t.Fatalf("suppression keeps %v", d)
			}
			sups = append(sups, m["purpose"]+"/"+m["scope"]+"@"+m["day"])
		}
		wantSups := []string{
			"direct_marketing/email@2026-11-26", "direct_marketing/sms@2026-11-26", "direct_marketing/phone@2026-11-26",
		}
		if !slices.Equal(sups, wantSups) {
			t.Fatalf("suppressions %v, want %v", sups, wantSups)
		}
	})

	t.Run("a retry answers the first result; a new request what is left", func(t *testing.T) {
		servicetest.EqualMessages(t, s.erase(t, id, jobOne), first)
		servicetest.EqualMessages(t, s.erase(t, id, jobTwo), []*consentv1.RecordDisposition{
			{RecordClass: "marketing_suppression", Kept: true, LegalBasis: "basis.marketing_objection", Count: 3},
		})
	})

	t.Run("nothing is recorded again and the restriction stays", func(t *testing.T) {
		_, err := s.consent.RecordConsentDecision(s.as(t, auth.RoleReception),
			&consentv1.RecordConsentDecisionRequest{OwnerId: id, Decision: decision(marketing, "email", granted)})
		if r := servicetest.Reason(t, err); r != "OWNER_ERASED" {
			t.Fatalf("recording for an erased owner: %s", r)
		}
		_, err = s.consent.SetOwnerRestriction(s.as(t, auth.RoleClinicManager), &consentv1.SetOwnerRestrictionRequest{
			OwnerId: id, Restricted: false, Reason: "case-2026-17",
		})
		if r := servicetest.Reason(t, err); r != "OWNER_ERASED" {
			t.Fatalf("lifting an erased owner's restriction: %s", r)
		}
	})

	t.Run("the objections outlive even a lifted restriction", func(t *testing.T) {
		// Only the store can lift it here now; should anyone do so, and the owner
		// service lift its own, the suppressions hold.
		if _, err := s.raw.Database(consentDatabase).Collection("ledgers").UpdateByID(t.Context(), id,
			bson.M{"$set": bson.M{"restricted": false}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.owners.SetOwnerRestriction(s.as(t, auth.RoleClinicManager), &ownerv1.SetOwnerRestrictionRequest{
			OwnerId: id, Restricted: false, Reason: "erasure request refused",
		}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			scope   string
			allowed bool
		}{{"email", false}, {"sms", false}, {"phone", false}, {"post", true}} {
			res := s.check(t, id, marketing, tc.scope)
			if res.GetAllowed() != tc.allowed || s.allowedFor(t, id, marketing, tc.scope) != tc.allowed {
				t.Fatalf("marketing by %s: allowed %v (%v), want %v", tc.scope, res.GetAllowed(), res.GetReason(), tc.allowed)
			}
			if !tc.allowed && res.GetReason() != consentv1.Reason_REASON_OBJECTION {
				t.Fatalf("suppressed %s answers %v", tc.scope, res.GetReason())
			}
		}
	})
}

func TestEraseOwnerDataWithoutLedger(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Tyhjä")
	servicetest.EqualMessages(t, s.erase(t, id, jobOne), nil)
	if res := s.check(t, id, stats, ""); res.GetAllowed() || res.GetReason() != consentv1.Reason_REASON_OWNER_RESTRICTED {
		t.Fatalf("an erased owner without decisions: %v", res)
	}
	servicetest.EqualMessages(t, s.erase(t, id, jobOne), nil)

	manager := s.as(t, auth.RoleClinicManager)
	_, err := s.consent.EraseOwnerData(manager, &consentv1.EraseOwnerDataRequest{OwnerId: unknownOwner, RequestId: jobOne})
	wantCode(t, err, codes.NotFound)
	for _, tc := range []struct {
		name string
		req  *consentv1.EraseOwnerDataRequest
		want string
	}{
		{"no request id", &consentv1.EraseOwnerDataRequest{OwnerId: id, RequestId: " "}, "request_id"},
		{"bad owner id", &consentv1.EraseOwnerDataRequest{OwnerId: "nope", RequestId: jobOne}, "owner_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.consent.EraseOwnerData(manager, tc.req)
			if f := violations(t, err); f[0] != tc.want {
				t.Fatalf("violations %v, want %s", f, tc.want)
			}
		})
	}
	_, err = s.consent.EraseOwnerData(s.as(t, auth.RoleReception), &consentv1.EraseOwnerDataRequest{OwnerId: id, RequestId: jobOne})
	wantCode(t, err, codes.PermissionDenied)
}

// TestEraseOwnerDataRefusesFreeTextRequestID: the request's id is kept in the erased
// ledger after the erasure, so a clinic manager's free text there is refused before
// anything is erased or written, and not repeated.
func TestEraseOwnerDataRefusesFreeTextRequestID(t *testing.T) {
	const text = "Aino Laine phoned 040 123 4567"
	s := start(t)
	id := s.newOwner(t, "Laine")
	s.record(t, id, objection(marketing, "email"))
	s.record(t, id, decision(marketing, "post", granted))
	s.restrictInOwnerService(t, id)
	manager := s.as(t, auth.RoleClinicManager)
	list := func() []*consentv1.ConsentDecision {
		res, err := s.consent.ListConsentDecisions(manager, &consentv1.ListConsentDecisionsRequest{OwnerId: id})
		if err != nil {
			t.Fatalf("list decisions: %v", err)
		}
		return res.GetDecisions()
	}
	before := list()
	var calls []servicetest.Refusal
	for _, rid := range []string{text, "letter from Aino Laine", "job-1"} {
		calls = append(calls, servicetest.Refusal{Name: rid, Field: "request_id", Call: func() error {
			_, err := s.consent.EraseOwnerData(manager, &consentv1.EraseOwnerDataRequest{OwnerId: id, RequestId: rid})
			return err
		}})
	}
	servicetest.Refused(t, text, calls)

	servicetest.EqualMessages(t, list(), before)
	s.stop()
	s.stopOwners()
	servicetest.NotStored(t, s.env, "Laine phoned", consentDatabase, ownerDatabase)
}

// TestErasureRetriedInAnotherUUIDForm: the erasure job's retry of a request, its id
// written in another UUID form (the owner service takes them for one request), answers
// the first result instead of planning a second erasure over the emptied ledger.
func TestErasureRetriedInAnotherUUIDForm(t *testing.T) {
	s := start(t)
	id := s.newOwner(t, "Toistuva")
	s.record(t, id, objection(marketing, "email"))
	s.record(t, id, decision(stats, "", granted))
	s.restrictInOwnerService(t, id)
	first := s.erase(t, id, jobOne)
	for _, form := range []string{strings.ToUpper(jobOne), "{" + jobOne + "}", "urn:uuid:" + jobOne} {
		t.Run(form, func(t *testing.T) {
			servicetest.EqualMessages(t, s.erase(t, id, form), first)
		})
	}
}
