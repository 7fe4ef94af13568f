package app_test

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	consentmongo "github.com/lillvet/register/services/consent/internal/adapters/mongo"
	"github.com/lillvet/register/services/consent/internal/app"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestRestrictionKeepsTheSystemFlag: a restriction the service's own work sets (an
// in-process job acting as auth.SystemIdentity) is kept in the ledger's restriction
// history flagged as the system's, as its audit event and an owner's change record are;
// a token's, even one with the service's subject and the job's name and role, is not.
func TestRestrictionKeepsTheSystemFlag(t *testing.T) {
	db, auditor := servicetest.AuditedDB(t, "consent_restriction_flag")
	owners := &ownerService{restricted: map[string]bool{owner1: false, owner2: false}}
	svc, err := app.New(consentmongo.New(db), owners, auditor, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		owner  string
		as     auth.Identity
		system bool
	}{
		{"the service's own job", owner1, auth.SystemIdentity("consent", "objection job"), true},
		{"a token shaped as the job", owner2,
			auth.Identity{Subject: "service:consent", Name: "objection job", Roles: []auth.Role{auth.RoleErasureJob}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := svc.SetRestriction(auth.WithIdentity(t.Context(), tt.as), tt.owner, true, "form-17"); err != nil {
				t.Fatal(err)
			}
			var ledger struct {
				Restrictions []struct {
					ActorSubject string `bson:"actor_subject"`
					ActorSystem  bool   `bson:"actor_system"`
				}
			}
			if err := db.Collection(consentmongo.LedgersCollection).FindOne(t.Context(), bson.M{"_id": tt.owner}).Decode(&ledger); err != nil {
				t.Fatal(err)
			}
			if len(ledger.Restrictions) != 1 || ledger.Restrictions[0].ActorSubject != tt.as.Subject ||
				ledger.Restrictions[0].ActorSystem != tt.system {
				t.Errorf("restrictions %+v, want one by %s with the system flag %v", ledger.Restrictions, tt.as.Subject, tt.system)
			}
		})
	}
}
