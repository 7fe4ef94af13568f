// Package grpc is the consent service's gRPC port: each handler validates the request's
// shape, calls one use case and maps the result. Domain errors become gRPC statuses in
// the platform's error interceptor.
package grpc

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/consent/internal/app"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/protomap"
)

// maxViolations bounds the field violations one filter reports: the first ones are
// enough to fix the request, and ten thousand would not fit a status.
const maxViolations = 20

// Server implements consentv1.ConsentServiceServer on the use cases.
type Server struct {
	consentv1.UnimplementedConsentServiceServer
	app *app.Service
}

var _ consentv1.ConsentServiceServer = (*Server)(nil)

// NewServer returns the gRPC port of the use cases.
func NewServer(a *app.Service) *Server { return &Server{app: a} }

// RecordConsentDecision implements consentv1.ConsentServiceServer.
func (s *Server) RecordConsentDecision(ctx context.Context, req *consentv1.RecordConsentDecisionRequest) (*consentv1.RecordConsentDecisionResponse, error) {
	var v apperr.ValidationError
	v.CheckUUID("owner_id", req.GetOwnerId())
	rid := v.CheckRequestID(ctx, req.GetRequestId())
	if req.GetDecision() == nil {
		v.Add("decision", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	e, err := s.app.RecordDecision(ctx, app.RecordDecision{
		OwnerID: req.GetOwnerId(), RequestID: rid, Entry: entryFromProto(req.GetDecision()),
	})
	if err != nil {
		return nil, err
	}
	return &consentv1.RecordConsentDecisionResponse{Decision: entryToProto(&e)}, nil
}

// ListConsentDecisions implements consentv1.ConsentServiceServer.
func (s *Server) ListConsentDecisions(ctx context.Context, req *consentv1.ListConsentDecisionsRequest) (*consentv1.ListConsentDecisionsResponse, error) {
	var v apperr.ValidationError
	v.CheckUUID("owner_id", req.GetOwnerId())
	if req.GetPageSize() < 0 {
		v.Add("page_size", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	entries, next, err := s.app.ListDecisions(ctx, req.GetOwnerId(), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &consentv1.ListConsentDecisionsResponse{Decisions: entriesToProto(entries), NextPageToken: next}, nil
}

// ListConsents implements consentv1.ConsentServiceServer.
func (s *Server) ListConsents(ctx context.Context, req *consentv1.ListConsentsRequest) (*consentv1.ListConsentsResponse, error) {
	var v apperr.ValidationError
	v.CheckUUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	states, restricted, at, err := s.app.States(ctx, req.GetOwnerId())
	if err != nil {
		return nil, err
	}
	out := make([]*consentv1.ConsentState, len(states))
	for i, st := range states {
		out[i] = stateToProto(st)
	}
	return &consentv1.ListConsentsResponse{Consents: out, OwnerRestricted: restricted, EvaluateTime: timestamppb.New(at)}, nil
}

// CheckConsent implements consentv1.ConsentServiceServer.
func (s *Server) CheckConsent(ctx context.Context, req *consentv1.CheckConsentRequest) (*consentv1.CheckConsentResponse, error) {
	var v apperr.ValidationError
	v.CheckUUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	verdict, at, err := s.app.Check(ctx, req.GetOwnerId(), purposes[req.GetPurpose()], req.GetScope())
	if err != nil {
		return nil, err
	}
	return &consentv1.CheckConsentResponse{
		Allowed: verdict.Allowed, Reason: reasonsOut[verdict.Reason],
		DecidingDecision: entryToProto(verdict.Deciding), CheckTime: timestamppb.New(at),
	}, nil
}

// FilterConsents implements consentv1.ConsentServiceServer.
func (s *Server) FilterConsents(ctx context.Context, req *consentv1.FilterConsentsRequest) (*consentv1.FilterConsentsResponse, error) {
	var v apperr.ValidationError
	for i, id := range req.GetOwnerIds() {
		v.CheckUUID(fmt.Sprintf("owner_ids[%d]", i), id)
		if len(v.Violations) >= maxViolations {
			break
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	res, err := s.app.Filter(ctx, req.GetOwnerIds(), purposes[req.GetPurpose()], req.GetScope())
	if err != nil {
		return nil, err
	}
	return &consentv1.FilterConsentsResponse{
		AllowedOwnerIds: res.Allowed, UnknownOwnerIds: res.Unknown, CheckTime: timestamppb.New(res.At),
	}, nil
}

// SetOwnerRestriction implements consentv1.ConsentServiceServer.
func (s *Server) SetOwnerRestriction(ctx context.Context, req *consentv1.SetOwnerRestrictionRequest) (*consentv1.SetOwnerRestrictionResponse, error) {
	var v apperr.ValidationError
	v.CheckUUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.app.SetRestriction(ctx, req.GetOwnerId(), req.GetRestricted(), req.GetReason()); err != nil {
		return nil, err
	}
	return &consentv1.SetOwnerRestrictionResponse{OwnerId: req.GetOwnerId(), Restricted: req.GetRestricted()}, nil
}

// EraseOwnerData implements consentv1.ConsentServiceServer.
func (s *Server) EraseOwnerData(ctx context.Context, req *consentv1.EraseOwnerDataRequest) (*consentv1.EraseOwnerDataResponse, error) {
	var v apperr.ValidationError
	v.CheckUUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	ds, err := s.app.EraseOwnerData(ctx, req.GetOwnerId(), strings.TrimSpace(req.GetRequestId()))
	if err != nil {
		return nil, err
	}
	return &consentv1.EraseOwnerDataResponse{Dispositions: protomap.All(ds, dispositionToProto)}, nil
}
