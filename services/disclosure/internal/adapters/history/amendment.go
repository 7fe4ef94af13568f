package history

import (
	"context"
	"fmt"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/protomap"
)

var _ app.VisitAmendments = (*Client)(nil)

// Amendment implements app.VisitAmendments with GetVisit, which answers every
// amendment of the visit with its field paths.
func (c *Client) Amendment(ctx context.Context, visitID string, version int64) (app.VisitAmendment, error) {
	res, err := c.history.GetVisit(ctx, &historyv1.GetVisitRequest{VisitId: visitID})
	if err != nil {
		return app.VisitAmendment{}, fmt.Errorf("read visit %s: %w", visitID, err)
	}
	for _, a := range res.GetAmendments() {
		if a.GetVersion() == version {
			v := res.GetVisit()
			return app.VisitAmendment{
				OwnerID: v.GetOwnerId(), PatientID: v.GetPatientId(), Recorded: protomap.Time(v.GetCreateTime()),
				Time: protomap.Time(a.GetTime()), Fields: a.GetFields(),
			}, nil
		}
	}
	return app.VisitAmendment{}, apperr.New(apperr.ErrNotFound, "amendment %d of visit %s not found", version, visitID)
}
