// Package history is the patient-history service as the disclosure service calls it.
package history

import (
	"context"
	"fmt"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// Eraser implements app.HistoryEraser on the patient-history service.
type Eraser struct {
	history historyv1.HistoryServiceClient
}

var _ app.HistoryEraser = (*Eraser)(nil)

// NewEraser returns the erasure client on the history service's connection.
func NewEraser(c historyv1.HistoryServiceClient) *Eraser { return &Eraser{history: c} }

// EraseHistory implements app.HistoryEraser with EraseOwnerData.
func (e *Eraser) EraseHistory(ctx context.Context, ownerID, requestID string) (domain.StepResult, error) {
	res, err := e.history.EraseOwnerData(ctx, &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: requestID})
	if err != nil {
		return domain.StepResult{}, fmt.Errorf("erase owner %s in the history service: %w", ownerID, err)
	}
	return domain.StepResult{
		Dispositions: app.DispositionsOf(res.GetDispositions()), OwnerNamedUntil: res.GetOwnerNamedUntil(),
		IdentityCodeNeededUntil: res.GetIdentityCodeNeededUntil(),
	}, nil
}
