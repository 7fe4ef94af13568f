// Package grpc is the consent service's gRPC port: each handler maps the request to one
// use case, which validates all of it (so that every invalid field is reported at once),
// and maps the result. Domain errors become gRPC statuses in the platform's error
// interceptor.
package grpc

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/consent/internal/app"
	"github.com/lillvet/register/services/platform/protomap"
)

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
	in := app.RecordDecision{OwnerID: req.GetOwnerId(), RequestID: req.GetRequestId()}
	if d := req.GetDecision(); d != nil {
		e := entryFromProto(d)
		in.Entry = &e
	}
	e, err := s.app.RecordDecision(ctx, in)
	if err != nil {
		return nil, err
	}
	return &consentv1.RecordConsentDecisionResponse{Decision: entryToProto(&e)}, nil
}

// ListConsentDecisions implements consentv1.ConsentServiceServer.
func (s *Server) ListConsentDecisions(ctx context.Context, req *consentv1.ListConsentDecisionsRequest) (*consentv1.ListConsentDecisionsResponse, error) {
	entries, next, err := s.app.ListDecisions(ctx, req.GetOwnerId(), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &consentv1.ListConsentDecisionsResponse{Decisions: entriesToProto(entries), NextPageToken: next}, nil
}

// ListConsents implements consentv1.ConsentServiceServer.
func (s *Server) ListConsents(ctx context.Context, req *consentv1.ListConsentsRequest) (*consentv1.ListConsentsResponse, error) {
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
	ownerID, err := s.app.SetRestriction(ctx, req.GetOwnerId(), req.GetRestricted(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &consentv1.SetOwnerRestrictionResponse{OwnerId: ownerID, Restricted: req.GetRestricted()}, nil
}

// EraseOwnerData implements consentv1.ConsentServiceServer.
func (s *Server) EraseOwnerData(ctx context.Context, req *consentv1.EraseOwnerDataRequest) (*consentv1.EraseOwnerDataResponse, error) {
	ds, err := s.app.EraseOwnerData(ctx, req.GetOwnerId(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &consentv1.EraseOwnerDataResponse{Dispositions: protomap.All(ds, dispositionToProto)}, nil
}
