package owner

import (
	"context"
	"fmt"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/patientowner"
)

var _ app.OwnerChanges = (*Client)(nil)

// Change implements app.OwnerChanges with ListOwnerChanges, which answers the whole
// history (field paths only).
func (c *Client) Change(ctx context.Context, ownerID string, version int64) (app.OwnerChange, error) {
	res, err := c.owners.ListOwnerChanges(ctx, &ownerv1.ListOwnerChangesRequest{OwnerId: ownerID})
	if err != nil {
		return app.OwnerChange{}, fmt.Errorf("read the changes of owner %s: %w", ownerID, err)
	}
	return changeOf(res.GetChanges(), "owner", ownerID, version)
}

// PatientChange implements app.OwnerChanges with ListPatientChanges.
func (c *Client) PatientChange(ctx context.Context, patientID string, version int64) (app.OwnerChange, error) {
	res, err := c.owners.ListPatientChanges(ctx, &ownerv1.ListPatientChangesRequest{PatientId: patientID})
	if err != nil {
		return app.OwnerChange{}, fmt.Errorf("read the changes of patient %s: %w", patientID, err)
	}
	return changeOf(res.GetChanges(), "patient", patientID, version)
}

func changeOf(changes []*ownerv1.Change, what, id string, version int64) (app.OwnerChange, error) {
	for _, ch := range changes {
		if ch.GetVersion() == version {
			return app.OwnerChange{Time: ch.GetTime().AsTime(), Fields: ch.GetFields()}, nil
		}
	}
	return app.OwnerChange{}, apperr.New(apperr.ErrNotFound, "change %d of %s %s not found", version, what, id)
}

// PatientOwnerAt implements app.OwnerChanges with GetPatient and ListPatientChanges,
// read in that order: a transfer recorded after the patient was read shows in the
// changes, so a history without one means the owner read is the only one it had.
func (c *Client) PatientOwnerAt(ctx context.Context, patientID string, version int64) (string, error) {
	now, err := c.PatientOwner(ctx, patientID)
	if err != nil {
		return "", err
	}
	res, err := c.owners.ListPatientChanges(ctx, &ownerv1.ListPatientChangesRequest{PatientId: patientID})
	if err != nil {
		return "", fmt.Errorf("read the changes of patient %s: %w", patientID, err)
	}
	if then := ownerAt(res.GetChanges(), version); then != "" {
		return then, nil
	}
	return now, nil
}

// ownerAt returns the owner a patient had at version by its transfers (see
// patientowner.At); "" when it was never transferred.
func ownerAt(changes []*ownerv1.Change, version int64) string {
	return patientowner.At(patientowner.FromChanges(changes), patientowner.UpToVersion(version))
}

// PatientOwner implements app.OwnerChanges with GetPatient.
func (c *Client) PatientOwner(ctx context.Context, patientID string) (string, error) {
	res, err := c.owners.GetPatient(ctx, &ownerv1.GetPatientRequest{PatientId: patientID})
	if err != nil {
		return "", fmt.Errorf("read patient %s: %w", patientID, err)
	}
	return res.GetPatient().GetOwnerId(), nil
}
