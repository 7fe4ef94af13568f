package consent

import (
	"context"
	"fmt"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/changereason"
)

var _ app.ConsentEraser = (*Client)(nil)

// RestrictConsent implements app.ConsentEraser with the consent service's own
// restriction flag, which nothing but SetOwnerRestriction lifts; its reason is the
// erasure request's, as the owner service records it (changereason).
func (c *Client) RestrictConsent(ctx context.Context, ownerID, requestID string) error {
	_, err := c.consents.SetOwnerRestriction(ctx, &consentv1.SetOwnerRestrictionRequest{
		OwnerId: ownerID, Restricted: true, Reason: changereason.Erasure(requestID),
	})
	if err != nil {
		return fmt.Errorf("restrict owner %s in the consent service: %w", ownerID, err)
	}
	return nil
}

// EraseConsent implements app.ConsentEraser with EraseOwnerData.
func (c *Client) EraseConsent(ctx context.Context, ownerID, requestID string) ([]domain.Disposition, error) {
	res, err := c.consents.EraseOwnerData(ctx, &consentv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: requestID})
	if err != nil {
		return nil, fmt.Errorf("erase owner %s in the consent service: %w", ownerID, err)
	}
	return app.DispositionsOf(res.GetDispositions()), nil
}
