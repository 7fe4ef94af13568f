package app_test

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
)

// TestOneCallThroughARetryingClient: the owner service blips at a disclosure's last
// check of the restriction, after the entry was logged pending. Every client built by
// grpcclient (the gateway's among them) resends a call answered UNAVAILABLE under the
// same request id, and the resend, finding the entry pending, refused it: the user's
// one call ended refused for a retry it never made. The call refuses its entry
// NOT_COMPLETED itself and answers ABORTED, which no client resends as the same call,
// saying to disclose again under a new request id; a resend all the same answers that
// refusal. When the refusal cannot be written either, the owner service's UNAVAILABLE
// is answered and the entry stays pending, which the resend then refuses.
func TestOneCallThroughARetryingClient(t *testing.T) {
	for _, tc := range []struct {
		name         string
		refusalFails bool
		// first is the call's code; refusals, the NOT_COMPLETED refusals audited.
		first    codes.Code
		refusals int
	}{
		{name: "the call refuses its entry", first: codes.Aborted, refusals: 2},
		{name: "the call cannot write the refusal", refusalFails: true, first: codes.Unavailable, refusals: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := &racingOwner{unavailable: "status 2"}
			_, repo, db, writer := newRacingStore(t, domain.KindInsurer, owner)
			trail := &auditTrail{Writer: writer}
			var store domain.Repository = repo
			if tc.refusalFails {
				store = &failingFinalize{Repository: repo, nth: 1}
			}
			svc, err := app.New(store, app.Peers{Owners: owner, Consents: peers{}, History: racingHistory{owner}}, trail, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			first, err := svc.Disclose(vetContext(), racingRequest())
			if got := status.Code(apperr.ToStatus(t.Context(), nil, err)); got != tc.first || first.Payload != nil {
				t.Fatalf("the call answered %v (%v) with %d bytes, want %v and no package", got, err, len(first.Payload), tc.first)
			}
			if tc.first == codes.Aborted {
				checkNotCompleted(t, "the call", err)
			} else {
				pendingEntry(t, db)
			}
			resent, err := svc.Disclose(vetContext(), racingRequest())
			if resent.Payload != nil {
				t.Errorf("the resend handed out %d bytes", len(resent.Payload))
			}
			checkNotCompleted(t, "the client's resend", err)

			logged := onlyEntry(t, repo)
			if refusalReason(logged) != domain.RefusalNotCompleted || logged.Payload != nil {
				t.Errorf("logged refusal %q with %d bytes of package, want NOT_COMPLETED and none", refusalReason(logged), len(logged.Payload))
			}
			if n := auditedDisclosures(t, db, logged.ID); n != 0 {
				t.Errorf("%d disclosures of the entry audited as handed out, want none", n)
			}
			if n := trail.refusals(logged.ID, domain.RefusalNotCompleted); n != tc.refusals {
				t.Errorf("%d NOT_COMPLETED refusals audited, want %d", n, tc.refusals)
			}
		})
	}
}

// checkNotCompleted checks that err is answered ABORTED with the reason NOT_COMPLETED,
// saying to disclose again under a new request id.
func checkNotCompleted(t *testing.T, what string, err error) {
	t.Helper()
	st := status.Convert(apperr.ToStatus(t.Context(), nil, err))
	reason := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	if st.Code() != codes.Aborted || reason != string(domain.RefusalNotCompleted) || !strings.Contains(st.Message(), "new request id") {
		t.Errorf("%s answered %v %s %q, want ABORTED NOT_COMPLETED saying to disclose again under a new request id", what, st.Code(), reason, st.Message())
	}
}
