package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
)

// managerOnlyKinds are the recipients only the clinic manager discloses to: a
// subcontractor processes on the clinic's behalf, a decision of the controller rather
// than a customer's request at the desk (DESIGN rule 8).
var managerOnlyKinds = []domain.Kind{domain.KindSubcontractor}

// Disclose runs one disclosure request: validated, checked against the recipient and
// the owner's consent now, logged (refused ones too, but for the subcontractor's rule,
// REQUEST_ID_REUSED and a retry of a disclosed entry refused now, which are audited
// only: see replay), and
// returned with its package. A refusal is the domain's precondition error. A retry
// with the same request id returns the first result, package or refusal; one that
// finds the first still pending refuses it NOT_COMPLETED (see replay), answered
// ABORTED: the caller starts over under a new request id.
//
// The package is logged pending, and the legal basis checked once more before the entry
// is made final (see basisNow): gathering the package may take seconds, in which the
// owner may withdraw the consent, the recipient be deactivated or the owner restricted,
// and every disclosure rests on the basis at the moment it is made (DESIGN rule 5). So
// a disclosure racing the owner's erasure ends either refused, or disclosed before the
// erasure's restriction, where the erasure finds it: the erasure job's restriction
// precedes its refusal of the owner's pending entries, and the entry precedes that
// second check, so either the job finds the entry pending or the check finds the owner
// restricted (see settle); a recipient's deactivation likewise (see
// DeactivateRecipient). A consent withdrawn between the consent service's answer and
// the write that makes the entry disclosed is not seen: nothing closes that gap across
// the two services, so the basis is the one read at the last check.
func (s *Service) Disclose(ctx context.Context, req domain.DisclosureRequest) (domain.Record, error) {
	if err := validate(&req); err != nil {
		return domain.Record{}, err
	}
	id, err := newID("disclosure", req.RequestID)
	if err != nil {
		return domain.Record{}, err
	}
	// The recipient's rule comes first: a retry answers with the first package, which
	// only those who may disclose to the recipient may have.
	r, err := s.repo.Recipient(ctx, req.RecipientID)
	if err != nil {
		return domain.Record{}, err
	}
	caller, _ := auth.FromContext(ctx)
	if slices.Contains(managerOnlyKinds, r.Kind) && !caller.Has(auth.RoleClinicManager) {
		// The policy let the caller in for the other kinds, so this refusal is audited
		// here, with the owner it was about: it belongs in their access report.
		rule := fmt.Sprintf("only the clinic manager discloses to a %s", r.Kind)
		return domain.Record{}, audit.Deny(ctx, s.auditor, audit.Refusal("disclosure.create", recipientResource(r.ID), req.OwnerID, rule))
	}
	if req.RequestID != "" {
		if first, err := s.repo.Record(ctx, id); err == nil {
			return s.replay(ctx, first, req)
		} else if !errors.Is(err, apperr.ErrNotFound) {
			return domain.Record{}, err
		}
	}
	status, err := s.owners.Status(ctx, req.OwnerID)
	if err != nil {
		return domain.Record{}, err
	}
	if !status.Exists {
		return domain.Record{}, apperr.New(apperr.ErrNotFound, "owner %s not found", req.OwnerID)
	}
	outcome, err := s.evaluate(ctx, r, req, status.Restricted)
	if err != nil {
		return domain.Record{}, err
	}
	rec := domain.Record{
		ID: id, RecipientID: r.ID, RecipientKind: r.Kind, OwnerID: req.OwnerID, PatientIDs: req.PatientIDs,
		Requested:  &domain.Requested{PatientIDs: slices.Clone(req.PatientIDs)},
		Categories: outcome.Categories, CaseReference: req.CaseReference, Refusal: outcome.Refusal,
		Basis: outcome.Basis, ConsentEntryID: outcome.ConsentEntryID,
		RequestedBy: caller.Subject, RequestedByRoles: caller.RoleNames(), RequestedByName: caller.Name,
		RequestedPurpose: auth.Purpose(ctx), CreatedAt: s.now().UTC().Truncate(time.Millisecond),
	}
	if rec.Refusal != nil {
		return s.refuse(ctx, rec, req)
	}
	if err := s.pack(ctx, &rec, req.PatientIDs); err != nil {
		return domain.Record{}, err
	}
	rec.Pending = true
	stored, err := s.repo.AppendRecord(ctx, rec)
	if err != nil {
		return domain.Record{}, err
	}
	if loggedByAnother(stored, rec) {
		// A concurrent call logged first under the same request id: answer as its
		// retry.
		return s.replay(ctx, stored, req)
	}
	now, err := s.basisNow(ctx, req)
	if err != nil {
		return s.notCompleted(ctx, stored, err)
	}
	return s.settle(ctx, stored, now)
}

// notCompleted refuses this call's pending entry NOT_COMPLETED when the legal basis
// could not be checked again after the entry was stored (checkErr), and answers it
// ABORTED. Passing checkErr on (the owner or consent service's UNAVAILABLE, which tells
// the caller to try the same call again) would have the caller resend it under the same
// request id, which finds the entry pending and refuses it: a retry answered as a
// refusal. When the refusal cannot be written either, checkErr is answered and the entry
// stays pending for a retry or, in the end, the retention sweep.
func (s *Service) notCompleted(ctx context.Context, pending domain.Record, checkErr error) (domain.Record, error) {
	refusal := domain.Outcome{Refusal: &domain.Refusal{Reason: domain.RefusalNotCompleted}}
	final, won, err := s.finalize(ctx, pending.ID, refusal)
	if err != nil {
		return domain.Record{}, fmt.Errorf("%w (refuse the pending disclosure: %w)", checkErr, err)
	}
	return s.settled(ctx, pending, final, won, refusal.Refusal)
}

// settle makes a pending entry final and answers with it. now is the outcome of this
// call's own check of the legal basis after the entry was stored (see Disclose): no
// refusal, and the entry becomes disclosed on the basis and consent entry that check
// read, by the write that decides it, unless the owner's erasure, which restricts the
// owner first, the recipient's deactivation, a retry or the retention sweep has
// refused it meanwhile; a refusal, and it becomes refused. Whichever call made the entry final,
// this one answers what it says, and a disclosed entry only as a retry of it would be
// answered: refused when this call's check refuses (see replay). A disclosed entry
// hands out the package this call holds, the one stored with the entry, which the
// owner's erasure may have removed from the log since. When the basis cannot be checked
// the call refuses the entry NOT_COMPLETED instead (see notCompleted).
func (s *Service) settle(ctx context.Context, pending domain.Record, now domain.Outcome) (domain.Record, error) {
	final, won, err := s.finalize(ctx, pending.ID, now)
	if err != nil {
		return domain.Record{}, err
	}
	return s.settled(ctx, pending, final, won, now.Refusal)
}

// settled answers the call that settled pending with refusal (or none), final being
// the entry FinalizeRecord made and won whether this call decided it (see settle).
func (s *Service) settled(ctx context.Context, pending, final domain.Record, won bool, refusal *domain.Refusal) (domain.Record, error) {
	if !final.Disclosed() {
		return s.answerAs(asRequester(ctx), final, pendingRefusalEvent(final))
	}
	if !won && refusal != nil {
		return domain.Record{}, s.refuseAgain(ctx, final, *refusal)
	}
	final.Payload = pending.Payload
	return s.answer(ctx, final)
}

// finalize makes a pending entry final as decided, and reports whether this call
// decided it: the first of the calls settling it (the disclosure, its retry, the
// erasure job, the deactivation, the sweep) to claim it decides, and each answers what
// it became.
func (s *Service) finalize(ctx context.Context, id string, decided domain.Outcome) (domain.Record, bool, error) {
	final, won, err := s.repo.FinalizeRecord(ctx, id, decided, nil)
	if err != nil {
		return domain.Record{}, false, err
	}
	if final.Pending {
		return domain.Record{}, false, fmt.Errorf("disclosure %s stayed pending after it was finalized", final.ID)
	}
	return final, won, nil
}

// answer audits a final log entry and answers with it: its package, or its refusal.
// The audit record of a package exists before the package leaves.
func (s *Service) answer(ctx context.Context, final domain.Record) (domain.Record, error) {
	return s.answerAs(ctx, final, disclosureEvent(final))
}

// answerAs answers as answer does, audited as ev. The refusal of an entry this call
// found pending is audited as pendingRefusalEvent: the erasure job or the sweep may find
// the entry pending between a claim refusing it and its apply, or claim it first, and
// audit the refusal under that id too, which stores it once.
func (s *Service) answerAs(ctx context.Context, final domain.Record, ev audit.Event) (domain.Record, error) {
	if final.Refusal != nil {
		if err := s.auditor.Record(ctx, ev); err != nil {
			return domain.Record{}, fmt.Errorf("audit disclosure %s: %w", final.ID, err)
		}
		return final, final.Refusal.Err()
	}
	if err := s.auditor.RecordNow(ctx, ev); err != nil {
		return domain.Record{}, fmt.Errorf("audit disclosure %s: %w", final.ID, err)
	}
	return final, nil
}

// basisNow checks the legal basis of a disclosure of req anew, as the first check did:
// the owner's restriction (an owner gone since counts as restricted), the recipient as
// it stands (active, in the EU/EEA, allowed the categories) and the consent verdict. It
// answers that check's outcome: its refusal, or the basis and consent entry a disclosure
// now rests on. The owner service is asked first: the read that follows the entry's
// logging in a disclosure racing the owner's erasure (see Disclose).
func (s *Service) basisNow(ctx context.Context, req domain.DisclosureRequest) (domain.Outcome, error) {
	status, err := s.owners.Status(ctx, req.OwnerID)
	if err != nil {
		return domain.Outcome{}, err
	}
	r, err := s.repo.Recipient(ctx, req.RecipientID)
	if err != nil {
		return domain.Outcome{}, err
	}
	return s.evaluate(ctx, r, req, status.Restricted || !status.Exists)
}

// evaluate applies the domain's rules. The consent service is asked only when
// everything else allows the disclosure, so a request that fails on the recipient or
// the owner's restriction leaves no consent check behind. A disclosure that needs no
// consent verdict (to a subcontractor) still asks the consent service whether it
// restricts the owner: it keeps a restriction of its own (the erasure job's, the clinic
// manager's), and either service's restriction restricts.
func (s *Service) evaluate(ctx context.Context, r domain.Recipient, req domain.DisclosureRequest, restricted bool) (domain.Outcome, error) {
	pre := domain.Evaluate(r, req, restricted, nil)
	if pre.Refusal == nil && domain.RestrictionRefuses(r) {
		restrictedThere, err := s.consents.Restricted(ctx, req.OwnerID)
		if err != nil {
			return domain.Outcome{}, fmt.Errorf("read the owner's restriction in the consent service: %w", err)
		}
		return domain.Evaluate(r, req, restrictedThere, nil), nil
	}
	if pre.Refusal == nil || pre.Refusal.ConsentReason != domain.ConsentReasonNotChecked {
		return pre, nil
	}
	_, check, _ := domain.LegalBasis(r)
	verdict, err := s.consents.Check(ctx, req.OwnerID, *check)
	if err != nil {
		return domain.Outcome{}, fmt.Errorf("check the legal basis with the consent service: %w", err)
	}
	return domain.Evaluate(r, req, restricted, &verdict), nil
}

// refuse logs a refused disclosure and answers with its reason.
func (s *Service) refuse(ctx context.Context, rec domain.Record, req domain.DisclosureRequest) (domain.Record, error) {
	stored, err := s.repo.AppendRecord(ctx, rec)
	if err != nil {
		return domain.Record{}, err
	}
	if loggedByAnother(stored, rec) {
		// Another call logged first under the same request id: answer as its retry,
		// which refuses the id reused for another request.
		return s.replay(ctx, stored, req)
	}
	return s.answer(ctx, stored)
}

// loggedByAnother reports whether the log entry AppendRecord returned is another call's,
// logged first under the same id, rather than rec: a refusal has no payload hash to
// tell them apart, so the time and the caller count too.
func loggedByAnother(stored, rec domain.Record) bool {
	return stored.PayloadSHA256 != rec.PayloadSHA256 || !stored.CreatedAt.Equal(rec.CreatedAt) || stored.RequestedBy != rec.RequestedBy
}

// replay answers a retried request with the first one's result. A request id reused for
// another request (another recipient, owner, categories, patients or case reference) is
// refused rather than answered with someone else's data, or with a package the caller
// did not ask for as if theirs had been disclosed.
// A pending first call is refused NOT_COMPLETED (see below); a refused one answers its
// refusal. A disclosed one is handed out again only if the legal basis of its package
// holds now (see basisNow): the package went out before, but handing it out again is
// a disclosure too, which rests on the basis at that moment (DESIGN rule 5) — not on a
// consent since withdrawn, to a recipient since deactivated, nor while the owner is
// restricted.
func (s *Service) replay(ctx context.Context, first domain.Record, req domain.DisclosureRequest) (domain.Record, error) {
	if !domain.SameRequest(first, req) {
		return domain.Record{}, s.refuseReusedRequestID(ctx, first, req)
	}
	if first.Pending {
		// Its package was gathered when the first call began, and the data may have
		// changed since (a visit corrected, an animal renamed), while the recipients
		// to tell of a change leave a pending entry out: handing it out now would send
		// data no correction reaches (Art. 19). The caller discloses again under a new
		// request id, which gathers the data as they are then. Only the first call
		// makes its entry disclosed, in the write that decides it: one that stopped
		// after it left the entry disclosed, listed for every correction since, and
		// one that stopped before left no claim that outranks this refusal.
		final, won, err := s.finalize(ctx, first.ID, domain.Outcome{Refusal: &domain.Refusal{Reason: domain.RefusalNotCompleted}})
		if err != nil {
			return domain.Record{}, err
		}
		if won {
			return s.answerAs(asRequester(ctx), final, pendingRefusalEvent(final))
		}
		// The first call, the erasure job or the sweep made it final first: answer as
		// a retry of what it made.
		first = final
	}
	if first.Disclosed() {
		now, err := s.basisNow(ctx, packageRequest(first))
		if err != nil {
			return domain.Record{}, err
		}
		if now.Refusal != nil {
			return domain.Record{}, s.refuseAgain(ctx, first, *now.Refusal)
		}
	}
	return s.answer(ctx, first)
}

// refuseReusedRequestID answers req, whose request id logged first for another request,
// with apperr.RequestIDReused. The refusal is audited as denied about first's owner
// before it is answered, as the owner service's is: the request reached their log
// entry, and their access report shows the attempt.
func (s *Service) refuseReusedRequestID(ctx context.Context, first domain.Record, req domain.DisclosureRequest) error {
	ev := audit.Refusal("disclosure.create", disclosureResource(first.ID), first.OwnerID, "REQUEST_ID_REUSED")
	if err := s.auditor.RecordNow(ctx, ev); err != nil {
		return fmt.Errorf("audit a refused disclosure.create: %w", err)
	}
	if first.RecipientID != req.RecipientID || first.OwnerID != req.OwnerID {
		return apperr.RequestIDReused("a disclosure to another recipient or about another owner")
	}
	return apperr.RequestIDReused("another disclosure to this recipient about this owner (other categories, patients or case reference)")
}

// packageRequest is the request a disclosed entry's package answers, as its legal basis
// is checked again: the entry's recipient, owner and categories.
func packageRequest(disclosed domain.Record) domain.DisclosureRequest {
	return domain.DisclosureRequest{
		RecipientID: disclosed.RecipientID, OwnerID: disclosed.OwnerID, PatientIDs: disclosed.PatientIDs,
		Categories: disclosed.Categories, CaseReference: disclosed.CaseReference,
	}
}

// refuseAgain refuses to hand out a disclosed entry again and audits the refusal; the
// entry, final, stays as it is. It answers the refusal.
func (s *Service) refuseAgain(ctx context.Context, disclosed domain.Record, refusal domain.Refusal) error {
	ev := audit.Refusal("disclosure.create", disclosureResource(disclosed.ID), disclosed.OwnerID, string(refusal.Reason))
	if err := s.auditor.Record(ctx, ev); err != nil {
		return fmt.Errorf("audit disclosure %s: %w", disclosed.ID, err)
	}
	return refusal.Err()
}

func disclosureEvent(rec domain.Record) audit.Event {
	if rec.Refusal != nil {
		return audit.Refusal("disclosure.create", disclosureResource(rec.ID), rec.OwnerID, string(rec.Refusal.Reason))
	}
	return audit.Event{
		Action: "disclosure.create", Resource: disclosureResource(rec.ID), SubjectOwnerID: rec.OwnerID,
		Outcome: audit.OutcomeSuccess,
	}
}

// pack fetches only the allowed categories from the owner and history services and
// sets the record's payload and hash. patientIDs narrows the patients; every one must
// be the owner's.
func (s *Service) pack(ctx context.Context, rec *domain.Record, patientIDs []string) error {
	has := func(cs ...domain.Category) bool {
		return slices.ContainsFunc(cs, func(c domain.Category) bool { return slices.Contains(rec.Categories, c) })
	}
	p := Payload{
		DisclosureID: rec.ID, RecipientID: rec.RecipientID, OwnerID: rec.OwnerID, CaseReference: rec.CaseReference,
		DisclosedAt: rec.CreatedAt.Format(time.RFC3339Nano), Categories: toStrings(rec.Categories),
	}
	if has(domain.CategoryOwnerName, domain.CategoryOwnerContact, domain.CategoryOwnerAddress) {
		o, err := s.owners.Owner(ctx, rec.OwnerID)
		if err != nil {
			return err
		}
		p.Owner = ownerPayload(o, has)
	}
	history := has(domain.CategoryVisitHistory, domain.CategoryMedications, domain.CategoryInvoices, domain.CategoryCommunications)
	if has(domain.CategoryPatientBasics, domain.CategoryMicrochip) || len(patientIDs) > 0 || history {
		all, err := s.owners.Patients(ctx, rec.OwnerID)
		if err != nil {
			return err
		}
		chosen, err := choosePatients(all, patientIDs)
		if err != nil {
			return err
		}
		rec.PatientIDs = make([]string, len(chosen))
		for i, pt := range chosen {
			rec.PatientIDs[i] = pt.ID
		}
		if has(domain.CategoryPatientBasics, domain.CategoryMicrochip) {
			p.Patients = patientsPayload(chosen, has)
		}
	}
	if history {
		h, err := s.history.Export(ctx, rec.OwnerID)
		if err != nil {
			return err
		}
		var only []string // every patient of the owner's history
		if len(patientIDs) > 0 {
			only = rec.PatientIDs
		}
		p.Visits, p.Communications = historyPayload(h, only, has)
		// The owner's history may hold animals since transferred away: the log names
		// every animal the package speaks of, so that a later rectification or erasure
		// of any of them finds this recipient (Art. 19), and which of them it names only
		// there, whose basics did not go out.
		named := len(rec.PatientIDs)
		for _, v := range p.Visits {
			rec.PatientIDs = appendMissing(rec.PatientIDs, v.PatientID)
		}
		for _, c := range p.Communications {
			rec.PatientIDs = appendMissing(rec.PatientIDs, c.PatientID)
		}
		rec.HistoryOnlyPatientIDs = slices.Clone(rec.PatientIDs[named:])
	}
	rec.GatheredAt = s.now().UTC().Truncate(time.Millisecond)
	payload, err := p.Marshal()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(payload)
	rec.Payload, rec.PayloadSHA256 = payload, hex.EncodeToString(sum[:])
	return nil
}

// appendMissing appends id to ids unless it is empty or already there.
func appendMissing(ids []string, id string) []string {
	if id == "" || slices.Contains(ids, id) {
		return ids
	}
	return append(ids, id)
}

// validate checks the request with the domain's rules, naming the request's own fields
// (the domain names them under a prefix), checks that the ids are the register's and
// writes each as the register issued it.
func validate(req *domain.DisclosureRequest) error {
	var v apperr.ValidationError
	domain.ValidateDisclosureRequest(req, "disclosure", &v)
	for i := range v.Violations {
		v.Violations[i].Field = strings.TrimPrefix(v.Violations[i].Field, "disclosure.")
	}
	uuid := func(field string, id *string) {
		if *id != "" {
			*id = v.UUID(field, *id)
		}
	}
	uuid("recipient_id", &req.RecipientID)
	uuid("owner_id", &req.OwnerID)
	for i := range req.PatientIDs {
		uuid(fmt.Sprintf("patient_ids[%d]", i), &req.PatientIDs[i])
	}
	return v.Err()
}

// choosePatients keeps the requested patients in request order, or all when none were
// named; a requested id that is not the owner's patient is bad input.
func choosePatients(all []PatientData, ids []string) ([]PatientData, error) {
	if len(ids) == 0 {
		return all, nil
	}
	var v apperr.ValidationError
	out := make([]PatientData, 0, len(ids))
	for i, id := range ids {
		j := slices.IndexFunc(all, func(p PatientData) bool { return p.ID == id })
		if j < 0 {
			v.Add(fmt.Sprintf("patient_ids[%d]", i), "is not a patient of this owner")
			continue
		}
		out = append(out, all[j])
	}
	return out, v.Err()
}

// Disclosure reads one log entry with its package. A pending one is not found: it is
// not in the log as a disclosure or a refusal until it is final.
func (s *Service) Disclosure(ctx context.Context, id string) (domain.Record, error) {
	rec, err := s.repo.Record(ctx, id)
	if err != nil {
		return domain.Record{}, err
	}
	if rec.Pending {
		return domain.Record{}, apperr.New(apperr.ErrNotFound, "disclosure %s not found", id)
	}
	return rec, s.record(ctx, audit.Event{Action: "disclosure.read", Resource: disclosureResource(id), SubjectOwnerID: rec.OwnerID})
}

// OwnerDisclosures lists the log entries about an owner, newest first.
func (s *Service) OwnerDisclosures(ctx context.Context, ownerID string, pageSize int, pageToken string) (domain.Page[domain.Record], error) {
	page, err := s.repo.OwnerRecords(ctx, ownerID, pageSize, pageToken)
	if err != nil {
		return page, err
	}
	return page, s.record(ctx, audit.Event{Action: "disclosure.list", Resource: "owners/" + ownerID + "/disclosures", SubjectOwnerID: ownerID})
}

// partnerRecipient returns the active recipient the calling partner acts for.
func (s *Service) partnerRecipient(ctx context.Context) (domain.Recipient, error) {
	caller, _ := auth.FromContext(ctx)
	if !caller.Has(auth.RolePartner) || caller.RecipientID == "" {
		return domain.Recipient{}, apperr.New(apperr.ErrPermissionDenied, "only a partner token with a recipient id reads partner disclosures")
	}
	r, err := s.repo.Recipient(ctx, caller.RecipientID)
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && !r.Active) {
		return domain.Recipient{}, apperr.New(apperr.ErrPermissionDenied, "the token's recipient is not an active recipient")
	}
	return r, err
}

// PartnerDisclosures lists what was disclosed to the calling partner's recipient. Each
// owner on the page gets an audit event: the partner read data about them.
func (s *Service) PartnerDisclosures(ctx context.Context, pageSize int, pageToken string) (domain.Page[domain.Record], error) {
	r, err := s.partnerRecipient(ctx)
	if err != nil {
		return domain.Page[domain.Record]{}, err
	}
	page, err := s.repo.RecipientRecords(ctx, r.ID, pageSize, pageToken)
	if err != nil || len(page.Items) == 0 {
		return page, err
	}
	events := make([]audit.Event, len(page.Items))
	for i, rec := range page.Items {
		events[i] = audit.Event{Action: "disclosure.partner.list", Resource: disclosureResource(rec.ID), SubjectOwnerID: rec.OwnerID}
	}
	return page, s.record(ctx, events...)
}

// PartnerDisclosure reads one disclosure made to the calling partner's recipient, with
// its package. Anything else is not found, whether it exists or not; a partner asking for
// another recipient's disclosure is audited as denied, in the owner's access log, since
// an outside system probed for data about them.
func (s *Service) PartnerDisclosure(ctx context.Context, id string) (domain.Record, error) {
	r, err := s.partnerRecipient(ctx)
	if err != nil {
		return domain.Record{}, err
	}
	rec, err := s.repo.Record(ctx, id)
	if err != nil {
		return domain.Record{}, err
	}
	if rec.RecipientID != r.ID {
		refusal := audit.Refusal("disclosure.partner.read", disclosureResource(id), rec.OwnerID, "disclosed to another recipient")
		if err := s.record(ctx, refusal); err != nil {
			return domain.Record{}, err
		}
	}
	if rec.RecipientID != r.ID || !rec.Disclosed() {
		return domain.Record{}, apperr.New(apperr.ErrNotFound, "disclosure %s not found", id)
	}
	return rec, s.record(ctx, audit.Event{Action: "disclosure.partner.read", Resource: disclosureResource(id), SubjectOwnerID: rec.OwnerID})
}

func toStrings[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
