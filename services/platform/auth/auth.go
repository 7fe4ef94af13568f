// Package auth authenticates callers by their bearer token (a JWT signed by
// the identity provider, verified against its JWKS) and authorises every
// gRPC method against a deny-by-default role policy. Every service enforces
// it itself; the gateway is not the only door.
package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"
)

// Role is a staff or partner role from the privacy statement's access rules.
type Role string

// The roles known to the register.
const (
	RoleVeterinarian  Role = "veterinarian"
	RoleNurse         Role = "nurse"
	RoleReception     Role = "reception"
	RoleBilling       Role = "billing"
	RoleClinicManager Role = "clinic_manager"
	// RoleMaintainer operates the system and reads personal data only with
	// a stated purpose.
	RoleMaintainer Role = "maintainer"
	// RoleSubcontractor sees only what its contract covers.
	RoleSubcontractor Role = "subcontractor"
	// RolePartner is a registered recipient and sees only what was
	// disclosed to it.
	RolePartner Role = "partner"
	// RoleErasureJob is the disclosure service's erasure job, a machine: it may
	// restrict and erase an owner's data in each service and nothing else (no reads,
	// no identity codes), so that its long-lived token is worth little if stolen.
	RoleErasureJob Role = "erasure_job"
	// RoleNameRetentionJob is the history service's job that tells the owner service
	// when records naming an erased owner are kept longer, and when no unpaid invoice
	// needs an erased owner's identity code any more, a machine: it may extend an erased
	// owner's names' retention day and end its identity code's retention (drop the code
	// before the day the erasure answered, once no unpaid invoice needs it), and nothing
	// else (no names' day made shorter, no other data removed, no reads).
	RoleNameRetentionJob Role = "name_retention_job"
)

// Roles lists every known role.
func Roles() []Role {
	return []Role{
		RoleVeterinarian, RoleNurse, RoleReception, RoleBilling,
		RoleClinicManager, RoleMaintainer, RoleSubcontractor, RolePartner, RoleErasureJob,
		RoleNameRetentionJob,
	}
}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(Roles(), r) {
		return "", fmt.Errorf("unknown role %q", s)
	}
	return r, nil
}

// Metadata keys read from incoming and written to outgoing gRPC calls.
const (
	MetadataAuthorization = "authorization"
	// MetadataPurpose carries the stated purpose of a read; maintainers need
	// one, and it is written to the audit log.
	MetadataPurpose = "x-purpose"
	// MetadataPurposeBin carries a stated purpose that gRPC text metadata cannot
	// hold, which is printable ASCII only: Finnish staff write "Häiriöselvitys".
	// grpc-go base64-encodes -bin values on the wire and decodes them on arrival, so
	// the services read the UTF-8 text. A call states its purpose under one of the
	// two keys, not both.
	MetadataPurposeBin = "x-purpose-bin"
)

// maxPurposeLen bounds the stated purpose copied into audit events.
const maxPurposeLen = 200

// Identity is the authenticated caller.
type Identity struct {
	Subject     string
	Name        string
	Roles       []Role
	Clinic      string
	RecipientID string
	// Token is the raw bearer token, forwarded to downstream services so
	// that the caller's identity travels with the call.
	Token string
	// System marks the service's own in-process work (a retention sweep), which no
	// person asked for, in change records and audit events. Token verification never
	// sets it, whatever the token's subject, name or roles: only a service building
	// its own identity for a job it runs (SystemIdentity) does, so that no one with a
	// token can pass for the system in the owner's access report.
	System bool
}

// SystemIdentity is the identity of a job service runs by itself: job names it in
// the records, as the service ("service:<service>") and with no role.
func SystemIdentity(service, job string) Identity {
	return Identity{Subject: "service:" + service, Name: job, System: true}
}

// Has reports whether the identity holds role r.
func (i Identity) Has(r Role) bool {
	return slices.Contains(i.Roles, r)
}

// RoleNames returns the roles as strings, for audit events and spans.
func (i Identity) RoleNames() []string {
	out := make([]string, len(i.Roles))
	for n, r := range i.Roles {
		out[n] = string(r)
	}
	return out
}

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity stored by WithIdentity.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// Purpose returns the stated purpose of the current call from the incoming
// gRPC metadata (x-purpose, else x-purpose-bin), or "" when none was given.
func Purpose(ctx context.Context) string {
	vals, _ := statedPurposes(ctx)
	if len(vals) == 0 {
		return ""
	}
	p := strings.TrimSpace(vals[0])
	if len(p) > maxPurposeLen {
		p = strings.ToValidUTF8(p[:maxPurposeLen], "")
	}
	return p
}

// statedPurposes returns the purpose values of the incoming call: x-purpose's, else
// x-purpose-bin's. both reports that the call used both keys.
func statedPurposes(ctx context.Context) (vals []string, both bool) {
	text := metadata.ValueFromIncomingContext(ctx, MetadataPurpose)
	bin := metadata.ValueFromIncomingContext(ctx, MetadataPurposeBin)
	if len(text) > 0 {
		return text, len(bin) > 0
	}
	return bin, false
}

// purposeMetadata returns the key and value that state purpose on an outgoing call:
// x-purpose when purpose is printable ASCII, else x-purpose-bin (grpc-go refuses to
// send any other text value).
func purposeMetadata(purpose string) []string {
	if IsPrintableASCII(purpose) {
		return []string{MetadataPurpose, purpose}
	}
	return []string{MetadataPurposeBin, purpose}
}

// IsPrintableASCII reports whether s is a valid gRPC metadata text value: bytes 0x20
// (space) to 0x7E only.
func IsPrintableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
