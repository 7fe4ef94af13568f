package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/changereason"
)

// CreateOwner is the input of CreateOwner.
type CreateOwner struct {
	RequestID    string
	Owner        domain.Owner
	IdentityCode string
}

// CreateOwner registers an owner; a retry of the same request with the same request id
// returns the first one.
func (s *Service) CreateOwner(ctx context.Context, in CreateOwner) (*domain.Owner, error) {
	var v apperr.ValidationError
	o := in.Owner
	domain.NormalizeOwner(&o, ownerField, &v)
	code := s.parseIdentityCode(in.IdentityCode, "identity_code", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	id, err := newID("owner", in.RequestID)
	if err != nil {
		return nil, err
	}
	o.ID = id
	created, err := s.repo.CreateOwner(ctx, &o, code, s.change(ctx, []string{"created"}, changereason.Registered))
	if err != nil {
		return nil, fmt.Errorf("create owner: %w", err)
	}
	// A retry is the same request; a request id reused for anything else (another
	// person of the same name included) is refused rather than answered with the first
	// person's data as if this one were registered.
	if !domain.SameOwnerCreate(created, &o) {
		return nil, s.refuseReusedRequestID(ctx, "owner.create", ownerResource(created.ID), created.ID, usedFor(created.Erased, "another owner"))
	}
	return created, s.record(ctx, "owner.create", ownerResource(created.ID), created.ID)
}

// GetOwner reads one owner.
func (s *Service) GetOwner(ctx context.Context, id string) (*domain.Owner, error) {
	o, err := s.repo.GetOwner(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get owner %s: %w", id, err)
	}
	return o, s.record(ctx, "owner.read", ownerResource(id), id)
}

// UpdateOwner is the input of UpdateOwner.
type UpdateOwner struct {
	ID           string
	Owner        domain.Owner
	Paths        []string
	Version      int64
	Reason       string
	IdentityCode string
}

// UpdateOwner rectifies the fields named in Paths at the expected version.
func (s *Service) UpdateOwner(ctx context.Context, in UpdateOwner) (*domain.Owner, error) {
	var v apperr.ValidationError
	validateReason(in.Reason, &v)
	validatePaths(in.Paths, domain.OwnerFields(), &v)
	validateVersion(in.Version, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	current, err := s.repo.GetOwner(ctx, in.ID)
	if err != nil {
		return nil, fmt.Errorf("update owner %s: %w", in.ID, err)
	}
	if current.Erased {
		return nil, errOwnerErased()
	}
	next := *current
	for _, p := range in.Paths {
		applyOwnerPath(&next, &in.Owner, p)
	}
	normalizeUpdatedOwner(&next, current, in.Paths, &v)
	var code *domain.IdentityCode
	if slices.Contains(in.Paths, "identity_code") {
		code = s.parseIdentityCode(in.IdentityCode, "identity_code", &v)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	updated, err := s.repo.UpdateOwner(ctx, &next, in.Version, s.change(ctx, in.Paths, in.Reason), code)
	if err != nil {
		return nil, fmt.Errorf("update owner %s: %w", in.ID, err)
	}
	return updated, s.record(ctx, "owner.update", ownerResource(in.ID), in.ID)
}

// ownerField is the prefix of the owner's fields in the violations of an update.
const ownerField = "owner"

// normalizeUpdatedOwner normalises next, current with the update's paths applied, and
// adds its violations to v, except those current already had on a field the update
// leaves alone: a value stored under laxer rules (a country code since retired, a phone
// number with an extension) is not the caller's to fix when rectifying another field,
// and it is kept as stored. A violation the update causes, even on a field it leaves
// alone (a postal code that no longer fits a changed country), is the caller's.
func normalizeUpdatedOwner(next, current *domain.Owner, paths []string, v *apperr.ValidationError) {
	var found, stored apperr.ValidationError
	domain.NormalizeOwner(next, ownerField, &found)
	before := *current
	domain.NormalizeOwner(&before, ownerField, &stored)
	for _, fv := range found.Violations {
		field := strings.TrimPrefix(fv.Field, ownerField+".")
		if slices.Contains(stored.Violations, fv) && !updates(paths, field) {
			applyOwnerPath(next, current, field)
			continue
		}
		v.Add(fv.Field, fv.Description)
	}
}

// updates reports whether one of paths sets field or a field it is part of.
func updates(paths []string, field string) bool {
	return slices.ContainsFunc(paths, func(p string) bool { return p == field || strings.HasPrefix(field, p+".") })
}

func applyOwnerPath(dst, src *domain.Owner, path string) {
	switch path {
	case "given_names":
		dst.GivenNames = src.GivenNames
	case "family_name":
		dst.FamilyName = src.FamilyName
	case "address":
		dst.Address = src.Address
	case "address.street":
		dst.Address.Street = src.Address.Street
	case "address.postal_code":
		dst.Address.PostalCode = src.Address.PostalCode
	case "address.city":
		dst.Address.City = src.Address.City
	case "address.country":
		dst.Address.Country = src.Address.Country
	case "phone":
		dst.Phone = src.Phone
	case "email":
		dst.Email = src.Email
	case "preferred_language":
		dst.Language = src.Language
	case "home_clinic":
		dst.HomeClinic = src.HomeClinic
	}
}

// ListOwners is the input of ListOwners.
type ListOwners struct {
	Name           string
	Phone          string
	CustomerNumber string
	Microchip      string
	PageSize       int
	PageToken      string
}

// ListOwners searches owners by one key, or lists them all, paged.
func (s *Service) ListOwners(ctx context.Context, in ListOwners) ([]*domain.Owner, string, error) {
	var v apperr.ValidationError
	q := domain.OwnerQuery{PageSize: in.PageSize, PageToken: in.PageToken}
	if in.Name != "" {
		if q.NamePrefix = domain.SearchKey(in.Name); q.NamePrefix == "" {
			v.Add("name", "must contain a letter or a digit")
		}
	}
	if in.Phone != "" {
		q.Phone = domain.NormalizePhoneField(&v, "phone", in.Phone)
	}
	var patient *domain.Patient
	var err error
	switch {
	case in.CustomerNumber != "":
		n, perr := domain.ParseCustomerNumber(in.CustomerNumber)
		if perr != nil {
			v.Add("customer_number", customerNumberProblem(perr))
			break
		}
		patient, err = s.repo.FindPatientByCustomerNumber(ctx, n)
	case in.Microchip != "":
		chip, perr := domain.ParseMicrochip(in.Microchip)
		if perr != nil {
			v.Add("microchip", "must be 15 digits (ISO 11784)")
			break
		}
		patient, err = s.repo.FindPatientByMicrochip(ctx, chip)
	}
	if verr := v.Err(); verr != nil {
		return nil, "", verr
	}
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return nil, "", nil
	case err != nil:
		return nil, "", fmt.Errorf("list owners: %w", err)
	case patient != nil:
		q.OwnerIDs = []string{patient.OwnerID}
	}
	owners, next, err := s.repo.ListOwners(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("list owners: %w", err)
	}
	ids := make([]string, len(owners))
	for i, o := range owners {
		ids[i] = o.ID
	}
	return owners, next, s.recordAll(ctx, "owner.search", "owners", ids...)
}

// FindOwnerByIdentityCode finds the owner whose identity code is code.
func (s *Service) FindOwnerByIdentityCode(ctx context.Context, code string) (*domain.Owner, error) {
	var v apperr.ValidationError
	c := s.parseIdentityCode(code, "identity_code", &v)
	// A code given but not valid has its own violation: it is not missing.
	if strings.TrimSpace(code) == "" {
		v.Add("identity_code", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.repo.FindOwnerByIdentityCode(ctx, *c)
	if err != nil {
		return nil, fmt.Errorf("find owner by identity code: %w", err)
	}
	return o, s.record(ctx, "owner.find_by_identity_code", ownerResource(o.ID), o.ID)
}

// RevealIdentityCode returns an owner's full identity code for a stated purpose.
func (s *Service) RevealIdentityCode(ctx context.Context, ownerID, purpose string) (string, error) {
	var v apperr.ValidationError
	if purpose = strings.TrimSpace(purpose); purpose == "" {
		v.Add("purpose", "is required: say why the full identity code is needed")
	}
	v.CheckText("purpose", purpose, maxReasonLen)
	if err := v.Err(); err != nil {
		return "", err
	}
	code, err := s.repo.IdentityCode(ctx, ownerID)
	if err != nil {
		return "", fmt.Errorf("reveal identity code of owner %s: %w", ownerID, err)
	}
	e := audit.Event{
		Action: "owner.reveal_identity_code", Resource: ownerResource(ownerID),
		SubjectOwnerID: ownerID, Purpose: purpose, Outcome: audit.OutcomeSuccess,
	}
	// The full code leaves only once the record of its reveal is stored.
	if err := s.auditor.RecordNow(ctx, e); err != nil {
		return "", fmt.Errorf("audit identity code reveal: %w", err)
	}
	return code.String(), nil
}

// OwnerChanges lists an owner's change history.
func (s *Service) OwnerChanges(ctx context.Context, ownerID string) ([]domain.Change, error) {
	changes, err := s.repo.OwnerChanges(ctx, ownerID)
	if err != nil {
		return nil, fmt.Errorf("owner %s changes: %w", ownerID, err)
	}
	return changes, s.record(ctx, "owner.changes.read", ownerResource(ownerID), ownerID)
}

func (s *Service) parseIdentityCode(raw, field string, v *apperr.ValidationError) *domain.IdentityCode {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	c, err := domain.ParseIdentityCode(raw, s.opts.AllowTemporaryIdentityCodes)
	if err != nil {
		var ie *domain.IdentityCodeError
		if errors.As(err, &ie) {
			v.Add(field, ie.Reason)
		} else {
			v.Add(field, "is not a valid identity code")
		}
		return nil
	}
	if c.BirthDate().Format(time.DateOnly) > s.clinicNow().Format(time.DateOnly) {
		v.Add(field, "date of birth is in the future")
		return nil
	}
	return &c
}

// validatePaths refuses a path not in allowed by its place in the mask, never its
// text, which is the caller's and may hold anything, an identity code included.
func validatePaths(paths []string, allowed []string, v *apperr.ValidationError) {
	if len(paths) == 0 {
		v.Add("update_mask", "must name at least one field")
	}
	for i, p := range paths {
		if !slices.Contains(allowed, p) {
			v.Add("update_mask", fmt.Sprintf("paths[%d] names no field that can be updated; updatable: %s", i, strings.Join(allowed, ", ")))
		}
	}
}

func customerNumberProblem(err error) string {
	var ce *domain.CustomerNumberError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return "is not a valid customer number"
}

// MaxStatusBatch bounds the owners one BatchGetOwnerStatus asks about: a filter of the
// consent service asks about at most this many.
const MaxStatusBatch = 10_000

// OwnerStatus says whether an owner exists and is restricted.
type OwnerStatus struct {
	ID         string
	Exists     bool
	Restricted bool
}

// OwnerStatuses says for each distinct id, in order, whether the owner exists and is
// restricted. It reveals nothing else, and is audited as one event for the call (not one
// per owner): a consent filter asks about thousands of owners at once.
func (s *Service) OwnerStatuses(ctx context.Context, ids []string) ([]OwnerStatus, error) {
	var v apperr.ValidationError
	switch {
	case len(ids) == 0:
		v.Add("owner_ids", "must name at least one owner")
	case len(ids) > MaxStatusBatch:
		v.Add("owner_ids", fmt.Sprintf("must name at most %d owners", MaxStatusBatch))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(ids)))
	restricted, err := s.repo.OwnerRestrictions(ctx, distinct)
	if err != nil {
		return nil, fmt.Errorf("owner statuses: %w", err)
	}
	seen := make(map[string]bool, len(distinct))
	out := make([]OwnerStatus, 0, len(distinct))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		r, ok := restricted[id]
		out = append(out, OwnerStatus{ID: id, Exists: ok, Restricted: r})
	}
	e := audit.Event{
		Action: "owner.status.batch_read", Resource: fmt.Sprintf("owners (%d)", len(distinct)),
		Outcome: audit.OutcomeSuccess,
	}
	if err := s.auditor.Record(ctx, e); err != nil {
		return nil, fmt.Errorf("audit owner.status.batch_read: %w", err)
	}
	return out, nil
}
