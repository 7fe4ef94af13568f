package mongo

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// Søren Bjørnsson's keys as rules that kept "ø" made them, and as today's make them.
var (
	staleNameKeys = bson.A{"søren", "bjørnsson"}
	freshNameKeys = []string{"soren", "bjornsson"}
)

// noVersion stands for an owner written before the keys' version was stored.
const noVersion = 0

// createSøren stores an owner named Søren Bjørnsson with stale keys made under version.
func createSøren(t *testing.T, r *Repository, db *mongo.Database, id string, version int) {
	t.Helper()
	o := testOwner(id)
	o.GivenNames, o.FamilyName = "Søren", "Bjørnsson"
	if _, err := r.CreateOwner(t.Context(), o, nil, registered()); err != nil {
		t.Fatal(err)
	}
	makeStale(t, db, id, version)
}

// makeStale writes the stale keys and version, as a replica on older rules would (or
// one from before the version was stored, for noVersion).
func makeStale(t *testing.T, db *mongo.Database, id string, version int) {
	t.Helper()
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "sort_key", Value: "bjørnsson søren"}, {Key: "name_keys", Value: staleNameKeys},
		{Key: "name_keys_version", Value: version},
	}}}
	if version == noVersion {
		update = bson.D{
			{Key: "$set", Value: bson.D{{Key: "sort_key", Value: "bjørnsson søren"}, {Key: "name_keys", Value: staleNameKeys}}},
			{Key: "$unset", Value: bson.D{{Key: "name_keys_version", Value: ""}}},
		}
	}
	if _, err := db.Collection(ownersColl).UpdateOne(t.Context(), bson.D{{Key: "_id", Value: id}}, update); err != nil {
		t.Fatal(err)
	}
}

// storedKeys is what an owner's document holds of its name keys.
type storedKeys struct {
	NameKeys []string `bson:"name_keys"`
	Version  int      `bson:"name_keys_version"`
}

func readKeys(t *testing.T, db *mongo.Database, id string) storedKeys {
	t.Helper()
	var k storedKeys
	if err := db.Collection(ownersColl).FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Decode(&k); err != nil {
		t.Fatal(err)
	}
	return k
}

// fresh reports whether the owner's stored keys are today's.
func fresh(t *testing.T, db *mongo.Database, id string) bool {
	t.Helper()
	return slices.Equal(readKeys(t, db, id).NameKeys, freshNameKeys)
}

// filteredByIDAlone reports whether the write e started filters on exactly {_id}, the
// only filter the embedded store answers from an index.
func filteredByIDAlone(e *event.CommandStartedEvent) bool {
	filter, err := e.Command.LookupErr("query")
	if e.CommandName == "update" {
		filter, err = e.Command.LookupErr("updates", "0", "q")
	}
	if err != nil {
		return false
	}
	elems, err := filter.Document().Elements()
	return err == nil && len(elems) == 1 && elems[0].Key() == "_id"
}

// monitoredClient is a client of the store at uri whose commands monitor sees.
func monitoredClient(t *testing.T, uri string, monitor *event.CommandMonitor) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetMonitor(monitor))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

// TestRefreshNameKeys starts a replica whose rules are a version newer than the oldest
// owners': it refreshes the owners stored under an older version or none, which search
// then finds as it finds owners written since, and writes nothing to the owners stored
// under its version or a newer one (a replica rolled back), whose keys stay as they were.
func TestRefreshNameKeys(t *testing.T) {
	current := domain.NameKeysVersion + 1
	owners := []struct {
		id            string
		storedVersion int
		wantRefreshed bool
	}{
		{"unversioned", noVersion, true},
		{"older", current - 1, true},
		{"current", current, false},
		{"newer", current + 1, false},
	}
	var updates, wideFilters atomic.Int32
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "findAndModify" || e.CommandName == "update" {
			updates.Add(1)
			if !filteredByIDAlone(e) {
				wideFilters.Add(1)
			}
		}
	}}
	r, db := repoOn(t, monitoredClient(t, embeddedtest.Start(t).URI(), monitor))
	r.nameKeysVersion = current
	want := 0
	for _, o := range owners {
		createSøren(t, r, db, o.id, o.storedVersion)
		if o.wantRefreshed {
			want++
		}
	}

	updates.Store(0)
	if n, err := r.RefreshNameKeys(t.Context()); err != nil || n != want {
		t.Errorf("refreshed %d (%v), want %d", n, err, want)
	}
	// Two for each owner: its keys, then their version.
	if got := updates.Load(); got != int32(2*want) {
		t.Errorf("the start sent %d updates, want %d", got, 2*want)
	}
	if got := wideFilters.Load(); got != 0 {
		t.Errorf("%d of the start's updates filtered on more than _id, which the embedded store answers by a scan", got)
	}
	found, _, err := r.ListOwners(t.Context(), domain.OwnerQuery{NamePrefix: domain.SearchKey("soren bjorn")})
	if err != nil {
		t.Fatal(err)
	}
	var foundIDs []string
	for _, o := range found {
		foundIDs = append(foundIDs, o.ID)
	}
	for _, o := range owners {
		k := readKeys(t, db, o.id)
		wantVersion := o.storedVersion
		if o.wantRefreshed {
			wantVersion = current
		}
		if refreshed := slices.Equal(k.NameKeys, freshNameKeys); refreshed != o.wantRefreshed || k.Version != wantVersion {
			t.Errorf("%s: keys refreshed = %t at version %d, want %t at version %d", o.id, refreshed, k.Version, o.wantRefreshed, wantVersion)
		}
		if slices.Contains(foundIDs, o.id) != o.wantRefreshed {
			t.Errorf("%s: found by a search folded as today = %t, want %t", o.id, !o.wantRefreshed, o.wantRefreshed)
		}
	}
}

// TestRefreshNameKeysCatchesOlderReplicasWrites is a rolling upgrade: a replica with
// newer rules starts and refreshes, then a replica still on the older rules registers one
// owner and renames another, each stored with the older version. The next start of a
// replica with the newer rules refreshes both; a restart of the older replica leaves the
// newer keys alone.
func TestRefreshNameKeysCatchesOlderReplicasWrites(t *testing.T) {
	newer, db := testRepo(t)
	newer.nameKeysVersion = domain.NameKeysVersion + 1
	older := *newer
	older.nameKeysVersion = domain.NameKeysVersion
	ctx := t.Context()

	if _, err := newer.RefreshNameKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := newer.CreateOwner(ctx, testOwner("renamed"), nil, registered()); err != nil {
		t.Fatal(err)
	}
	o := testOwner("registered")
	o.GivenNames, o.FamilyName = "Søren", "Bjørnsson"
	if _, err := older.CreateOwner(ctx, o, nil, registered()); err != nil {
		t.Fatal(err)
	}
	o = testOwner("renamed")
	o.GivenNames, o.FamilyName = "Søren", "Bjørnsson"
	c := registered()
	c.Fields = []string{"given_names", "family_name"}
	if _, err := older.UpdateOwner(ctx, o, 1, c, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"registered", "renamed"} {
		if v := readKeys(t, db, id).Version; v != older.nameKeysVersion {
			t.Errorf("%s: the older replica stored version %d, want its own %d", id, v, older.nameKeysVersion)
		}
		// The keys its rules made (today's code folds as the newer rules do).
		makeStale(t, db, id, older.nameKeysVersion)
	}

	if n, err := newer.RefreshNameKeys(ctx); err != nil || n != 2 {
		t.Errorf("the newer replica's next start refreshed %d (%v), want 2", n, err)
	}
	if n, err := older.RefreshNameKeys(ctx); err != nil || n != 0 {
		t.Errorf("the older replica's restart refreshed %d (%v), want none", n, err)
	}
	for _, id := range []string{"registered", "renamed"} {
		if k := readKeys(t, db, id); !slices.Equal(k.NameKeys, freshNameKeys) || k.Version != newer.nameKeysVersion {
			t.Errorf("%s: keys %v at version %d, want %v at %d", id, k.NameKeys, k.Version, freshNameKeys, newer.nameKeysVersion)
		}
	}
}

// TestRefreshNameKeysOverlappingPasses runs a newer replica's pass while an older one's
// is between reading the owners and updating the first: the older pass writes nothing
// over what the newer wrote, and the owners stay at the newer version.
func TestRefreshNameKeysOverlappingPasses(t *testing.T) {
	s := embeddedtest.Start(t)
	newer, db := repoOn(t, embeddedtest.Client(t, s.URI()))
	newer.nameKeysVersion = domain.NameKeysVersion + 1
	ids := []string{"o1", "o2", "o3"}
	for _, id := range ids {
		createSøren(t, newer, db, id, noVersion)
	}

	var overlap sync.Once
	monitor := &event.CommandMonitor{Started: func(ctx context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "findAndModify" {
			overlap.Do(func() {
				if n, err := newer.RefreshNameKeys(ctx); err != nil || n != len(ids) {
					t.Errorf("the newer pass refreshed %d (%v), want %d", n, err, len(ids))
				}
			})
		}
	}}
	older, _ := repoOn(t, monitoredClient(t, s.URI(), monitor))
	older.nameKeysVersion = domain.NameKeysVersion
	if n, err := older.RefreshNameKeys(t.Context()); err != nil || n != 0 {
		t.Errorf("the older pass refreshed %d (%v), want none", n, err)
	}
	for _, id := range ids {
		if v := readKeys(t, db, id).Version; v != newer.nameKeysVersion {
			t.Errorf("%s: version %d, want the newer %d", id, v, newer.nameKeysVersion)
		}
	}
}

// TestRefreshNameKeysResumesAnInterruptedPass stops the pass after its first update, as
// a shutdown would: the next start refreshes the owners left, and only those.
func TestRefreshNameKeysResumesAnInterruptedPass(t *testing.T) {
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var armed atomic.Bool
	monitor := &event.CommandMonitor{Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
		if e.CommandName == "findAndModify" && armed.Load() {
			stop()
		}
	}}
	r, db := repoOn(t, monitoredClient(t, embeddedtest.Start(t).URI(), monitor))
	ids := []string{"o1", "o2", "o3"}
	for _, id := range ids {
		createSøren(t, r, db, id, noVersion)
	}

	armed.Store(true)
	if n, err := r.RefreshNameKeys(ctx); err == nil || n != 1 {
		t.Fatalf("interrupted pass: refreshed %d (%v), want 1 and an error", n, err)
	}
	armed.Store(false)
	if n, err := r.RefreshNameKeys(t.Context()); err != nil || n != 2 {
		t.Fatalf("the next start refreshed %d (%v), want the 2 left", n, err)
	}
	for _, id := range ids {
		if !fresh(t, db, id) {
			t.Errorf("owner %s keeps stale keys", id)
		}
	}
	makeStale(t, db, "o1", r.nameKeysVersion)
	if n, err := r.RefreshNameKeys(t.Context()); err != nil || n != 0 {
		t.Errorf("a start after the complete pass refreshed %d (%v), want none", n, err)
	}
}

// renameSøren renames the owner "renamed", stored at version 1, Sören Ångström.
func renameSøren(t *testing.T, desk *Repository) {
	t.Helper()
	o := testOwner("renamed")
	o.GivenNames, o.FamilyName = "Sören", "Ångström"
	c := registered()
	c.Fields = []string{"given_names", "family_name"}
	if _, err := desk.UpdateOwner(context.Background(), o, 1, c, nil); err != nil {
		t.Errorf("rename: %v", err)
	}
}

// TestRefreshNameKeysPutsBackARename renames an owner between the pass reading it and
// writing its keys: the pass writes the keys of the name it read, finds the rename's
// keys in their place, and puts them back, so the owner is found by its new name.
func TestRefreshNameKeysPutsBackARename(t *testing.T) {
	s := embeddedtest.Start(t)
	desk, db := repoOn(t, embeddedtest.Client(t, s.URI()))
	createSøren(t, desk, db, "renamed", noVersion)
	var rename sync.Once
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "findAndModify" {
			rename.Do(func() { renameSøren(t, desk) })
		}
	}}
	pass, _ := repoOn(t, monitoredClient(t, s.URI(), monitor))
	if n, err := pass.RefreshNameKeys(t.Context()); err != nil || n != 0 {
		t.Errorf("the pass refreshed %d (%v), want none: the rename wrote the keys", n, err)
	}
	want := storedKeys{NameKeys: []string{"soren", "angstrom"}, Version: domain.NameKeysVersion}
	if got := readKeys(t, db, "renamed"); !slices.Equal(got.NameKeys, want.NameKeys) || got.Version != want.Version {
		t.Errorf("keys after the pass met a rename: %v, want %v", got, want)
	}
}

// TestRefreshNameKeysStoppedAfterOverwritingARename: the pass overwrites a rename's
// keys with the keys of the names it read and then stops before it puts them back:
// its context ends (a rolling restart), or its process does (the owner is left as
// that write left it). The owner must not be left with the old name's keys for ever:
// after the next start it is found by its new name.
func TestRefreshNameKeysStoppedAfterOverwritingARename(t *testing.T) {
	for _, tc := range []struct {
		name string
		// killed: the process ends with the first write, and nothing after it is kept.
		killed bool
	}{
		{"context ends", false},
		{"process ends", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := embeddedtest.Start(t)
			desk, db := repoOn(t, embeddedtest.Client(t, s.URI()))
			createSøren(t, desk, db, "renamed", noVersion)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var rename, stop sync.Once
			var afterFirstWrite bson.Raw
			monitor := &event.CommandMonitor{
				Started: func(_ context.Context, e *event.CommandStartedEvent) {
					if e.CommandName == "findAndModify" {
						rename.Do(func() { renameSøren(t, desk) })
					}
				},
				Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
					if e.CommandName == "findAndModify" {
						stop.Do(func() {
							var err error
							afterFirstWrite, err = db.Collection(ownersColl).FindOne(context.Background(), bson.D{{Key: "_id", Value: "renamed"}}).Raw()
							if err != nil {
								t.Errorf("read the owner after the pass's first write: %v", err)
							}
							cancel()
						})
					}
				},
			}
			pass, _ := repoOn(t, monitoredClient(t, s.URI(), monitor))
			// Its one owner read, the pass may end without noticing.
			_, _ = pass.RefreshNameKeys(ctx)
			check := func(when string) {
				want := storedKeys{NameKeys: []string{"soren", "angstrom"}, Version: domain.NameKeysVersion}
				if got := readKeys(t, db, "renamed"); !slices.Equal(got.NameKeys, want.NameKeys) || got.Version != want.Version {
					t.Errorf("keys of the owner renamed Sören Ångström %s: %v, want %v", when, got, want)
				}
				found, _, err := desk.ListOwners(t.Context(), domain.OwnerQuery{NamePrefix: domain.SearchKey("Ångström")})
				if err != nil || len(found) != 1 {
					t.Errorf("search by the new name %s found %d owners (%v), want 1", when, len(found), err)
				}
			}
			if tc.killed {
				if _, err := db.Collection(ownersColl).ReplaceOne(t.Context(), bson.D{{Key: "_id", Value: "renamed"}}, afterFirstWrite); err != nil {
					t.Fatal(err)
				}
			} else {
				// The pass finishes the owner it began.
				check("after the pass")
			}
			if _, err := desk.RefreshNameKeys(t.Context()); err != nil {
				t.Fatalf("the next start's pass: %v", err)
			}
			check("after the next start")
		})
	}
}

// TestRefreshFoldsStoredSeparators: an owner whose keys an older version made from a
// name written with a typographic apostrophe ("O’Brien", version 1) or dash
// ("Anna–Liisa", version 2) kept as typed is not found by reception typing "'" or "-"
// until the next start refreshes its keys under today's rules, which fold them.
func TestRefreshFoldsStoredSeparators(t *testing.T) {
	tests := []struct {
		name, given, family string
		// sortKey and nameKeys are the keys as version made them.
		sortKey  string
		nameKeys bson.A
		version  int
		search   string
	}{
		{name: "apostrophe", given: "Aino", family: "O’Brien", sortKey: "o’brien aino",
			nameKeys: bson.A{"aino", "o’brien", "o", "brien"}, version: 1, search: "O'Brien"},
		{name: "en dash", given: "Anna–Liisa", family: "Virtanen", sortKey: "virtanen anna–liisa",
			nameKeys: bson.A{"anna–liisa", "anna", "liisa", "virtanen"}, version: 2, search: "anna-liisa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, db := testRepo(t)
			ctx := t.Context()
			o := testOwner(tt.name)
			o.GivenNames, o.FamilyName = tt.given, tt.family
			if _, err := r.CreateOwner(ctx, o, nil, registered()); err != nil {
				t.Fatal(err)
			}
			older := bson.D{{Key: "$set", Value: bson.D{
				{Key: "sort_key", Value: tt.sortKey}, {Key: "name_keys", Value: tt.nameKeys},
				{Key: "name_keys_version", Value: tt.version},
			}}}
			if _, err := db.Collection(ownersColl).UpdateOne(ctx, bson.D{{Key: "_id", Value: tt.name}}, older); err != nil {
				t.Fatal(err)
			}
			search := func() int {
				found, _, err := r.ListOwners(ctx, domain.OwnerQuery{NamePrefix: domain.SearchKey(tt.search)})
				if err != nil {
					t.Fatal(err)
				}
				return len(found)
			}
			if n := search(); n != 0 {
				t.Fatalf("found %d owners under version %d keys; the test needs the keys as that version made them", n, tt.version)
			}
			if n, err := r.RefreshNameKeys(ctx); err != nil || n != 1 {
				t.Errorf("the start refreshed %d (%v), want 1", n, err)
			}
			if n := search(); n != 1 {
				t.Errorf("after the refresh, %q found %d owners, want 1", tt.search, n)
			}
		})
	}
}

// TestRefreshNameKeysRenamedByAnOlderReplicaBetweenItsWrites: during a rolling upgrade a
// replica still on the older rules renames the owner between the newer pass's first write
// (keys, version unset) and its second (version only), and the process dies right after
// the second, before it can put the rename back. The owner must not be left with the
// keys the older rules made labelled with the newer version, which no later start would
// refresh: the next start finds it by the new name as the newer rules fold it.
func TestRefreshNameKeysRenamedByAnOlderReplicaBetweenItsWrites(t *testing.T) {
	s := embeddedtest.Start(t)
	older, db := repoOn(t, embeddedtest.Client(t, s.URI()))
	older.nameKeysVersion = domain.NameKeysVersion
	createSøren(t, older, db, "renamed", older.nameKeysVersion)
	var started, succeeded atomic.Int32
	var afterSecondWrite bson.Raw
	monitor := &event.CommandMonitor{
		Started: func(_ context.Context, e *event.CommandStartedEvent) {
			if e.CommandName == "findAndModify" && started.Add(1) == 2 {
				renameSøren(t, older)
				// The keys the older rules made of the new name.
				if _, err := db.Collection(ownersColl).UpdateOne(context.Background(), bson.D{{Key: "_id", Value: "renamed"}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "name_keys", Value: bson.A{"sören", "ångström"}}, {Key: "sort_key", Value: "ångström sören"}}}}); err != nil {
					t.Error(err)
				}
			}
		},
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
			if e.CommandName == "findAndModify" && succeeded.Add(1) == 2 {
				var err error
				afterSecondWrite, err = db.Collection(ownersColl).FindOne(context.Background(), bson.D{{Key: "_id", Value: "renamed"}}).Raw()
				if err != nil {
					t.Error(err)
				}
			}
		},
	}
	newer, _ := repoOn(t, monitoredClient(t, s.URI(), monitor))
	newer.nameKeysVersion = domain.NameKeysVersion + 1
	_, _ = newer.RefreshNameKeys(t.Context())
	// The process died right after the second write.
	if _, err := db.Collection(ownersColl).ReplaceOne(t.Context(), bson.D{{Key: "_id", Value: "renamed"}}, afterSecondWrite); err != nil {
		t.Fatal(err)
	}
	restarted, _ := repoOn(t, embeddedtest.Client(t, s.URI()))
	restarted.nameKeysVersion = domain.NameKeysVersion + 1
	if _, err := restarted.RefreshNameKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := storedKeys{NameKeys: []string{"soren", "angstrom"}, Version: domain.NameKeysVersion + 1}
	if got := readKeys(t, db, "renamed"); !slices.Equal(got.NameKeys, want.NameKeys) || got.Version != want.Version {
		t.Errorf("keys after the next start: %v, want %v (or a version the next start refreshes)", got, want)
	}
}
