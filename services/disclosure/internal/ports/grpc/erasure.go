package grpc

import (
	"context"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/protomap"
)

// CreateErasureRequest implements disclosurev1.DisclosureServiceServer.
func (s *Server) CreateErasureRequest(ctx context.Context, req *disclosurev1.CreateErasureRequestRequest) (*disclosurev1.CreateErasureRequestResponse, error) {
	var v apperr.ValidationError
	rid := v.CheckRequestID(ctx, req.GetRequestId())
	if req.GetErasureRequest() == nil {
		v.Add("erasure_request", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	j, err := s.erasure.CreateErasureRequest(ctx, rid, receiptFromProto(req.GetErasureRequest()))
	if err != nil {
		return nil, err
	}
	return &disclosurev1.CreateErasureRequestResponse{ErasureRequest: erasureRequestToProto(j)}, nil
}

// GetErasureRequest implements disclosurev1.DisclosureServiceServer.
func (s *Server) GetErasureRequest(ctx context.Context, req *disclosurev1.GetErasureRequestRequest) (*disclosurev1.GetErasureRequestResponse, error) {
	var v apperr.ValidationError
	id := v.UUID("erasure_request_id", req.GetErasureRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	j, err := s.erasure.ErasureRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return &disclosurev1.GetErasureRequestResponse{ErasureRequest: erasureRequestToProto(j)}, nil
}

// ListOwnerErasureRequests implements disclosurev1.DisclosureServiceServer.
func (s *Server) ListOwnerErasureRequests(ctx context.Context, req *disclosurev1.ListOwnerErasureRequestsRequest) (*disclosurev1.ListOwnerErasureRequestsResponse, error) {
	var v apperr.ValidationError
	owner := v.UUID("owner_id", req.GetOwnerId())
	checkPage(&v, req.GetPageSize())
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.erasure.OwnerErasureRequests(ctx, owner, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &disclosurev1.ListOwnerErasureRequestsResponse{
		ErasureRequests: erasureRequestsToProto(page.Items), NextPageToken: page.Next,
	}, nil
}

// ResumeErasureRequest implements disclosurev1.DisclosureServiceServer.
func (s *Server) ResumeErasureRequest(ctx context.Context, req *disclosurev1.ResumeErasureRequestRequest) (*disclosurev1.ResumeErasureRequestResponse, error) {
	var v apperr.ValidationError
	id := v.UUID("erasure_request_id", req.GetErasureRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	j, err := s.erasure.ResumeErasureRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return &disclosurev1.ResumeErasureRequestResponse{ErasureRequest: erasureRequestToProto(j)}, nil
}

// ListRectificationRecipients implements disclosurev1.DisclosureServiceServer.
func (s *Server) ListRectificationRecipients(ctx context.Context, req *disclosurev1.ListRectificationRecipientsRequest) (*disclosurev1.ListRectificationRecipientsResponse, error) {
	var v apperr.ValidationError
	q := app.RectificationQuery{OwnerID: v.UUID("owner_id", req.GetOwnerId()), Version: req.GetChangeVersion()}
	if q.Version < 1 {
		v.Add("change_version", "must be a version, 1 or more")
	}
	if req.GetPatientId() != "" {
		q.PatientID = v.UUID("patient_id", req.GetPatientId())
	}
	switch {
	case req.GetVisitId() == "":
	case req.GetPatientId() != "":
		v.Add("visit_id", "cannot be combined with patient_id: the visit names its patient")
	default:
		q.VisitID = v.UUID("visit_id", req.GetVisitId())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.erasure.RectificationRecipients(ctx, q)
	if err != nil {
		return nil, err
	}
	return &disclosurev1.ListRectificationRecipientsResponse{
		ChangedCategories: categoriesToProto(r.ChangedCategories), ChangeTime: protomap.Timestamp(r.ChangedAt),
		Recipients: protomap.All(r.Recipients, notificationToProto),
	}, nil
}
