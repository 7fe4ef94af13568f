// Package historysvc asks the history service how long its records name an erased
// owner, over gRPC, with the caller's identity forwarded (platform/grpcclient): the
// clinic manager's or maintainer's who runs the sweep, or the periodic sweep's own token.
package historysvc

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/owner/internal/app"
)

// Client implements app.History on the history service.
type Client struct {
	history historyv1.HistoryServiceClient
}

var _ app.History = (*Client)(nil)

// New returns the history service's client on a connection to it.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{history: historyv1.NewHistoryServiceClient(conn)}
}

// OwnerNamedUntil implements app.History with GetOwnerRetention. A failure names the
// status code only: the peer's message is not this service's to pass on, and the
// sweep only logs it.
func (c *Client) OwnerNamedUntil(ctx context.Context, ownerID string) (string, error) {
	res, err := c.history.GetOwnerRetention(ctx, &historyv1.GetOwnerRetentionRequest{OwnerId: ownerID})
	if err != nil {
		return "", fmt.Errorf("history service GetOwnerRetention answered %s", status.Code(err))
	}
	return res.GetOwnerNamedUntil(), nil
}
