package mongo

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
)

// identityCode is the valid identity code of a person born on 1 January 1990 with
// individual number n.
func identityCode(t *testing.T, n int) domain.IdentityCode {
	t.Helper()
	digits := fmt.Sprintf("010190%03d", n)
	v, err := strconv.Atoi(digits)
	if err != nil {
		t.Fatal(err)
	}
	code, err := domain.ParseIdentityCode(digits[:6]+"-"+digits[6:]+string("0123456789ABCDEFHJKLMNPRSTUVWXY"[v%31]), false)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func testOwner(id string) *domain.Owner {
	return &domain.Owner{ID: id, GivenNames: "Aino", FamilyName: "Äijälä", Phone: "+358401234567",
		Language: domain.LanguageFinnish, HomeClinic: domain.ClinicSeinajoki}
}

func registered() domain.Change {
	return domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"created"}, Reason: "registered"}
}

// race runs create n times at once and returns how many succeeded; every other call
// must fail with ErrAlreadyExists.
func race(t *testing.T, n int, create func(i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = create(i) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, apperr.ErrAlreadyExists):
			t.Errorf("a losing create failed with %v, want ErrAlreadyExists", err)
		}
	}
	return won
}

// TestConcurrentCreatesClaimOnce registers the same identity code for different owners,
// and the same microchip for different patients, from several requests at once: exactly
// one of each wins, and only its document carries the value.
func TestConcurrentCreatesClaimOnce(t *testing.T) {
	r, db := testRepo(t)
	ctx := t.Context()
	const racers = 6
	for round := range 8 {
		code := identityCode(t, 100+round)
		won := race(t, racers, func(i int) error {
			_, err := r.CreateOwner(ctx, testOwner(fmt.Sprintf("o%d-%d", round, i)), &code, registered())
			return err
		})
		holders, err := db.Collection(ownersColl).CountDocuments(ctx, bson.D{{Key: "identity_bidx", Value: r.identityKey(code)[len("identity:"):]}})
		if err != nil {
			t.Fatal(err)
		}
		if won != 1 || holders != 1 {
			t.Errorf("round %d: %d creates won, %d owners carry the identity code; want 1 and 1", round, won, holders)
		}

		chip := fmt.Sprintf("2460981007770%02d", round)
		won = race(t, racers, func(i int) error {
			_, err := r.CreatePatient(ctx, &domain.Patient{ID: fmt.Sprintf("p%d-%d", round, i), OwnerID: "o0-0", Name: "Rekku",
				Species: domain.SpeciesDog, Microchip: chip}, registered())
			return err
		})
		holders, err = db.Collection(patientsColl).CountDocuments(ctx, bson.D{{Key: "microchip", Value: chip}})
		if err != nil {
			t.Fatal(err)
		}
		if won != 1 || holders != 1 {
			t.Errorf("round %d: %d registrations won, %d patients carry the microchip; want 1 and 1", round, won, holders)
		}
	}
}

// TestAbandonedClaimIsTakenOver leaves claims behind as a crashed create would: one past
// the lease is taken over (also one written before claims had a time), a fresh one is not.
func TestAbandonedClaimIsTakenOver(t *testing.T) {
	r, db := testRepo(t)
	ctx := t.Context()
	claims := db.Collection(claimsColl)
	for i, tc := range []struct {
		name  string
		claim func(key string) any
		want  error
	}{
		{"past the lease", func(key string) any {
			return claimDoc{ID: key, Ref: "crashed", At: time.Now().Add(-2 * claimLease)}
		}, nil},
		{"without a time", func(key string) any { return bson.D{{Key: "_id", Value: key}, {Key: "ref", Value: "crashed"}} }, nil},
		{"within the lease", func(key string) any { return claimDoc{ID: key, Ref: "crashed", At: time.Now()} }, apperr.ErrAlreadyExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := identityCode(t, 200+i)
			if _, err := claims.InsertOne(ctx, tc.claim(r.identityKey(code))); err != nil {
				t.Fatal(err)
			}
			_, err := r.CreateOwner(ctx, testOwner("o-"+tc.name), &code, registered())
			if !errors.Is(err, tc.want) {
				t.Errorf("create over a claim %s: %v, want %v", tc.name, err, tc.want)
			}
		})
	}
}

// TestStaleUpdateDoesNotProbeUniqueValues sends updates with a stale version that would
// give an owner another's identity code and a patient another's microchip: they fail as
// stale, not as taken, so a stale update cannot be used to learn whose the value is.
func TestStaleUpdateDoesNotProbeUniqueValues(t *testing.T) {
	r, _ := testRepo(t)
	ctx := t.Context()
	held, other := identityCode(t, 300), identityCode(t, 301)
	if _, err := r.CreateOwner(ctx, testOwner("holder"), &held, registered()); err != nil {
		t.Fatal(err)
	}
	o, err := r.CreateOwner(ctx, testOwner("prober"), &other, registered())
	if err != nil {
		t.Fatal(err)
	}
	change := domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"identity_code"}, Reason: "probe"}
	if _, err := r.UpdateOwner(ctx, o, 99, change, &held); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("stale owner update with a held identity code: %v, want a conflict", err)
	}
	chip := func(id, microchip string) *domain.Patient {
		return &domain.Patient{ID: id, OwnerID: "holder", Name: "Rekku", Species: domain.SpeciesDog, Microchip: microchip}
	}
	if _, err := r.CreatePatient(ctx, chip("p1", "246098100777001"), registered()); err != nil {
		t.Fatal(err)
	}
	p, err := r.CreatePatient(ctx, chip("p2", "246098100777002"), registered())
	if err != nil {
		t.Fatal(err)
	}
	p.Microchip = "246098100777001"
	if _, err := r.UpdatePatient(ctx, p, 99, change); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("stale patient update with a held microchip: %v, want a conflict", err)
	}
}
