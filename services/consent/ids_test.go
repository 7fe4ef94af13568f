package consent_test

import (
	"strings"
	"testing"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// TestIdsInCapitals: an owner id written in capitals passes as a UUID, so every call
// that takes one answers about the owner it names, under its id as issued, not
// NOT_FOUND or unknown.
func TestIdsInCapitals(t *testing.T) {
	s := start(t)
	ownerID := s.newOwner(t, "Virtanen")
	manager := s.as(t, auth.RoleClinicManager)
	upper := strings.ToUpper(ownerID)

	for _, tc := range []struct {
		name string
		// call makes the request with the owner id in capitals and returns the owner
		// ids the answer names.
		call func() ([]string, error)
	}{
		{"RecordConsentDecision", func() ([]string, error) {
			res, err := s.consent.RecordConsentDecision(s.as(t, auth.RoleReception),
				&consentv1.RecordConsentDecisionRequest{OwnerId: upper, Decision: objection(marketing, "email")})
			return []string{res.GetDecision().GetOwnerId()}, err
		}},
		{"ListConsentDecisions", func() ([]string, error) {
			res, err := s.consent.ListConsentDecisions(manager, &consentv1.ListConsentDecisionsRequest{OwnerId: upper})
			var ids []string
			for _, d := range res.GetDecisions() {
				ids = append(ids, d.GetOwnerId())
			}
			return ids, err
		}},
		{"CheckConsent", func() ([]string, error) {
			res, err := s.consent.CheckConsent(manager, &consentv1.CheckConsentRequest{OwnerId: upper, Purpose: marketing, Scope: "email"})
			return []string{res.GetDecidingDecision().GetOwnerId()}, err
		}},
		{"FilterConsents", func() ([]string, error) {
			res, err := s.consent.FilterConsents(manager, &consentv1.FilterConsentsRequest{OwnerIds: []string{upper}, Purpose: marketing, Scope: "sms"})
			return res.GetAllowedOwnerIds(), err
		}},
		// Last: the owner is restricted after it.
		{"SetOwnerRestriction", func() ([]string, error) {
			res, err := s.consent.SetOwnerRestriction(manager,
				&consentv1.SetOwnerRestrictionRequest{OwnerId: upper, Restricted: true, Reason: "erasure request " + jobOne})
			return []string{res.GetOwnerId()}, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.call()
			if err != nil || len(got) != 1 || got[0] != ownerID {
				t.Errorf("answered %q, %v; want the owner as issued, %s", got, err, ownerID)
			}
		})
	}
}
