// Package auditlog reads who accessed an owner's data: from the other services through
// their AuditService (the caller's token forwarded, so each service authorises and
// audits the clinic manager who asked), and from this service's own audit log.
package auditlog

import (
	"context"
	"errors"
	"fmt"
	"io"

	auditv1 "github.com/lillvet/register/proto/gen/go/lillvet/audit/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/protomap"
)

// Remote is another service's audit log, read through its AuditService.
type Remote struct {
	service string
	client  auditv1.AuditServiceClient
}

var _ app.AccessLog = (*Remote)(nil)

// NewRemote returns the audit log of the named service on its connection.
func NewRemote(service string, c auditv1.AuditServiceClient) *Remote {
	return &Remote{service: service, client: c}
}

// OwnerEvents implements app.AccessLog with the ExportOwnerAccessEvents stream.
func (r *Remote) OwnerEvents(ctx context.Context, ownerID string) ([]app.AccessEvent, error) {
	stream, err := r.client.ExportOwnerAccessEvents(ctx, &auditv1.ExportOwnerAccessEventsRequest{OwnerId: ownerID})
	if err != nil {
		return nil, fmt.Errorf("read the %s service's access events of owner %s: %w", r.service, ownerID, err)
	}
	var out []app.AccessEvent
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the %s service's access events of owner %s: %w", r.service, ownerID, err)
		}
		e := res.GetEvent()
		out = append(out, app.AccessEvent{
			Time: protomap.Time(e.GetTime()), Service: r.service, ActorSubject: e.GetActorSubject(),
			ActorName: e.GetActorName(), ActorRoles: e.GetActorRoles(), ActorSystem: e.GetActorSystem(),
			Action: e.GetAction(), Resource: e.GetResource(),
			Purpose: e.GetPurpose(), Outcome: e.GetOutcome(),
		})
	}
}

// Local is this service's own audit log, read from its database.
type Local struct {
	service string
	log     *audit.Writer
}

var _ app.AccessLog = (*Local)(nil)

// NewLocal returns the named service's own audit log.
func NewLocal(service string, log *audit.Writer) *Local { return &Local{service: service, log: log} }

// OwnerEvents implements app.AccessLog.
func (l *Local) OwnerEvents(ctx context.Context, ownerID string) ([]app.AccessEvent, error) {
	var out []app.AccessEvent
	err := l.log.EachBySubject(ctx, ownerID, func(e audit.Event) error {
		out = append(out, app.AccessEvent{
			Time: e.Time.UTC(), Service: l.service, ActorSubject: e.ActorSubject, ActorName: e.ActorName,
			ActorRoles: e.Roles, ActorSystem: e.System, Action: e.Action, Resource: e.Resource, Purpose: e.Purpose,
			Outcome: e.Outcome,
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the %s service's access events of owner %s: %w", l.service, ownerID, err)
	}
	return out, nil
}
