package audittest

import (
	"context"
	"testing"

	"github.com/lillvet/register/services/platform/audit"
)

// fillBound is how many events FillQueue records at most: many times the queue, which
// a running writer cannot drain as fast as they are recorded.
const fillBound = 1_000_000

// FillQueue records events of no call into w's queue until w refuses one, as other
// work filling the queue would: from then on, only the room a call keeps
// (audit.Writer.Reserve) takes events.
func FillQueue(tb testing.TB, w *audit.Writer) {
	tb.Helper()
	other := audit.Event{Action: "owner.read", Resource: "owners/other", SubjectOwnerID: "other", Outcome: audit.OutcomeSuccess}
	for range fillBound {
		if w.Record(context.Background(), other) != nil {
			return
		}
	}
	tb.Fatalf("the audit queue took %d events without refusing one", fillBound)
}
