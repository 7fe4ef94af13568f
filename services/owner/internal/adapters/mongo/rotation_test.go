package mongo

import (
	"bytes"
	"encoding/base64"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/fieldcrypt"
)

// TestRotationKeepsCodesUnderANewerKey runs the start-up re-seal of two replicas during
// a switch of the active key (IDENTITY_KEYS lists "old" then "new"): the replica still
// on "old" re-seals nothing and reports the code under "new" as newer, the one on
// "new" moves the code under "old" there, and neither's reveal moves a code back.
func TestRotationKeepsCodesUnderANewerKey(t *testing.T) {
	client := embeddedtest.Client(t, embeddedtest.Start(t).URI())
	spec := "old:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)) +
		",new:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))
	replica := func(active string) *Repository {
		keys, err := fieldcrypt.ParseKeyring(spec, active, bytes.Repeat([]byte{2}, 32))
		if err != nil {
			t.Fatal(err)
		}
		return New(client.Database("owner_repo"), keys)
	}
	oldReplica, newReplica := replica("old"), replica("new")
	ctx := t.Context()
	underOld, underNew := identityCode(t, 500), identityCode(t, 501)
	if _, err := oldReplica.CreateOwner(ctx, testOwner("under-old"), &underOld, registered()); err != nil {
		t.Fatal(err)
	}
	if _, err := newReplica.CreateOwner(ctx, testOwner("under-new"), &underNew, registered()); err != nil {
		t.Fatal(err)
	}
	kid := func(id string) string {
		t.Helper()
		var d ownerDoc
		if err := findOne(ctx, oldReplica.owners, "owner", id, bson.D{{Key: "identity", Value: 1}}, &d); err != nil {
			t.Fatal(err)
		}
		return d.Identity.KID
	}

	for _, step := range []struct {
		name                       string
		run                        func() (int, int, error)
		resealed                   int
		newer                      int
		wantUnderOld, wantUnderNew string
	}{
		{"old replica's pass", func() (int, int, error) { return oldReplica.RotateIdentityKeys(ctx) }, 0, 1, "old", "new"},
		{"new replica's pass", func() (int, int, error) { return newReplica.RotateIdentityKeys(ctx) }, 1, 0, "new", "new"},
		{"old replica's reveal", func() (int, int, error) {
			_, err := oldReplica.IdentityCode(ctx, "under-old")
			return 0, 0, err
		}, 0, 0, "new", "new"},
	} {
		resealed, newer, err := step.run()
		if err != nil || resealed != step.resealed || newer != step.newer {
			t.Errorf("%s: re-sealed %d, left %d under a newer key (%v); want %d and %d", step.name, resealed, newer, err, step.resealed, step.newer)
		}
		if got, gotNew := kid("under-old"), kid("under-new"); got != step.wantUnderOld || gotNew != step.wantUnderNew {
			t.Errorf("%s: codes under %q and %q, want %q and %q", step.name, got, gotNew, step.wantUnderOld, step.wantUnderNew)
		}
	}
}
