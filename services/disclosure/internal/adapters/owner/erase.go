package owner

import (
	"context"
	"fmt"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/changereason"
)

var _ app.OwnerEraser = (*Client)(nil)

// RestrictOwner implements app.OwnerEraser with SetOwnerRestriction, which records the
// change in the owner's change history once (restricting a restricted owner is no
// change), and the erasure request, so that no lift comes before the owner's erasure.
// The reason is changereason's, which the access report names in the owner's language.
func (c *Client) RestrictOwner(ctx context.Context, ownerID, requestID string) error {
	_, err := c.owners.SetOwnerRestriction(ctx, &ownerv1.SetOwnerRestrictionRequest{
		OwnerId: ownerID, Restricted: true, Reason: changereason.Erasure(requestID), ErasureRequestId: requestID,
	})
	if err != nil {
		return fmt.Errorf("restrict owner %s: %w", ownerID, err)
	}
	return nil
}

// EraseOwner implements app.OwnerEraser with EraseOwnerData.
func (c *Client) EraseOwner(ctx context.Context, ownerID, requestID, nameKeptUntil, identityCodeKeptUntil string) ([]domain.Disposition, error) {
	res, err := c.owners.EraseOwnerData(ctx, &ownerv1.EraseOwnerDataRequest{
		OwnerId: ownerID, RequestId: requestID, NameKeptUntil: nameKeptUntil, IdentityCodeKeptUntil: identityCodeKeptUntil,
	})
	if err != nil {
		return nil, fmt.Errorf("erase owner %s in the owner service: %w", ownerID, err)
	}
	return app.DispositionsOf(res.GetDispositions()), nil
}
