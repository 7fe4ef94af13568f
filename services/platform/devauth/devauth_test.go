package devauth_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/devauth"
)

func jwks(t *testing.T, iss *devauth.Issuer) string {
	t.Helper()
	rec := httptest.NewRecorder()
	iss.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("JWKS status %d", rec.Code)
	}
	return rec.Body.String()
}

func TestLoadOrCreatePersistsKey(t *testing.T) {
	dir := t.TempDir()
	first, err := devauth.LoadOrCreate(dir, "iss", "aud")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, devauth.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", info.Mode().Perm())
	}
	second, err := devauth.LoadOrCreate(dir, "iss", "aud")
	if err != nil {
		t.Fatal(err)
	}
	if jwks(t, first) != jwks(t, second) {
		t.Error("reloaded issuer publishes a different JWKS")
	}
}

func TestMintValidation(t *testing.T) {
	iss, err := devauth.LoadOrCreate(t.TempDir(), "iss", "aud")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Mint(devauth.Claims{}, time.Minute); err == nil {
		t.Error("Mint without subject succeeded")
	}
	if _, err := devauth.LoadOrCreate(t.TempDir(), "", "aud"); err == nil {
		t.Error("LoadOrCreate without issuer succeeded")
	}
	rec := httptest.NewRecorder()
	iss.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST JWKS status %d", rec.Code)
	}
}
