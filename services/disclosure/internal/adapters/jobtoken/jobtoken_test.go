package jobtoken

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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

func TestFileIsReadOnEveryUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	f := New(path, verifier{"tok-1": {Subject: "svc", Roles: []auth.Role{auth.RoleClinicManager}}, "tok-2": {Subject: "svc-2"}})
	if _, err := f.Context(t.Context()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no file: %v", err)
	}
	for _, tt := range []struct {
		content string
		subject string
		ok      bool
	}{
		{"", "", false},
		{"  \n", "", false},
		{"forged", "", false},
		{"tok-1\n", "svc", true},
		{"tok-2", "svc-2", true}, // renewed: the next use reads the new one
	} {
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, err := f.Context(t.Context())
		if (err == nil) != tt.ok {
			t.Fatalf("%q: %v", tt.content, err)
		}
		if !tt.ok {
			continue
		}
		id, _ := auth.FromContext(ctx)
		md, _ := metadata.FromOutgoingContext(ctx)
		if id.Subject != tt.subject || len(md.Get(auth.MetadataAuthorization)) != 1 {
			t.Errorf("%q: identity %+v, metadata %v", tt.content, id, md)
		}
	}
}
