package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	ownermongo "github.com/lillvet/register/services/owner/internal/adapters/mongo"
	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/audit/audittest"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/fieldcrypt"
)

// fillAfterErasure fills the audit queue right after each erasure write, as other calls
// would between the sweep's write and its audit event.
type fillAfterErasure struct {
	domain.Repository
	fill func()
}

func (r *fillAfterErasure) ApplyErasure(ctx context.Context, o *domain.Owner, plan domain.ErasurePlan, c domain.Change, requestID string) (*domain.Owner, []domain.Disposition, error) {
	erased, ds, err := r.Repository.ApplyErasure(ctx, o, plan, c, requestID)
	if err == nil {
		r.fill()
	}
	return erased, ds, err
}

// TestSweepChangesNoOwnerUnaudited: the retention sweep changes an owner only with room
// kept in the audit queue for the change's event. With the queue full before the
// owner's step, the owner is left as it was, for a later run; filled after the change is
// written, the change's event is queued all the same and stored.
func TestSweepChangesNoOwnerUnaudited(t *testing.T) {
	for _, tt := range []struct {
		name       string
		fullBefore bool
	}{
		{name: "the queue full before the owner's step", fullBefore: true},
		{name: "the queue filled after the change is written"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("sweepaudit")
			keys, err := fieldcrypt.NewKeyring(map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}, "k1", bytes.Repeat([]byte{2}, 32))
			if err != nil {
				t.Fatal(err)
			}
			repo := ownermongo.New(db, keys)
			w := audit.NewWriter(db, slog.New(slog.DiscardHandler))
			fill := func() { audittest.FillQueue(t, w) }
			ctx := auth.WithIdentity(t.Context(), auth.Identity{Subject: "mgr", Roles: []auth.Role{auth.RoleClinicManager}})
			plain, err := New(repo, w, Options{})
			if err != nil {
				t.Fatal(err)
			}
			owner := createOwners(t, ctx, plain, "Laine")["Laine"]
			if _, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobOne, NameKeptUntil: "2030-06-30"}); err != nil {
				t.Fatal(err)
			}
			filling := &fillAfterErasure{Repository: repo, fill: func() {}}
			if tt.fullBefore {
				fill()
			} else {
				filling.fill = fill
			}
			sweeper, err := New(filling, w, Options{Now: func() time.Time { return time.Date(2030, 7, 1, 12, 0, 0, 0, time.UTC) }})
			if err != nil {
				t.Fatal(err)
			}
			_, sweepErr := sweeper.RunRetentionSweep(ctx)
			o, err := repo.GetOwner(t.Context(), owner)
			if err != nil {
				t.Fatal(err)
			}
			stopped, stop := context.WithCancel(t.Context())
			stop()
			if err := w.Run(stopped); err != nil {
				t.Fatalf("writing the queued events: %v", err)
			}
			audited, err := db.Collection(audit.Collection).CountDocuments(t.Context(),
				bson.M{"action": "owner.retention_sweep", "subject_owner_id": owner})
			if err != nil {
				t.Fatal(err)
			}

			if tt.fullBefore {
				if !errors.Is(sweepErr, apperr.ErrUnavailable) || o.Anonymised || audited != 0 {
					t.Errorf("sweep: %v, owner anonymised %t, %d events; want UNAVAILABLE and the owner as it was", sweepErr, o.Anonymised, audited)
				}
				return
			}
			if sweepErr != nil || !o.Anonymised || audited != 1 {
				t.Errorf("sweep: %v, owner anonymised %t, %d events; want the owner anonymised and its event stored", sweepErr, o.Anonymised, audited)
			}
		})
	}
}
