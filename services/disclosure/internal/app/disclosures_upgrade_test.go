package app_test

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// TestDisclosureBesideThePreviousVersionsErasure: during a rolling update the owner's
// erasure job runs on a replica of the previous version while a disclosure to the
// insurer, on this version, is between its last status read (the owner not yet
// restricted) and making its entry final. The job restricts the owner and refuses the
// pending entry OWNER_RESTRICTED as the previous version does, which leaves the entry's
// disclosable in place, and may not have applied its claim yet. The disclosure must
// answer OWNER_RESTRICTED with no package; the entry stays refused, the partner cannot
// read it, and no package is audited as handed out.
func TestDisclosureBesideThePreviousVersionsErasure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		applied bool
	}{
		{name: "the job applied its refusal", applied: true},
		{name: "the job claimed its refusal and has not applied it yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := &racingOwner{}
			svc, repo, db, _ := monitoredStore(t, owner, nil)
			restricted := bson.M{"outcome": "refused", "refusal_reason": string(domain.RefusalOwnerRestricted)}
			owner.meanwhile = map[string]func(){"status 2": func() {
				owner.restricted.Store(true)
				coll, id := db.Collection(disclosuremongo.DisclosuresCollection), pendingEntry(t, db)
				if _, err := coll.UpdateOne(t.Context(), bson.M{"_id": id}, bson.M{"$push": bson.M{"claims": restricted}}); err != nil {
					t.Fatal(err)
				}
				if !tc.applied {
					return
				}
				if _, err := coll.UpdateOne(t.Context(), bson.M{"_id": id},
					bson.M{"$set": restricted, "$unset": bson.M{"payload": "", "payload_sha256": ""}}); err != nil {
					t.Fatal(err)
				}
			}}
			rec, err := svc.Disclose(vetContext(), racingRequest())
			checkAnswer(t, "the disclosure", rec, err, domain.RefusalOwnerRestricted)
			entry := onlyEntry(t, repo)
			if entry.Refusal == nil || entry.Refusal.Reason != domain.RefusalOwnerRestricted || entry.Payload != nil {
				t.Errorf("the log entry is refused %v with %d bytes of package, want refused %s without",
					entry.Refusal, len(entry.Payload), domain.RefusalOwnerRestricted)
			}
			if n := partnerSees(t, svc, entry.ID); n != 0 {
				t.Errorf("the partner lists %d disclosures, want none", n)
			}
			if n := auditedDisclosures(t, db, entry.ID); n != 0 {
				t.Errorf("%d disclosures audited as handed out, want none", n)
			}
		})
	}
}
