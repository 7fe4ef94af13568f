// Package tokenfile gives a service's own job its credentials: a token file written from
// outside the service (a Kubernetes Secret renewed from outside, a projected
// service-account token, a vault agent, the local runner), read again on every use so
// that a renewed token is picked up without a restart, and verified as any caller's
// token is before the job acts on it.
package tokenfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/config"
)

// Verifier checks a token; *auth.Verifier.
type Verifier interface {
	Verify(ctx context.Context, raw string) (auth.Identity, error)
}

// File is the credentials in a token file.
type File struct {
	variable string
	path     string
	verifier Verifier
}

// New returns the credentials in the file at path, which the configuration variable
// names: a failed read names it, as the check at start does.
func New(variable, path string, v Verifier) *File {
	return &File{variable: variable, path: path, verifier: v}
}

// Context returns ctx with the token set for outgoing calls and its identity for the
// job's own audit events.
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

// Check is the check at start of the token file at path, named by variable: it refuses
// one that cannot be read or holds nothing, and one whose folder is missing: the
// Secret's volume is there before the Secret, so a missing folder is a mistyped path,
// which would leave the job waiting for a file that never comes. A file not there yet
// in an existing folder is the Secret not created. An empty path checks nothing.
func Check(variable, path string) error {
	if path == "" {
		return nil
	}
	_, err := config.ReadSecretFile(variable, path)
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if info, derr := os.Stat(filepath.Dir(filepath.Clean(path))); derr != nil || !info.IsDir() {
		return fmt.Errorf("%s: the folder of the file it names does not exist", variable)
	}
	return nil
}

// Missing reports whether the token file at path is named but not there yet.
func Missing(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(filepath.Clean(path))
	return errors.Is(err, fs.ErrNotExist)
}
