package mongo

import (
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// TestAccessLedger checks the ledger's order and the retry race it tolerates: two
// retries of one record may both append the same request, and the first counts.
func TestAccessLedger(t *testing.T) {
	s := embeddedtest.Start(t)
	c := embeddedtest.Client(t, s.URI())
	repo := New(c.Database("access_ledger"))
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	if l, err := repo.AccessLedger(t.Context(), "o1"); err != nil || len(l.Requests) != 0 || l.OwnerID != "o1" {
		t.Fatalf("no ledger yet: %+v, %v", l, err)
	}
	ids := func(ps []domain.PriorRequest) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.ID
		}
		return out
	}
	for i, id := range []string{"a", "b", "a", "c"} {
		after, err := repo.AddToAccessLedger(t.Context(), "o1", domain.PriorRequest{ID: id, ReceivedAt: at.Add(time.Duration(i) * time.Hour)})
		want := [][]string{{"a"}, {"a", "b"}, {"a", "b"}, {"a", "b", "c"}}[i]
		if err != nil || !slices.Equal(ids(after.Requests), want) || after.OwnerID != "o1" {
			t.Fatalf("add %s: after %v, %v; want %v", id, ids(after.Requests), err, want)
		}
	}
	l, err := repo.AccessLedger(t.Context(), "o1")
	if err != nil || !slices.Equal(ids(l.Requests), []string{"a", "b", "c"}) || !l.Requests[0].ReceivedAt.Equal(at) {
		t.Fatalf("ledger %+v, %v", l, err)
	}
	var raw struct {
		Requests []bson.M `bson:"requests"`
	}
	if err := c.Database("access_ledger").Collection(AccessLedgersCollection).FindOne(t.Context(), bson.M{"_id": "o1"}).Decode(&raw); err != nil || len(raw.Requests) != 4 {
		t.Fatalf("stored %v, %v", raw, err)
	}
}
