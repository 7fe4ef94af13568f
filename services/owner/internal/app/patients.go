package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/changereason"
)

// RegisterPatient is the input of RegisterPatient.
type RegisterPatient struct {
	OwnerID   string
	RequestID string
	Patient   domain.Patient
}

// RegisterPatient registers a patient under an owner and allocates its customer number.
func (s *Service) RegisterPatient(ctx context.Context, in RegisterPatient) (*domain.Patient, error) {
	var v apperr.ValidationError
	p := in.Patient
	domain.NormalizePatient(&p, "patient", s.clinicNow(), &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	id, err := newID("patient", in.RequestID)
	if err != nil {
		return nil, err
	}
	p.ID, p.OwnerID = id, in.OwnerID
	if err := s.requireActiveOwner(ctx, in.OwnerID); err != nil {
		return nil, fmt.Errorf("register patient: %w", s.refusedRegistration(ctx, in.RequestID, &p, err))
	}
	registered := s.change(ctx, []string{"created"}, changereason.Registered)
	created, err := s.repo.CreatePatient(ctx, &p, registered)
	if err != nil {
		return nil, fmt.Errorf("register patient: %w", err)
	}
	// A retry is the same registration; a request id reused for another (another
	// animal, the same one under another owner) is refused rather than answered with the
	// first animal (or owner).
	if !domain.SamePatientCreate(created, &p) {
		return nil, s.refuseReusedRequestID(ctx, "patient.create", patientResource(created.ID), created.OwnerID, usedFor(created.Erased, "another patient"))
	}
	// Audited as soon as it is written: taking it back below may come too late (the
	// owner's erasure may reach the patient first), and then the registration stands.
	audited := s.record(ctx, "patient.create", patientResource(created.ID), created.OwnerID)
	// A restriction or erasure of the owner decided after the check above did not see
	// this patient: the registration is taken back, as the check would have refused it
	// (only by the call that wrote it; a retry's earlier patient stays).
	settle, cancel := afterWrite(ctx)
	defer cancel()
	if err := s.recheckOwner(settle, in.OwnerID); err != nil && created.Created.Equal(registered.Time) {
		kept, refusal := s.unregister(settle, created, err)
		if refusal != nil {
			return nil, fmt.Errorf("register patient: %w", errors.Join(refusal, audited))
		}
		return kept, audited
	}
	return created, audited
}

// refusedRegistration answers a registration of p the owner check refused (refusal).
// A retry of one written before the owner was restricted (its answer lost, or one
// kept after its second check) finds that patient: the caller is told it stays
// registered (REGISTRATION_NOT_TAKEN_BACK, after refusal's description), or, when the
// request id was used for another registration or the owner's erasure reached the
// patient, refused as any reused request id. So a refusal alone means nothing was
// registered under the request.
func (s *Service) refusedRegistration(ctx context.Context, requestID string, p *domain.Patient, refusal error) error {
	var refused *apperr.PreconditionError
	if requestID == "" || !errors.As(refusal, &refused) {
		return refusal
	}
	earlier, err := s.repo.EarlierPatientCreate(ctx, p)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return refusal
	case err != nil:
		return fmt.Errorf("%w: %w", apperr.New(apperr.ErrUnavailable,
			"the owner's data is restricted, and whether an earlier call with this request id registered the patient could not be read; retry"), err)
	case !domain.SamePatientCreate(earlier, p):
		return s.refuseReusedRequestID(ctx, "patient.create", patientResource(earlier.ID), earlier.OwnerID, usedFor(earlier.Erased, "another patient"))
	}
	stays := "and stays registered"
	if earlier.OwnerID != p.OwnerID {
		stays = "then transferred to another owner, who keeps it"
	}
	// The answer tells the caller the patient is registered: audited as the refusal it
	// is, against the owner who has the patient now.
	if err := s.auditor.RecordNow(ctx, audit.Refusal("patient.create", patientResource(earlier.ID), earlier.OwnerID, "REGISTRATION_NOT_TAKEN_BACK")); err != nil {
		return fmt.Errorf("audit a refused patient.create: %w", err)
	}
	return keptWrite("register patient", "REGISTRATION_NOT_TAKEN_BACK", "an earlier call with this request id registered it", refusal,
		fmt.Sprintf("the patient %s was registered by an earlier call with this request id, %s", earlier.ID, stays))
}

// unregister deletes a patient just registered, as the owner's check after the write
// failed (cause), and answers the caller's error: cause once it is deleted. A patient
// the owner's erasure reached first is the erasure's, so the registration stands and
// the caller is told so (OWNER_ERASED), never that it was refused. ctx is afterWrite's.
//
// A patient that cannot be deleted (a store error, or rectified meanwhile) under an
// owner erased by now is covered here as the erasure covers the owner's patients: the
// erasure listed them before it was written, its retry answers what it stored, and the
// caller's retry is refused at the first check, so nothing else would. The answer says
// where the patient stays only when it was read: one changed and not read again may
// have gone to another owner.
//
// One that changed since under an owner not erased stays, as a rectification of it
// stands: the caller is told cause, and that it stays (keptRegistration), or that it
// went to another owner, who keeps it, when it was transferred since. When cause is that
// the check could not read the owner, the owner read here decides instead, as nothing
// was taken back: a restricted owner refuses the registration as the check would have
// (its description leading, saying it stays); an active one means it passed the check
// after all, and the patient as it is now is returned with no error. An erasure
// restricts the owner before it lists the patients, so one that comes later finds it.
// One that changed since when that cannot be decided (the patient or the owner cannot
// be read again, twice, or the erased owner's patients cannot be covered) stays all the
// same, and the caller is told so (keptRegistration), never ABORTED by the conflict.
func (s *Service) unregister(ctx context.Context, created *domain.Patient, cause error) (*domain.Patient, error) {
	err := s.repo.DeletePatient(ctx, created.ID)
	if err == nil {
		return nil, errors.Join(cause, s.record(ctx, "patient.create.taken_back", patientResource(created.ID), created.OwnerID))
	}
	erasedMsg := "the registration was written, then covered by the owner's erasure: the patient stays with the owner, restricted or anonymised"
	changed := errors.Is(err, apperr.ErrConflict)
	var current *domain.Patient
	var perr error
	if changed {
		if current, perr = readAgain(func() (*domain.Patient, error) { return s.repo.GetPatient(ctx, created.ID) }); perr == nil && (current.Erased || current.Anonymised) {
			return nil, apperr.Precondition("OWNER_ERASED", erasedMsg)
		}
	}
	moved := current != nil && current.OwnerID != created.OwnerID
	o, gerr := readAgain(func() (*domain.Owner, error) { return s.repo.GetOwner(ctx, created.OwnerID) })
	if gerr == nil && current != nil && (!o.Erased || moved) {
		conflict := err
		var refused *apperr.PreconditionError
		if !errors.As(cause, &refused) {
			conflict = fmt.Errorf("%w (the owner could not be checked: %w)", err, cause)
			if cause = activeOwner(o); cause == nil {
				return current, nil
			}
		}
		why := "it changed since"
		if moved {
			why = "it was transferred to another owner since, who keeps it"
		}
		return nil, keptRegistration(created.ID, conflict, cause, why)
	}
	switch {
	case gerr == nil && o.Erased:
		if _, cerr := s.coverPatientsOf(ctx, o, changereason.LateErasure); cerr != nil {
			s.logLeftActive(ctx, created.OwnerID, created.ID, cerr)
			if changed {
				return nil, keptRegistration(created.ID, err, cause, "the owner was erased meanwhile, and the patient could not be covered as the erasure covers the owner's patients: the next retention sweep covers it")
			}
			return nil, fmt.Errorf("take the registration back: %w", err)
		}
		if changed && current == nil {
			return nil, apperr.Precondition("OWNER_ERASED", "the registration was written, then the owner was erased: the patient stays registered, "+
				"restricted or anonymised with the owner's data unless it was transferred to another owner meanwhile (it could not be read again)")
		}
		return nil, apperr.Precondition("OWNER_ERASED", erasedMsg)
	case !changed:
		return nil, fmt.Errorf("take the registration back: %w", errors.Join(err, gerr))
	case moved:
		return nil, keptRegistration(created.ID, errors.Join(err, gerr), cause, "it was transferred to another owner since, who keeps it; the owner could not be read again")
	case gerr != nil:
		// The owner may have been erased meanwhile, the patient left active under it.
		s.logLeftActive(ctx, created.OwnerID, created.ID, gerr)
		return nil, keptRegistration(created.ID, errors.Join(err, perr, gerr), cause, "the owner could not be read again")
	}
	return nil, keptRegistration(created.ID, errors.Join(err, perr), cause, "the patient could not be read again")
}

// keptRegistration answers a registration refused, or not confirmed, after its write
// (cause) that could not be taken back, as the patient changed since (changed), when
// what was read then does not say more (why): the patient stays registered, and the
// caller is told so with its id (FAILED_PRECONDITION REGISTRATION_NOT_TAKEN_BACK).
// changed and cause are only named in the message, never wrapped: the conflict would
// answer ABORTED and cause UNAVAILABLE, both saying the call may be sent again as it
// was, which with no request id would register the animal a second time. A refusal's
// description leads, so that the caller still learns why the registration was refused.
func keptRegistration(id string, changed, cause error, why string) error {
	return keptWrite("take the registration back", "REGISTRATION_NOT_TAKEN_BACK", changed.Error(), cause,
		fmt.Sprintf("the patient %s was registered, and changed before the registration could be taken back, so it stays registered (%s)", id, why))
}

// keptTransfer answers a transfer refused, or not confirmed, after its write (cause)
// whose taking back conflicted and whose patient could not be read again (read): where
// the patient went since is unknown, so the caller is told that the transfer was not
// taken back (FAILED_PRECONDITION TRANSFER_NOT_TAKEN_BACK), never the store's error,
// which would invite sending the transfer again when it stays written.
func keptTransfer(id string, read, cause error) error {
	return keptWrite("take the transfer back", "TRANSFER_NOT_TAKEN_BACK", read.Error(), cause,
		fmt.Sprintf("the transfer of patient %s was written, and the patient changed before it could be taken back; "+
			"it could not be read again, so the transfer stays unless the patient was moved on since", id)+uncheckedOwner(cause))
}

// supersededTransfer answers a transfer refused, or not confirmed, after its write
// (cause) that another transfer moved on (moves, where to) before it could be taken
// back (changed): nothing was taken back, and sending it again is refused on its
// version (FAILED_PRECONDITION TRANSFER_SUPERSEDED).
func supersededTransfer(changed, moves string, cause error) error {
	return keptWrite("take the transfer back", "TRANSFER_SUPERSEDED", changed, cause,
		"the transfer was written, then superseded: the patient was "+moves+", before the transfer could be taken back"+uncheckedOwner(cause))
}

// uncheckedOwner says why a transfer was to be taken back when cause is no refusal: the
// new owner could not be checked after the write.
func uncheckedOwner(cause error) string {
	var refused *apperr.PreconditionError
	if errors.As(cause, &refused) {
		return ""
	}
	return " (the new owner could not be checked after the write)"
}

// keptWrite answers a write (action) that stays, as it could not be taken back, with
// the precondition code, telling the caller told, led by the refusal's description when
// cause is one. changed and cause are only named in the message, never wrapped (see
// keptRegistration): the precondition decides the answer, as nothing the caller sent
// was stale and sending the write again is not what the caller should do.
func keptWrite(action, code, changed string, cause error, told string) error {
	var refused *apperr.PreconditionError
	if errors.As(cause, &refused) {
		told = refused.Description + ": " + told
	}
	return fmt.Errorf("%s: %s (the second check: %s): %w", action, changed, cause.Error(), apperr.Precondition(code, told))
}

// readAgain answers read, called once more when it fails: after a taking back's write
// conflicted, a read that fails leaves the caller's answer undecided, which one
// passing failure should not do.
func readAgain[T any](read func() (T, error)) (T, error) {
	v, err := read()
	if err != nil {
		v, err = read()
	}
	return v, err
}

// logLeftActive tells the operator that patient patientID may stay active under the
// erased owner ownerID, as covering it failed (cause), until the next retention sweep
// covers it. Ids only: the patient's and owner's data stay out of the log.
func (s *Service) logLeftActive(ctx context.Context, ownerID, patientID string, cause error) {
	s.opts.Logger.ErrorContext(ctx, "a patient may stay active under an erased owner until the next retention sweep covers it",
		"owner_id", ownerID, "patient_id", patientID, "error", cause)
}

// settleTimeout bounds what a write leaves to do once it has landed (afterWrite).
const settleTimeout = 10 * time.Second

// afterWrite is the context of the second check of a registration or transfer and of
// its taking back: once the write has landed they must run to the end whatever the
// caller does, as a deadline hitting right after the write would otherwise fail the
// check and take a valid write back (or stop a due taking back halfway).
func afterWrite(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
}

// recheckOwner is the second check of the owner a patient was just written under.
//
// When the owner cannot be read, whether it was restricted meanwhile is unknown, and
// the write is taken back all the same (the caller is told UNAVAILABLE and may repeat
// it; one that changed since is not taken back, and the caller is told otherwise, see
// unregister and untransfer). An erasure restricts the owner before it lists the
// patients it covers, and it counts on this check to take back whatever its listing
// missed: a patient left under an erased owner stays active and identifiable for good,
// as nothing erases it later, while a write taken back is in the change history and the
// audit log, and is undone only until the caller repeats it.
func (s *Service) recheckOwner(ctx context.Context, ownerID string) error {
	err := s.requireActiveOwner(ctx, ownerID)
	var pe *apperr.PreconditionError
	if err == nil || errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%w: %w", apperr.New(apperr.ErrUnavailable, "the owner could not be checked after the write, so it is taken back"), err)
}

// requireActiveOwner checks that the owner exists and is not restricted.
func (s *Service) requireActiveOwner(ctx context.Context, ownerID string) error {
	o, err := s.repo.GetOwner(ctx, ownerID)
	if err != nil {
		return fmt.Errorf("owner %s: %w", ownerID, err)
	}
	return activeOwner(o)
}

// activeOwner refuses an owner that is restricted.
func activeOwner(o *domain.Owner) error {
	if o.Restricted {
		return apperr.Precondition("OWNER_RESTRICTED", "the owner's data is restricted while an erasure or objection is pending")
	}
	return nil
}

// GetPatient reads one patient.
func (s *Service) GetPatient(ctx context.Context, id string) (*domain.Patient, error) {
	p, err := s.repo.GetPatient(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get patient %s: %w", id, err)
	}
	return p, s.record(ctx, "patient.read", patientResource(id), p.OwnerID)
}

// UpdatePatient is the input of UpdatePatient.
type UpdatePatient struct {
	ID      string
	Patient domain.Patient
	Paths   []string
	Version int64
	Reason  string
}

// UpdatePatient rectifies the fields named in Paths at the expected version.
func (s *Service) UpdatePatient(ctx context.Context, in UpdatePatient) (*domain.Patient, error) {
	var v apperr.ValidationError
	validateReason(in.Reason, &v)
	validatePaths(in.Paths, domain.PatientFields(), &v)
	validateVersion(in.Version, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	current, err := s.repo.GetPatient(ctx, in.ID)
	if err != nil {
		return nil, fmt.Errorf("update patient %s: %w", in.ID, err)
	}
	if err := requireNotErased(current); err != nil {
		return nil, err
	}
	next := *current
	for _, path := range in.Paths {
		applyPatientPath(&next, &in.Patient, path)
	}
	domain.NormalizePatient(&next, "patient", s.clinicNow(), &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.storePatient(ctx, &next, in.Version, in.Paths, in.Reason, "patient.update")
}

func (s *Service) storePatient(ctx context.Context, p *domain.Patient, version int64, paths []string, reason, action string) (*domain.Patient, error) {
	if err := requireNotErased(p); err != nil {
		return nil, err
	}
	updated, err := s.repo.UpdatePatient(ctx, p, version, s.change(ctx, paths, reason))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", action, p.ID, err)
	}
	return updated, s.record(ctx, action, patientResource(p.ID), updated.OwnerID)
}

func applyPatientPath(dst, src *domain.Patient, path string) {
	switch path {
	case "name":
		dst.Name = src.Name
	case "species":
		dst.Species = src.Species
	case "breed":
		dst.Breed = src.Breed
	case "sex":
		dst.Sex = src.Sex
	case "neutered":
		dst.Neutered = src.Neutered
	case "birth_date":
		dst.BirthDate = src.BirthDate
	case "colour":
		dst.Colour = src.Colour
	case "microchip":
		dst.Microchip = src.Microchip
	case "kennel_club_registration":
		dst.KennelClubRegistration = src.KennelClubRegistration
	case "insurance":
		dst.Insurance = src.Insurance
	case "insurance.insurer":
		dst.Insurance.Insurer = src.Insurance.Insurer
	case "insurance.policy_number":
		dst.Insurance.PolicyNumber = src.Insurance.PolicyNumber
	}
}

// ListOwnerPatients lists an owner's patients, paged.
func (s *Service) ListOwnerPatients(ctx context.Context, ownerID string, pageSize int, pageToken string) ([]*domain.Patient, string, error) {
	if _, err := s.repo.GetOwner(ctx, ownerID); err != nil {
		return nil, "", fmt.Errorf("list patients of owner %s: %w", ownerID, err)
	}
	patients, next, err := s.repo.ListOwnerPatients(ctx, ownerID, pageSize, pageToken)
	if err != nil {
		return nil, "", fmt.Errorf("list patients of owner %s: %w", ownerID, err)
	}
	return patients, next, s.record(ctx, "patient.list", ownerResource(ownerID)+"/patients", ownerID)
}

// FindPatientByCustomerNumber finds a patient by its customer number. A number whose
// check digit does not match is invalid input, never "not found".
func (s *Service) FindPatientByCustomerNumber(ctx context.Context, number string) (*domain.Patient, error) {
	n, err := domain.ParseCustomerNumber(number)
	if err != nil {
		var v apperr.ValidationError
		v.Add("customer_number", customerNumberProblem(err))
		return nil, v.Err()
	}
	p, err := s.repo.FindPatientByCustomerNumber(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("find patient by customer number: %w", err)
	}
	return p, s.record(ctx, "patient.find_by_customer_number", patientResource(p.ID), p.OwnerID)
}

// TransferPatient moves a patient to another owner. The customer number and the change
// history stay with the animal; the insurance does not: the policy is the previous
// owner's contract, and its number would otherwise be in the new owner's copy and
// disclosures. The new owner's policy is recorded as any rectification.
func (s *Service) TransferPatient(ctx context.Context, id, newOwnerID string, version int64, reason string) (*domain.Patient, error) {
	var v apperr.ValidationError
	validateReason(reason, &v)
	validateVersion(version, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, err := s.repo.GetPatient(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("transfer patient %s: %w", id, err)
	}
	switch {
	case p.OwnerID == newOwnerID:
		v.Add("new_owner_id", "is already the patient's owner")
		return nil, v.Err()
	case p.Deceased:
		return nil, apperr.Precondition("PATIENT_DECEASED", "a deceased patient cannot be transferred")
	}
	if err := s.requireActiveOwner(ctx, newOwnerID); err != nil {
		return nil, fmt.Errorf("transfer patient %s: %w", id, err)
	}
	if err := requireNotErased(p); err != nil {
		return nil, err
	}
	previous, insurance := p.OwnerID, p.Insurance
	p.OwnerID, p.Insurance = newOwnerID, domain.Insurance{}
	moved, err := s.repo.UpdatePatient(ctx, p, version, s.ownerChange(ctx, previous, newOwnerID, insurance != domain.Insurance{}, reason))
	if err != nil {
		return nil, fmt.Errorf("transfer patient %s: %w", id, err)
	}
	// Audited as soon as it is written: taking it back below may come too late (the
	// new owner's erasure may reach the patient first), and then the transfer stands.
	// The previous owner's data changed too: their access report must show it.
	audited := s.recordAll(ctx, "patient.transfer", patientResource(id), newOwnerID, previous)
	// A restriction or erasure of the new owner decided after the check above did not
	// see this patient: the transfer is taken back, as the check would have refused it.
	settle, cancel := afterWrite(ctx)
	defer cancel()
	if err := s.recheckOwner(settle, newOwnerID); err != nil {
		return nil, fmt.Errorf("transfer patient %s: %w", id, errors.Join(s.untransfer(settle, moved, previous, insurance, err), audited))
	}
	return moved, audited
}

// untransfer moves a patient back to its previous owner, as the new owner's check after
// the write failed (cause), and answers the caller's error: cause once it is taken back.
// The previous owner's insurance, which the transfer cleared, comes back with it unless
// a policy was recorded meanwhile.
// It writes at the version it read, so that it changes nothing written since: a
// rectification meanwhile is kept (read again, then taken back); a patient the new
// owner's erasure reached first is the erasure's, so the transfer stands and the caller
// is told so (OWNER_ERASED), never that it was refused; one transferred on meanwhile
// stays with its next owner (or back with its previous one), and the caller is told
// that the transfer was superseded (TRANSFER_SUPERSEDED), after cause's description
// when it is a refusal. One that changed and cannot be read again (twice) stays where
// it is, and the caller is told so (keptTransfer), the new owner covered if erased. ctx
// is afterWrite's, so that the caller going away does not leave the patient under the
// restricted owner.
//
// The previous owner's erasure may have run while the patient was away (it found the
// patient under the new owner): back under the erased owner, the patient is covered at
// once as that erasure covered the owner's patients, as nothing would later.
func (s *Service) untransfer(ctx context.Context, moved *domain.Patient, previous string, insurance domain.Insurance, cause error) error {
	current := moved
	for range writeAttempts {
		back := *current
		back.OwnerID = previous
		restore := back.Insurance == (domain.Insurance{}) && insurance != (domain.Insurance{})
		if restore {
			back.Insurance = insurance
		}
		_, err := s.repo.UpdatePatient(ctx, &back, current.Version, s.ownerChange(ctx, moved.OwnerID, previous, restore, changereason.Untransfer))
		if err == nil {
			audited := s.recordAll(ctx, "patient.transfer.taken_back", patientResource(moved.ID), moved.OwnerID, previous)
			// The transfer is taken back whatever the covering does, so the caller is
			// told cause all the same, and the operator that the patient may be left
			// active under its previous owner, if erased, until the next retention
			// sweep (or a retry of that owner's erasure) covers it.
			if _, err := s.coverLatePatients(ctx, previous, changereason.LateErasure); err != nil {
				s.logLeftActive(ctx, previous, moved.ID, err)
			}
			return errors.Join(cause, audited)
		}
		if !errors.Is(err, apperr.ErrConflict) {
			return fmt.Errorf("take the transfer back: %w", err)
		}
		if current, err = readAgain(func() (*domain.Patient, error) { return s.repo.GetPatient(ctx, moved.ID) }); err != nil {
			// The new owner may have been erased by an erasure that listed its patients
			// before the write, with the patient left active under it: covered here, as
			// unregister does, and the operator told when that fails.
			if _, cerr := s.coverLatePatients(ctx, moved.OwnerID, changereason.LateErasure); cerr != nil {
				s.logLeftActive(ctx, moved.OwnerID, moved.ID, cerr)
			}
			return keptTransfer(moved.ID, err, cause)
		}
		switch {
		case current.OwnerID != moved.OwnerID:
			// Nothing is taken back: neither the refusal alone nor UNAVAILABLE, saying
			// it was, would tell the caller that the transfer's write stands. Where the
			// patient went decides what the caller is told: a transfer moving it back to
			// its previous owner is not one on to another owner who keeps it.
			left, moves := "the patient was moved to another owner since", "transferred on to another owner, who keeps it"
			if current.OwnerID == previous {
				left, moves = "the patient was moved back to its previous owner since", "moved back to its previous owner since"
			}
			return supersededTransfer(left, moves, cause)
		case current.Erased || current.Anonymised:
			return apperr.Precondition("OWNER_ERASED",
				"the transfer was written, then covered by the new owner's erasure: the patient stays with the new owner, restricted or anonymised")
		}
	}
	return fmt.Errorf("take the transfer back: changed concurrently %d times: %w", writeAttempts, apperr.ErrUnavailable)
}

// ownerChange is the change record of a patient moved from one owner to another: the
// history says from whom to whom (rule 3), as the owner ids name no one by themselves;
// an insurance the move cleared or put back (insurance) is named among the fields,
// its values not kept, as a policy number is the policyholder's data.
func (s *Service) ownerChange(ctx context.Context, from, to string, insurance bool, reason string) domain.Change {
	fields := []string{"owner_id"}
	if insurance {
		fields = append(fields, "insurance")
	}
	c := s.change(ctx, fields, reason)
	c.Values = []domain.ValueChange{{Field: "owner_id", From: from, To: to}}
	return c
}

// MarkPatientDeceased records the patient's death.
func (s *Service) MarkPatientDeceased(ctx context.Context, id, date string, version int64, reason string) (*domain.Patient, error) {
	var v apperr.ValidationError
	validateReason(reason, &v)
	validateVersion(version, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, err := s.repo.GetPatient(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("mark patient %s deceased: %w", id, err)
	}
	recorded := p.DeathDate
	p.DeathDate = domain.ValidateDeathDate(p, date, "death_date", s.clinicNow(), &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	fields := []string{"deceased", "death_date"}
	if p.Deceased {
		// A recorded death's date is corrected like any other data (rule 3).
		if p.DeathDate == recorded {
			return nil, apperr.Precondition("PATIENT_DECEASED", "the patient is already recorded as deceased on that day")
		}
		fields = []string{"death_date"}
	}
	p.Deceased = true
	return s.storePatient(ctx, p, version, fields, reason, "patient.mark_deceased")
}

// PatientChanges lists a patient's change history.
func (s *Service) PatientChanges(ctx context.Context, id string) ([]domain.Change, error) {
	p, err := s.repo.GetPatient(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("patient %s changes: %w", id, err)
	}
	changes, err := s.repo.PatientChanges(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("patient %s changes: %w", id, err)
	}
	return changes, s.record(ctx, "patient.changes.read", patientResource(id), p.OwnerID)
}

func validateVersion(version int64, v *apperr.ValidationError) {
	if version <= 0 {
		v.Add("version", "is required: send the version you read")
	}
}

// requireNotErased refuses to change a patient its owner's erasure kept restricted or
// anonymised.
func requireNotErased(p *domain.Patient) error {
	if p.Erased || p.Anonymised {
		return errOwnerErased()
	}
	return nil
}
