package tokenfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/lillvet/register/services/platform/auth"
)

type verifier map[string]auth.Identity

func (v verifier) Verify(_ context.Context, raw string) (auth.Identity, error) {
	id, ok := v[raw]
	if !ok {
		return auth.Identity{}, auth.ErrInvalidToken
	}
	return id, nil
}

// variable is the configuration variable the tests' token file is named by.
const variable = "JOB_TOKEN_FILE"

func TestFileIsReadOnEveryUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	f := New(variable, path, verifier{"tok-1": {Subject: "svc", Roles: []auth.Role{auth.RoleClinicManager}}, "tok-2": {Subject: "svc-2"}})
	_, err := f.Context(t.Context())
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), variable+": cannot read the file it names") {
		t.Fatalf("no file: %v; want a read error naming %s", err, variable)
	}
	for _, tt := range []struct {
		content string
		subject string
		wantErr string // what the error says; empty: the token is taken
	}{
		{"", "", variable + ": " + path + " is empty"},
		{"  \n", "", variable + ": " + path + " is empty"},
		{"forged", "", "the job token: invalid token"},
		{"tok-1\n", "svc", ""},
		{"tok-2", "svc-2", ""}, // renewed: the next use reads the new one
	} {
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, err := f.Context(t.Context())
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("%q: %v, want an error saying %q", tt.content, err, tt.wantErr)
			}
			if content := strings.TrimSpace(tt.content); content != "" && strings.Contains(err.Error(), content) {
				t.Errorf("%q: the error %q repeats the file's contents", tt.content, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tt.content, err)
		}
		id, _ := auth.FromContext(ctx)
		md, _ := metadata.FromOutgoingContext(ctx)
		if id.Subject != tt.subject || len(md.Get(auth.MetadataAuthorization)) != 1 {
			t.Errorf("%q: identity %+v, metadata %v", tt.content, id, md)
		}
	}
}
