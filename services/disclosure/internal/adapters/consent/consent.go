// Package consent asks the consent service whether a disclosure has its legal basis
// now. The caller's identity travels with the call, so the consent service authorises
// and audits the staff member who asked for the disclosure.
package consent

import (
	"context"
	"fmt"
	"strings"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
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
