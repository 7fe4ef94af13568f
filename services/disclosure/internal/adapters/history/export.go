// Package history reads an owner's visits and communications from the patient-history
// service, through its gRPC API. The caller's identity and stated purpose travel with
// each call (the platform's client forwards them), so the history service authorises
// and audits the staff member who asked.
package history

import (
	"context"
	"errors"
	"fmt"
	"io"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/platform/protomap"
)

// Client implements the app's interfaces on the history service.
type Client struct {
	history historyv1.HistoryServiceClient
}

var _ app.History = (*Client)(nil)

// New returns a client on the history service's connection.
func New(c historyv1.HistoryServiceClient) *Client { return &Client{history: c} }

// Export implements app.History with the ExportOwnerHistory stream, read to its end.
func (c *Client) Export(ctx context.Context, ownerID string) (app.HistoryExport, error) {
	stream, err := c.history.ExportOwnerHistory(ctx, &historyv1.ExportOwnerHistoryRequest{OwnerId: ownerID})
	if err != nil {
		return app.HistoryExport{}, fmt.Errorf("export the history of owner %s: %w", ownerID, err)
	}
	var out app.HistoryExport
	for {
		item, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return app.HistoryExport{}, fmt.Errorf("export the history of owner %s: %w", ownerID, err)
		}
		switch {
		case item.GetVisit() != nil:
			out.Visits = append(out.Visits, visitRecord(item.GetVisit()))
		case item.GetCommunication() != nil:
			out.Communications = append(out.Communications, communication(item.GetCommunication()))
		}
	}
}

func visitRecord(r *historyv1.VisitRecord) app.VisitRecord {
	out := app.VisitRecord{Visit: visit(r.GetVisit())}
	if r.GetOriginal() != nil {
		o := visit(r.GetOriginal())
		out.Original = &o
	}
	out.Amendments = protomap.All(r.GetAmendments(), func(a *historyv1.Amendment) app.Amendment {
		return app.Amendment{
			Version: a.GetVersion(), Time: protomap.Time(a.GetTime()), Author: staff(a.GetAuthor()), Reason: a.GetReason(),
			Fields: a.GetFields(), Corrected: visit(a.GetCorrected()),
		}
	})
	return out
}

func visit(v *historyv1.Visit) app.Visit {
	return app.Visit{
		ID: v.GetId(), PatientID: v.GetPatientId(), Clinic: protomap.EnumName(v.GetClinic().String(), "CLINIC_"),
		StartTime: protomap.Time(v.GetStartTime()), Staff: protomap.All(v.GetStaff(), staff),
		Reason: v.GetReason(), Anamnesis: v.GetAnamnesis(), Findings: v.GetFindings(),
		Diagnoses: protomap.All(v.GetDiagnoses(), func(d *historyv1.Diagnosis) app.Diagnosis {
			return app.Diagnosis{Text: d.GetText(), Code: d.GetCode()}
		}),
		Procedures: protomap.All(v.GetProcedures(), func(p *historyv1.Procedure) app.Procedure {
			return app.Procedure{Description: p.GetDescription(), Code: p.GetCode()}
		}),
		Medications: protomap.All(v.GetMedications(), func(m *historyv1.Medication) app.Medication {
			return app.Medication{
				Product: m.GetProduct(), Dose: m.GetDose(), Route: protomap.EnumName(m.GetRoute().String(), "ROUTE_"),
				Duration: m.GetDuration(),
			}
		}),
		WeightGrams: v.GetWeightGrams(), FollowUp: v.GetFollowUp(),
		Invoices: protomap.All(v.GetInvoices(), func(i *historyv1.InvoiceReference) app.InvoiceReference {
			return app.InvoiceReference{Number: i.GetNumber(), State: protomap.EnumName(i.GetState().String(), "INVOICE_STATE_")}
		}),
		Version: v.GetVersion(), CreateTime: protomap.Time(v.GetCreateTime()), UpdateTime: protomap.Time(v.GetUpdateTime()),
	}
}

func communication(c *historyv1.Communication) app.Communication {
	return app.Communication{
		ID: c.GetId(), PatientID: c.GetPatientId(), VisitID: c.GetVisitId(),
		Channel:   protomap.EnumName(c.GetChannel().String(), "CHANNEL_"),
		Direction: protomap.EnumName(c.GetDirection().String(), "DIRECTION_"),
		Time:      protomap.Time(c.GetTime()), Subject: c.GetSubject(), Summary: c.GetSummary(), Staff: staff(c.GetStaff()),
		CreateTime: protomap.Time(c.GetCreateTime()),
	}
}

func staff(s *historyv1.StaffMember) app.StaffMember {
	return app.StaffMember{Subject: s.GetSubject(), Name: s.GetName(), Role: s.GetRole()}
}
