package app_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/lillvet/register/services/owner/internal/adapters/mongo"
	"github.com/lillvet/register/services/owner/internal/app"
	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/fieldcrypt"
	"github.com/lillvet/register/services/platform/servicetest"
)

// BenchmarkRetentionSweepNothingDue compares the periodic sweep when nothing is due
// (what it does almost every hour) with the raw driver's query of the same schedule, on
// a register of 500 owners of whom 50 are erased with their names kept for years:
// the sweep reads the small schedule, never the owners.
func BenchmarkRetentionSweepNothingDue(b *testing.B) {
	db, auditor := servicetest.AuditedDB(b, "owner_bench")
	keys, err := fieldcrypt.NewKeyring(map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}, "k1", bytes.Repeat([]byte{2}, 32))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	svc, err := app.New(mongo.New(db, keys), auditor, app.Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "bench", Roles: []auth.Role{auth.RoleClinicManager}})
	for i := range 500 {
		o, err := svc.CreateOwner(ctx, app.CreateOwner{Owner: domain.Owner{
			GivenNames: "Aino", FamilyName: fmt.Sprintf("Omistaja%d", i), Phone: "+358401234567",
			HomeClinic: domain.ClinicSeinajoki,
		}})
		if err != nil {
			b.Fatal(err)
		}
		if i%10 != 0 {
			continue
		}
		if _, err := svc.EraseOwnerData(ctx, app.EraseOwnerData{
			OwnerID: o.ID, RequestID: uuid.NewString(), NameKeptUntil: "2029-11-25",
		}); err != nil {
			b.Fatal(err)
		}
	}
	schedule := db.Collection("retention")
	servicetest.Compare(b, "op",
		servicetest.Path{Name: "driver", Read: func() error {
			cur, err := schedule.Find(context.Background(), bson.M{"due": bson.M{"$lt": "2026-11-25"}})
			if err != nil {
				return err
			}
			var docs []bson.M
			return cur.All(context.Background(), &docs)
		}},
		servicetest.Path{Name: "sweep", Read: func() error {
			removed, err := svc.RunRetentionSweep(ctx)
			if err == nil && len(removed) != 0 {
				err = fmt.Errorf("the sweep removed %v before the day", removed)
			}
			return err
		}},
	)
}

// BenchmarkUpdateOwner compares rectifying an owner's phone (the read, the versioned
// write with its change-history entry, the audit event) with the raw driver's update of
// the same document by _id, on a register of 1,000 owners, taking the owners in turn so
// that no change history grows long. On the embedded store the versioned write must not
// cost a scan of the register (EMBEDDED_STORE.md, narrowing).
func BenchmarkUpdateOwner(b *testing.B) {
	db, auditor := servicetest.AuditedDB(b, "owner_bench")
	keys, err := fieldcrypt.NewKeyring(map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}, "k1", bytes.Repeat([]byte{2}, 32))
	if err != nil {
		b.Fatal(err)
	}
	svc, err := app.New(mongo.New(db, keys), auditor, app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "bench", Roles: []auth.Role{auth.RoleClinicManager}})
	const registered = 1000
	ids := make([]string, registered)
	versions := make([]int64, registered)
	for i := range registered {
		o, err := svc.CreateOwner(ctx, app.CreateOwner{Owner: domain.Owner{
			GivenNames: "Aino", FamilyName: fmt.Sprintf("Omistaja%d", i), Phone: "+358401234567",
			HomeClinic: domain.ClinicSeinajoki,
		}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i], versions[i] = o.ID, o.Version
	}
	owners := db.Collection("owners")
	phones := []string{"+358407654321", "+358401234567"}
	driverTurn, updateTurn := 0, 0
	servicetest.Compare(b, "op",
		servicetest.Path{Name: "driver", Read: func() error {
			i := driverTurn % registered
			_, err := owners.UpdateOne(context.Background(), bson.D{{Key: "_id", Value: ids[i]}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "phone", Value: phones[driverTurn/registered%2]}}}})
			driverTurn++
			return err
		}},
		servicetest.Path{Name: "update", Read: func() error {
			i := updateTurn % registered
			updated, err := svc.UpdateOwner(ctx, app.UpdateOwner{
				ID: ids[i], Owner: domain.Owner{Phone: phones[updateTurn/registered%2]}, Paths: []string{"phone"},
				Version: versions[i], Reason: "asiakkaan pyyntö",
			})
			updateTurn++
			if err != nil {
				return err
			}
			versions[i] = updated.Version
			return nil
		}},
	)
}
