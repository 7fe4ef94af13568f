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

// TestAccessAnswerGuards: each guard of ProposeAccessAnswer, WithdrawAccessAnswer and
// AnswerAccessRequest, on the embedded store: what the register holds after the
// writes of one row, each row failing if the guard it names were removed (or, for the
// rows that write, if the write did not).
func TestAccessAnswerGuards(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	first := domain.AnswerProposal{At: at, CopyID: "copy-1"}
	second := domain.AnswerProposal{At: at.Add(time.Second), CopyID: "copy-2"}
	propose := func(p domain.AnswerProposal, staleBefore time.Time) func(*Repository, string) error {
		return func(r *Repository, id string) error {
			_, err := r.ProposeAccessAnswer(t.Context(), id, p, staleBefore)
			return err
		}
	}
	withdraw := func(copyID string) func(*Repository, string) error {
		return func(r *Repository, id string) error { return r.WithdrawAccessAnswer(t.Context(), id, copyID) }
	}
	answer := func(when time.Time) func(*Repository, string) error {
		return func(r *Repository, id string) error {
			_, err := r.AnswerAccessRequest(t.Context(), id, when)
			return err
		}
	}
	type held struct {
		status   domain.AccessStatus
		answered time.Time
		proposal domain.AnswerProposal
	}
	for _, tc := range []struct {
		name   string
		writes []func(*Repository, string) error
		want   held
	}{
		{"propose with none held", []func(*Repository, string) error{propose(first, at)},
			held{status: domain.AccessReceived, proposal: first}},
		{"propose beside a proposal made at staleBefore (fresh)", []func(*Repository, string) error{propose(first, at), propose(second, at)},
			held{status: domain.AccessReceived, proposal: first}},
		{"propose over a proposal made before staleBefore (stale)", []func(*Repository, string) error{propose(first, at), propose(second, at.Add(time.Millisecond))},
			held{status: domain.AccessReceived, proposal: second}},
		{"propose on an answered request", []func(*Repository, string) error{answer(at), propose(second, at.Add(time.Hour))},
			held{status: domain.AccessAnswered, answered: at}},
		{"withdraw another copy's proposal", []func(*Repository, string) error{propose(first, at), withdraw(second.CopyID)},
			held{status: domain.AccessReceived, proposal: first}},
		{"withdraw the copy's own proposal", []func(*Repository, string) error{propose(first, at), withdraw(first.CopyID)},
			held{status: domain.AccessReceived}},
		{"answer with none proposed", []func(*Repository, string) error{answer(at)},
			held{status: domain.AccessAnswered, answered: at}},
		{"answer at the proposed time", []func(*Repository, string) error{propose(first, at), answer(first.At)},
			held{status: domain.AccessAnswered, answered: first.At}},
		{"answer at another time than the proposal", []func(*Repository, string) error{propose(first, at), answer(second.At)},
			held{status: domain.AccessReceived, proposal: first}},
		{"answer an answered request again", []func(*Repository, string) error{answer(at), answer(second.At)},
			held{status: domain.AccessAnswered, answered: at}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := embeddedtest.Start(t)
			repo := New(embeddedtest.Client(t, s.URI()).Database("access_answer_guards"))
			req := domain.AccessRequest{
				ID: "req-1", OwnerID: "o1", ReceivedAt: at.Add(-24 * time.Hour), Status: domain.AccessReceived, CreatedAt: at.Add(-24 * time.Hour),
			}
			if _, err := repo.CreateAccessRequest(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			for _, write := range tc.writes {
				if err := write(repo, req.ID); err != nil {
					t.Fatal(err)
				}
			}
			stored, err := repo.AccessRequest(t.Context(), req.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := held{stored.Status, stored.AnsweredAt, stored.Proposal}
			if got.status != tc.want.status || !got.answered.Equal(tc.want.answered) ||
				!got.proposal.At.Equal(tc.want.proposal.At) || got.proposal.CopyID != tc.want.proposal.CopyID {
				t.Errorf("the register holds %s answered at %v with proposal %+v, want %s answered at %v with proposal %+v",
					got.status, got.answered, got.proposal, tc.want.status, tc.want.answered, tc.want.proposal)
			}
		})
	}
}
