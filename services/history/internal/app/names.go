package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/retention"
)

// NamesKeeper is the owner service as the name retention job tells it, with the job's
// own token.
type NamesKeeper interface {
	// ExtendNameRetention keeps the erased owner's names through until (never shorter):
	// ErrNamesGone when the owner service keeps them no more, ErrOwnerNotErasedYet
	// when it has not erased the owner yet.
	ExtendNameRetention(ctx context.Context, ownerID string, until retention.Date) error
}

var (
	// ErrNamesGone: the owner service anonymised the owner's names already (or its
	// erasure kept none); telling it again cannot bring them back.
	ErrNamesGone = errors.New("the owner service keeps the owner's names no more")
	// ErrOwnerNotErasedYet: the erasure job's step in the owner service has not run
	// yet; it will, with the erasure's answer, and the day is told after it.
	ErrOwnerNotErasedYet = errors.New("the owner service has not erased the owner yet")
)

// NamesFailure is an owner whose day the job could not tell, or whose names the owner
// service had removed already; Err carries ids and codes only.
type NamesFailure struct {
	OwnerID string
	Err     error
}

// NamesPush is what one run of the name retention job did: the owners checked, those
// whose later day it told, those whose names were gone (told, but too late), those the
// owner service has not erased yet (Waiting, checked again after notErasedWait) and
// those it could not tell, checked again at the next run. A run stops at the first
// owner the owner service did not answer for (Stopped), leaving Left owners unchecked:
// each call would wait out its deadline in turn.
type NamesPush struct {
	Checked int
	Told    int
	Gone    []NamesFailure
	Waiting []string
	Failed  []NamesFailure
	Stopped bool
	Left    int
}

// markNamesBefore marks the names of the owners erased with visits of the patient kept
// to be checked, before a write that may move the animal's last visit: a clinical
// record they keep is held against it, and the owner service keeps their names as
// long. It answers the context the write runs in, bounded by markedWriteTimeout, and
// keeps the marks pending past that bound (pendingUntil): a job run between the mark
// and the write computes the day without the visit, but cannot clear the marks while
// the write may still land, so a run after the bound finds the visit written, or never
// to be. A process that dies after the write is covered the same way. One marked for
// a write that then failed only costs a check or two.
func (s *Service) markNamesBefore(ctx context.Context, patientID string) (context.Context, context.CancelFunc, error) {
	// The bound starts first, so that the marks stay pending past the write's deadline
	// however long the mark takes.
	writeCtx, cancel := context.WithTimeout(ctx, markedWriteTimeout)
	until := s.now().Add(markedWriteTimeout + pendingSlack)
	owners, err := s.repo.ErasedOwnersOf(writeCtx, patientID)
	if err == nil {
		err = s.repo.MarkNamesPending(writeCtx, until, owners...)
	}
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return writeCtx, cancel, nil
}

const (
	// markedWriteTimeout bounds a write marked before it (markNamesBefore), from
	// before its mark: a single document's write.
	markedWriteTimeout = 10 * time.Second
	// pendingSlack keeps a mark pending past its write's bound by as much again as the
	// clocks of the replicas may be apart, and as a store may take to finish a write
	// after the client stopped waiting.
	pendingSlack = time.Minute
	// markAfterTimeout bounds the mark after a write, which no longer follows the
	// caller's cancellation.
	markAfterTimeout = 10 * time.Second
	// notErasedWait is how long an owner the owner service has not erased yet waits
	// to be checked again: each refusal is audited about the owner (in their access
	// report), and an erasure job whose owner step is stuck would be asked each run.
	notErasedWait = time.Hour
)

// markNamesAfter marks the owners of markNamesBefore again after the write of visit
// visitID of the patient, and a retry of the write does too: a belt, since the mark
// before stays pending until the write's bound has passed, kept for a write that
// lands later than that (a store finishing it after the client stopped waiting, clocks
// of the replicas further apart than pendingSlack). The write stands, so the call is
// not failed for it: the write is still settled with an erasure and audited, and a
// client's cancellation does not stop the mark, bounded by markAfterTimeout instead.
// A mark that failed is logged at WARN by ids.
func (s *Service) markNamesAfter(ctx context.Context, patientID, visitID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markAfterTimeout)
	defer cancel()
	owners, err := s.repo.ErasedOwnersOf(ctx, patientID)
	if err == nil {
		err = s.repo.MarkNamesCheck(ctx, owners...)
	}
	if err != nil {
		s.opts.Logger.WarnContext(ctx, "a visit was written without marking its animal's erased owners again for the name retention job after it; "+
			"the mark before the write keeps them due until the write's bound has passed, which covers it unless the write landed after that",
			"patient_id", patientID, "visit_id", visitID, "error", err)
	}
}

// PushNameRetention tells the owner service the later day each erased owner marked to
// be checked is named until now (the name retention job's run): computed as the sweep
// holds the records (ownerNamedUntil), told when later than the day last told (see
// domain.NamesNotice.ToldDay), each call bounded by callTimeout, and the run stops at
// the first call the owner service does not answer, so that a stuck owner service holds
// it up for one deadline. A mark is cleared once the day needs no telling, was told, or
// the names were gone, and no write marked before it may still land
// (domain.NamesNotice.Pending); an owner not told stays marked for the next run, and
// one not erased in the owner service yet for the first run after notErasedWait.
func (s *Service) PushNameRetention(ctx context.Context, keeper NamesKeeper, callTimeout time.Duration) (NamesPush, error) {
	due, err := s.repo.NamesChecksDue(ctx)
	if err != nil {
		return NamesPush{}, fmt.Errorf("name retention: %w", err)
	}
	var res NamesPush
	for i, n := range due {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if s.now().Before(n.AskAfter) {
			continue
		}
		res.Checked++
		told, err := s.tellNames(ctx, keeper, n, callTimeout)
		switch {
		case errors.Is(err, ErrNamesGone):
			res.Gone = append(res.Gone, NamesFailure{OwnerID: n.OwnerID, Err: err})
		case errors.Is(err, ErrOwnerNotErasedYet):
			res.Waiting = append(res.Waiting, n.OwnerID)
			if err := s.repo.NamesAskAfter(ctx, n.OwnerID, s.now().Add(notErasedWait)); err != nil {
				res.Failed = append(res.Failed, NamesFailure{OwnerID: n.OwnerID, Err: err})
			}
			continue
		case errors.Is(err, apperr.ErrUnavailable):
			res.Failed = append(res.Failed, NamesFailure{OwnerID: n.OwnerID, Err: err})
			res.Stopped, res.Left = true, len(due)-i-1
			return res, nil
		case err != nil:
			res.Failed = append(res.Failed, NamesFailure{OwnerID: n.OwnerID, Err: err})
			continue
		case told:
			res.Told++
		}
		if err == nil && n.Pending(s.now()) {
			// A write marked before it may still move the day: checked again at the
			// next run.
			continue
		}
		if err := s.repo.ClearNamesCheck(ctx, n.OwnerID, n.Checks); err != nil {
			res.Failed = append(res.Failed, NamesFailure{OwnerID: n.OwnerID, Err: err})
		}
	}
	return res, nil
}

// tellNames tells the owner service the day n's owner is named until now, when it is
// later than the day told, and reports whether it did.
func (s *Service) tellNames(ctx context.Context, keeper NamesKeeper, n domain.NamesNotice, callTimeout time.Duration) (bool, error) {
	e, err := s.repo.GetErasure(ctx, n.OwnerID)
	if errors.Is(err, apperr.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	until, err := s.ownerNamedUntil(ctx, e)
	if err != nil {
		return false, err
	}
	// No day told (no request answered yet, or its answer kept nothing): the owner
	// service keeps no names by this service's word, and the erasure job passes the
	// answer on.
	if told := n.ToldDay(e); told.IsZero() || !until.After(told) {
		return false, nil
	}
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := keeper.ExtendNameRetention(callCtx, n.OwnerID, until); err != nil {
		return false, err
	}
	return true, s.repo.NamesTold(ctx, n.OwnerID, until, len(e.Requests))
}

// ownerNamedUntil is the last day anything of erased owner e is kept, read now: the
// owner's visits for the animals of those e holds, and each animal's last visit (by any
// owner) read once (see domain.Erasure.NamedUntil).
func (s *Service) ownerNamedUntil(ctx context.Context, e *domain.Erasure) (retention.Date, error) {
	if len(e.Visits) == 0 {
		return retention.Date{}, nil
	}
	visits, err := s.repo.OwnerVisits(ctx, e.OwnerID)
	if err != nil {
		return retention.Date{}, err
	}
	patientOf := make(map[string]string, len(visits))
	for _, v := range visits {
		patientOf[v.ID] = v.PatientID
	}
	last := lastVisits{}
	return e.NamedUntil(patientOf, func(patientID string) (retention.Date, error) {
		t, err := last.of(ctx, s.repo, patientID)
		if err != nil {
			return retention.Date{}, err
		}
		return s.opts.Retention.PatientRecordsUntil(t, s.opts.Location), nil
	})
}

// NoteErasedPatientsOfAll notes the patients of the kept visits of every erased owner
// whose erasure was applied without noting them, and marks each such owner to be
// checked: a visit of their animals would mark nobody, and a visit recorded before the
// marks may hold a record longer already. Such an erasure was applied by a release
// before the notes, an old replica during a rolling upgrade too, so it compares the
// erasures' ids with those noted (one read of the ids of each) and reads the visits
// only of the owners not noted: every erasure of this release notes its own patients
// (restrictPass) and is stored as noted once applied (applyErasure). An owner is
// stored as noted once its patients are noted and it is marked, so that a run that
// stopped does the rest again, and only once its erasure is applied: until then an old
// replica may still plan visits of it without noting them. It answers the owners it
// went through.
func (s *Service) NoteErasedPatientsOfAll(ctx context.Context) (int, error) {
	owners, err := s.repo.ErasedOwners(ctx)
	if err != nil {
		return 0, err
	}
	noted, err := s.repo.NotedErasures(ctx)
	if err != nil {
		return 0, err
	}
	done := make(map[string]bool, len(noted))
	for _, id := range noted {
		done[id] = true
	}
	n := 0
	for _, id := range owners {
		if done[id] {
			continue
		}
		if err := s.noteErasedPatients(ctx, id); err != nil {
			return n, fmt.Errorf("owner %s: %w", id, err)
		}
		n++
	}
	return n, nil
}

func (s *Service) noteErasedPatients(ctx context.Context, ownerID string) error {
	e, err := s.repo.GetErasure(ctx, ownerID)
	if err != nil {
		return err
	}
	if len(e.Visits) > 0 {
		visits, err := s.repo.OwnerVisits(ctx, ownerID)
		if err != nil {
			return err
		}
		current := make(map[string]*domain.Visit, len(visits))
		for _, v := range visits {
			current[v.ID] = v
		}
		if err := s.repo.NoteErasedPatients(ctx, ownerID, heldPatients(e, current)); err != nil {
			return err
		}
		if err := s.repo.MarkNamesCheck(ctx, ownerID); err != nil {
			return err
		}
	}
	if !e.Applied {
		return nil
	}
	return s.repo.SetErasureNoted(ctx, ownerID)
}
