// Package grpc is the history service's gRPC port: each handler validates the request's
// shape, calls one use case and maps the result. Domain errors become gRPC statuses in
// the platform's error interceptor.
package grpc

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/history/internal/app"
	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/protomap"
)

// Server implements historyv1.HistoryServiceServer on the use cases.
type Server struct {
	historyv1.UnimplementedHistoryServiceServer
	app *app.Service
}

var _ historyv1.HistoryServiceServer = (*Server)(nil)

// NewServer returns the gRPC port of the use cases.
func NewServer(a *app.Service) *Server { return &Server{app: a} }

// listRequest is what the three list requests share.
type listRequest interface {
	GetStartTime() *timestamppb.Timestamp
	GetEndTime() *timestamppb.Timestamp
	GetPageSize() int32
	GetPageToken() string
}

// checkTime refuses a timestamp that is set but is no valid instant (nanos out of range,
// past the year 9999): mapped, it would read as unset, which a write takes as now.
func checkTime(v *apperr.ValidationError, field string, ts *timestamppb.Timestamp) {
	if ts != nil && ts.CheckValid() != nil {
		v.Add(field, "must be a valid time")
	}
}

// query checks a list request's id, time range and paging and returns its query.
func query(v *apperr.ValidationError, idField, id string, req listRequest) domain.Query {
	q := domain.Query{ID: v.UUID(idField, id), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}
	if req.GetPageSize() < 0 {
		v.Add("page_size", "must not be negative")
	}
	checkTime(v, "start_time", req.GetStartTime())
	checkTime(v, "end_time", req.GetEndTime())
	q.Start, q.End = timeFromProto(req.GetStartTime()), timeFromProto(req.GetEndTime())
	if !q.Start.IsZero() && !q.End.IsZero() && !q.End.After(q.Start) {
		v.Add("end_time", "must be after start_time")
	}
	return q
}

// RecordVisit implements historyv1.HistoryServiceServer.
func (s *Server) RecordVisit(ctx context.Context, req *historyv1.RecordVisitRequest) (*historyv1.RecordVisitResponse, error) {
	var v apperr.ValidationError
	patient := v.UUID("patient_id", req.GetPatientId())
	rid := v.CheckRequestID(ctx, req.GetRequestId())
	if req.GetVisit() == nil {
		v.Add("visit", "is required")
	}
	checkTime(&v, "visit.start_time", req.GetVisit().GetStartTime())
	owner := ownerNamed(&v, req.GetVisit())
	if err := v.Err(); err != nil {
		return nil, err
	}
	visit, err := s.app.RecordVisit(ctx, app.RecordVisit{
		PatientID: patient, RequestID: rid, OwnerID: owner, Visit: visitFromProto(req.GetVisit()),
	})
	if err != nil {
		return nil, err
	}
	return &historyv1.RecordVisitResponse{Visit: visitToProto(visit)}, nil
}

// ownerNamed is the owner a request files its visit under (see Visit.owner_id), "" when
// it names none.
func ownerNamed(v *apperr.ValidationError, visit *historyv1.Visit) string {
	if visit.GetOwnerId() == "" {
		return ""
	}
	return v.UUID("visit.owner_id", visit.GetOwnerId())
}

// ListPatientVisits implements historyv1.HistoryServiceServer.
func (s *Server) ListPatientVisits(ctx context.Context, req *historyv1.ListPatientVisitsRequest) (*historyv1.ListPatientVisitsResponse, error) {
	var v apperr.ValidationError
	q := query(&v, "patient_id", req.GetPatientId(), req)
	if err := v.Err(); err != nil {
		return nil, err
	}
	visits, next, err := s.app.ListPatientVisits(ctx, q)
	if err != nil {
		return nil, err
	}
	return &historyv1.ListPatientVisitsResponse{Visits: visitsToProto(visits), NextPageToken: next}, nil
}

// GetVisit implements historyv1.HistoryServiceServer.
func (s *Server) GetVisit(ctx context.Context, req *historyv1.GetVisitRequest) (*historyv1.GetVisitResponse, error) {
	var v apperr.ValidationError
	id := v.UUID("visit_id", req.GetVisitId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, err := s.app.GetVisit(ctx, id)
	if err != nil {
		return nil, err
	}
	r := recordToProto(rec)
	return &historyv1.GetVisitResponse{Visit: r.GetVisit(), Original: r.GetOriginal(), Amendments: r.GetAmendments()}, nil
}

// AmendVisit implements historyv1.HistoryServiceServer.
func (s *Server) AmendVisit(ctx context.Context, req *historyv1.AmendVisitRequest) (*historyv1.AmendVisitResponse, error) {
	var v apperr.ValidationError
	id := v.UUID("visit_id", req.GetVisitId())
	rid := v.CheckRequestID(ctx, req.GetRequestId())
	checkTime(&v, "visit.start_time", req.GetVisit().GetStartTime())
	owner := ownerNamed(&v, req.GetVisit())
	if err := v.Err(); err != nil {
		return nil, err
	}
	visit, a, err := s.app.AmendVisit(ctx, app.AmendVisit{
		ID: id, RequestID: rid, Visit: visitFromProto(req.GetVisit()), OwnerID: owner,
		Paths: req.GetUpdateMask().GetPaths(), Version: req.GetVersion(), Reason: strings.TrimSpace(req.GetReason()),
	})
	if err != nil {
		return nil, err
	}
	return &historyv1.AmendVisitResponse{Visit: visitToProto(visit), Amendment: amendmentToProto(*a)}, nil
}

// RecordCommunication implements historyv1.HistoryServiceServer.
func (s *Server) RecordCommunication(ctx context.Context, req *historyv1.RecordCommunicationRequest) (*historyv1.RecordCommunicationResponse, error) {
	var v apperr.ValidationError
	in := app.RecordCommunication{
		OwnerID: v.UUID("owner_id", req.GetOwnerId()), RequestID: v.CheckRequestID(ctx, req.GetRequestId()),
		Communication: communicationFromProto(req.GetCommunication()),
	}
	if req.GetCommunication() == nil {
		v.Add("communication", "is required")
	}
	checkTime(&v, "communication.time", req.GetCommunication().GetTime())
	if id := in.Communication.PatientID; id != "" {
		in.Communication.PatientID = v.UUID("communication.patient_id", id)
	}
	if id := in.Communication.VisitID; id != "" {
		in.Communication.VisitID = v.UUID("communication.visit_id", id)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.app.RecordCommunication(ctx, in)
	if err != nil {
		return nil, err
	}
	return &historyv1.RecordCommunicationResponse{Communication: communicationToProto(c)}, nil
}

// ListOwnerCommunications implements historyv1.HistoryServiceServer.
func (s *Server) ListOwnerCommunications(ctx context.Context, req *historyv1.ListOwnerCommunicationsRequest) (*historyv1.ListOwnerCommunicationsResponse, error) {
	var v apperr.ValidationError
	q := query(&v, "owner_id", req.GetOwnerId(), req)
	if err := v.Err(); err != nil {
		return nil, err
	}
	comms, next, err := s.app.ListOwnerCommunications(ctx, q)
	if err != nil {
		return nil, err
	}
	return &historyv1.ListOwnerCommunicationsResponse{Communications: protomap.All(comms, communicationToProto), NextPageToken: next}, nil
}

// ListOwnerTimeline implements historyv1.HistoryServiceServer.
func (s *Server) ListOwnerTimeline(ctx context.Context, req *historyv1.ListOwnerTimelineRequest) (*historyv1.ListOwnerTimelineResponse, error) {
	var v apperr.ValidationError
	q := query(&v, "owner_id", req.GetOwnerId(), req)
	if err := v.Err(); err != nil {
		return nil, err
	}
	entries, next, err := s.app.ListOwnerTimeline(ctx, q)
	if err != nil {
		return nil, err
	}
	return &historyv1.ListOwnerTimelineResponse{Entries: timelineToProto(entries), NextPageToken: next}, nil
}

// ExportOwnerHistory implements historyv1.HistoryServiceServer: one message per visit
// (with its original and amendments), then one per communication, as the store's
// cursors deliver them.
func (s *Server) ExportOwnerHistory(req *historyv1.ExportOwnerHistoryRequest, stream grpc.ServerStreamingServer[historyv1.ExportOwnerHistoryResponse]) error {
	var v apperr.ValidationError
	owner := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return err
	}
	return s.app.ExportOwnerHistory(stream.Context(), owner,
		func(r *domain.VisitRecord) error {
			return stream.Send(&historyv1.ExportOwnerHistoryResponse{Item: &historyv1.ExportOwnerHistoryResponse_Visit{Visit: recordToProto(r)}})
		},
		func(c *domain.Communication) error {
			return stream.Send(&historyv1.ExportOwnerHistoryResponse{Item: &historyv1.ExportOwnerHistoryResponse_Communication{Communication: communicationToProto(c)}})
		})
}

// EraseOwnerData implements historyv1.HistoryServiceServer.
func (s *Server) EraseOwnerData(ctx context.Context, req *historyv1.EraseOwnerDataRequest) (*historyv1.EraseOwnerDataResponse, error) {
	var v apperr.ValidationError
	owner := v.UUID("owner_id", req.GetOwnerId())
	// A UUID, the form of the erasure job's ids, since the id is kept on the owner's
	// erasure record after the erasure: free text there would outlive it.
	rid := strings.TrimSpace(req.GetRequestId())
	if rid == "" {
		v.Add("request_id", "is required: the erasure request's id, a UUID, makes a retry answer the first result")
	} else {
		rid = v.UUID("request_id", rid)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	res, err := s.app.EraseOwnerData(ctx, owner, rid)
	if err != nil {
		return nil, err
	}
	return &historyv1.EraseOwnerDataResponse{
		Dispositions: protomap.All(res.Dispositions, dispositionToProto), OwnerNamedUntil: day(res.OwnerNamedUntil),
		IdentityCodeNeededUntil: day(res.IdentityCodeNeededUntil),
	}, nil
}

// RunRetentionSweep implements historyv1.HistoryServiceServer.
func (s *Server) RunRetentionSweep(ctx context.Context, _ *historyv1.RunRetentionSweepRequest) (*historyv1.RunRetentionSweepResponse, error) {
	removed, err := s.app.RunRetentionSweep(ctx)
	if err != nil {
		return nil, err
	}
	return &historyv1.RunRetentionSweepResponse{Removed: protomap.All(removed.Dispositions(), dispositionToProto)}, nil
}
