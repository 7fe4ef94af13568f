// Package owner asks the owner service, through its gRPC API, whether owners exist and
// are restricted. The caller's identity and stated purpose travel with each call (the
// platform's client forwards them), so the owner service authorises and audits the
// person on whose behalf the consent service asks.
package owner

import (
	"context"
	"fmt"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/consent/internal/app"
)

// maxBatch is the most owners one BatchGetOwnerStatus call may name.
const maxBatch = 10_000

// Client implements app.Owners on the owner service.
type Client struct {
	owners ownerv1.OwnerServiceClient
}

var _ app.Owners = (*Client)(nil)

// New returns a client on the owner service's connection.
func New(c ownerv1.OwnerServiceClient) *Client { return &Client{owners: c} }

// Statuses implements app.Owners: one call per 10,000 owners.
func (c *Client) Statuses(ctx context.Context, ids []string) (map[string]app.OwnerStatus, error) {
	out := make(map[string]app.OwnerStatus, len(ids))
	for start := 0; start < len(ids); start += maxBatch {
		batch := ids[start:min(start+maxBatch, len(ids))]
		res, err := c.owners.BatchGetOwnerStatus(ctx, &ownerv1.BatchGetOwnerStatusRequest{OwnerIds: batch})
		if err != nil {
			return nil, fmt.Errorf("ask the owner service about %d owners: %w", len(batch), err)
		}
		for _, s := range res.GetStatuses() {
			out[s.GetOwnerId()] = app.OwnerStatus{Exists: s.GetExists(), Restricted: s.GetRestricted()}
		}
	}
	return out, nil
}
