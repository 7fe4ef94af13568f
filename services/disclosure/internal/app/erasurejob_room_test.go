package app_test

import (
	"context"
	"log/slog"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/audit/audittest"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// restrictAndFill is the owner service restricting the owner while other work fills
// the audit queue, between the job's step and the record of its outcome.
type restrictAndFill struct {
	erasers
	fill   func()
	called bool
}

func (r *restrictAndFill) RestrictOwner(context.Context, string, string) error {
	r.called = true
	r.fill()
	return nil
}

// TestErasureStepIsNeverLeftUnaudited: the erasure job takes a step only with room kept
// in the audit queue for the event of its outcome. With the queue full before the pass,
// no step is taken; filled during the step, the step is stored done and its event is
// queued all the same, and stored.
func TestErasureStepIsNeverLeftUnaudited(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fullBefore bool
	}{
		{name: "the queue full before the pass", fullBefore: true},
		{name: "the queue filled during the step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := embeddedtest.Client(t, embeddedtest.Start(t).URI()).Database("erasure_room")
			repo := disclosuremongo.New(db)
			// Not running: what is queued stays queued until the test writes it.
			writer := audit.NewWriter(db, slog.New(slog.DiscardHandler))
			fill := func() { audittest.FillQueue(t, writer) }
			owner := &restrictAndFill{fill: func() {}}
			if tc.fullBefore {
				fill()
			} else {
				owner.fill = fill
			}
			e := app.NewErasure(app.ErasureDeps{
				Jobs: repo, Log: repo, Owner: owner, Consent: erasers{}, History: erasers{},
				Credentials: jobCredentials{}, Auditor: writer,
			}, app.ErasureOptions{})
			j := createJob(t, repo, "0190a0b0-0000-7000-8000-0000000000e3", "0190a0b0-0000-7000-8000-0000000000a3")
			e.RunDue(t.Context())
			got, err := repo.ErasureJob(t.Context(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			stopped, stop := context.WithCancel(t.Context())
			stop()
			if err := writer.Run(stopped); err != nil {
				t.Fatalf("writing the queued events: %v", err)
			}
			audited, err := db.Collection(audit.Collection).CountDocuments(t.Context(),
				bson.M{"action": "erasure_request.step", "subject_owner_id": j.OwnerID})
			if err != nil {
				t.Fatal(err)
			}

			first := got.Steps[0]
			if tc.fullBefore {
				if owner.called || first.State != domain.StepPending || audited != 0 {
					t.Errorf("owner called %v, first step %s, %d step events; want no step taken", owner.called, first.State, audited)
				}
				return
			}
			if first.State != domain.StepDone || audited != 1 {
				t.Errorf("first step %s, %d step events; want it done and its event stored", first.State, audited)
			}
		})
	}
}
