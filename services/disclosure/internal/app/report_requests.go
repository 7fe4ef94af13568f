package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/changereason"
	"github.com/lillvet/register/services/platform/identitycode"
	"github.com/lillvet/register/services/platform/retention"
)

// ReportAccessRequest is one of the owner's access requests as this service holds it:
// how it reached the clinic, how and by whom the person was identified, the due dates
// and what the owner was told of an extension. Staff are given by subject, as the
// access log gives its actors; the readable report names them as it names those.
type ReportAccessRequest struct {
	ID string `json:"id"`
	// Current marks the request this report answers.
	Current bool `json:"current,omitempty"`
	ReportReceipt
	Language        string    `json:"language"`
	DueDate         string    `json:"dueDate"`
	ExtendedDueDate string    `json:"extendedDueDate,omitempty"`
	ExtensionReason string    `json:"extensionReason,omitempty"`
	ExtendedAt      time.Time `json:"extendedAt,omitzero"`
	// PossiblyChargeable flags a further request within twelve months of the earlier
	// one named, as staff see it.
	PossiblyChargeable bool      `json:"possiblyChargeable"`
	EarlierRequestID   string    `json:"earlierRequestId,omitempty"`
	Status             string    `json:"status"`
	RecordedBy         string    `json:"recordedBy"`
	RecordedAt         time.Time `json:"recordedAt"`
	AnsweredAt         time.Time `json:"answeredAt,omitzero"`
}

// ReportErasureRequest is one of the owner's erasure requests: how it reached the
// clinic, where its job stands and what each service erased and kept.
type ReportErasureRequest struct {
	ID string `json:"id"`
	ReportReceipt
	State      string    `json:"state"`
	RecordedBy string    `json:"recordedBy"`
	RecordedAt time.Time `json:"recordedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// Dispositions are the done steps' answers in the order the steps ran; a running
	// or stuck request has those of its done steps only.
	Dispositions []ReportDisposition `json:"dispositions"`
}

// ReportReceipt is how a request reached the clinic (domain.Receipt), in the JSON
// beside the request's other fields.
type ReportReceipt struct {
	ReceivedAt     time.Time `json:"receivedAt"`
	Channel        string    `json:"channel"`
	Identification string    `json:"identification"`
	// IdentifiedBy is the staff member who identified the person; empty for strong
	// electronic identification.
	IdentifiedBy string `json:"identifiedBy,omitempty"`
}

// reportReceipt is a receipt as the report gives it: the staff subject without an
// identity code, as the service's own reads give it.
func reportReceipt(r domain.Receipt) ReportReceipt {
	return ReportReceipt{
		ReceivedAt: r.ReceivedAt, Channel: string(r.Channel), Identification: string(r.Identification),
		IdentifiedBy: identitycode.Redact(r.IdentifiedBy),
	}
}

// ReportDisposition is what an erasure did with one class of the owner's records in
// one service: erased, or kept on a legal basis (a key of the report's texts) through a
// day, or without an end (a marketing objection).
type ReportDisposition struct {
	Service     string `json:"service"`
	RecordClass string `json:"recordClass"`
	Kept        bool   `json:"kept"`
	LegalBasis  string `json:"legalBasis,omitempty"`
	KeptUntil   string `json:"keptUntil,omitempty"`
	Count       int    `json:"count"`
	// RetentionEndedAt is when the owner service ended the retention of the identity
	// code this disposition kept, before its day, when the history service told it no
	// unpaid invoice needed the code any more (the owner's change "retention period
	// ended" of identity_code, after the request, on or before KeptUntil); zero while
	// it is kept and when the sweep ended it after its day. The disposition stays as
	// the erasure answered it.
	RetentionEndedAt time.Time `json:"retentionEndedAt,omitzero"`
}

// identityCodeClass is the owner service's record class of the identity code, and the
// field its changes of the code name.
const identityCodeClass = "identity_code"

// noteRetentionEnded notes on each identity code an erasure request kept in the owner
// service when the owner's change history (changes) ended its retention since, before
// its day (ReportDisposition.RetentionEndedAt): the answer alone would say the code is
// kept to its day. The owner service's retention sweep ends it with the same reason
// once the day has passed in the clinic's time zone (loc), which is no early end.
func noteRetentionEnded(requests []ReportErasureRequest, changes []Change, loc *time.Location) {
	for _, r := range requests {
		for i, d := range r.Dispositions {
			if d.Service != string(domain.ServiceOwner) || d.RecordClass != identityCodeClass || !d.Kept {
				continue
			}
			keptUntil, err := retention.ParseDate(d.KeptUntil)
			if err != nil || keptUntil.IsZero() {
				continue
			}
			j := slices.IndexFunc(changes, func(c Change) bool {
				return c.Reason == changereason.RetentionEnded && slices.Contains(c.Fields, d.RecordClass) &&
					c.Time.After(r.RecordedAt) && !retention.DateOf(c.Time, loc).After(keptUntil)
			})
			if j >= 0 {
				r.Dispositions[i].RetentionEndedAt = changes[j].Time
			}
		}
	}
}

// reportPageSize is the page size of the reads that gather a whole list for the report.
const reportPageSize = 200

// allPages reads every page of a list, at most maxLogPages; what names the list in the
// error of a longer one.
func allPages[T any](what string, page func(token string) (domain.Page[T], error)) ([]T, error) {
	var items []T
	token := ""
	for range maxLogPages {
		p, err := page(token)
		if err != nil {
			return nil, err
		}
		items = append(items, p.Items...)
		if token = p.Next; token == "" {
			return items, nil
		}
	}
	return nil, fmt.Errorf("%s has more than %d pages", what, maxLogPages)
}

// reportAccessRequests reads the owner's access requests, oldest first, with their
// charge flags, current among them: the request being answered is data held too, and
// is in the copy even when a crash left it out of the owner's ledger.
func (s *Service) reportAccessRequests(ctx context.Context, current domain.AccessRequest) ([]ReportAccessRequest, error) {
	ledger, err := s.repo.AccessLedger(ctx, current.OwnerID)
	if err != nil {
		return nil, err
	}
	requests, err := allPages("the access requests of owner "+current.OwnerID, func(token string) (domain.Page[domain.AccessRequest], error) {
		return s.repo.OwnerAccessRequests(ctx, ledger, reportPageSize, token)
	})
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(requests, func(r domain.AccessRequest) bool { return r.ID == current.ID }) {
		requests = append(requests, current)
	}
	// Of requests received at the same instant, the one the ledger lists first is the
	// earlier, as the charge flags count them (FlagFurtherRequest); one it does not list
	// comes after.
	listed := func(id string) int {
		if at := slices.IndexFunc(ledger.Requests, func(p domain.PriorRequest) bool { return p.ID == id }); at >= 0 {
			return at
		}
		return len(ledger.Requests)
	}
	slices.SortFunc(requests, func(a, b domain.AccessRequest) int {
		return cmp.Or(a.ReceivedAt.Compare(b.ReceivedAt), cmp.Compare(listed(a.ID), listed(b.ID)), cmp.Compare(a.ID, b.ID))
	})
	out := make([]ReportAccessRequest, len(requests))
	for i, r := range requests {
		r.FlagFurtherRequest(ledger.Requests, s.loc)
		out[i] = ReportAccessRequest{
			ID: r.ID, Current: r.ID == current.ID, Language: string(r.Language),
			ReportReceipt: reportReceipt(domain.Receipt{
				ReceivedAt: r.ReceivedAt, Channel: r.Channel, Identification: r.Identification, IdentifiedBy: r.IdentifiedBy,
			}),
			DueDate: dateText(r.DueDate), ExtendedDueDate: dateText(r.ExtendedDueDate), ExtensionReason: identitycode.Redact(r.ExtensionReason),
			ExtendedAt: r.ExtendedAt, PossiblyChargeable: r.PossiblyChargeable, EarlierRequestID: r.EarlierRequestID,
			Status: string(r.Status), RecordedBy: identitycode.Redact(r.RecordedBy), RecordedAt: r.CreatedAt, AnsweredAt: r.AnsweredAt,
		}
	}
	return out, nil
}

// markAnswered shows the request this report answers as the register holds it once
// answered: the copy is the answer, and states the time at, which an earlier copy
// stored or the first of the copies being made proposed.
func markAnswered(requests []ReportAccessRequest, at time.Time) {
	for i, r := range requests {
		if r.Current {
			requests[i].Status, requests[i].AnsweredAt = string(domain.AccessAnswered), at
		}
	}
}

// reportErasureRequests reads the owner's erasure requests, oldest first (by receipt,
// as the access requests: a letter recorded days after it came is older than one
// recorded before it), with what each done step erased and kept.
func (s *Service) reportErasureRequests(ctx context.Context, ownerID string) ([]ReportErasureRequest, error) {
	jobs, err := allPages("the erasure requests of owner "+ownerID, func(token string) (domain.Page[domain.ErasureJob], error) {
		return s.repo.OwnerErasureJobs(ctx, ownerID, reportPageSize, token)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(jobs, func(a, b domain.ErasureJob) int {
		return cmp.Or(a.ReceivedAt.Compare(b.ReceivedAt), cmp.Compare(a.ID, b.ID))
	})
	out := make([]ReportErasureRequest, len(jobs))
	for i, j := range jobs {
		out[i] = ReportErasureRequest{
			ID: j.ID, ReportReceipt: reportReceipt(j.Receipt), State: string(j.State), RecordedBy: identitycode.Redact(j.RecordedBy),
			RecordedAt: j.CreatedAt, FinishedAt: j.FinishedAt, Dispositions: []ReportDisposition{},
		}
		for _, st := range j.Steps {
			if !st.Done() {
				continue
			}
			for _, d := range st.Result.Dispositions {
				out[i].Dispositions = append(out[i].Dispositions, ReportDisposition{
					Service: string(st.Service), RecordClass: d.RecordClass, Kept: d.Kept, LegalBasis: d.LegalBasis,
					KeptUntil: d.KeptUntil, Count: d.Count,
				})
			}
		}
	}
	return out, nil
}

// dateText is a day as the report writes it, YYYY-MM-DD, or empty.
func dateText(d retention.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}
