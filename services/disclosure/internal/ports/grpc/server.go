// Package grpc is the disclosure service's gRPC port: each handler validates the
// request's shape, calls one use case and maps the result. Domain errors become gRPC
// statuses in the platform's error interceptor.
package grpc

import (
	"context"

	"google.golang.org/genproto/googleapis/api/httpbody"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/protomap"
)

// Server implements disclosurev1.DisclosureServiceServer on the use cases.
type Server struct {
	disclosurev1.UnimplementedDisclosureServiceServer
	app       *app.Service
	erasure   *app.Erasure
	retention *app.Retention
}

var _ disclosurev1.DisclosureServiceServer = (*Server)(nil)

// NewServer returns the gRPC port of the use cases.
func NewServer(a *app.Service, e *app.Erasure, r *app.Retention) *Server {
	return &Server{app: a, erasure: e, retention: r}
}

// checkPage validates a list request's page size.
func checkPage(v *apperr.ValidationError, size int32) {
	if size < 0 {
		v.Add("page_size", "must not be negative")
	}
}

// CreateRecipient implements disclosurev1.DisclosureServiceServer.
func (s *Server) CreateRecipient(ctx context.Context, req *disclosurev1.CreateRecipientRequest) (*disclosurev1.CreateRecipientResponse, error) {
	var v apperr.ValidationError
	rid := v.CheckRequestID(ctx, req.GetRequestId())
	if req.GetRecipient() == nil {
		v.Add("recipient", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.app.CreateRecipient(ctx, rid, recipientFromProto(req.GetRecipient()))
	if err != nil {
		return nil, err
	}
	return &disclosurev1.CreateRecipientResponse{Recipient: recipientToProto(r)}, nil
}

// GetRecipient implements disclosurev1.DisclosureServiceServer.
func (s *Server) GetRecipient(ctx context.Context, req *disclosurev1.GetRecipientRequest) (*disclosurev1.GetRecipientResponse, error) {
	var v apperr.ValidationError
	id := v.UUID("recipient_id", req.GetRecipientId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.app.Recipient(ctx, id)
	if err != nil {
		return nil, err
	}
	return &disclosurev1.GetRecipientResponse{Recipient: recipientToProto(r)}, nil
}

// ListRecipients implements disclosurev1.DisclosureServiceServer.
func (s *Server) ListRecipients(ctx context.Context, req *disclosurev1.ListRecipientsRequest) (*disclosurev1.ListRecipientsResponse, error) {
	var v apperr.ValidationError
	checkPage(&v, req.GetPageSize())
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.app.ListRecipients(ctx, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &disclosurev1.ListRecipientsResponse{Recipients: recipientsToProto(page.Items), NextPageToken: page.Next}, nil
}

// DeactivateRecipient implements disclosurev1.DisclosureServiceServer.
func (s *Server) DeactivateRecipient(ctx context.Context, req *disclosurev1.DeactivateRecipientRequest) (*disclosurev1.DeactivateRecipientResponse, error) {
	var v apperr.ValidationError
	id := v.UUID("recipient_id", req.GetRecipientId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.app.DeactivateRecipient(ctx, id)
	if err != nil {
		return nil, err
	}
	return &disclosurev1.DeactivateRecipientResponse{Recipient: recipientToProto(r)}, nil
}

// CreateDisclosure implements disclosurev1.DisclosureServiceServer.
func (s *Server) CreateDisclosure(ctx context.Context, req *disclosurev1.CreateDisclosureRequest) (*disclosurev1.CreateDisclosureResponse, error) {
	var v apperr.ValidationError
	rid := v.CheckRequestID(ctx, req.GetRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, err := s.app.Disclose(ctx, domain.DisclosureRequest{
		RecipientID: req.GetRecipientId(), OwnerID: req.GetOwnerId(), PatientIDs: req.GetPatientIds(),
		Categories: categoriesFromProto(req.GetCategories()), CaseReference: req.GetCaseReference(), RequestID: rid,
	})
	if err != nil {
		return nil, err
	}
	return &disclosurev1.CreateDisclosureResponse{Disclosure: recordToProto(rec), Contents: packageToProto(rec)}, nil
}

// GetDisclosure implements disclosurev1.DisclosureServiceServer.
func (s *Server) GetDisclosure(ctx context.Context, req *disclosurev1.GetDisclosureRequest) (*disclosurev1.GetDisclosureResponse, error) {
	var v apperr.ValidationError
	id := v.UUID("disclosure_id", req.GetDisclosureId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, err := s.app.Disclosure(ctx, id)
	if err != nil {
		return nil, err
	}
	return &disclosurev1.GetDisclosureResponse{Disclosure: recordToProto(rec), Contents: packageToProto(rec)}, nil
}

// ListOwnerDisclosures implements disclosurev1.DisclosureServiceServer.
func (s *Server) ListOwnerDisclosures(ctx context.Context, req *disclosurev1.ListOwnerDisclosuresRequest) (*disclosurev1.ListOwnerDisclosuresResponse, error) {
	var v apperr.ValidationError
	owner := v.UUID("owner_id", req.GetOwnerId())
	checkPage(&v, req.GetPageSize())
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.app.OwnerDisclosures(ctx, owner, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &disclosurev1.ListOwnerDisclosuresResponse{
		Disclosures: recordsToProto(page.Items, recordToProto), NextPageToken: page.Next,
	}, nil
}

// ListPartnerDisclosures implements disclosurev1.DisclosureServiceServer.
func (s *Server) ListPartnerDisclosures(ctx context.Context, req *disclosurev1.ListPartnerDisclosuresRequest) (*disclosurev1.ListPartnerDisclosuresResponse, error) {
	var v apperr.ValidationError
	checkPage(&v, req.GetPageSize())
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.app.PartnerDisclosures(ctx, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &disclosurev1.ListPartnerDisclosuresResponse{
		Disclosures: recordsToProto(page.Items, partnerRecordToProto), NextPageToken: page.Next,
	}, nil
}

// GetPartnerDisclosure implements disclosurev1.DisclosureServiceServer.
func (s *Server) GetPartnerDisclosure(ctx context.Context, req *disclosurev1.GetPartnerDisclosureRequest) (*disclosurev1.GetPartnerDisclosureResponse, error) {
	var v apperr.ValidationError
	id := v.UUID("disclosure_id", req.GetDisclosureId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, err := s.app.PartnerDisclosure(ctx, id)
	if err != nil {
		return nil, err
	}
	return &disclosurev1.GetPartnerDisclosureResponse{Disclosure: partnerRecordToProto(rec), Contents: packageToProto(rec)}, nil
}

// RecordAccessRequest implements disclosurev1.DisclosureServiceServer.
func (s *Server) RecordAccessRequest(ctx context.Context, req *disclosurev1.RecordAccessRequestRequest) (*disclosurev1.RecordAccessRequestResponse, error) {
	var v apperr.ValidationError
	rid := v.CheckRequestID(ctx, req.GetRequestId())
	if req.GetAccessRequest() == nil {
		v.Add("access_request", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.app.RecordAccessRequest(ctx, rid, accessRequestFromProto(req.GetAccessRequest()))
	if err != nil {
		return nil, err
	}
	return &disclosurev1.RecordAccessRequestResponse{AccessRequest: accessRequestToProto(r)}, nil
}

// GetAccessRequest implements disclosurev1.DisclosureServiceServer.
func (s *Server) GetAccessRequest(ctx context.Context, req *disclosurev1.GetAccessRequestRequest) (*disclosurev1.GetAccessRequestResponse, error) {
	var v apperr.ValidationError
	id := v.UUID("access_request_id", req.GetAccessRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.app.AccessRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return &disclosurev1.GetAccessRequestResponse{AccessRequest: accessRequestToProto(r)}, nil
}

// ListOwnerAccessRequests implements disclosurev1.DisclosureServiceServer.
func (s *Server) ListOwnerAccessRequests(ctx context.Context, req *disclosurev1.ListOwnerAccessRequestsRequest) (*disclosurev1.ListOwnerAccessRequestsResponse, error) {
	var v apperr.ValidationError
	owner := v.UUID("owner_id", req.GetOwnerId())
	checkPage(&v, req.GetPageSize())
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.app.OwnerAccessRequests(ctx, owner, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &disclosurev1.ListOwnerAccessRequestsResponse{
		AccessRequests: accessRequestsToProto(page.Items), NextPageToken: page.Next,
	}, nil
}

// ExtendAccessRequest implements disclosurev1.DisclosureServiceServer.
func (s *Server) ExtendAccessRequest(ctx context.Context, req *disclosurev1.ExtendAccessRequestRequest) (*disclosurev1.ExtendAccessRequestResponse, error) {
	var v apperr.ValidationError
	id := v.UUID("access_request_id", req.GetAccessRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.app.ExtendAccessRequest(ctx, id, req.GetReason())
	if err != nil {
		return nil, err
	}
	return &disclosurev1.ExtendAccessRequestResponse{AccessRequest: accessRequestToProto(r)}, nil
}

// GetAccessReport implements disclosurev1.DisclosureServiceServer.
func (s *Server) GetAccessReport(ctx context.Context, req *disclosurev1.GetAccessReportRequest) (*disclosurev1.GetAccessReportResponse, error) {
	given, err := s.accessReport(ctx, req.GetAccessRequestId(), app.ReportJSON, "")
	if err != nil {
		return nil, err
	}
	return &disclosurev1.GetAccessReportResponse{
		Report:     &httpbody.HttpBody{ContentType: given.ContentType, Data: given.Body},
		Disclosure: recordToProto(given.Disclosure),
	}, nil
}

// GetAccessReportDocument implements disclosurev1.DisclosureServiceServer.
func (s *Server) GetAccessReportDocument(ctx context.Context, req *disclosurev1.GetAccessReportDocumentRequest) (*disclosurev1.GetAccessReportDocumentResponse, error) {
	given, err := s.accessReport(ctx, req.GetAccessRequestId(), app.ReportHTML, req.GetLanguage())
	if err != nil {
		return nil, err
	}
	return &disclosurev1.GetAccessReportDocumentResponse{
		Document:   &httpbody.HttpBody{ContentType: given.ContentType, Data: given.Body},
		Disclosure: recordToProto(given.Disclosure),
	}, nil
}

func (s *Server) accessReport(ctx context.Context, id string, format app.ReportFormat, language string) (app.GivenReport, error) {
	var v apperr.ValidationError
	id = v.UUID("access_request_id", id)
	if err := v.Err(); err != nil {
		return app.GivenReport{}, err
	}
	return s.app.AccessReport(ctx, id, format, language)
}

// RunRetentionSweep implements disclosurev1.DisclosureServiceServer.
func (s *Server) RunRetentionSweep(ctx context.Context, _ *disclosurev1.RunRetentionSweepRequest) (*disclosurev1.RunRetentionSweepResponse, error) {
	removed, err := s.retention.RunRetentionSweep(ctx)
	if err != nil {
		return nil, err
	}
	return &disclosurev1.RunRetentionSweepResponse{Removed: protomap.All(removed, dispositionToProto)}, nil
}
