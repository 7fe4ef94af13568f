package app_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// verdictsConsent is the consent service answering its checks with verdicts in turn,
// the last one from then on.
type verdictsConsent struct {
	peers
	calls    *atomic.Int32
	verdicts []domain.ConsentVerdict
}

func (c verdictsConsent) Check(context.Context, string, domain.ConsentCheck) (domain.ConsentVerdict, error) {
	n := int(c.calls.Add(1))
	return c.verdicts[min(n, len(c.verdicts))-1], nil
}

// TestLoggedBasisIsTheLastChecks: a disclosure's log entry, as GetDisclosure and the
// access report read it, names the basis and the consent decision of its last check.
// An entry refused at that check names neither (nothing was disclosed, on the grant
// withdrawn or on any other), and one disclosed names the grant that check found, not
// the one the first check found, which may be withdrawn by then.
func TestLoggedBasisIsTheLastChecks(t *testing.T) {
	grant1 := domain.ConsentVerdict{Allowed: true, Reason: "explicit_grant", EntryID: "grant-1"}
	grant2 := domain.ConsentVerdict{Allowed: true, Reason: "explicit_grant", EntryID: "grant-2"}
	withdrawn := domain.ConsentVerdict{Allowed: false, Reason: "withdrawal", EntryID: "withdrawal-1"}
	for _, tc := range []struct {
		name     string
		verdicts []domain.ConsentVerdict
		// restrict restricts the owner while the package is gathered.
		restrict bool
		refusal  domain.RefusalReason
		basis    domain.Basis
		consent  string
	}{
		{name: "consent withdrawn at the last check", verdicts: []domain.ConsentVerdict{grant1, withdrawn},
			refusal: domain.RefusalNoLegalBasis},
		{name: "owner restricted at the last check", verdicts: []domain.ConsentVerdict{grant1}, restrict: true,
			refusal: domain.RefusalOwnerRestricted},
		{name: "consent withdrawn and granted again before the last check", verdicts: []domain.ConsentVerdict{grant1, grant2},
			basis: domain.BasisInsurerAgreement, consent: "grant-2"},
		{name: "the same grant at both checks", verdicts: []domain.ConsentVerdict{grant1},
			basis: domain.BasisInsurerAgreement, consent: "grant-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &racingOwner{}
			if tc.restrict {
				ro.meanwhile = map[string]func(){"export": func() { ro.restricted.Store(true) }}
			}
			cons := verdictsConsent{calls: &atomic.Int32{}, verdicts: tc.verdicts}
			svc, repo, _, _ := newPeersStore(t, domain.KindInsurer, app.Peers{Owners: ro, Consents: cons, History: racingHistory{ro}})
			rec, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "the disclosure", rec, err, tc.refusal)
			logged, err := svc.Disclosure(vetContext(), onlyEntry(t, repo).ID)
			if err != nil {
				t.Fatal(err)
			}
			if refusalReason(logged) != tc.refusal || logged.Basis != tc.basis || logged.ConsentEntryID != tc.consent {
				t.Errorf("logged refusal %q, basis %q, consent decision %q; want %q, %q, %q",
					refusalReason(logged), logged.Basis, logged.ConsentEntryID, tc.refusal, tc.basis, tc.consent)
			}
		})
	}
}
