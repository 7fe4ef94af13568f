package mongo

import (
	"context"
	"slices"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/mongox"
)

// finds collects the collection and the filter's fields of every find but those by _id
// alone, which need no index.
type finds struct {
	mu    sync.Mutex
	found []findShape
}

type findShape struct {
	collection string
	fields     []string
}

func (f *finds) started(_ context.Context, e *event.CommandStartedEvent) {
	if e.CommandName != "find" {
		return
	}
	coll, _ := e.Command.Lookup("find").StringValueOK()
	filter, _ := e.Command.Lookup("filter").DocumentOK()
	elems, _ := filter.Elements()
	var fields []string
	for _, el := range elems {
		fields = append(fields, el.Key())
	}
	if slices.Equal(fields, []string{"_id"}) {
		return
	}
	f.mu.Lock()
	f.found = append(f.found, findShape{collection: coll, fields: fields})
	f.mu.Unlock()
}

// listed reports whether QueryShapes lists a query whose fields the find filters on
// (those its declared index serves; the index narrows the find to what the others
// then filter).
func listed(q findShape) bool {
	return slices.ContainsFunc(QueryShapes(), func(s mongox.QueryShape) bool {
		if s.Collection != q.collection {
			return false
		}
		for _, k := range s.Keys {
			if !slices.Contains(q.fields, k) {
				return false
			}
		}
		return true
	})
}

// TestRefusePendingReadsAreListed: the reads that find the pending entries to refuse,
// by owner (the erasure job) and by recipient (its deactivation), are queries
// QueryShapes lists, so that TestIndexes checks an index serves them.
func TestRefusePendingReadsAreListed(t *testing.T) {
	refusal := domain.Refusal{Reason: domain.RefusalRecipientInactive}
	for _, tc := range []struct {
		name   string
		refuse func(*Repository) error
	}{
		{name: "by owner", refuse: func(r *Repository) error {
			_, err := r.RefusePending(t.Context(), "o1", refusal, nil)
			return err
		}},
		{name: "by recipient", refuse: func(r *Repository) error {
			_, err := r.RefuseRecipientPending(t.Context(), "r1", refusal, nil)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := &finds{}
			repo := New(monitoredDB(t, "shapes", seen.started))
			if _, err := repo.AppendRecord(t.Context(), pendingRecord("p1", "o1")); err != nil {
				t.Fatal(err)
			}
			if err := tc.refuse(repo); err != nil {
				t.Fatal(err)
			}
			if len(seen.found) == 0 {
				t.Fatal("no find but by _id seen")
			}
			for _, q := range seen.found {
				if !listed(q) {
					t.Errorf("a find on %s by %v is not in QueryShapes: no index is checked to serve it", q.collection, q.fields)
				}
			}
		})
	}
}
