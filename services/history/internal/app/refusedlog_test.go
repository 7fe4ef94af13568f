package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
)

// failsTakingBack fails every removal of a write refused as the owner was erased (a
// withdrawal of amendments, with conflicts, as a visit changed since its read), and,
// with readsFail, every read of a visit once an amendment is written.
type failsTakingBack struct {
	domain.Repository
	readsFail bool
	conflicts bool
	amended   bool
}

func (*failsTakingBack) DeleteMissedVisit(context.Context, string) (bool, error) {
	return false, errCrash
}

func (*failsTakingBack) DeleteUnamendedVisit(context.Context, string) (bool, error) {
	return false, errCrash
}

func (r *failsTakingBack) WithdrawAmendments(_ context.Context, rec *domain.VisitRecord, expected int64) error {
	if r.conflicts {
		return fmt.Errorf("visit %s changed since version %d: %w", rec.Current.ID, expected, apperr.ErrConflict)
	}
	return errCrash
}

func (*failsTakingBack) DeleteCommunication(context.Context, string) error { return errCrash }

func (r *failsTakingBack) AmendVisit(ctx context.Context, id string, expected int64, a domain.Amendment, original, current *domain.Visit) error {
	err := r.Repository.AmendVisit(ctx, id, expected, a, original, current)
	r.amended = err == nil
	return err
}

func (r *failsTakingBack) GetVisit(ctx context.Context, id string) (*domain.VisitRecord, error) {
	if r.readsFail && r.amended {
		return nil, errCrash
	}
	return r.Repository.GetVisit(ctx, id)
}

// TestRefusedWriteLeftStoredIsLogged: a visit recorded once the owner's erasure was
// applied, and missed by it, is retried, corrected, and a communication is recorded
// for the owner; each is refused OWNER_ERASED, and taking the write back (or reading
// the corrected visit again) fails. The caller is told only that the owner was
// erased, so the operator finds the store's failure logged at ERROR with the record's
// id, and nothing of the record's content. So it is when withdrawing the correction
// conflicts at each attempt, as the visit keeps changing.
func TestRefusedWriteLeftStoredIsLogged(t *testing.T) {
	for _, tc := range []struct {
		name      string
		readsFail bool
		conflicts bool
		key       string
		// logged is the error logged with the id.
		logged error
		// call refuses a write about the visit id the erasure missed, answering the
		// id of the record the write was refused for.
		call func(t *testing.T, s *Service, in RecordVisit, id string) (string, error)
	}{
		{"the visit's retry", false, false, "visit_id", errCrash, func(t *testing.T, s *Service, in RecordVisit, id string) (string, error) {
			_, err := s.RecordVisit(as(t, auth.RoleVeterinarian), in)
			return id, err
		}},
		{"a correction, taken back", false, false, "visit_id", errCrash, correctMissed},
		{"a correction, read again", true, false, "visit_id", errCrash, correctMissed},
		{"a correction, the visit changing", false, true, "visit_id", errKeptChanging, correctMissed},
		{"a communication's retry", false, false, "communication_id", errCrash, func(t *testing.T, s *Service, _ RecordVisit, _ string) (string, error) {
			_, err := s.RecordCommunication(as(t, auth.RoleVeterinarian), RecordCommunication{OwnerID: raceOwner, RequestID: "call-1",
				Communication: domain.Communication{Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: "asks about Rex"}})
			id, _ := newID("communication", raceOwner, "call-1")
			return id, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, _, in := visitRecordedAfterErasure(t)
			visits, err := repo.OwnerVisits(t.Context(), raceOwner)
			if err != nil || len(visits) != 1 {
				t.Fatalf("visits %+v (%v)", visits, err)
			}
			var logs bytes.Buffer
			s, err := New(&failsTakingBack{Repository: repo, readsFail: tc.readsFail, conflicts: tc.conflicts}, &slowRegistry{}, nopAuditor{},
				Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			id, err := tc.call(t, s, in, visits[0].ID)
			if !errors.Is(err, errOwnerErased) {
				t.Fatalf("answered %v, want OWNER_ERASED", err)
			}
			lines := loggedAt(t, &logs, "ERROR")
			if !slices.ContainsFunc(lines, func(l map[string]any) bool { return l[tc.key] == id && l["error"] == tc.logged.Error() }) {
				t.Errorf("logged at ERROR %v, want %q with %s %s", lines, tc.logged, tc.key, id)
			}
			for _, text := range []string{"asks about Rex", "Fracture.", in.Visit.Reason} {
				if strings.Contains(logs.String(), text) {
					t.Errorf("the log holds the record's text %q: %s", text, logs.String())
				}
			}
		})
	}
}

// correctMissed corrects the findings of the visit id, answering id.
func correctMissed(t *testing.T, s *Service, _ RecordVisit, id string) (string, error) {
	_, _, err := s.AmendVisit(as(t, auth.RoleVeterinarian), AmendVisit{ID: id, Paths: []string{"findings"}, Version: 1,
		Reason: "seen again", Visit: domain.Visit{Findings: "Fracture."}})
	return id, err
}

// loggedAt returns the JSON log lines at level.
func loggedAt(t *testing.T, logs *bytes.Buffer, level string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.Lines(logs.String()) {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if l["level"] == level {
			lines = append(lines, l)
		}
	}
	return lines
}
