package disclosure_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
)

// TestTokenNameCannotHideWhoActed: a token's name cannot make a read or a change of the
// owner's data read as the services' own work, or as no one, in any Who column of the
// readable report. A token named as the system in Finnish, whose only role the register
// does not know, reads the owner (refused, and audited under the owner); a reception
// token named with white space reads the owner; a veterinarian's named "SYSTEM"
// corrects a visit and a nurse's named with a zero-width space records a call. Each is
// shown as if its token gave no name: by its role in words, or as a user whose name was
// not recorded, in every language. A call recorded with a veterinarian's token without
// a name, which the history service records by its subject, is shown by the role too.
func TestTokenNameCannotHideWhoActed(t *testing.T) {
	s := start(t)
	manager := s.as(t, auth.RoleClinicManager)
	ownerID, patientID := s.customer(t, "Korhonen")
	as := func(c devauth.Claims) context.Context {
		tok, err := s.env.Issuer.Mint(c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return auth.WithOutgoingToken(t.Context(), tok, "")
	}
	mallory := as(devauth.Claims{Subject: "u-mallory", Name: "järjestelmä", Roles: []auth.Role{"a_later_role"}})
	if _, err := s.owners.GetOwner(mallory, &ownerv1.GetOwnerRequest{OwnerId: ownerID}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("mallory read the owner: %v", err)
	}
	s.waitAudited(t, ownerDatabase, bson.M{"action": "rpc.denied", "subject_owner_id": ownerID, "actor_subject": "u-mallory"})
	blank := as(devauth.Claims{Subject: "u-blank", Name: " \u00a0 ", Roles: []auth.Role{auth.RoleReception}})
	if _, err := s.owners.GetOwner(blank, &ownerv1.GetOwnerRequest{OwnerId: ownerID}); err != nil {
		t.Fatal(err)
	}
	v := s.visit(t, patientID, "ears", 3)
	vet := as(devauth.Claims{Subject: "u-vet", Name: "SYSTEM", Roles: []auth.Role{auth.RoleVeterinarian}})
	if _, err := s.history.AmendVisit(vet, &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 1, Reason: "mistyped", Visit: &historyv1.Visit{Findings: "Red ear canals."},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}},
	}); err != nil {
		t.Fatal(err)
	}
	for subject, c := range map[string]devauth.Claims{
		"Ear drops": {Subject: "u-nurse", Name: "\u200b", Roles: []auth.Role{auth.RoleNurse}},
		"Follow-up": {Subject: "u-nameless-vet", Roles: []auth.Role{auth.RoleVeterinarian}},
	} {
		if _, err := s.history.RecordCommunication(as(c), &historyv1.RecordCommunicationRequest{
			OwnerId: ownerID, Communication: &historyv1.Communication{
				PatientId: patientID, Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND,
				Subject: subject,
			},
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.waitAudited(t, ownerDatabase, bson.M{"action": "owner.read", "subject_owner_id": ownerID, "actor_subject": "u-blank"})
	request := s.recordAccess(t, manager, "", letter(ownerID, nil))
	for _, tc := range []struct {
		language, system               string
		unnamed, reception, vet, nurse string
	}{
		{"fi", "järjestelmä", "käyttäjä, jonka nimeä ei ole kirjattu", "asiakaspalvelu", "eläinlääkäri", "eläinhoitaja"},
		{"sv", "systemet", "en användare vars namn inte har registrerats", "kundtjänst", "veterinär", "djurskötare"},
		{"en", "system", "a user whose name was not recorded", "reception", "veterinarian", "veterinary nurse"},
	} {
		doc := s.documentWithRows(t, manager, request.GetId(), tc.language, []string{
			"<td>" + tc.unnamed + "</td><td>",                  // mallory's refused read
			"<td>" + tc.reception + "</td><td>",                // the blank-named read
			"<td>" + tc.vet + "</td><td>mistyped</td>",         // the correction
			"<td>Ear drops</td><td>" + tc.nurse + "</td></tr>", // the calls
			"<td>Follow-up</td><td>" + tc.vet + "</td></tr>",
		})
		for _, hidden := range []string{"u-nameless-vet", "<td>" + tc.system + "</td>", "<td>SYSTEM", "\u200b", "<td> ", "<td>\u00a0"} {
			if strings.Contains(doc, hidden) {
				t.Errorf("%s: the document shows %q", tc.language, hidden)
			}
		}
	}
}
