// Package ownersvc asks the owner service about patients and owners over gRPC, with
// the caller's identity and purpose forwarded (platform/grpcclient), so that the owner
// service authorises and audits the same person.
package ownersvc

import (
	"context"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/history/internal/app"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/patientowner"
	"github.com/lillvet/register/services/platform/retention"
)

// Client implements app.Registry on the owner service.
type Client struct {
	owners ownerv1.OwnerServiceClient
}

var _ app.Registry = (*Client)(nil)

// New returns a registry on a connection to the owner service.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{owners: ownerv1.NewOwnerServiceClient(conn)}
}

// Patient implements app.Registry.
func (c *Client) Patient(ctx context.Context, id string) (app.Patient, error) {
	res, err := c.owners.GetPatient(ctx, &ownerv1.GetPatientRequest{PatientId: id})
	if err != nil {
		return app.Patient{}, translate("GetPatient", err)
	}
	p := res.GetPatient()
	return app.Patient{
		ID: p.GetId(), OwnerID: p.GetOwnerId(), BirthDate: p.GetBirthDate(), Deceased: p.GetDeceased(), DeathDate: p.GetDeathDate(),
		Updated: p.GetUpdateTime().AsTime(),
	}, nil
}

// Transfers implements app.Registry with ListPatientChanges, transfers recorded before
// the change history named their owners included (patientowner.Transfer.Unnamed).
func (c *Client) Transfers(ctx context.Context, patientID string) ([]patientowner.Transfer, error) {
	res, err := c.owners.ListPatientChanges(ctx, &ownerv1.ListPatientChangesRequest{PatientId: patientID})
	if err != nil {
		return nil, translate("ListPatientChanges", err)
	}
	return patientowner.FromChanges(res.GetChanges()), nil
}

// OwnerExists implements app.Registry.
func (c *Client) OwnerExists(ctx context.Context, id string) error {
	if _, err := c.owners.GetOwner(ctx, &ownerv1.GetOwnerRequest{OwnerId: id}); err != nil {
		return translate("GetOwner", err)
	}
	return nil
}

// ExtendNameRetention implements app.NamesKeeper. The owner service's reasons tell the
// two refusals apart: the names gone for good, or the owner's erasure still to come.
func (c *Client) ExtendNameRetention(ctx context.Context, ownerID string, until retention.Date) error {
	_, err := c.owners.ExtendNameRetention(ctx, &ownerv1.ExtendNameRetentionRequest{OwnerId: ownerID, NameKeptUntil: until.String()})
	if err == nil {
		return nil
	}
	if status.Code(err) == codes.FailedPrecondition {
		switch reason(err) {
		case "NAMES_NOT_KEPT":
			return fmt.Errorf("owner service ExtendNameRetention: %w", app.ErrNamesGone)
		case "OWNER_NOT_ERASED":
			return fmt.Errorf("owner service ExtendNameRetention: %w", app.ErrOwnerNotErasedYet)
		}
	}
	return translate("ExtendNameRetention", err)
}

// EndIdentityCodeRetention implements app.CodeKeeper. OWNER_NOT_ERASED tells that the
// owner's erasure is still to come in the owner service.
func (c *Client) EndIdentityCodeRetention(ctx context.Context, ownerID string) error {
	_, err := c.owners.EndIdentityCodeRetention(ctx, &ownerv1.EndIdentityCodeRetentionRequest{OwnerId: ownerID})
	if err == nil {
		return nil
	}
	if status.Code(err) == codes.FailedPrecondition && reason(err) == "OWNER_NOT_ERASED" {
		return fmt.Errorf("owner service EndIdentityCodeRetention: %w", app.ErrOwnerNotErasedYet)
	}
	return translate("EndIdentityCodeRetention", err)
}

// reason is the machine reason (ErrorInfo) of a refusal; "" when it carries none.
func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// translate turns the owner service's status into this service's errors. It never
// wraps the status itself: the error interceptor would pass it on unchanged, answering
// the caller with another service's code and message.
func translate(rpc string, err error) error {
	code := status.Code(err)
	switch code {
	case codes.NotFound:
		return fmt.Errorf("owner service %s: %w", rpc, apperr.ErrNotFound)
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return fmt.Errorf("owner service %s: %s: %w", rpc, code, apperr.ErrUnavailable)
	case codes.PermissionDenied, codes.Unauthenticated:
		return fmt.Errorf("owner service %s (%s): %w", rpc, code, apperr.New(apperr.ErrPermissionDenied, "the owner register refused the caller"))
	case codes.Canceled:
		return fmt.Errorf("owner service %s: %w", rpc, context.Canceled)
	default:
		return fmt.Errorf("owner service %s answered %s", rpc, code)
	}
}
