package owner_test

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestExtendNameRetention: the history service's job keeps an erased owner's names
// longer than the erasure planned, as the owner's change "retention period extended",
// and the sweep follows the new day. A resent or earlier day changes nothing and answers
// the day kept to. Every call answered OK is audited, so that a resend after an audit
// write that failed leaves the extension audited.
func TestExtendNameRetention(t *testing.T) {
	env, svc, clk := serveAt(t, "2026-11-25")
	c := ownerv1.NewOwnerServiceClient(svc.Conn)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Äijälä")})
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobOne, NameKeptUntil: "2027-05-20"})
	job := env.As(t, auth.RoleNameRetentionJob)
	changesBefore := len(ownerChanges(t, env, c, o.GetId()))
	for _, tc := range []struct {
		name, until, want string
	}{
		{"a later day", "2030-01-10", "2030-01-10"},
		{"the same day resent", "2030-01-10", "2030-01-10"},
		{"an earlier day", "2028-01-01", "2030-01-10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.ExtendNameRetention(job, &ownerv1.ExtendNameRetentionRequest{OwnerId: o.GetId(), NameKeptUntil: tc.until})
			if err != nil {
				t.Fatal(err)
			}
			if res.GetNameKeptUntil() != tc.want {
				t.Errorf("kept to %q, want %q", res.GetNameKeptUntil(), tc.want)
			}
		})
	}
	changes := ownerChanges(t, env, c, o.GetId())[changesBefore:]
	if len(changes) != 1 || changes[0].GetReason() != "retention period extended" || len(changes[0].GetFields()) != 1 || changes[0].GetFields()[0] != "name_kept_until" {
		t.Fatalf("the extensions' changes are %v, want one of name_kept_until, retention period extended", changes)
	}
	sweep := func(day string) string {
		t.Helper()
		clk.Set(helsinki(t, day))
		if _, err := c.RunRetentionSweep(env.As(t, auth.RoleClinicManager), &ownerv1.RunRetentionSweepRequest{}); err != nil {
			t.Fatal(err)
		}
		return getOwner(t, env, c, o.GetId()).GetFamilyName()
	}
	if got := sweep("2027-05-21"); got != "Äijälä" {
		t.Errorf("the sweep after the erasure's day left the family name %q, want it kept to the new day", got)
	}
	if got := sweep("2030-01-10"); got != "Äijälä" {
		t.Errorf("the sweep on the new day left the family name %q", got)
	}
	if got := sweep("2030-01-11"); got != "" {
		t.Errorf("the sweep after the new day kept the family name %q", got)
	}
	_, err := c.ExtendNameRetention(job, &ownerv1.ExtendNameRetentionRequest{OwnerId: o.GetId(), NameKeptUntil: "2031-01-01"})
	if r := servicetest.ReasonOf(t, err, codes.FailedPrecondition); r != "NAMES_NOT_KEPT" {
		t.Errorf("after the names went: reason %q, want NAMES_NOT_KEPT", r)
	}
	svc.Stop() // stores the queued audit events
	events := auditEvents(t, env, bson.M{"action": "owner.retention_extend", "subject_owner_id": o.GetId(), "outcome": "success"})
	if len(events) != 3 || events[0]["actor_subject"] != "test-name_retention_job" {
		t.Errorf("owner.retention_extend events %v, want one per call answered OK, by the job", events)
	}
}

// TestExtendNameRetentionRefusals: only the history service's job may call it, only
// for an erased owner whose names are still kept, with a day. A refusal for the owner's
// state (OWNER_NOT_ERASED, NAMES_NOT_KEPT) is audited about the owner.
func TestExtendNameRetentionRefusals(t *testing.T) {
	env, c, _ := setupAt(t, "2026-11-25")
	active := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Laine")})
	keptNone := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Virta")})
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: keptNone.GetId(), RequestId: jobOne})
	kept := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Äijälä")})
	erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: kept.GetId(), RequestId: jobTwo, NameKeptUntil: "2027-05-20"})
	job := auth.RoleNameRetentionJob
	for _, tc := range []struct {
		name   string
		role   auth.Role
		req    *ownerv1.ExtendNameRetentionRequest
		code   codes.Code
		reason string
	}{
		{"the clinic manager", auth.RoleClinicManager, &ownerv1.ExtendNameRetentionRequest{OwnerId: kept.GetId(), NameKeptUntil: "2030-01-10"}, codes.PermissionDenied, ""},
		{"the maintainer", auth.RoleMaintainer, &ownerv1.ExtendNameRetentionRequest{OwnerId: kept.GetId(), NameKeptUntil: "2030-01-10"}, codes.PermissionDenied, ""},
		{"the erasure job", auth.RoleErasureJob, &ownerv1.ExtendNameRetentionRequest{OwnerId: kept.GetId(), NameKeptUntil: "2030-01-10"}, codes.PermissionDenied, ""},
		{"an owner not erased", job, &ownerv1.ExtendNameRetentionRequest{OwnerId: active.GetId(), NameKeptUntil: "2030-01-10"}, codes.FailedPrecondition, "OWNER_NOT_ERASED"},
		{"erased keeping no names", job, &ownerv1.ExtendNameRetentionRequest{OwnerId: keptNone.GetId(), NameKeptUntil: "2030-01-10"}, codes.FailedPrecondition, "NAMES_NOT_KEPT"},
		{"no day", job, &ownerv1.ExtendNameRetentionRequest{OwnerId: kept.GetId()}, codes.InvalidArgument, ""},
		{"not a day", job, &ownerv1.ExtendNameRetentionRequest{OwnerId: kept.GetId(), NameKeptUntil: "10.1.2030"}, codes.InvalidArgument, ""},
		{"not an owner id", job, &ownerv1.ExtendNameRetentionRequest{OwnerId: "Äijälä", NameKeptUntil: "2030-01-10"}, codes.InvalidArgument, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ExtendNameRetention(env.As(t, tc.role), tc.req)
			if tc.reason == "" {
				servicetest.WantCode(t, err, tc.code)
				return
			}
			if r := servicetest.ReasonOf(t, err, tc.code); r != tc.reason {
				t.Errorf("reason %q, want %q", r, tc.reason)
			}
			// It read the owner's record: the owner's access report shows the attempt.
			events := auditEvents(t, env, bson.M{"action": "owner.retention_extend", "subject_owner_id": tc.req.GetOwnerId(), "outcome": "denied"})
			if len(events) != 1 || events[0]["reason"] != tc.reason {
				t.Errorf("refusals audited about the owner: %v, want one, %s", events, tc.reason)
			}
		})
	}
	if got := ownerChanges(t, env, c, kept.GetId()); got[len(got)-1].GetReason() == "retention period extended" {
		t.Errorf("a refused call changed the owner: %v", got[len(got)-1])
	}
}

// TestErasureRequestAfterAnExtension: the history service's job told the owner service
// the names are needed to 10 January 2030, after the first erasure request answered 20
// May 2027 (or 1 January 2031, when the day told moved nothing); a second request
// applied since answers the history service's answer of its moment, which may be the
// earlier day, or no day. The history service has told its day and does not tell it
// again, so the second request keeps the names at least to it (a later answer moves
// them later still), and the sweep of 21 May 2027 keeps them. Before, a day told that
// did not move the names was not kept, and the second request kept them to its own
// answer.
func TestErasureRequestAfterAnExtension(t *testing.T) {
	env, c, clk := setupAt(t, "2026-11-25")
	job := env.As(t, auth.RoleNameRetentionJob)
	tests := []struct {
		name, first, second, want string
	}{
		{"the earlier day again", "2027-05-20", "2027-05-20", "2030-01-10"},
		{"no day", "2027-05-20", "", "2030-01-10"},
		{"a later day", "2027-05-20", "2031-01-01", "2031-01-01"},
		{"an earlier day after a day told that moved nothing", "2031-01-01", "2027-05-20", "2030-01-10"},
	}
	ids := make([]string, len(tests))
	for i, tc := range tests {
		o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Äijälä")})
		ids[i] = o.GetId()
		erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobOne, NameKeptUntil: tc.first})
		if _, err := c.ExtendNameRetention(job, &ownerv1.ExtendNameRetentionRequest{OwnerId: o.GetId(), NameKeptUntil: "2030-01-10"}); err != nil {
			t.Fatal(err)
		}
		ds := erase(t, env, c, &ownerv1.EraseOwnerDataRequest{OwnerId: o.GetId(), RequestId: jobTwo, NameKeptUntil: tc.second})
		if got := keptUntilOf(ds, "owner_name_address"); got != tc.want {
			t.Errorf("%s: the second request answered the names kept to %q, want %q", tc.name, got, tc.want)
		}
	}
	clk.Set(helsinki(t, "2027-05-21"))
	if _, err := c.RunRetentionSweep(env.As(t, auth.RoleClinicManager), &ownerv1.RunRetentionSweepRequest{}); err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		if got := getOwner(t, env, c, ids[i]).GetFamilyName(); got != "Äijälä" {
			t.Errorf("%s: the sweep after the first answer's day left the family name %q, want it kept", tc.name, got)
		}
	}
}

// keptUntilOf is the day the disposition of class keeps its records to ("" when none).
func keptUntilOf(ds []*ownerv1.RecordDisposition, class string) string {
	for _, d := range ds {
		if d.GetRecordClass() == class {
			return d.GetKeptUntil()
		}
	}
	return ""
}
