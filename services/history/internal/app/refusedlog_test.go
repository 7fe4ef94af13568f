package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
)

// failsTakingBack fails every removal of a write refused as the owner was erased, and,
// with readsFail, every read of a visit once an amendment is written.
type failsTakingBack struct {
	domain.Repository
	readsFail bool
	amended   bool
}

func (*failsTakingBack) DeleteMissedVisit(context.Context, string) (bool, error) {
	return false, errCrash
}

func (*failsTakingBack) DeleteUnamendedVisit(context.Context, string) (bool, error) {
	return false, errCrash
}

func (*failsTakingBack) WithdrawAmendments(context.Context, *domain.VisitRecord, int64) error {
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
// id, and nothing of the record's content.
func TestRefusedWriteLeftStoredIsLogged(t *testing.T) {
	for _, tc := range []struct {
		name      string
		readsFail bool
		key       string
		// call refuses a write about the visit id the erasure missed, answering the
		// id of the record the write was refused for.
		call func(t *testing.T, s *Service, in RecordVisit, id string) (string, error)
	}{
		{"the visit's retry", false, "visit_id", func(t *testing.T, s *Service, in RecordVisit, id string) (string, error) {
			_, err := s.RecordVisit(as(t, auth.RoleVeterinarian), in)
			return id, err
		}},
		{"a correction, taken back", false, "visit_id", correctMissed},
		{"a correction, read again", true, "visit_id", correctMissed},
		{"a communication's retry", false, "communication_id", func(t *testing.T, s *Service, _ RecordVisit, _ string) (string, error) {
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
			s, err := New(&failsTakingBack{Repository: repo, readsFail: tc.readsFail}, &slowRegistry{}, nopAuditor{},
				Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			id, err := tc.call(t, s, in, visits[0].ID)
			if !errors.Is(err, errOwnerErased) {
				t.Fatalf("answered %v, want OWNER_ERASED", err)
			}
			lines := loggedAt(t, &logs, "ERROR")
			if !slices.ContainsFunc(lines, func(l map[string]any) bool { return l[tc.key] == id && l["error"] == errCrash.Error() }) {
				t.Errorf("logged at ERROR %v, want the store's failure with %s %s", lines, tc.key, id)
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
