package disclosure_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/status"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/platform/auth"
)

func federation(name string, kind disclosurev1.RecipientKind) *disclosurev1.Recipient {
	return &disclosurev1.Recipient{
		Name: name, Kind: kind, BusinessId: "2923530-5", Country: "FI",
		Contact: &disclosurev1.Contact{Email: "info@example.fi"},
	}
}

// TestOneActiveKennelClubOrCatFederation: the owner's consent to disclose to the
// kennel club or the cat federation names no recipient, so a second active recipient
// of either kind would receive on the same grant. Registering one is refused
// FAILED_PRECONDITION RECIPIENT_KIND_TAKEN on recipient.kind, naming the active one,
// for each kind apart; once that one is deactivated, another is registered.
func TestOneActiveKennelClubOrCatFederation(t *testing.T) {
	for _, kind := range []disclosurev1.RecipientKind{
		disclosurev1.RecipientKind_RECIPIENT_KIND_KENNEL_CLUB,
		disclosurev1.RecipientKind_RECIPIENT_KIND_CAT_FEDERATION,
	} {
		t.Run(kind.String(), func(t *testing.T) {
			s := start(t)
			manager := s.as(t, auth.RoleClinicManager)
			active := s.register(t, federation("Liitto", kind))
			_, err := s.disclosure.CreateRecipient(manager, &disclosurev1.CreateRecipientRequest{Recipient: federation("Liitto ry", kind)})
			if got := refusalReason(t, err); got != "RECIPIENT_KIND_TAKEN" {
				t.Fatalf("reason %q, want RECIPIENT_KIND_TAKEN", got)
			}
			if !slices.Equal(fieldViolations(err), []string{"recipient.kind"}) || !strings.Contains(status.Convert(err).Message(), active.GetId()) {
				t.Errorf("refusal %v on %v, want it on recipient.kind naming %s", err, fieldViolations(err), active.GetId())
			}
			s.register(t, insurer("LähiTapiola", "FI"))
			s.register(t, insurer("If", "FI"))
			if _, err := s.disclosure.DeactivateRecipient(manager, &disclosurev1.DeactivateRecipientRequest{RecipientId: active.GetId()}); err != nil {
				t.Fatal(err)
			}
			next := s.register(t, federation("Liitto ry", kind))
			res, err := s.disclosure.ListRecipients(manager, &disclosurev1.ListRecipientsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var activeOfKind []string
			for _, r := range res.GetRecipients() {
				if r.GetKind() == kind && r.GetActive() {
					activeOfKind = append(activeOfKind, r.GetId())
				}
			}
			if !slices.Equal(activeOfKind, []string{next.GetId()}) {
				t.Errorf("active of the kind %v, want only %s", activeOfKind, next.GetId())
			}
		})
	}
}
