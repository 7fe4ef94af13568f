package mongo

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/mongox"
)

// singleKindStore is a repository on a fresh store with its indexes.
func singleKindStore(t *testing.T) (*Repository, *mongo.Database) {
	t.Helper()
	db := storeDB(t, "recipients")
	if err := mongox.EnsureIndexes(t.Context(), db, Indexes()); err != nil {
		t.Fatal(err)
	}
	return New(db), db
}

func kennelClub(id string) domain.Recipient {
	return domain.Recipient{ID: id, Name: "Kennelliitto", Kind: domain.KindKennelClub, Country: "FI", Active: true,
		Categories: domain.DefaultCategories(domain.KindKennelClub), CreatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

// takenBy is the id the refusal of an active recipient's kind names, "" when err is not
// that refusal.
func takenBy(err error) string {
	var pe *apperr.PreconditionError
	if !errors.As(err, &pe) || pe.Reason != domain.ReasonRecipientKindTaken || pe.Field != "recipient.kind" {
		return ""
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(pe.Description, "recipient "), " ")
	return id
}

// TestConcurrentCreatesOfASingleKind: eight kennel clubs registered at once; one is
// stored, every other is refused naming it, and one kennel club is active.
func TestConcurrentCreatesOfASingleKind(t *testing.T) {
	repo, db := singleKindStore(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = repo.CreateRecipient(t.Context(), kennelClub(fmt.Sprintf("kc-%d", i)))
		})
	}
	wg.Wait()
	var stored []string
	for i, err := range errs {
		if err == nil {
			stored = append(stored, fmt.Sprintf("kc-%d", i))
		}
	}
	if len(stored) != 1 {
		t.Fatalf("stored %v, want one kennel club; errors %v", stored, errs)
	}
	for i, err := range errs {
		if err != nil && takenBy(err) != stored[0] {
			t.Errorf("kc-%d: %v, want RECIPIENT_KIND_TAKEN naming %s", i, err, stored[0])
		}
	}
	if active, err := db.Collection(RecipientsCollection).CountDocuments(t.Context(), bson.M{"kind": "kennel_club", "active": true}); err != nil || active != 1 {
		t.Errorf("%d active kennel clubs, %v; want 1", active, err)
	}
}

// TestSingleKindRecipients: a second active kennel club is refused naming the first,
// also one stored before the store kept the kind apart; a cat federation is not
// affected; once the first is deactivated another is registered, and a retry of the
// first create still answers the first.
func TestSingleKindRecipients(t *testing.T) {
	repo, db := singleKindStore(t)
	step := func(id string, wantTakenBy string) {
		t.Helper()
		_, err := repo.CreateRecipient(t.Context(), kennelClub(id))
		switch {
		case wantTakenBy == "" && err != nil:
			t.Fatalf("register %s: %v", id, err)
		case wantTakenBy != "" && takenBy(err) != wantTakenBy:
			t.Fatalf("register %s: %v, want RECIPIENT_KIND_TAKEN naming %s", id, err, wantTakenBy)
		}
	}
	old := toRecipientDoc(kennelClub("stored-before"))
	old.SingleActiveKind = ""
	if _, err := db.Collection(RecipientsCollection).InsertOne(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	step("kc-1", "stored-before")
	deactivate := func(id string) {
		t.Helper()
		if _, err := repo.DeactivateRecipient(t.Context(), id, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	deactivate("stored-before")
	step("kc-1", "")
	step("kc-2", "kc-1")
	cat := kennelClub("cf-1")
	cat.Kind, cat.Categories = domain.KindCatFederation, domain.DefaultCategories(domain.KindCatFederation)
	if _, err := repo.CreateRecipient(t.Context(), cat); err != nil {
		t.Fatalf("a cat federation beside the kennel club: %v", err)
	}
	deactivate("kc-1")
	step("kc-2", "")
	first, err := repo.CreateRecipient(t.Context(), kennelClub("kc-1"))
	if err != nil || first.ID != "kc-1" || first.Active {
		t.Errorf("retry of kc-1's create: %+v, %v; want kc-1 as stored, inactive", first, err)
	}
}
