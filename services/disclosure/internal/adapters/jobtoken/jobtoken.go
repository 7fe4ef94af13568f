// Package jobtoken gives the erasure job its credentials: a token file written from
// outside the service (a Kubernetes projected service-account token, a vault agent, the
// local runner), read again on every use so that a renewed token is picked up without a
// restart, and verified as any caller's token is before the job acts on it.
package jobtoken

import (
	"context"
	"fmt"
	"strings"

	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/config"
)

// Verifier checks a token; *auth.Verifier.
type Verifier interface {
	Verify(ctx context.Context, raw string) (auth.Identity, error)
}

// File implements app.Credentials on a token file.
type File struct {
	variable string
	path     string
	verifier Verifier
}

var _ app.Credentials = (*File)(nil)

// New returns the credentials in the file at path, which the configuration variable
// names: a failed read names it, as the check at start does.
func New(variable, path string, v Verifier) *File {
	return &File{variable: variable, path: path, verifier: v}
}

// Context implements app.Credentials: ctx with the token set for outgoing calls and its
// identity for the job's own audit events.
func (f *File) Context(ctx context.Context) (context.Context, error) {
	raw, err := config.ReadSecretFile(f.variable, f.path)
	if err != nil {
		return nil, fmt.Errorf("read the job token: %w", err)
	}
	tok := strings.TrimSpace(raw)
	id, err := f.verifier.Verify(ctx, tok)
	if err != nil {
		return nil, fmt.Errorf("the job token: %w", err)
	}
	return auth.WithIdentity(auth.WithOutgoingToken(ctx, tok, ""), id), nil
}
