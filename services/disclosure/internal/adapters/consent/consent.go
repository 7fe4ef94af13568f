// Package consent asks the consent service whether a disclosure has its legal basis
// now, and reads an owner's consents for the access report. The caller's identity
// travels with each call, so the consent service authorises and audits the staff
// member who asked.
package consent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/protomap"
)

// Client implements app.Consents on the consent service.
type Client struct {
	consents consentv1.ConsentServiceClient
}

var _ app.Consents = (*Client)(nil)

// New returns a client on the consent service's connection.
func New(c consentv1.ConsentServiceClient) *Client { return &Client{consents: c} }

// Purpose maps the domain's consent purpose to the consent API's enum: insurer_disclosure
// is PURPOSE_INSURER_DISCLOSURE. An unknown one is PURPOSE_UNSPECIFIED.
func Purpose(p domain.ConsentPurpose) consentv1.Purpose {
	return consentv1.Purpose(consentv1.Purpose_value["PURPOSE_"+strings.ToUpper(string(p))])
}

// reason maps the consent API's reason to the domain's code: REASON_NO_GRANT is no_grant.
func reason(r consentv1.Reason) string {
	return strings.ToLower(strings.TrimPrefix(r.String(), "REASON_"))
}

// Check implements app.Consents.
func (c *Client) Check(ctx context.Context, ownerID string, check domain.ConsentCheck) (domain.ConsentVerdict, error) {
	p := Purpose(check.Purpose)
	if p == consentv1.Purpose_PURPOSE_UNSPECIFIED {
		return domain.ConsentVerdict{}, fmt.Errorf("consent purpose %q has no value in lillvet.consent.v1", check.Purpose)
	}
	res, err := c.consents.CheckConsent(ctx, &consentv1.CheckConsentRequest{OwnerId: ownerID, Purpose: p, Scope: check.Scope})
	if err != nil {
		return domain.ConsentVerdict{}, fmt.Errorf("check consent %s of owner %s: %w", check.Purpose, ownerID, err)
	}
	return domain.ConsentVerdict{
		Allowed: res.GetAllowed(), Reason: reason(res.GetReason()), EntryID: res.GetDecidingDecision().GetId(),
	}, nil
}

// Restricted implements app.Consents with ListConsents, of whose answer it reads only
// the owner's restriction.
func (c *Client) Restricted(ctx context.Context, ownerID string) (bool, error) {
	res, err := c.consents.ListConsents(ctx, &consentv1.ListConsentsRequest{OwnerId: ownerID})
	if err != nil {
		return false, fmt.Errorf("read the consent restriction of owner %s: %w", ownerID, err)
	}
	return res.GetOwnerRestricted(), nil
}

// ledgerPageSize is the consent service's largest page of decisions.
const ledgerPageSize = 200

// maxLedgerPages bounds the pages read: a ledger holds at most 5,000 decisions.
const maxLedgerPages = 30

// Ledger implements app.Consents with ListConsents and every page of
// ListConsentDecisions, oldest decision first.
func (c *Client) Ledger(ctx context.Context, ownerID string) (app.ConsentLedger, error) {
	state, err := c.consents.ListConsents(ctx, &consentv1.ListConsentsRequest{OwnerId: ownerID})
	if err != nil {
		return app.ConsentLedger{}, fmt.Errorf("read the consents of owner %s: %w", ownerID, err)
	}
	out := app.ConsentLedger{
		Restricted: state.GetOwnerRestricted(),
		Current: protomap.All(state.GetConsents(), func(s *consentv1.ConsentState) app.ConsentState {
			return app.ConsentState{
				Purpose: protomap.EnumName(s.GetPurpose().String(), "PURPOSE_"), Scope: s.GetScope(), Allowed: s.GetAllowed(),
				Reason: reason(s.GetReason()), DecisionID: s.GetDecidingDecision().GetId(),
			}
		}),
	}
	token := ""
	for range maxLedgerPages {
		res, err := c.consents.ListConsentDecisions(ctx, &consentv1.ListConsentDecisionsRequest{
			OwnerId: ownerID, PageSize: ledgerPageSize, PageToken: token,
		})
		if err != nil {
			return app.ConsentLedger{}, fmt.Errorf("read the consent decisions of owner %s: %w", ownerID, err)
		}
		for _, d := range res.GetDecisions() {
			out.Decisions = append(out.Decisions, decision(d))
		}
		if token = res.GetNextPageToken(); token == "" {
			slices.Reverse(out.Decisions)
			return out, nil
		}
	}
	return app.ConsentLedger{}, fmt.Errorf("read the consent decisions of owner %s: more than %d pages", ownerID, maxLedgerPages)
}

func decision(d *consentv1.ConsentDecision) app.ConsentDecision {
	return app.ConsentDecision{
		ID: d.GetId(), Sequence: d.GetSequence(), Purpose: protomap.EnumName(d.GetPurpose().String(), "PURPOSE_"),
		Scope: d.GetScope(), Decision: protomap.EnumName(d.GetDecision().String(), "DECISION_"),
		Method: protomap.EnumName(d.GetMethod().String(), "METHOD_"), EvidenceRef: d.GetEvidenceRef(),
		StatementVersion: d.GetStatementVersion(), ValidFrom: protomap.Time(d.GetValidFrom()),
		ValidUntil: protomap.Time(d.GetValidUntil()), EffectiveTime: protomap.Time(d.GetEffectiveTime()),
		RecordedBy: d.GetRecordedBy(), RecordedByName: d.GetRecordedByName(), RecordTime: protomap.Time(d.GetRecordTime()),
	}
}
