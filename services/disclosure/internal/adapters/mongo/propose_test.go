package mongo

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// TestProposeAccessAnswerAfterTheFreshProposalIsWithdrawn: the proposal that refused
// this one (another copy's, fresh) is withdrawn, its copy having failed, right after
// the refusing write. The request returned holds this proposal, not received with none
// (which gave the copy no time to state and answered the request in year 1).
func TestProposeAccessAnswerAfterTheFreshProposalIsWithdrawn(t *testing.T) {
	s := embeddedtest.Start(t)
	other := New(embeddedtest.Client(t, s.URI()).Database("access_propose"))
	var withdraw atomic.Pointer[func()]
	monitor := &event.CommandMonitor{Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
		if e.CommandName != "update" && e.CommandName != "findAndModify" {
			return
		}
		if f := withdraw.Swap(nil); f != nil {
			(*f)()
		}
	}}
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()).SetMonitor(monitor))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	repo := New(c.Database("access_propose"))
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	req := domain.AccessRequest{
		ID: "req-1", OwnerID: "o1", ReceivedAt: at.Add(-24 * time.Hour), Status: domain.AccessReceived, CreatedAt: at.Add(-24 * time.Hour),
	}
	if _, err := other.CreateAccessRequest(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ProposeAccessAnswer(t.Context(), req.ID, domain.AnswerProposal{At: at, CopyID: "failing-copy"}, at); err != nil {
		t.Fatal(err)
	}
	f := func() {
		if err := other.WithdrawAccessAnswer(context.Background(), req.ID, "failing-copy"); err != nil {
			t.Error(err)
		}
	}
	withdraw.Store(&f)
	mine := domain.AnswerProposal{At: at.Add(time.Second), CopyID: "this-copy"}
	got, err := repo.ProposeAccessAnswer(t.Context(), req.ID, mine, at.Add(time.Second-2*time.Minute))
	if err != nil || got.Status != domain.AccessReceived || got.Proposal != mine {
		t.Fatalf("proposed: %s with proposal %+v (%v), want received with %+v", got.Status, got.Proposal, err, mine)
	}
}

// TestAnswerAccessRequestRefusesNoTime: a request with no proposal is not answered at
// the zero time, which the guard "no proposal" would otherwise accept.
func TestAnswerAccessRequestRefusesNoTime(t *testing.T) {
	s := embeddedtest.Start(t)
	repo := New(embeddedtest.Client(t, s.URI()).Database("access_answer_zero"))
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	req := domain.AccessRequest{ID: "req-1", OwnerID: "o1", ReceivedAt: at, Status: domain.AccessReceived, CreatedAt: at}
	if _, err := repo.CreateAccessRequest(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if got, err := repo.AnswerAccessRequest(t.Context(), req.ID, time.Time{}); err == nil {
		t.Errorf("answered at the zero time: %s at %v", got.Status, got.AnsweredAt)
	}
	got, err := repo.AccessRequest(t.Context(), req.ID)
	if err != nil || got.Status != domain.AccessReceived || !got.AnsweredAt.IsZero() {
		t.Errorf("the register holds %s at %v (%v), want received", got.Status, got.AnsweredAt, err)
	}
}
