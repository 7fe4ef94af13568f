package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/changereason"
)

// writeAttempts bounds the re-reads of an owner whose version moved on while a
// restriction, erasure or sweep was being written: these calls carry no version of
// their own, so a concurrent change is no conflict for the caller, only a reason to
// plan again.
const writeAttempts = 3

func errOwnerErased() error {
	return apperr.Precondition("OWNER_ERASED", "the owner's data has been erased; what is kept stays restricted")
}

func errErasureInProgress() error {
	return apperr.Precondition("ERASURE_IN_PROGRESS",
		"an erasure request started with this restriction and cannot be cancelled: the owner stays restricted and its erasure follows")
}

// SetOwnerRestriction sets or lifts an owner's restriction, with the reason in the
// change history. Setting what is already set changes nothing. An erased owner stays
// restricted, and so does one whose erasure request has started: erasureRequestID
// (with restricted only) names the request this restriction starts, which nothing
// lifts until the erasure has run. Only the erasure job names one, with its job's id
// (a UUID): a request named by anyone else would be completed by no job, leaving the
// owner restricted for good and the text kept in its history as a request's reason.
// Either refusal is audited as denied about the owner, named by id as the port passes
// it, as issued, which is how the owner's access report reads it: the policy let the
// caller in, so no rpc.denied shows the attempt there.
func (s *Service) SetOwnerRestriction(ctx context.Context, id string, restricted bool, reason, erasureRequestID string) (*domain.Owner, error) {
	caller, _ := auth.FromContext(ctx)
	deny := func(refusal audit.Event) error {
		return fmt.Errorf("owner %s: %w", id, audit.Deny(ctx, s.auditor, refusal))
	}
	if erasureRequestID != "" && !caller.Has(auth.RoleErasureJob) {
		return nil, deny(audit.Refusal("owner.restriction.set", ownerResource(id), id, "only the erasure job starts an erasure request"))
	}
	// The erasure job restricts and erases and nothing else: its long-lived token file
	// must not be able to undo a restriction the clinic manager set (an objection).
	if !restricted && !caller.Has(auth.RoleClinicManager) {
		return nil, deny(audit.Refusal("owner.restriction.lift", ownerResource(id), id, "only the clinic manager lifts a restriction"))
	}
	var v apperr.ValidationError
	if reason == "" {
		v.Add("reason", "is required: say why, e.g. the erasure request's id")
	}
	v.CheckText("reason", reason, maxReasonLen)
	if erasureRequestID != "" {
		if !restricted {
			v.Add("erasure_request_id", "is only for a restriction: an erasure request's restriction is never lifted")
		}
		erasureRequestID = v.UUID("erasure_request_id", erasureRequestID)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if erasureRequestID != "" {
		o, _, err := s.startErasure(ctx, id, erasureRequestID, reason)
		if err != nil {
			return nil, fmt.Errorf("restrict owner %s: %w", id, err)
		}
		return o, s.record(ctx, "owner.restriction.set", ownerResource(id), id)
	}
	for range writeAttempts {
		o, err := s.repo.GetOwner(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("restrict owner %s: %w", id, err)
		}
		switch {
		case o.Restricted == restricted:
			return o, s.recordRestriction(ctx, id, restricted)
		case o.Erased:
			return nil, errOwnerErased()
		case len(o.PendingErasures) > 0:
			return nil, errErasureInProgress()
		}
		updated, err := s.repo.SetRestriction(ctx, id, restricted, o.Version, s.change(ctx, []string{"restricted"}, reason))
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("restrict owner %s: %w", id, err)
		}
		return updated, s.recordRestriction(ctx, id, restricted)
	}
	return nil, fmt.Errorf("restrict owner %s: changed concurrently %d times: %w", id, writeAttempts, apperr.ErrUnavailable)
}

// recordRestriction audits a restriction set or lifted as its own action, so that the
// owner's access log never reads a lift as their processing being restricted.
func (s *Service) recordRestriction(ctx context.Context, id string, restricted bool) error {
	if restricted {
		return s.record(ctx, "owner.restriction.set", ownerResource(id), id)
	}
	return s.record(ctx, "owner.restriction.lift", ownerResource(id), id)
}

// EraseOwnerData is the input of EraseOwnerData.
type EraseOwnerData struct {
	OwnerID           string
	RequestID         string
	NameKeptUntil     string
	IdentityKeptUntil string
}

// EraseOwnerData erases what no law requires to keep of an owner and restricts the
// rest until the given days (domain.PlanErasure). A retry with the same request id
// answers the first result and changes nothing.
//
// Its first step records the request as pending (startErasure), unless the erasure
// job's restriction did already, so that from then on no lift comes between it and
// the owner's erasure: an erasure request cannot be cancelled, and a lift it would
// overrule, or one landing while it anonymises the patients, would tell staff the
// owner is free while its erasure goes on.
func (s *Service) EraseOwnerData(ctx context.Context, in EraseOwnerData) ([]domain.Disposition, error) {
	today := domain.Today(s.opts.Now(), s.opts.Location)
	var v apperr.ValidationError
	// A UUID, the form of the erasure job's ids, since "erasure request <id>" is kept in
	// the owner's and its patients' histories after the erasure as the service's own
	// reason: free text there would outlive the erasure's scrub.
	if in.RequestID == "" {
		v.Add("request_id", "is required: the erasure request's id, a UUID")
	} else {
		in.RequestID = v.UUID("request_id", in.RequestID)
	}
	req := domain.ErasureRequest{ID: in.RequestID}
	req.NameKeptUntil = keptUntil(in.NameKeptUntil, "name_kept_until", today, &v)
	req.IdentityKeptUntil = keptUntil(in.IdentityKeptUntil, "identity_code_kept_until", today, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	started := false
	for range writeAttempts {
		answer, done, err := s.repo.ErasureAnswer(ctx, in.OwnerID, in.RequestID)
		if err != nil {
			return nil, fmt.Errorf("erase owner %s: %w", in.OwnerID, err)
		}
		if done {
			// The stored answer stands, but a patient may have come under the owner since
			// (a registration or transfer whose taking back failed): the retry covers it,
			// as nothing else would.
			if _, err := s.coverLatePatients(ctx, in.OwnerID, changereason.Erasure(in.RequestID)); err != nil {
				return nil, fmt.Errorf("erase owner %s: %w", in.OwnerID, err)
			}
			return answer, s.record(ctx, "owner.erase", ownerResource(in.OwnerID), in.OwnerID)
		}
		if !started {
			_, wrote, err := s.startErasure(ctx, in.OwnerID, in.RequestID, changereason.Erasure(in.RequestID))
			if err != nil {
				return nil, fmt.Errorf("erase owner %s: %w", in.OwnerID, err)
			}
			if wrote {
				if err := s.record(ctx, "owner.restriction.set", ownerResource(in.OwnerID), in.OwnerID); err != nil {
					return nil, err
				}
			}
			started = true
		}
		o, patients, err := s.ownerWithPatients(ctx, in.OwnerID, in.RequestID)
		if err != nil {
			return nil, fmt.Errorf("erase owner %s: %w", in.OwnerID, err)
		}
		plan := domain.PlanErasure(o, patients, req, today)
		erased, answer, err := s.repo.ApplyErasure(ctx, o, plan, s.change(ctx, plan.Fields, changereason.Erasure(in.RequestID)), in.RequestID)
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("erase owner %s: %w", in.OwnerID, err)
		}
		// A patient written under the owner after the listing above, whose taking back
		// failed or read the owner before it was marked erased, is covered here; one
		// written after this reads the owner erased and covers itself (see unregister
		// and untransfer).
		if _, err := s.coverPatientsOf(ctx, erased, changereason.Erasure(in.RequestID)); err != nil {
			return nil, fmt.Errorf("erase owner %s: %w", in.OwnerID, err)
		}
		return answer, s.record(ctx, "owner.erase", ownerResource(in.OwnerID), in.OwnerID)
	}
	return nil, fmt.Errorf("erase owner %s: changed concurrently %d times: %w", in.OwnerID, writeAttempts, apperr.ErrUnavailable)
}

// startErasure records erasure request requestID as pending on owner id, restricting
// it (with reason in its history) unless it is restricted already, in one update
// conditioned on the version read: a lift read before it fails on that version, or on
// the request, and one read after it finds the request and is refused. Restricted
// before the erasure lists the owner's patients, a registration or transfer checks
// the owner again after its write and takes the write back when it finds the
// restriction, so a patient written under the owner after the listing cannot stay
// active under the erased owner. Recorded already, or answered already (the job's
// restriction repeated after its erasure ran: nothing would remove the request
// again), it changes nothing; it answers whether it wrote.
func (s *Service) startErasure(ctx context.Context, id, requestID, reason string) (*domain.Owner, bool, error) {
	for range writeAttempts {
		o, err := s.repo.GetOwner(ctx, id)
		if err != nil {
			return nil, false, err
		}
		if slices.Contains(o.PendingErasures, requestID) {
			return o, false, nil
		}
		if _, answered, err := s.repo.ErasureAnswer(ctx, id, requestID); err != nil || answered {
			return o, false, err
		}
		started, err := s.repo.StartErasure(ctx, o, requestID, s.change(ctx, []string{"restricted"}, reason))
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("start erasure request: %w", err)
		}
		return started, true, nil
	}
	return nil, false, fmt.Errorf("start erasure request: changed concurrently %d times: %w", writeAttempts, apperr.ErrUnavailable)
}

// coverLatePatients covers the patients under owner id, when it is erased, that no
// erasure covered yet (domain.PlanLatePatients), with reason in their histories. It
// answers the plan it applied.
func (s *Service) coverLatePatients(ctx context.Context, id, reason string) (domain.ErasurePlan, error) {
	o, err := s.repo.GetOwner(ctx, id)
	if err != nil {
		return domain.ErasurePlan{}, err
	}
	return s.coverPatientsOf(ctx, o, reason)
}

// coverPatientsOf is coverLatePatients for the owner o as read; changed since, it is
// read again.
func (s *Service) coverPatientsOf(ctx context.Context, o *domain.Owner, reason string) (domain.ErasurePlan, error) {
	for range writeAttempts {
		plan, err := s.coverPatientsOnce(ctx, o, reason)
		if !errors.Is(err, apperr.ErrConflict) {
			return plan, err
		}
		if o, err = s.repo.GetOwner(ctx, o.ID); err != nil {
			return domain.ErasurePlan{}, err
		}
	}
	return domain.ErasurePlan{}, fmt.Errorf("cover the patients that came under the erased owner: changed concurrently %d times: %w", writeAttempts, apperr.ErrUnavailable)
}

func (s *Service) coverPatientsOnce(ctx context.Context, o *domain.Owner, reason string) (domain.ErasurePlan, error) {
	if !o.Erased {
		return domain.ErasurePlan{}, nil
	}
	patients, err := s.repo.OwnerPatients(ctx, o.ID)
	if err != nil {
		return domain.ErasurePlan{}, err
	}
	plan := domain.PlanLatePatients(o, patients)
	if plan.Patients == 0 {
		return plan, nil
	}
	// No request id: the owner's own document, and its erasures' answers, stay as
	// they are.
	_, plan.Dispositions, err = s.repo.ApplyErasure(ctx, o, plan, s.change(ctx, nil, reason), "")
	if err != nil {
		return domain.ErasurePlan{}, fmt.Errorf("cover the patients that came under the erased owner: %w", err)
	}
	return plan, nil
}

func keptUntil(raw, field, today string, v *apperr.ValidationError) string {
	day, err := domain.ParseKeptUntil(raw, today)
	if err != nil {
		v.Add(field, err.Error())
	}
	return day
}

// ownerWithPatients reads the owner and counts the patients an erasure (requestID) or
// the sweep (empty) covers.
func (s *Service) ownerWithPatients(ctx context.Context, id, requestID string) (*domain.Owner, int, error) {
	o, err := s.repo.GetOwner(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	patients, err := s.repo.OwnerPatients(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	return o, domain.CoveredPatients(patients, requestID), nil
}

// RunRetentionSweep anonymises the names, addresses and patients, and drops the
// identity codes, that erasures kept until a day now past (domain.PlanSweep). A sweep
// that stopped halfway is completed by the next. Then it covers the patients left
// active under erased owners (domain.PlanLatePatients): a taking back that failed, or a
// process that died between a write and its second check, leaves them, and no erasure
// retry may come to cover them. It answers what it removed, summed per record class.
func (s *Service) RunRetentionSweep(ctx context.Context) ([]domain.Disposition, error) {
	today := domain.Today(s.opts.Now(), s.opts.Location)
	ids, err := s.repo.DueForSweep(ctx, today)
	if err != nil {
		return nil, fmt.Errorf("retention sweep: %w", err)
	}
	removed := map[string]int{}
	// An owner the sweep cannot finish (a conflict, a broken record) must not hold up
	// every owner due after it: the sweep goes on and reports them all.
	var failed []error
	for _, id := range ids {
		if ctx.Err() != nil {
			failed = append(failed, ctx.Err())
			break
		}
		var ds []domain.Disposition
		err := s.withAuditRoom(ctx, func(ctx context.Context) (err error) {
			ds, err = s.sweepOwner(ctx, id, today)
			return err
		})
		if err != nil {
			failed = append(failed, err)
			continue
		}
		for _, d := range ds {
			removed[d.Class] += d.Count
		}
	}
	// After the owners due: those whose names the sweep just removed have their late
	// patients anonymised with the rest, and are not found here.
	late, err := s.repo.OwnersWithLatePatients(ctx)
	if err != nil {
		failed = append(failed, err)
	}
	for _, id := range late {
		if ctx.Err() != nil {
			failed = append(failed, ctx.Err())
			break
		}
		var plan domain.ErasurePlan
		err := s.withAuditRoom(ctx, func(ctx context.Context) (err error) {
			plan, err = s.sweepLatePatients(ctx, id)
			return err
		})
		for _, d := range plan.Dispositions {
			removed[d.Class] += d.Count
		}
		if err != nil {
			failed = append(failed, err)
		}
	}
	if err := errors.Join(failed...); err != nil {
		return summed(removed), fmt.Errorf("retention sweep: %w", err)
	}
	return summed(removed), nil
}

// withAuditRoom runs one owner's step of the sweep, which changes their data and then
// audits it, with room kept in the audit queue for its events (audit.Writer.Reserve), as
// a call has: the queue filling or the store refusing the batches after the change is
// written must not leave it unaudited. Without room, the step does not run.
func (s *Service) withAuditRoom(ctx context.Context, step func(ctx context.Context) error) error {
	ctx, release, err := s.auditor.Reserve(ctx)
	if err != nil {
		return err
	}
	defer release()
	return step(ctx)
}

// sweepLatePatients covers the patients left active under the erased owner id and audits
// it when it covered any.
func (s *Service) sweepLatePatients(ctx context.Context, id string) (domain.ErasurePlan, error) {
	plan, err := s.coverLatePatients(ctx, id, changereason.LateErasure)
	if err != nil {
		return domain.ErasurePlan{}, fmt.Errorf("owner %s: %w", id, err)
	}
	if plan.Patients == 0 {
		return plan, nil
	}
	return plan, s.record(ctx, "owner.retention_sweep", ownerResource(id), id)
}

func (s *Service) sweepOwner(ctx context.Context, id, today string) ([]domain.Disposition, error) {
	for range writeAttempts {
		o, patients, err := s.ownerWithPatients(ctx, id, "")
		if err != nil {
			return nil, fmt.Errorf("owner %s: %w", id, err)
		}
		plan := domain.PlanSweep(o, patients, today)
		_, removed, err := s.repo.ApplyErasure(ctx, o, plan, s.change(ctx, plan.Fields, changereason.RetentionEnded), "")
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("owner %s: %w", id, err)
		}
		if !plan.Changes() {
			return nil, nil
		}
		return removed, s.record(ctx, "owner.retention_sweep", ownerResource(id), id)
	}
	return nil, fmt.Errorf("owner %s: changed concurrently %d times: %w", id, writeAttempts, apperr.ErrUnavailable)
}

func errNamesNotKept() error {
	return apperr.Precondition("NAMES_NOT_KEPT",
		"the erased owner's names are not kept (the erasure kept none, or they were anonymised already): there is nothing to keep longer")
}

func errOwnerNotErased() error {
	return apperr.Precondition("OWNER_NOT_ERASED", "the owner is not erased: no erasure keeps its names to a day")
}

// ExtendNameRetention keeps erased owner id's names, address and patients through
// until, the last day records of the history service name the owner now, when that is
// later than their kept-until day (domain.PlanExtension), recorded as the owner's
// change (changereason.RetentionExtended); the retention schedule moves with it. An
// equal or earlier day changes no data (the history service resends a day it has not
// seen answered), but one later than the day told before is stored as told, so that a
// later erasure request keeps the names at least to it. Every call that answers OK is audited, a resend too, as EraseOwnerData
// audits its retries: one resent because the audit write of the call that moved the
// day failed is then the extension's only event. It answers the day kept to.
func (s *Service) ExtendNameRetention(ctx context.Context, id, until string) (string, error) {
	today := domain.Today(s.opts.Now(), s.opts.Location)
	var v apperr.ValidationError
	if strings.TrimSpace(until) == "" {
		v.Add("name_kept_until", "is required: the last day the history service's records name the owner")
	} else {
		until = keptUntil(until, "name_kept_until", today, &v)
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	for range writeAttempts {
		o, err := s.repo.GetOwner(ctx, id)
		if err != nil {
			return "", fmt.Errorf("extend the names' retention of owner %s: %w", id, err)
		}
		plan, err := domain.PlanExtension(o, until)
		switch {
		case errors.Is(err, domain.ErrOwnerNotErased):
			return "", fmt.Errorf("extend the names' retention of owner %s: %w", id, s.refusedAs(ctx, "owner.retention_extend", id, "OWNER_NOT_ERASED", errOwnerNotErased()))
		case errors.Is(err, domain.ErrNamesNotKept):
			return "", fmt.Errorf("extend the names' retention of owner %s: %w", id, s.refusedAs(ctx, "owner.retention_extend", id, "NAMES_NOT_KEPT", errNamesNotKept()))
		}
		if !plan.Changes() && plan.ExtendNamesUntil == "" {
			return plan.KeepNamesUntil, s.record(ctx, "owner.retention_extend", ownerResource(id), id)
		}
		_, _, err = s.repo.ApplyErasure(ctx, o, plan, s.change(ctx, plan.Fields, changereason.RetentionExtended), "")
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("extend the names' retention of owner %s: %w", id, err)
		}
		return plan.KeepNamesUntil, s.record(ctx, "owner.retention_extend", ownerResource(id), id)
	}
	return "", fmt.Errorf("extend the names' retention of owner %s: changed concurrently %d times: %w", id, writeAttempts, apperr.ErrUnavailable)
}

// EndIdentityCodeRetention drops erased owner id's identity code now, the history
// service having told that no unpaid invoice needs it any more
// (domain.PlanCodeRelease), recorded as the owner's change
// (changereason.RetentionEnded). An owner whose code is gone already changes nothing:
// a resend answers OK. Every call that answers OK is audited, a resend too (one resent
// because the audit write of the call that dropped the code failed is then its only
// event); a refusal of an owner not erased is audited as denied.
func (s *Service) EndIdentityCodeRetention(ctx context.Context, id string) error {
	for range writeAttempts {
		o, err := s.repo.GetOwner(ctx, id)
		if err != nil {
			return fmt.Errorf("end the identity code's retention of owner %s: %w", id, err)
		}
		plan, err := domain.PlanCodeRelease(o)
		if errors.Is(err, domain.ErrOwnerNotErased) {
			return fmt.Errorf("end the identity code's retention of owner %s: %w", id,
				s.refusedAs(ctx, "owner.identity_code_retention_end", id, "OWNER_NOT_ERASED", errCodeOwnerNotErased()))
		}
		if !plan.Changes() {
			return s.record(ctx, "owner.identity_code_retention_end", ownerResource(id), id)
		}
		_, _, err = s.repo.ApplyErasure(ctx, o, plan, s.change(ctx, plan.Fields, changereason.RetentionEnded), "")
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("end the identity code's retention of owner %s: %w", id, err)
		}
		return s.record(ctx, "owner.identity_code_retention_end", ownerResource(id), id)
	}
	return fmt.Errorf("end the identity code's retention of owner %s: changed concurrently %d times: %w", id, writeAttempts, apperr.ErrUnavailable)
}

func errCodeOwnerNotErased() error {
	return apperr.Precondition("OWNER_NOT_ERASED", "the owner is not erased: no erasure keeps its identity code to a day")
}

// refusedAs audits a refusal of the name retention job's call action
// (ExtendNameRetention, EndIdentityCodeRetention) about owner id (rule, its reason) as
// denied before answering it: the call read the owner's record, and tells whether the
// owner is erased and what is kept, so the owner's access report shows it. When the
// audit fails, its failure is the answer, and the job asks again.
func (s *Service) refusedAs(ctx context.Context, action, id, rule string, answer error) error {
	if err := s.auditor.RecordNow(ctx, audit.Refusal(action, ownerResource(id), id, rule)); err != nil {
		return fmt.Errorf("audit a refused %s: %w", action, err)
	}
	return answer
}

// summed lists the removed counts in the order of the record classes.
func summed(removed map[string]int) []domain.Disposition {
	var out []domain.Disposition
	for _, c := range []string{domain.ClassOwnerNameAddress, domain.ClassPatients, domain.ClassIdentityCode} {
		if n := removed[c]; n > 0 {
			out = append(out, domain.Disposition{Class: c, Count: n})
		}
	}
	return out
}
