// Package grpc is the owner service's gRPC port: each handler validates the request's
// shape, calls one use case and maps the result. Domain errors become gRPC statuses in
// the platform's error interceptor.
package grpc

import (
	"context"
	"fmt"
	"strings"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/owner/internal/app"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/protomap"
)

// maxViolations bounds the field violations one batch request reports: the first ones
// are enough to fix the request, and ten thousand would not fit a status.
const maxViolations = 20

// Server implements ownerv1.OwnerServiceServer on the use cases.
type Server struct {
	ownerv1.UnimplementedOwnerServiceServer
	app *app.Service
}

var _ ownerv1.OwnerServiceServer = (*Server)(nil)

// NewServer returns the gRPC port of the use cases.
func NewServer(a *app.Service) *Server { return &Server{app: a} }

func checkPaging(v *apperr.ValidationError, size int32) {
	if size < 0 {
		v.Add("page_size", "must not be negative")
	}
}

// CreateOwner implements ownerv1.OwnerServiceServer.
func (s *Server) CreateOwner(ctx context.Context, req *ownerv1.CreateOwnerRequest) (*ownerv1.CreateOwnerResponse, error) {
	var v apperr.ValidationError
	rid := v.CheckRequestID(ctx, req.GetRequestId())
	if req.GetOwner() == nil {
		v.Add("owner", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.app.CreateOwner(ctx, app.CreateOwner{
		RequestID: rid, Owner: ownerFromProto(req.GetOwner()), IdentityCode: req.GetIdentityCode(),
	})
	if err != nil {
		return nil, err
	}
	return &ownerv1.CreateOwnerResponse{Owner: ownerToProto(o)}, nil
}

// GetOwner implements ownerv1.OwnerServiceServer.
func (s *Server) GetOwner(ctx context.Context, req *ownerv1.GetOwnerRequest) (*ownerv1.GetOwnerResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.app.GetOwner(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	return &ownerv1.GetOwnerResponse{Owner: ownerToProto(o)}, nil
}

// UpdateOwner implements ownerv1.OwnerServiceServer.
func (s *Server) UpdateOwner(ctx context.Context, req *ownerv1.UpdateOwnerRequest) (*ownerv1.UpdateOwnerResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.app.UpdateOwner(ctx, app.UpdateOwner{
		ID: ownerID, Owner: ownerFromProto(req.GetOwner()), Paths: req.GetUpdateMask().GetPaths(),
		Version: req.GetVersion(), Reason: strings.TrimSpace(req.GetReason()), IdentityCode: req.GetIdentityCode(),
	})
	if err != nil {
		return nil, err
	}
	return &ownerv1.UpdateOwnerResponse{Owner: ownerToProto(o)}, nil
}

// ListOwners implements ownerv1.OwnerServiceServer.
func (s *Server) ListOwners(ctx context.Context, req *ownerv1.ListOwnersRequest) (*ownerv1.ListOwnersResponse, error) {
	var v apperr.ValidationError
	checkPaging(&v, req.GetPageSize())
	keys := 0
	for _, k := range []string{req.GetName(), req.GetPhone(), req.GetCustomerNumber(), req.GetMicrochip()} {
		if k != "" {
			keys++
		}
	}
	if keys > 1 {
		v.Add("name", "search by one of name, phone, customer number or microchip at a time")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	owners, next, err := s.app.ListOwners(ctx, app.ListOwners{
		Name: req.GetName(), Phone: req.GetPhone(), CustomerNumber: req.GetCustomerNumber(),
		Microchip: req.GetMicrochip(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	return &ownerv1.ListOwnersResponse{Owners: ownersToProto(owners), NextPageToken: next}, nil
}

// FindOwnerByIdentityCode implements ownerv1.OwnerServiceServer.
func (s *Server) FindOwnerByIdentityCode(ctx context.Context, req *ownerv1.FindOwnerByIdentityCodeRequest) (*ownerv1.FindOwnerByIdentityCodeResponse, error) {
	o, err := s.app.FindOwnerByIdentityCode(ctx, req.GetIdentityCode())
	if err != nil {
		return nil, err
	}
	return &ownerv1.FindOwnerByIdentityCodeResponse{Owner: ownerToProto(o)}, nil
}

// RevealIdentityCode implements ownerv1.OwnerServiceServer.
func (s *Server) RevealIdentityCode(ctx context.Context, req *ownerv1.RevealIdentityCodeRequest) (*ownerv1.RevealIdentityCodeResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	code, err := s.app.RevealIdentityCode(ctx, ownerID, strings.TrimSpace(req.GetPurpose()))
	if err != nil {
		return nil, err
	}
	return &ownerv1.RevealIdentityCodeResponse{IdentityCode: code}, nil
}

// ListOwnerChanges implements ownerv1.OwnerServiceServer.
func (s *Server) ListOwnerChanges(ctx context.Context, req *ownerv1.ListOwnerChangesRequest) (*ownerv1.ListOwnerChangesResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	changes, err := s.app.OwnerChanges(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	return &ownerv1.ListOwnerChangesResponse{Changes: changesToProto(changes)}, nil
}

// ExportOwner implements ownerv1.OwnerServiceServer.
func (s *Server) ExportOwner(ctx context.Context, req *ownerv1.ExportOwnerRequest) (*ownerv1.ExportOwnerResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	x, err := s.app.ExportOwner(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	resp := &ownerv1.ExportOwnerResponse{
		Owner: ownerToProto(x.Owner), IdentityCode: x.IdentityCode, OwnerChanges: changesToProto(x.OwnerChanges),
	}
	for i, p := range x.Patients {
		resp.Patients = append(resp.Patients, patientToProto(p))
		resp.PatientChanges = append(resp.PatientChanges, &ownerv1.PatientChanges{PatientId: p.ID, Changes: changesToProto(x.PatientChanges[i])})
	}
	for _, p := range x.FormerPatients {
		resp.FormerPatients = append(resp.FormerPatients, &ownerv1.FormerPatient{
			PatientId: p.ID, CustomerNumber: p.CustomerNumber.String(), Changes: changesToProto(p.Changes),
		})
	}
	return resp, nil
}

// BatchGetOwnerStatus implements ownerv1.OwnerServiceServer.
func (s *Server) BatchGetOwnerStatus(ctx context.Context, req *ownerv1.BatchGetOwnerStatusRequest) (*ownerv1.BatchGetOwnerStatusResponse, error) {
	var v apperr.ValidationError
	ids := make([]string, len(req.GetOwnerIds()))
	for i, id := range req.GetOwnerIds() {
		ids[i] = v.UUID(fmt.Sprintf("owner_ids[%d]", i), id)
		if len(v.Violations) >= maxViolations {
			break
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	statuses, err := s.app.OwnerStatuses(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*ownerv1.OwnerStatus, len(statuses))
	for i, st := range statuses {
		out[i] = &ownerv1.OwnerStatus{OwnerId: st.ID, Exists: st.Exists, Restricted: st.Restricted}
	}
	return &ownerv1.BatchGetOwnerStatusResponse{Statuses: out}, nil
}

// RegisterPatient implements ownerv1.OwnerServiceServer.
func (s *Server) RegisterPatient(ctx context.Context, req *ownerv1.RegisterPatientRequest) (*ownerv1.RegisterPatientResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	rid := v.CheckRequestID(ctx, req.GetRequestId())
	if req.GetPatient() == nil {
		v.Add("patient", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, err := s.app.RegisterPatient(ctx, app.RegisterPatient{
		OwnerID: ownerID, RequestID: rid, Patient: patientFromProto(req.GetPatient()),
	})
	if err != nil {
		return nil, err
	}
	return &ownerv1.RegisterPatientResponse{Patient: patientToProto(p)}, nil
}

// GetPatient implements ownerv1.OwnerServiceServer.
func (s *Server) GetPatient(ctx context.Context, req *ownerv1.GetPatientRequest) (*ownerv1.GetPatientResponse, error) {
	var v apperr.ValidationError
	patientID := v.UUID("patient_id", req.GetPatientId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, err := s.app.GetPatient(ctx, patientID)
	if err != nil {
		return nil, err
	}
	return &ownerv1.GetPatientResponse{Patient: patientToProto(p)}, nil
}

// UpdatePatient implements ownerv1.OwnerServiceServer.
func (s *Server) UpdatePatient(ctx context.Context, req *ownerv1.UpdatePatientRequest) (*ownerv1.UpdatePatientResponse, error) {
	var v apperr.ValidationError
	patientID := v.UUID("patient_id", req.GetPatientId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, err := s.app.UpdatePatient(ctx, app.UpdatePatient{
		ID: patientID, Patient: patientFromProto(req.GetPatient()), Paths: req.GetUpdateMask().GetPaths(),
		Version: req.GetVersion(), Reason: strings.TrimSpace(req.GetReason()),
	})
	if err != nil {
		return nil, err
	}
	return &ownerv1.UpdatePatientResponse{Patient: patientToProto(p)}, nil
}

// ListOwnerPatients implements ownerv1.OwnerServiceServer.
func (s *Server) ListOwnerPatients(ctx context.Context, req *ownerv1.ListOwnerPatientsRequest) (*ownerv1.ListOwnerPatientsResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	checkPaging(&v, req.GetPageSize())
	if err := v.Err(); err != nil {
		return nil, err
	}
	patients, next, err := s.app.ListOwnerPatients(ctx, ownerID, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &ownerv1.ListOwnerPatientsResponse{Patients: patientsToProto(patients), NextPageToken: next}, nil
}

// FindPatientByCustomerNumber implements ownerv1.OwnerServiceServer.
func (s *Server) FindPatientByCustomerNumber(ctx context.Context, req *ownerv1.FindPatientByCustomerNumberRequest) (*ownerv1.FindPatientByCustomerNumberResponse, error) {
	p, err := s.app.FindPatientByCustomerNumber(ctx, req.GetCustomerNumber())
	if err != nil {
		return nil, err
	}
	return &ownerv1.FindPatientByCustomerNumberResponse{Patient: patientToProto(p)}, nil
}

// TransferPatient implements ownerv1.OwnerServiceServer.
func (s *Server) TransferPatient(ctx context.Context, req *ownerv1.TransferPatientRequest) (*ownerv1.TransferPatientResponse, error) {
	var v apperr.ValidationError
	patientID := v.UUID("patient_id", req.GetPatientId())
	newOwnerID := v.UUID("new_owner_id", req.GetNewOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, err := s.app.TransferPatient(ctx, patientID, newOwnerID, req.GetVersion(), strings.TrimSpace(req.GetReason()))
	if err != nil {
		return nil, err
	}
	return &ownerv1.TransferPatientResponse{Patient: patientToProto(p)}, nil
}

// MarkPatientDeceased implements ownerv1.OwnerServiceServer.
func (s *Server) MarkPatientDeceased(ctx context.Context, req *ownerv1.MarkPatientDeceasedRequest) (*ownerv1.MarkPatientDeceasedResponse, error) {
	var v apperr.ValidationError
	patientID := v.UUID("patient_id", req.GetPatientId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, err := s.app.MarkPatientDeceased(ctx, patientID, req.GetDeathDate(), req.GetVersion(), strings.TrimSpace(req.GetReason()))
	if err != nil {
		return nil, err
	}
	return &ownerv1.MarkPatientDeceasedResponse{Patient: patientToProto(p)}, nil
}

// ListPatientChanges implements ownerv1.OwnerServiceServer.
func (s *Server) ListPatientChanges(ctx context.Context, req *ownerv1.ListPatientChangesRequest) (*ownerv1.ListPatientChangesResponse, error) {
	var v apperr.ValidationError
	patientID := v.UUID("patient_id", req.GetPatientId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	changes, err := s.app.PatientChanges(ctx, patientID)
	if err != nil {
		return nil, err
	}
	return &ownerv1.ListPatientChangesResponse{Changes: changesToProto(changes)}, nil
}

// SetOwnerRestriction implements ownerv1.OwnerServiceServer.
func (s *Server) SetOwnerRestriction(ctx context.Context, req *ownerv1.SetOwnerRestrictionRequest) (*ownerv1.SetOwnerRestrictionResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.app.SetOwnerRestriction(ctx, ownerID, req.GetRestricted(), strings.TrimSpace(req.GetReason()), strings.TrimSpace(req.GetErasureRequestId()))
	if err != nil {
		return nil, err
	}
	return &ownerv1.SetOwnerRestrictionResponse{Owner: ownerToProto(o)}, nil
}

// EraseOwnerData implements ownerv1.OwnerServiceServer.
func (s *Server) EraseOwnerData(ctx context.Context, req *ownerv1.EraseOwnerDataRequest) (*ownerv1.EraseOwnerDataResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	ds, err := s.app.EraseOwnerData(ctx, app.EraseOwnerData{
		OwnerID: ownerID, RequestID: strings.TrimSpace(req.GetRequestId()),
		NameKeptUntil: req.GetNameKeptUntil(), IdentityKeptUntil: req.GetIdentityCodeKeptUntil(),
	})
	if err != nil {
		return nil, err
	}
	return &ownerv1.EraseOwnerDataResponse{Dispositions: protomap.All(ds, dispositionToProto)}, nil
}

// ExtendNameRetention implements ownerv1.OwnerServiceServer.
func (s *Server) ExtendNameRetention(ctx context.Context, req *ownerv1.ExtendNameRetentionRequest) (*ownerv1.ExtendNameRetentionResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	until, err := s.app.ExtendNameRetention(ctx, ownerID, req.GetNameKeptUntil())
	if err != nil {
		return nil, err
	}
	return &ownerv1.ExtendNameRetentionResponse{NameKeptUntil: until}, nil
}

// EndIdentityCodeRetention implements ownerv1.OwnerServiceServer.
func (s *Server) EndIdentityCodeRetention(ctx context.Context, req *ownerv1.EndIdentityCodeRetentionRequest) (*ownerv1.EndIdentityCodeRetentionResponse, error) {
	var v apperr.ValidationError
	ownerID := v.UUID("owner_id", req.GetOwnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.app.EndIdentityCodeRetention(ctx, ownerID); err != nil {
		return nil, err
	}
	return &ownerv1.EndIdentityCodeRetentionResponse{}, nil
}

// RunRetentionSweep implements ownerv1.OwnerServiceServer.
func (s *Server) RunRetentionSweep(ctx context.Context, _ *ownerv1.RunRetentionSweepRequest) (*ownerv1.RunRetentionSweepResponse, error) {
	ds, err := s.app.RunRetentionSweep(ctx)
	if err != nil {
		return nil, err
	}
	return &ownerv1.RunRetentionSweepResponse{Removed: protomap.All(ds, dispositionToProto)}, nil
}
