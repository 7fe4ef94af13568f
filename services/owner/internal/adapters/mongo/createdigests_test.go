package mongo

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/fieldcrypt"
)

// legacyOwner is an owner with every field a create sets, as CreateOwner receives it.
func legacyOwner(id string) *domain.Owner {
	o := testOwner(id)
	o.Address = domain.Address{Street: "Ruukintie 1", PostalCode: "60100", City: "Seinäjoki", Country: "SE"}
	o.Email = "aino@example.fi"
	return o
}

// legacyPatient is a patient of owner with every field a registration sets, its
// microchip numbered n.
func legacyPatient(id, owner string, n int) *domain.Patient {
	return &domain.Patient{ID: id, OwnerID: owner, Name: "Rekku", Species: domain.SpeciesDog, Breed: "Suomenlapinkoira",
		Sex: domain.SexFemale, Neutered: true, BirthDate: "2020-05-01", Colour: "black", Microchip: fmt.Sprintf("246098100%06d", n),
		KennelClubRegistration: "FI12345/20", Insurance: domain.Insurance{Insurer: "Agria", PolicyNumber: "A-1"}}
}

// storeLegacy creates the owner id, with identityCode n, and its patient id+"-pet",
// and takes their create digests away, as they were stored before digests were kept;
// it answers the digests they had.
func storeLegacy(t *testing.T, r *Repository, db *mongo.Database, id string, n int) (owner, patient string) {
	t.Helper()
	code := identityCode(t, n)
	o, err := r.CreateOwner(t.Context(), legacyOwner(id), &code, registered())
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.CreatePatient(t.Context(), legacyPatient(id+"-pet", id, n), registered())
	if err != nil {
		t.Fatal(err)
	}
	for coll, doc := range map[string]string{ownersColl: id, patientsColl: id + "-pet"} {
		unset := bson.D{{Key: "$unset", Value: bson.D{{Key: "create_digest", Value: ""}}}}
		if _, err := db.Collection(coll).UpdateOne(t.Context(), bson.D{{Key: "_id", Value: doc}}, unset); err != nil {
			t.Fatal(err)
		}
	}
	return o.CreateDigest, p.CreateDigest
}

// storedDigest is the create digest the document id of coll holds ("" for none).
func storedDigest(t *testing.T, db *mongo.Database, coll, id string) string {
	t.Helper()
	var d struct {
		Digest string `bson:"create_digest"`
	}
	if err := db.Collection(coll).FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d.Digest
}

// TestBackfillCreateDigests: an owner and a patient stored before create digests were
// kept and never changed get at start the digest their create would have had; a create
// under the owner's request id is then compared by it, so a namesake is refused and a
// genuine retry still answered. A record changed since is left to be compared by names,
// and the next start finds nothing to do.
func TestBackfillCreateDigests(t *testing.T) {
	r, db := testRepo(t)
	ctx := t.Context()
	wantOwner, wantPatient := storeLegacy(t, r, db, "legacy", 100)
	storeLegacy(t, r, db, "rectified", 101)
	// Rectified since: its version moves on (the phone it has now is not its create's).
	if _, err := db.Collection(ownersColl).UpdateOne(ctx, bson.D{{Key: "_id", Value: "rectified"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: 2}, {Key: "phone", Value: "+358507654321"}}}}); err != nil {
		t.Fatal(err)
	}

	if n, err := r.BackfillCreateDigests(ctx); err != nil || n != 3 {
		t.Errorf("the start backfilled %d (%v), want 3: the legacy owner and both patients", n, err)
	}
	if got := storedDigest(t, db, ownersColl, "legacy"); got != wantOwner {
		t.Errorf("owner's backfilled digest %q, want %q, the one its create made", got, wantOwner)
	}
	if got := storedDigest(t, db, patientsColl, "legacy-pet"); got != wantPatient {
		t.Errorf("patient's backfilled digest %q, want %q, the one its registration made", got, wantPatient)
	}
	if got := storedDigest(t, db, ownersColl, "rectified"); got != "" {
		t.Errorf("an owner changed since its create was given the digest %q", got)
	}

	namesake := legacyOwner("legacy")
	namesake.Phone = "+358507654321"
	tests := []struct {
		name string
		sent *domain.Owner
		code domain.IdentityCode
		same bool
	}{
		{name: "a namesake under the legacy owner's request id", sent: namesake, code: identityCode(t, 102)},
		{name: "the legacy owner's create retried", sent: legacyOwner("legacy"), code: identityCode(t, 100), same: true},
		{name: "a namesake under the rectified owner's request id, compared by names", sent: legacyOwner("rectified"), code: identityCode(t, 103), same: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := r.CreateOwner(ctx, tt.sent, &tt.code, registered())
			if err != nil {
				t.Fatal(err)
			}
			if got := domain.SameOwnerCreate(stored, tt.sent); got != tt.same {
				t.Errorf("taken for the same create: %v, want %v", got, tt.same)
			}
		})
	}
	if n, err := r.BackfillCreateDigests(ctx); err != nil || n != 0 {
		t.Errorf("the next start backfilled %d (%v), want none", n, err)
	}
}

// TestBackfillCreateDigestsMeetsAnUpdate: an owner rectified between the pass's read
// and its write is not given the digest made of what it read, which no longer is its
// create; two processes' passes at once give each record its digest once.
func TestBackfillCreateDigestsMeetsAnUpdate(t *testing.T) {
	s := embeddedtest.Start(t)
	plain, db := repoOn(t, embeddedtest.Client(t, s.URI()))
	storeLegacy(t, plain, db, "moved", 100)
	var writes atomic.Int32
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "update" && writes.Add(1) == 1 {
			// The owner moves, by an update conditioned on its version as UpdateOwner's is.
			if _, err := db.Collection(ownersColl).UpdateOne(context.Background(), bson.D{{Key: "_id", Value: "moved"}, {Key: "version", Value: 1}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: 2}, {Key: "phone", Value: "+358507654321"}}}}); err != nil {
				t.Error(err)
			}
		}
	}}
	racing, _ := repoOn(t, monitoredClient(t, s.URI(), monitor))
	if n, err := racing.BackfillCreateDigests(t.Context()); err != nil || n != 1 {
		t.Fatalf("the pass backfilled %d (%v), want 1: the patient only", n, err)
	}
	if got := storedDigest(t, db, ownersColl, "moved"); got != "" {
		t.Errorf("the owner that moved meanwhile was given the digest %q of its old address", got)
	}

	for i := range 5 {
		storeLegacy(t, plain, db, fmt.Sprint("owner-", i), 110+i)
	}
	var wg sync.WaitGroup
	var total atomic.Int64
	for range 2 {
		r, _ := repoOn(t, embeddedtest.Client(t, s.URI()))
		wg.Go(func() {
			n, err := r.BackfillCreateDigests(t.Context())
			if err != nil {
				t.Error(err)
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	if n := total.Load(); n != 10 {
		t.Errorf("two passes at once backfilled %d records, want each of the 10 once", n)
	}
}

// TestCreateDigestUnderAReplacedKey: the blind-index key keys the create digests, and a
// re-index replaces it. A digest made under the old key names it, so a create compared
// under the new one cannot tell by it and compares the names, as for a record stored
// without a digest: a genuine retry is still answered, where a bare digest under the old
// key would have been taken for another request.
func TestCreateDigestUnderAReplacedKey(t *testing.T) {
	s := embeddedtest.Start(t)
	old, db := repoOn(t, embeddedtest.Client(t, s.URI()))
	keys, err := fieldcrypt.NewKeyring(map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}, "k1", bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	reindexed := New(db, keys)
	code := identityCode(t, 100)
	if _, err := old.CreateOwner(t.Context(), legacyOwner("o1"), &code, registered()); err != nil {
		t.Fatal(err)
	}
	renamed := legacyOwner("o1")
	renamed.FamilyName = "Virtala"
	for _, tt := range []struct {
		name string
		sent *domain.Owner
		same bool
	}{
		{name: "the create retried", sent: legacyOwner("o1"), same: true},
		{name: "another person's create", sent: renamed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := reindexed.CreateOwner(t.Context(), tt.sent, &code, registered())
			if err != nil {
				t.Fatal(err)
			}
			if got := domain.SameOwnerCreate(stored, tt.sent); got != tt.same {
				t.Errorf("taken for the same create: %v, want %v", got, tt.same)
			}
		})
	}
}

// TestBackfillCreateDigestsGoesPastABrokenRecord: a patient stored without a digest
// that cannot be read as stored does not keep the legacy patient stored after it from
// its digest. One whose customer number does not parse is backfilled too, the digest
// not holding the number; one with a field the document cannot be decoded into is
// skipped and reported by its id, without the value.
func TestBackfillCreateDigestsGoesPastABrokenRecord(t *testing.T) {
	const chip = int64(246098100000100)
	tests := []struct {
		name string
		// broken is what the broken patient holds instead of its registration's fields.
		broken bson.D
		// backfilled: the broken patient gets its registration's digest.
		backfilled bool
	}{
		{name: "a customer number that does not parse", broken: bson.D{{Key: "customer_number", Value: "not-a-number"}}, backfilled: true},
		{name: "a microchip stored as a number", broken: bson.D{{Key: "microchip", Value: chip}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, db := testRepo(t)
			ctx := t.Context()
			_, brokenDigest := storeLegacy(t, r, db, "broken", 100)
			if _, err := db.Collection(patientsColl).UpdateOne(ctx, bson.D{{Key: "_id", Value: "broken-pet"}},
				bson.D{{Key: "$set", Value: tt.broken}}); err != nil {
				t.Fatal(err)
			}
			_, laterDigest := storeLegacy(t, r, db, "later", 101)

			n, err := r.BackfillCreateDigests(ctx)
			want := 3
			if tt.backfilled {
				want = 4
			}
			if n != want {
				t.Errorf("the start backfilled %d, want %d", n, want)
			}
			if got := storedDigest(t, db, patientsColl, "later-pet"); got != laterDigest {
				t.Errorf("the legacy patient after the broken one has the digest %q, want %q", got, laterDigest)
			}
			wantBroken := ""
			if tt.backfilled {
				wantBroken = brokenDigest
			}
			if got := storedDigest(t, db, patientsColl, "broken-pet"); got != wantBroken {
				t.Errorf("the broken patient has the digest %q, want %q", got, wantBroken)
			}
			switch {
			case tt.backfilled && err != nil:
				t.Errorf("the start reported %v, want nothing", err)
			case !tt.backfilled && (err == nil || !strings.Contains(err.Error(), "patient broken-pet cannot be read")):
				t.Errorf("the start reported %v, want the broken patient named", err)
			case err != nil && strings.Contains(err.Error(), fmt.Sprint(chip)):
				t.Errorf("the report %q holds the microchip", err)
			}
		})
	}
}
