package auth

import (
	"slices"
	"strings"

	"github.com/lillvet/register/services/platform/apperr"
)

// Rule says which roles may call a method.
type Rule struct {
	// Roles may call the method.
	Roles []Role
	// WithPurpose may call the method only with a stated purpose (x-purpose or
	// x-purpose-bin metadata), e.g. a maintainer reading personal data.
	WithPurpose []Role
}

// Policy maps full gRPC method names ("/lillvet.owner.v1.OwnerService/GetOwner")
// to their rules. A method that is not listed is denied.
type Policy map[string]Rule

// Check returns nil when id may call method with the given stated purpose, else an
// apperr.ErrPermissionDenied whose client message names the method and the missing
// role, nothing personal.
func (p Policy) Check(method string, id Identity, purpose string) error {
	rule, ok := p[method]
	if !ok {
		return apperr.New(apperr.ErrPermissionDenied, "method %s is not in the access policy", method)
	}
	for _, r := range id.Roles {
		if slices.Contains(rule.Roles, r) {
			return nil
		}
	}
	for _, r := range id.Roles {
		if slices.Contains(rule.WithPurpose, r) {
			if purpose != "" {
				return nil
			}
			return apperr.New(apperr.ErrPermissionDenied, "method %s needs a stated purpose (%s or %s metadata) for role %s", method, MetadataPurpose, MetadataPurposeBin, r)
		}
	}
	allowed := append(slices.Clone(rule.Roles), rule.WithPurpose...)
	if len(allowed) == 0 {
		return apperr.New(apperr.ErrPermissionDenied, "method %s is not allowed for any role", method)
	}
	names := make([]string, len(allowed))
	for i, r := range allowed {
		names[i] = string(r)
	}
	return apperr.New(apperr.ErrPermissionDenied, "method %s needs one of the roles %s", method, strings.Join(names, ", "))
}
