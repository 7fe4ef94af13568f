package owner_test

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestEndIdentityCodeRetention: an erasure kept the owner's identity code to 31
// December 2032 for an unpaid invoice; once the history service tells that no unpaid
// invoice needs it, the code and its blind index are gone at once (the reveal finds
// none, the same person registers anew), as the owner's change of identity_code,
// "retention period ended", while the names stay kept to their own day. A resend
// answers OK and changes nothing more; every call answered OK is audited.
func TestEndIdentityCodeRetention(t *testing.T) {
	env, svc, _ := serveAt(t, "2026-11-25")
	c := ownerv1.NewOwnerServiceClient(svc.Conn)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Äijälä"), IdentityCode: "131052-308T"})
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobOne, NameKeptUntil: "2029-10-01", IdentityCodeKeptUntil: "2032-12-31"})
	billing := env.As(t, auth.RoleBilling)
	reveal := &ownerv1.RevealIdentityCodeRequest{OwnerId: o.GetId(), Purpose: "invoice 2026-118 to collection"}
	if _, err := c.RevealIdentityCode(billing, reveal); err != nil {
		t.Fatalf("the code kept for the unpaid invoice cannot be revealed: %v", err)
	}
	changesBefore := len(ownerChanges(t, env, c, o.GetId()))
	job := env.As(t, auth.RoleNameRetentionJob)
	for _, name := range []string{"told", "resent"} {
		if _, err := c.EndIdentityCodeRetention(job, &ownerv1.EndIdentityCodeRetentionRequest{OwnerId: o.GetId()}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	_, err := c.RevealIdentityCode(billing, reveal)
	wantCode(t, err, codes.NotFound)
	doc := rawDocument(t, env, "owners", o.GetId())
	for _, field := range []string{"identity", "identity_masked", "identity_bidx", "identity_kept_until"} {
		if _, ok := doc[field]; ok {
			t.Errorf("the owner keeps %s after the code's retention ended", field)
		}
	}
	if got := getOwner(t, env, c, o.GetId()); got.GetIdentityCodeMasked() != "" || got.GetFamilyName() != "Äijälä" {
		t.Errorf("the owner shows %q %q, want no code and the names kept", got.GetIdentityCodeMasked(), got.GetFamilyName())
	}
	// The blind index is gone with the code: the same person registers anew.
	createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Palannut"), IdentityCode: "131052-308T"})
	changes := ownerChanges(t, env, c, o.GetId())[changesBefore:]
	if len(changes) != 1 || changes[0].GetReason() != "retention period ended" || len(changes[0].GetFields()) != 1 ||
		changes[0].GetFields()[0] != "identity_code" || changes[0].GetActorSubject() != "test-name_retention_job" {
		t.Fatalf("the changes are %v, want one of identity_code, retention period ended, by the job", changes)
	}
	svc.Stop() // stores the queued audit events
	events := auditEvents(t, env, bson.M{"action": "owner.identity_code_retention_end", "subject_owner_id": o.GetId(), "outcome": "success"})
	if len(events) != 2 || events[0]["actor_subject"] != "test-name_retention_job" {
		t.Errorf("owner.identity_code_retention_end events %v, want one per call answered OK, by the job", events)
	}
}

// TestEndIdentityCodeRetentionRefusals: only the history service's job may call it,
// only for an erased owner (a refusal for the owner's state is audited about the
// owner); an erased owner whose erasure kept no code answers OK, as a resend does.
func TestEndIdentityCodeRetentionRefusals(t *testing.T) {
	env, c, _ := setupAt(t, "2026-11-25")
	active := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Laine"), IdentityCode: "131052-308T"})
	keptNone := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Virta")})
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: keptNone.GetId(), RequestId: jobOne, NameKeptUntil: "2027-05-20"})
	kept := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Äijälä"), IdentityCode: "010190-123M"})
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: kept.GetId(), RequestId: jobTwo, IdentityCodeKeptUntil: "2032-12-31"})
	job := auth.RoleNameRetentionJob
	for _, tc := range []struct {
		name   string
		role   auth.Role
		owner  string
		code   codes.Code
		reason string
	}{
		{"the clinic manager", auth.RoleClinicManager, kept.GetId(), codes.PermissionDenied, ""},
		{"billing", auth.RoleBilling, kept.GetId(), codes.PermissionDenied, ""},
		{"the erasure job", auth.RoleErasureJob, kept.GetId(), codes.PermissionDenied, ""},
		{"an owner not erased", job, active.GetId(), codes.FailedPrecondition, "OWNER_NOT_ERASED"},
		{"erased keeping no code", job, keptNone.GetId(), codes.OK, ""},
		{"not an owner id", job, "Äijälä", codes.InvalidArgument, ""},
		{"no such owner", job, "0199a0b0-0000-7000-8000-0000000000ff", codes.NotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.EndIdentityCodeRetention(env.As(t, tc.role), &ownerv1.EndIdentityCodeRetentionRequest{OwnerId: tc.owner})
			if tc.reason == "" {
				servicetest.WantCode(t, err, tc.code)
				return
			}
			if r := servicetest.ReasonOf(t, err, tc.code); r != tc.reason {
				t.Errorf("reason %q, want %q", r, tc.reason)
			}
			// It read the owner's record: the owner's access report shows the attempt.
			events := auditEvents(t, env, bson.M{"action": "owner.identity_code_retention_end", "subject_owner_id": tc.owner, "outcome": "denied"})
			if len(events) != 1 || events[0]["reason"] != tc.reason {
				t.Errorf("refusals audited about the owner: %v, want one, %s", events, tc.reason)
			}
		})
	}
	if got := getOwner(t, env, c, kept.GetId()); got.GetIdentityCodeMasked() == "" {
		t.Error("a refused call dropped the kept code")
	}
	if got := getOwner(t, env, c, active.GetId()); got.GetIdentityCodeMasked() == "" {
		t.Error("the code of an owner not erased was dropped")
	}
}
