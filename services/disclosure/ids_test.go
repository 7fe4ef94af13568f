package disclosure_test

import (
	"context"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// TestIdsInCapitals: an id written in capitals passes as a UUID, so every call that
// takes one answers the record it names, not NOT_FOUND, stores and answers the id as
// the register issued it, and audits it that way, where the owner's access report
// looks for it.
func TestIdsInCapitals(t *testing.T) {
	s := start(t)
	manager := s.as(t, auth.RoleClinicManager)
	ownerID, _ := s.customer(t, "Virtanen")
	erasedID, _ := s.customer(t, "Nieminen")
	laterID, _ := s.customer(t, "Laine")
	ins := s.register(t, insurer("LähiTapiola", "FI"))
	s.agree(t, ownerID, ins.GetId())
	sent, err := s.disclosure.CreateDisclosure(manager, claim(ins.GetId(), ownerID, ownerName))
	if err != nil {
		t.Fatalf("disclose: %v", err)
	}
	disclosureID := sent.GetDisclosure().GetId()
	accessID := s.recordAccess(t, manager, "", letter(ownerID, nil)).GetId()
	erasureID := s.requestErasure(t, erasedID, "").GetId()
	upper := strings.ToUpper

	for _, tc := range []struct {
		name string
		// call makes the request with the id in capitals and returns the id and the
		// owner id the answer names.
		call             func(context.Context) (id, owner string, err error)
		id, owner        string
		action, resource string
		code             codes.Code
	}{
		{
			name: "GetDisclosure", id: disclosureID, owner: ownerID,
			action: "disclosure.read", resource: "disclosures/" + disclosureID,
			call: func(ctx context.Context) (string, string, error) {
				res, err := s.disclosure.GetDisclosure(ctx, &disclosurev1.GetDisclosureRequest{DisclosureId: upper(disclosureID)})
				return res.GetDisclosure().GetId(), res.GetDisclosure().GetOwnerId(), err
			},
		},
		{
			name: "GetPartnerDisclosure", id: disclosureID,
			action: "disclosure.partner.read", resource: "disclosures/" + disclosureID,
			call: func(context.Context) (string, string, error) {
				res, err := s.disclosure.GetPartnerDisclosure(s.asPartner(t, ins.GetId()),
					&disclosurev1.GetPartnerDisclosureRequest{DisclosureId: upper(disclosureID)})
				return res.GetDisclosure().GetId(), "", err
			},
		},
		{
			name: "RecordAccessRequest", owner: ownerID,
			action: "access_request.record",
			call: func(ctx context.Context) (string, string, error) {
				res, err := s.disclosure.RecordAccessRequest(ctx, &disclosurev1.RecordAccessRequestRequest{
					AccessRequest: letter(upper(ownerID), nil),
				})
				return "", res.GetAccessRequest().GetOwnerId(), err
			},
		},
		{
			name: "GetAccessRequest", id: accessID, owner: ownerID,
			action: "access_request.read", resource: "accessRequests/" + accessID,
			call: func(ctx context.Context) (string, string, error) {
				res, err := s.disclosure.GetAccessRequest(ctx, &disclosurev1.GetAccessRequestRequest{AccessRequestId: upper(accessID)})
				return res.GetAccessRequest().GetId(), res.GetAccessRequest().GetOwnerId(), err
			},
		},
		{
			name: "ExtendAccessRequest", id: accessID, owner: ownerID,
			action: "access_request.extend", resource: "accessRequests/" + accessID,
			call: func(ctx context.Context) (string, string, error) {
				res, err := s.disclosure.ExtendAccessRequest(ctx, &disclosurev1.ExtendAccessRequestRequest{
					AccessRequestId: upper(accessID), Reason: "many pets",
				})
				return res.GetAccessRequest().GetId(), res.GetAccessRequest().GetOwnerId(), err
			},
		},
		{
			name: "GetAccessReport", owner: ownerID,
			call: func(ctx context.Context) (string, string, error) {
				res, err := s.disclosure.GetAccessReport(ctx, &disclosurev1.GetAccessReportRequest{AccessRequestId: upper(accessID)})
				return "", res.GetDisclosure().GetOwnerId(), err
			},
		},
		{
			name: "CreateErasureRequest", owner: laterID,
			action: "erasure_request.create",
			call: func(ctx context.Context) (string, string, error) {
				res, err := s.disclosure.CreateErasureRequest(ctx, &disclosurev1.CreateErasureRequestRequest{
					RequestId: "erase-in-capitals", ErasureRequest: erasureRequest(upper(laterID)),
				})
				return "", res.GetErasureRequest().GetOwnerId(), err
			},
		},
		{
			name: "GetErasureRequest", id: erasureID, owner: erasedID,
			action: "erasure_request.read", resource: "erasureRequests/" + erasureID,
			call: func(ctx context.Context) (string, string, error) {
				res, err := s.disclosure.GetErasureRequest(ctx, &disclosurev1.GetErasureRequestRequest{ErasureRequestId: upper(erasureID)})
				return res.GetErasureRequest().GetId(), res.GetErasureRequest().GetOwnerId(), err
			},
		},
		{
			// Found, and refused for what it is: a request that is not stuck.
			name: "ResumeErasureRequest", code: codes.FailedPrecondition,
			call: func(ctx context.Context) (string, string, error) {
				res, err := s.disclosure.ResumeErasureRequest(ctx, &disclosurev1.ResumeErasureRequestRequest{ErasureRequestId: upper(erasureID)})
				return res.GetErasureRequest().GetId(), "", err
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, owner, err := tc.call(manager)
			if status := wantCode(t, err, tc.code); status.Code() != codes.OK {
				return
			}
			if id != tc.id || owner != tc.owner {
				t.Errorf("answered id %q of owner %q, want %q of %q", id, owner, tc.id, tc.owner)
			}
		})
	}

	s.stopDisclosure() // drains the audit queue
	events := s.raw.Database(disclosureDatabase).Collection("audit_events")
	for _, tc := range []struct{ action, resource, owner string }{
		{"disclosure.read", "disclosures/" + disclosureID, ownerID},
		{"disclosure.partner.read", "disclosures/" + disclosureID, ownerID},
		{"access_request.read", "accessRequests/" + accessID, ownerID},
		{"access_request.extend", "accessRequests/" + accessID, ownerID},
		{"erasure_request.read", "erasureRequests/" + erasureID, erasedID},
	} {
		n, err := events.CountDocuments(t.Context(), bson.M{"action": tc.action, "resource": tc.resource, "subject_owner_id": tc.owner})
		if err != nil || n != 1 {
			t.Errorf("%d %s events of %s about the owner as issued (%v), want 1", n, tc.action, tc.resource, err)
		}
	}
	for _, tc := range []struct {
		action, owner string
		want          int64
	}{
		{"access_request.record", ownerID, 2},
		{"erasure_request.create", laterID, 1},
	} {
		n, err := events.CountDocuments(t.Context(), bson.M{"action": tc.action, "subject_owner_id": tc.owner})
		if err != nil || n != tc.want {
			t.Errorf("%d %s events about the owner as issued (%v), want %d", n, tc.action, err, tc.want)
		}
	}
}
