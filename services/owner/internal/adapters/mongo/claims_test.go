package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
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

// repoInterleaving returns a repository on the store at uri that runs interleave just
// before it first starts command, and a function giving interleave's error.
func repoInterleaving(t *testing.T, uri, command string, interleave func() error) (*Repository, func() error) {
	t.Helper()
	var once sync.Once
	var err error
	r, _ := repoOn(t, monitoredClient(t, uri, &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == command {
			once.Do(func() { err = interleave() })
		}
	}}))
	return r, func() error { return err }
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

// TestLosingTwinUpdateKeepsTheWinnersClaim sends the same update twice at once (a
// double-clicked PATCH giving an owner a new identity code or a patient a new
// microchip): both pass the version check, one writes and the other fails as stale.
// The loser must not release the claim on the value, which names the same owner or
// patient as the winner's: the winner's document carries the value, so it must stay
// findable by it and no one else may register it. The winner runs in full either
// between the loser's claim and its write (the loser made the claim, the winner
// renewed it) or just before the loser's claim (the loser renews the winner's claim).
func TestLosingTwinUpdateKeepsTheWinnersClaim(t *testing.T) {
	code := identityCode(t, 400)
	const chip = "246098100777400"
	owner := func(ctx context.Context, r *Repository, id string) (func(context.Context, *Repository) error, func() error) {
		o, err := r.CreateOwner(ctx, testOwner(id), nil, registered())
		if err != nil {
			t.Fatal(err)
		}
		change := domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"identity_code"}, Reason: "add code"}
		update := func(ctx context.Context, r *Repository) error {
			next := *o
			_, err := r.UpdateOwner(ctx, &next, 1, change, &code)
			return err
		}
		check := func() error {
			if _, err := r.FindOwnerByIdentityCode(ctx, code); err != nil {
				return fmt.Errorf("owner not found by the identity code it carries: %w", err)
			}
			if _, err := r.CreateOwner(ctx, testOwner(id+"-other"), &code, registered()); !errors.Is(err, apperr.ErrAlreadyExists) {
				return fmt.Errorf("another owner registered with the same identity code: %w", err)
			}
			return nil
		}
		return update, check
	}
	patient := func(ctx context.Context, r *Repository, id string) (func(context.Context, *Repository) error, func() error) {
		p, err := r.CreatePatient(ctx, &domain.Patient{ID: id, OwnerID: "o", Name: "Rekku", Species: domain.SpeciesDog}, registered())
		if err != nil {
			t.Fatal(err)
		}
		change := domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"microchip"}, Reason: "chipped"}
		update := func(ctx context.Context, r *Repository) error {
			next := *p
			next.Microchip = chip
			_, err := r.UpdatePatient(ctx, &next, 1, change)
			return err
		}
		check := func() error {
			if _, err := r.FindPatientByMicrochip(ctx, chip); err != nil {
				return fmt.Errorf("patient not found by the microchip it carries: %w", err)
			}
			other := &domain.Patient{ID: id + "-other", OwnerID: "o", Name: "Musti", Species: domain.SpeciesDog, Microchip: chip}
			if _, err := r.CreatePatient(ctx, other, registered()); !errors.Is(err, apperr.ErrAlreadyExists) {
				return fmt.Errorf("another patient registered with the same microchip: %w", err)
			}
			return nil
		}
		return update, check
	}
	for _, tc := range []struct {
		name string
		// before is the loser's command the winner's whole update runs before: its
		// claim (an insert into the claims) or its write.
		before string
		twins  func(context.Context, *Repository, string) (func(context.Context, *Repository) error, func() error)
	}{
		{"identity code, winner between the loser's claim and write", "findAndModify", owner},
		{"identity code, winner before the loser's claim", "insert", owner},
		{"microchip, winner between the loser's claim and write", "findAndModify", patient},
		{"microchip, winner before the loser's claim", "insert", patient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := embeddedtest.Start(t)
			winner, _ := repoOn(t, embeddedtest.Client(t, s.URI()))
			ctx := t.Context()
			update, check := tc.twins(ctx, winner, "twin")
			loser, winErr := repoInterleaving(t, s.URI(), tc.before, func() error { return update(context.Background(), winner) })
			if err := update(ctx, loser); !errors.Is(err, apperr.ErrConflict) {
				t.Fatalf("twin update: %v, want a conflict", err)
			}
			if err := winErr(); err != nil {
				t.Fatalf("winning update: %v", err)
			}
			if err := check(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestUpdateLosingToAnotherChangeReleasesItsClaim: an update that claims a new identity
// code or microchip and then loses its write to another change of the same owner or
// patient releases the claim it made, so that the value is free again at once.
func TestUpdateLosingToAnotherChangeReleasesItsClaim(t *testing.T) {
	s := embeddedtest.Start(t)
	other, _ := repoOn(t, embeddedtest.Client(t, s.URI()))
	ctx := t.Context()
	var once sync.Once
	var otherErr error
	var interleave func() error
	r, _ := repoOn(t, monitoredClient(t, s.URI(), &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "findAndModify" {
			once.Do(func() { otherErr = interleave() })
		}
	}}))
	rename := domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"name"}, Reason: "typo"}

	code := identityCode(t, 410)
	o, err := other.CreateOwner(ctx, testOwner("changed"), nil, registered())
	if err != nil {
		t.Fatal(err)
	}
	interleave = func() error {
		next := *o
		next.GivenNames = "Aina"
		_, err := other.UpdateOwner(context.Background(), &next, 1, rename, nil)
		return err
	}
	change := domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"identity_code"}, Reason: "add code"}
	if _, err := r.UpdateOwner(ctx, o, 1, change, &code); !errors.Is(err, apperr.ErrConflict) || otherErr != nil {
		t.Fatalf("update losing to a rename: %v (rename: %v), want a conflict", err, otherErr)
	}
	if _, err := other.CreateOwner(ctx, testOwner("newcomer"), &code, registered()); err != nil {
		t.Errorf("another owner registering the code the failed update claimed: %v", err)
	}

	const chip = "246098100777410"
	p, err := other.CreatePatient(ctx, &domain.Patient{ID: "p-changed", OwnerID: "o", Name: "Rekku", Species: domain.SpeciesDog}, registered())
	if err != nil {
		t.Fatal(err)
	}
	once = sync.Once{}
	interleave = func() error {
		next := *p
		next.Name = "Rekku II"
		_, err := other.UpdatePatient(context.Background(), &next, 1, rename)
		return err
	}
	chipped := *p
	chipped.Microchip = chip
	if _, err := r.UpdatePatient(ctx, &chipped, 1, change); !errors.Is(err, apperr.ErrConflict) || otherErr != nil {
		t.Fatalf("update losing to a rename: %v (rename: %v), want a conflict", err, otherErr)
	}
	newcomer := &domain.Patient{ID: "p-newcomer", OwnerID: "o", Name: "Musti", Species: domain.SpeciesDog, Microchip: chip}
	if _, err := other.CreatePatient(ctx, newcomer, registered()); err != nil {
		t.Errorf("another patient registering the microchip the failed update claimed: %v", err)
	}
}

// TestValueGivenBackWhileTheOldOneIsReleased: an owner's identity code (a patient's
// microchip) is changed A→B and, once that write is done and before the update has
// released A, changed back B→A (the first change was a typo). The second update renews
// the claim on A for the same holder; the first update's release must leave that claim,
// or the holder carries A with no claim: not found by it, and A free for another.
func TestValueGivenBackWhileTheOldOneIsReleased(t *testing.T) {
	codeA, codeB := identityCode(t, 420), identityCode(t, 421)
	const chipA, chipB = "246098100777420", "246098100777421"
	owner := func(ctx context.Context, r *Repository) (func(context.Context, *Repository, int64, bool) error, func() error) {
		if _, err := r.CreateOwner(ctx, testOwner("given-back"), &codeA, registered()); err != nil {
			t.Fatal(err)
		}
		change := domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"identity_code"}, Reason: "code"}
		update := func(ctx context.Context, r *Repository, version int64, back bool) error {
			code := codeB
			if back {
				code = codeA
			}
			_, err := r.UpdateOwner(ctx, testOwner("given-back"), version, change, &code)
			return err
		}
		check := func() error {
			if _, err := r.FindOwnerByIdentityCode(ctx, codeA); err != nil {
				return fmt.Errorf("owner not found by the identity code it carries: %w", err)
			}
			if _, err := r.CreateOwner(ctx, testOwner("other"), &codeA, registered()); !errors.Is(err, apperr.ErrAlreadyExists) {
				return fmt.Errorf("another owner registered with the same identity code: %w", err)
			}
			return nil
		}
		return update, check
	}
	patient := func(ctx context.Context, r *Repository) (func(context.Context, *Repository, int64, bool) error, func() error) {
		p, err := r.CreatePatient(ctx, &domain.Patient{ID: "given-back", OwnerID: "o", Name: "Rekku", Species: domain.SpeciesDog, Microchip: chipA}, registered())
		if err != nil {
			t.Fatal(err)
		}
		change := domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"microchip"}, Reason: "chip"}
		update := func(ctx context.Context, r *Repository, version int64, back bool) error {
			next := *p
			next.Microchip = chipB
			if back {
				next.Microchip = chipA
			}
			_, err := r.UpdatePatient(ctx, &next, version, change)
			return err
		}
		check := func() error {
			if _, err := r.FindPatientByMicrochip(ctx, chipA); err != nil {
				return fmt.Errorf("patient not found by the microchip it carries: %w", err)
			}
			other := &domain.Patient{ID: "other", OwnerID: "o", Name: "Musti", Species: domain.SpeciesDog, Microchip: chipA}
			if _, err := r.CreatePatient(ctx, other, registered()); !errors.Is(err, apperr.ErrAlreadyExists) {
				return fmt.Errorf("another patient registered with the same microchip: %w", err)
			}
			return nil
		}
		return update, check
	}
	for _, tc := range []struct {
		name   string
		holder func(context.Context, *Repository) (func(context.Context, *Repository, int64, bool) error, func() error)
	}{
		{"identity code", owner},
		{"microchip", patient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := embeddedtest.Start(t)
			desk, _ := repoOn(t, embeddedtest.Client(t, s.URI()))
			ctx := t.Context()
			update, check := tc.holder(ctx, desk)
			// The first update's only delete is its release of A.
			first, backErr := repoInterleaving(t, s.URI(), "delete", func() error { return update(context.Background(), desk, 2, true) })
			if err := update(ctx, first, 1, false); err != nil {
				t.Fatalf("change A→B: %v", err)
			}
			if err := backErr(); err != nil {
				t.Fatalf("change back B→A: %v", err)
			}
			if err := check(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestChangeReleasesAClaimWithoutNonce: a microchip claimed before claims carried a
// nonce is released when its patient's chip changes, so that another patient may have it.
func TestChangeReleasesAClaimWithoutNonce(t *testing.T) {
	r, db := testRepo(t)
	ctx := t.Context()
	const chipA, chipB = "246098100777430", "246098100777431"
	p, err := r.CreatePatient(ctx, &domain.Patient{ID: "old-claim", OwnerID: "o", Name: "Rekku", Species: domain.SpeciesDog, Microchip: chipA}, registered())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection(claimsColl).UpdateOne(ctx, bson.D{{Key: "_id", Value: microchipKey(chipA)}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "nonce", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	next := *p
	next.Microchip = chipB
	if _, err := r.UpdatePatient(ctx, &next, 1, domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"microchip"}, Reason: "typo"}); err != nil {
		t.Fatal(err)
	}
	other := &domain.Patient{ID: "other", OwnerID: "o", Name: "Musti", Species: domain.SpeciesDog, Microchip: chipA}
	if _, err := r.CreatePatient(ctx, other, registered()); err != nil {
		t.Errorf("another patient registering the microchip given up: %v", err)
	}
}
