package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
)

// CodeKeeper is the owner service as the name retention job tells it, with the job's
// own token, that an erased owner's identity code is needed no more.
type CodeKeeper interface {
	// EndIdentityCodeRetention tells that no unpaid invoice needs the erased owner's
	// identity code any more: the owner service drops it (a resend changes nothing).
	// ErrOwnerNotErasedYet when it has not erased the owner yet.
	EndIdentityCodeRetention(ctx context.Context, ownerID string) error
}

// CodesPush is what one run of the job did with the identity codes: the owners
// checked, those whose code it told the owner service to drop, those the owner service
// has not erased yet (Waiting, checked again after notErasedWait) and those it could not
// tell, checked again at the next run. As NamesPush, a run stops at the first owner
// the owner service did not answer for (Stopped), leaving Left owners unchecked.
type CodesPush struct {
	Checked int
	Told    int
	Waiting []string
	Failed  []NamesFailure
	Stopped bool
	Left    int
}

// markCodeBefore marks the owner of restricted visit v to have its identity code
// checked before a payment of one of its invoices is written (see markNamesBefore,
// whose bounds it keeps): the payment may be the last of the owner's unpaid invoices,
// and the mark, stored before, survives a process that dies after the write. It
// answers the context the write runs in, bounded by markedWriteTimeout, and settled,
// to be called once the write returned, which ends that context and marks the owner
// again (markCodeAfter): a write that failed at its deadline may still land.
func (s *Service) markCodeBefore(ctx context.Context, v *domain.Visit) (context.Context, func(), error) {
	writeCtx, cancel := context.WithTimeout(ctx, markedWriteTimeout)
	if err := s.repo.MarkCodePending(writeCtx, s.now().Add(markedWriteTimeout+pendingSlack), v.OwnerID); err != nil {
		cancel()
		return nil, nil, err
	}
	return writeCtx, func() {
		cancel()
		s.markCodeAfter(ctx, v)
	}, nil
}

// markCodeAfter marks the owner of restricted visit v again after a payment on it was
// written, and a retry of the payment does too: a belt for a write that landed after
// the mark before stopped being pending. The write stands, so a failed mark is logged
// at WARN by ids, not answered, and a client's cancellation does not stop it.
func (s *Service) markCodeAfter(ctx context.Context, v *domain.Visit) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markAfterTimeout)
	defer cancel()
	if err := s.repo.MarkCodeCheck(ctx, v.OwnerID); err != nil {
		s.opts.Logger.WarnContext(ctx, "a payment on a restricted visit was written without marking its erased owner's identity code again after it; "+
			"the mark before the write keeps it due until the write's bound has passed, which covers it unless the write landed after that",
			"owner_id", v.OwnerID, "visit_id", v.ID, "error", err)
	}
}

// paysHeld reports whether amending restricted visit current to next pays one of its
// open invoices: the only correction of a restricted visit that changes its owner's
// need of the identity code.
func paysHeld(current, next *domain.Visit) bool {
	return current.Restricted && domain.PaysInvoice(current.Invoices, next.Invoices)
}

// PushCodeRelease tells the owner service to drop the identity code of each erased
// owner marked to be checked whose visits hold no unpaid invoice any more, and whose
// erasure kept the code for one (DESIGN rule 7: it is dropped once no unpaid invoice
// needs it), each call bounded by callTimeout. A mark is cleared once the owner service
// was told, or when there is nothing to tell and no payment marked before it may still
// land (domain.CodeNotice.Pending); an owner not told stays marked for the next run,
// and one not erased in the owner service yet for the first run after notErasedWait.
// The run stops at the first call the owner service does not answer. Any other
// failure (a token of another role, an owner it does not know, its audit failing)
// would fail again at each run, every minute, each refusal audited about the owner:
// the owner is checked again after codeRetryWait, longer after each failure in a row.
func (s *Service) PushCodeRelease(ctx context.Context, keeper CodeKeeper, callTimeout time.Duration) (CodesPush, error) {
	due, err := s.repo.CodeChecksDue(ctx)
	if err != nil {
		return CodesPush{}, fmt.Errorf("identity code release: %w", err)
	}
	var res CodesPush
	for i, n := range due {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if s.now().Before(n.AskAfter) {
			continue
		}
		res.Checked++
		told, err := s.tellCode(ctx, keeper, n.OwnerID, callTimeout)
		switch {
		case errors.Is(err, ErrOwnerNotErasedYet):
			res.Waiting = append(res.Waiting, n.OwnerID)
			if err := s.repo.CodeAskAfter(ctx, n.OwnerID, s.now().Add(notErasedWait), 0); err != nil {
				res.Failed = append(res.Failed, NamesFailure{OwnerID: n.OwnerID, Err: err})
			}
			continue
		case errors.Is(err, apperr.ErrUnavailable):
			res.Failed = append(res.Failed, NamesFailure{OwnerID: n.OwnerID, Err: err})
			res.Stopped, res.Left = true, len(due)-i-1
			return res, nil
		case err != nil:
			res.Failed = append(res.Failed, NamesFailure{OwnerID: n.OwnerID, Err: err})
			if err := s.repo.CodeAskAfter(ctx, n.OwnerID, s.now().Add(codeRetryWait(n.Failures)), n.Failures+1); err != nil {
				res.Failed = append(res.Failed, NamesFailure{OwnerID: n.OwnerID, Err: err})
			}
			continue
		case told:
			res.Told++
		case n.Pending(s.now()):
			// A payment marked before it may still land: checked again at the next run.
			continue
		}
		if err := s.repo.ClearCodeCheck(ctx, n.OwnerID, n.Checks); err != nil {
			res.Failed = append(res.Failed, NamesFailure{OwnerID: n.OwnerID, Err: err})
		}
	}
	return res, nil
}

const (
	// codeRetryFirst is the wait after a check that failed the first time in a row.
	codeRetryFirst = 5 * time.Minute
	// codeRetryMax bounds the wait after a check that failed: a fix of the token's
	// role is taken up within a day.
	codeRetryMax = 24 * time.Hour
)

// codeRetryWait is the wait before an owner's code is checked again after a check
// that failed, when the checks before it failed failures times in a row: doubled each
// time, to codeRetryMax.
func codeRetryWait(failures int64) time.Duration {
	wait := codeRetryFirst
	for range failures {
		if wait >= codeRetryMax {
			break
		}
		wait *= 2
	}
	return min(wait, codeRetryMax)
}

// tellCode tells the owner service that erased owner ownerID's identity code is needed
// no more, when their erasure kept it for an unpaid invoice and none of the visits it
// keeps holds one now (domain.Erasure.HoldsUnpaidInvoice), and reports whether it did.
func (s *Service) tellCode(ctx context.Context, keeper CodeKeeper, ownerID string, callTimeout time.Duration) (bool, error) {
	e, err := s.repo.GetErasure(ctx, ownerID)
	if errors.Is(err, apperr.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !e.CodeKept() {
		return false, nil
	}
	visits, err := s.repo.OwnerVisits(ctx, ownerID)
	if err != nil {
		return false, err
	}
	if e.HoldsUnpaidInvoice(visits) {
		return false, nil
	}
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := keeper.EndIdentityCodeRetention(callCtx, ownerID); err != nil {
		return false, err
	}
	return true, nil
}
