// Package auditserver serves the audit log's AuditService on every service, so that
// the access report can ask each service who accessed an owner's data there. The
// service bootstrap registers it and adds its policy; no service writes it again.
package auditserver

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	auditv1 "github.com/lillvet/register/proto/gen/go/lillvet/audit/v1"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
)

// Server implements auditv1.AuditServiceServer over one service's audit log.
type Server struct {
	auditv1.UnimplementedAuditServiceServer
	log *audit.Writer
}

// New returns the server over log.
func New(log *audit.Writer) *Server { return &Server{log: log} }

// Register registers the server on r.
func (s *Server) Register(r grpc.ServiceRegistrar) { auditv1.RegisterAuditServiceServer(r, s) }

// Policy is the AuditService's part of a service's access policy: the audit log is
// personal data about the staff as well as the owner, and only the clinic manager, who
// answers access requests, reads it.
func Policy() auth.Policy {
	return auth.Policy{
		auditv1.AuditService_ExportOwnerAccessEvents_FullMethodName: {Roles: []auth.Role{auth.RoleClinicManager}},
	}
}

// ExportOwnerAccessEvents implements auditv1.AuditServiceServer. The read is audited
// before the first event is sent.
func (s *Server) ExportOwnerAccessEvents(req *auditv1.ExportOwnerAccessEventsRequest, stream grpc.ServerStreamingServer[auditv1.ExportOwnerAccessEventsResponse]) error {
	var v apperr.ValidationError
	owner := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return err
	}
	ctx := stream.Context()
	if err := s.record(ctx, owner); err != nil {
		return err
	}
	err := s.log.EachBySubject(ctx, owner, func(e audit.Event) error {
		return stream.Send(&auditv1.ExportOwnerAccessEventsResponse{Event: toProto(e)})
	})
	if err != nil {
		return fmt.Errorf("export access events of owner %s: %w", owner, err)
	}
	return nil
}

func (s *Server) record(ctx context.Context, ownerID string) error {
	return s.log.Record(ctx, audit.Event{
		Action: "audit.export", Resource: "owners/" + ownerID + "/accessEvents",
		SubjectOwnerID: ownerID, Outcome: audit.OutcomeSuccess,
	})
}

func toProto(e audit.Event) *auditv1.AccessEvent {
	return &auditv1.AccessEvent{
		Time:         timestamppb.New(e.Time),
		ActorSubject: e.ActorSubject,
		ActorName:    e.ActorName,
		ActorRoles:   e.Roles,
		ActorSystem:  e.System,
		Action:       e.Action,
		Resource:     e.Resource,
		Purpose:      e.Purpose,
		Outcome:      e.Outcome,
	}
}
