package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
)

// CodeNoCredentials is a step's error code while the job has no valid token: a
// transient failure, since the token file is renewed from outside.
const CodeNoCredentials = "JOB_CREDENTIALS_UNAVAILABLE"

// writeTimeout bounds recording a step's outcome, which runs even while the service
// stops so that a finished call is not done again.
const writeTimeout = 10 * time.Second

// notifyPageSize is the page of the disclosure log read for the recipients to notify.
const notifyPageSize = 200

// Run is the worker: until ctx is done it takes the jobs that are due (new, retried
// after a backoff, or abandoned by a worker whose lease ran out) and advances each as
// far as it can. Several replicas may run it: each transition is a compare-and-set on
// the job's version, so a step is taken by one worker at a time and its result is
// recorded once.
func (e *Erasure) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		case <-t.C:
		}
		e.RunDue(ctx)
		t.Reset(e.opts.Poll)
	}
}

// RunDue advances every job due now, once each.
func (e *Erasure) RunDue(ctx context.Context) {
	jobs, err := e.jobs.DueErasureJobs(ctx, e.now(), dueBatch)
	if err != nil {
		e.opts.Logger.ErrorContext(ctx, "find due erasure jobs", "error", err)
		return
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		e.advance(ctx, j)
	}
}

// advance runs j's steps one after another while one is due.
func (e *Erasure) advance(ctx context.Context, j domain.ErasureJob) {
	for ctx.Err() == nil {
		ran, err := e.step(ctx, &j)
		if errors.Is(err, apperr.ErrConflict) {
			return // another worker moved the job on; it carries on from there
		}
		if err != nil {
			e.opts.Logger.ErrorContext(ctx, "erasure job step", "erasure_request", j.ID, "error", err)
			return
		}
		if !ran {
			return
		}
	}
}

// step takes j's due step, calls its service and records the outcome; of a done job it
// stores the finish event still pending. It reports false when no step was due or the
// job is done.
func (e *Erasure) step(ctx context.Context, j *domain.ErasureJob) (bool, error) {
	if j.FinishEventPending {
		return false, e.auditFinish(ctx, j)
	}
	// The step's outcome is audited after it is stored: room for its event is kept
	// first, so that a step taken is never left unaudited because the audit queue
	// filled or the store began to refuse its batches meanwhile.
	ctx, release, err := e.auditor.Reserve(ctx)
	if err != nil {
		return false, fmt.Errorf("erasure request %s: %w", j.ID, err)
	}
	defer release()
	from := j.Version
	a, err := j.Start(e.now(), e.opts.Lease)
	if errors.Is(err, domain.ErrNoStepDue) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := e.jobs.UpdateErasureJob(ctx, *j, from); err != nil {
		return false, err
	}
	callCtx, err := e.creds.Context(ctx)
	// The job's events name its own identity, its token's; without credentials the
	// attempt that failed for want of them is the service's own.
	as := callCtx
	var res domain.StepResult
	var notify []domain.Notification
	if err != nil {
		e.opts.Logger.WarnContext(ctx, "erasure job credentials", "erasure_request", j.ID, "error", err)
		as = auth.WithIdentity(ctx, auth.SystemIdentity(ServiceName, "erasure job"))
		err = status.Error(codes.Unauthenticated, CodeNoCredentials)
	} else {
		res, err = e.call(callCtx, *j, a)
		if err == nil && j.Last(a) {
			notify, err = e.eraseLateAndNotify(callCtx, j.OwnerID)
		}
	}
	// The outcome is recorded even when ctx ends meanwhile (the service stopping), so
	// that a call that went through is not made again.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	from = j.Version
	if err != nil {
		code, permanent := classify(err)
		if ferr := j.Fail(a, code, permanent, e.now(), e.opts.Backoff, jitter()); ferr != nil {
			return false, ferr
		}
		e.opts.Logger.WarnContext(ctx, "erasure job step failed", "erasure_request", j.ID,
			"step_service", a.Service, "step_action", a.Action, "attempt", a.Number, "code", code, "permanent", permanent)
		if err := e.jobs.UpdateErasureJob(wctx, *j, from); err != nil {
			return false, err
		}
		return true, e.auditStep(as, *j, a, audit.OutcomeFailed, code)
	}
	finished, err := j.Succeed(a, res, notify, e.now())
	if err != nil {
		return false, err
	}
	if err := e.jobs.UpdateErasureJob(wctx, *j, from); err != nil {
		return false, err
	}
	if err := e.auditStep(as, *j, a, audit.OutcomeSuccess, ""); err != nil {
		return false, err
	}
	if finished {
		return false, e.auditFinish(ctx, j)
	}
	return true, nil
}

// auditFinish stores the audit event of j's finish, then clears the job's mark that it
// is pending. The job was stored done with the mark set, so a worker that dies between
// the two leaves it due, and the next one stores the event; the event's id is the
// job's, so an event stored just before the worker died is not stored twice. It is
// stored before the worker goes on, not queued: the record that an erasure was
// completed must survive the process stopping right after.
func (e *Erasure) auditFinish(ctx context.Context, j *domain.ErasureJob) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	as, err := e.creds.Context(ctx)
	if err != nil {
		// The event names the job's identity; without it, the next pass tries again.
		return fmt.Errorf("audit the finish of erasure request %s: %w", j.ID, err)
	}
	ev := erasureEvent("erasure_request.finish", *j)
	ev.ID, ev.Time, ev.Outcome = "erasureRequests/"+j.ID+"/finish", j.FinishedAt, audit.OutcomeSuccess
	if err := e.auditor.RecordNow(as, ev); err != nil {
		return fmt.Errorf("audit %s: %w", ev.Action, err)
	}
	from := j.Version
	j.FinishAudited()
	return e.jobs.UpdateErasureJob(ctx, *j, from)
}

// ClassDisclosurePackages is the record class of the packages this service keeps of
// what it disclosed: erased with the owner, the log entries and their hashes kept.
const ClassDisclosurePackages = "disclosure_packages"

// call runs the step of attempt a on its service. Every call that takes a request id
// gets the job's id, so a repeated call answers the first result.
func (e *Erasure) call(ctx context.Context, j domain.ErasureJob, a domain.Attempt) (domain.StepResult, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.CallTimeout)
	defer cancel()
	switch a.StepKind {
	case domain.StepKind{Service: domain.ServiceOwner, Action: domain.ActionRestrict}:
		return domain.StepResult{}, e.owner.RestrictOwner(ctx, j.OwnerID, j.ID)
	case domain.StepKind{Service: domain.ServiceConsent, Action: domain.ActionRestrict}:
		return domain.StepResult{}, e.consent.RestrictConsent(ctx, j.OwnerID, j.ID)
	case domain.StepKind{Service: domain.ServiceDisclosure, Action: domain.ActionErase}:
		n, err := e.erasePackages(ctx, j.OwnerID)
		return domain.StepResult{Dispositions: []domain.Disposition{{RecordClass: ClassDisclosurePackages, Count: n}}}, err
	case domain.StepKind{Service: domain.ServiceHistory, Action: domain.ActionErase}:
		return e.history.EraseHistory(ctx, j.OwnerID, j.ID)
	case domain.StepKind{Service: domain.ServiceConsent, Action: domain.ActionErase}:
		d, err := e.consent.EraseConsent(ctx, j.OwnerID, j.ID)
		return domain.StepResult{Dispositions: d}, err
	case domain.StepKind{Service: domain.ServiceOwner, Action: domain.ActionErase}:
		h, ok := j.Result(domain.StepKind{Service: domain.ServiceHistory, Action: domain.ActionErase})
		if !ok {
			return domain.StepResult{}, fmt.Errorf("erasure request %s: the owner's erasure ran before the history's", j.ID)
		}
		d, err := e.owner.EraseOwner(ctx, j.OwnerID, j.ID, h.OwnerNamedUntil, h.IdentityCodeNeededUntil)
		return domain.StepResult{Dispositions: d}, err
	default:
		return domain.StepResult{}, status.Errorf(codes.Unimplemented, "unknown step %s %s", a.Service, a.Action)
	}
}

// classify turns a step's failure into the code recorded (the gRPC code name, never
// the message) and whether retrying can help. A service that rejects the request
// (invalid, refused by a rule, not allowed, unknown owner) rejects it again: the job
// is stuck until an operator fixes the cause and resumes it. Anything else (down,
// overloaded, timed out, an internal error, a token being renewed, a service not yet
// upgraded) is retried with backoff, for as long as it takes.
func classify(err error) (name string, permanent bool) {
	c := status.Code(err)
	name = codeName(c)
	switch c {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.PermissionDenied, codes.NotFound,
		codes.AlreadyExists, codes.OutOfRange:
		return name, true
	case codes.Unauthenticated:
		if s, ok := status.FromError(err); ok && s.Message() == CodeNoCredentials {
			return CodeNoCredentials, false
		}
		return name, false
	default:
		return name, false
	}
}

// auditStep records one step's call under the identity as carries.
func (e *Erasure) auditStep(as context.Context, j domain.ErasureJob, a domain.Attempt, outcome, reason string) error {
	ev := erasureEvent("erasure_request.step", j)
	ev.Outcome, ev.Reason = outcome, reason
	ev.Resource += fmt.Sprintf("/steps/%s.%s", a.Service, a.Action)
	return e.auditAs(as, ev)
}

// auditAs records events with the identity as carries (the job's, when it had
// credentials), even while the service stops.
func (e *Erasure) auditAs(as context.Context, events ...audit.Event) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(as), writeTimeout)
	defer cancel()
	return e.audit(ctx, events...)
}

// erasePackages removes the disclosure log's packages about the owner, whose
// restriction the job stored first: a pending disclosure is refused OWNER_RESTRICTED,
// its package removed, and the disclosed ones lose their packages. A disclosure that
// read the owner as not restricted before then logged its entry earlier still, so it
// is found here, pending or disclosed; one that reads the owner after is refused by
// its own read (see Service.settle). Even the owner's own copy, pending, is refused:
// its package is about to be erased. Each refusal is audited as a refused disclosure,
// which its caller, who never had an answer, did not have audited, before the entry is
// made final (auditUnanswered), so that a step retried after a failure, which no
// longer finds the entry pending, has lost none. It answers how many packages it
// removed.
func (e *Erasure) erasePackages(ctx context.Context, ownerID string) (int, error) {
	refusal := domain.Refusal{Reason: domain.RefusalOwnerRestricted}
	refused, err := e.log.RefusePending(ctx, ownerID, refusal, auditUnanswered(ctx, e.auditor))
	if err != nil {
		return 0, err
	}
	erased, err := e.log.ErasePackages(ctx, ownerID)
	return len(refused) + erased, err
}

// eraseLateAndNotify runs at the job's last step: it erases the owner's packages as the
// disclosure erase step did, for a disclosure logged since and left pending (the owner
// service unreachable at its second read, the process stopped), then gathers the
// recipients to notify from the disclosed entries.
func (e *Erasure) eraseLateAndNotify(ctx context.Context, ownerID string) ([]domain.Notification, error) {
	if _, err := e.erasePackages(ctx, ownerID); err != nil {
		return nil, err
	}
	return e.recipientsToNotify(ctx, ownerID)
}

// recipientsToNotify gathers from the disclosure log every recipient that received
// data of the owner (GDPR Art. 19), with what it received, newest first. Refused and
// pending disclosures sent nothing, and the owner's own copies are not a recipient.
func (e *Erasure) recipientsToNotify(ctx context.Context, ownerID string) ([]domain.Notification, error) {
	return e.recipients(ctx, e.ownerLog(ownerID), func(domain.Record) bool { return true }, nil)
}

// logPages is one way of reading the disclosure log page by page, newest first.
type logPages struct {
	// of names what is read, for errors: "owner <id>".
	of   string
	read func(ctx context.Context, pageSize int, pageToken string) (domain.Page[domain.Record], error)
}

// ownerLog reads the log entries about the owner.
func (e *Erasure) ownerLog(ownerID string) logPages {
	return logPages{of: "owner " + ownerID, read: func(ctx context.Context, size int, token string) (domain.Page[domain.Record], error) {
		return e.log.OwnerRecords(ctx, ownerID, size, token)
	}}
}

// recipients gathers the recipients of the disclosures in the log entries log reads
// that keep accepts, and of each only the categories in only (nil: all); a recipient
// that got none of them is left out.
func (e *Erasure) recipients(ctx context.Context, log logPages, keep func(domain.Record) bool, only []domain.Category) ([]domain.Notification, error) {
	var out []domain.Notification
	index := map[string]int{}
	token := ""
	for {
		page, err := log.read(ctx, notifyPageSize, token)
		if err != nil {
			return nil, fmt.Errorf("the recipients of %s: %w", log.of, err)
		}
		for _, rec := range page.Items {
			cats := rec.Categories
			if only != nil {
				cats = domain.Intersect(cats, only)
			}
			if !rec.Disclosed() || rec.RecipientKind == domain.KindDataSubject || len(cats) == 0 || !keep(rec) {
				continue
			}
			i, ok := index[rec.RecipientID]
			if !ok {
				i = len(out)
				index[rec.RecipientID] = i
				out = append(out, domain.Notification{RecipientID: rec.RecipientID, Kind: rec.RecipientKind, LastAt: rec.CreatedAt})
			}
			n := &out[i]
			n.DisclosureIDs = append(n.DisclosureIDs, rec.ID)
			for _, c := range cats {
				if !slices.Contains(n.Categories, c) {
					n.Categories = append(n.Categories, c)
				}
			}
		}
		if token = page.Next; token == "" {
			break
		}
	}
	for i := range out {
		r, err := e.log.Recipient(ctx, out[i].RecipientID)
		if err != nil {
			return nil, fmt.Errorf("the recipients of %s: %w", log.of, err)
		}
		out[i].Name, out[i].Kind, out[i].Contact = r.Name, r.Kind, r.Contact
		out[i].Categories = inCategoryOrder(out[i].Categories)
	}
	return out, nil
}

func inCategoryOrder(cs []domain.Category) []domain.Category {
	var out []domain.Category
	for _, c := range domain.Categories() {
		if slices.Contains(cs, c) {
			out = append(out, c)
		}
	}
	return out
}

// DispositionsOf maps a service's answer (each service's RecordDisposition message has
// the same fields) to the domain's.
func DispositionsOf[D interface {
	GetRecordClass() string
	GetKept() bool
	GetLegalBasis() string
	GetKeptUntil() string
	GetCount() int32
}](in []D) []domain.Disposition {
	out := make([]domain.Disposition, len(in))
	for i, d := range in {
		out[i] = domain.Disposition{
			RecordClass: d.GetRecordClass(), Kept: d.GetKept(), LegalBasis: d.GetLegalBasis(),
			KeptUntil: d.GetKeptUntil(), Count: int(d.GetCount()),
		}
	}
	return out
}

// codeName is the code's name as the gRPC specification writes it (UNAVAILABLE),
// which grpc-go's String does not (Unavailable).
func codeName(c codes.Code) string {
	if n, ok := code.Code_name[int32(c)]; ok && c <= codes.Unauthenticated { //nolint:gosec // bounded by the check beside it
		return n
	}
	return "UNKNOWN"
}
