package validate_test

import (
	"encoding/base64"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/devpki"
)

// TestEmptySecretFileRefused: compose and Kubernetes hand the services their secrets
// as files; one that came up empty (a Secret created without its value, a key file a
// failed command left) stops the service with a message naming the _FILE variable and
// the file, whichever setting it holds and whether or not the setting is optional.
func TestEmptySecretFileRefused(t *testing.T) {
	dir := t.TempDir()
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	files := map[string]string{
		"MONGO_URI":           "mongodb://mongo1:27017",
		"IDENTITY_KEYS":       "k1:" + key,
		"IDENTITY_ACTIVE_KEY": "k1",
		"BLIND_INDEX_KEY":     key,
		"REQUEST_DIGEST_KEY":  key,
	}
	environ := servingTLS(t)
	environ["MONGO_DATABASE"], environ["AUTH_JWKS_URL"] = "register", "https://jwks:8443/jwks.json"
	for name, value := range files {
		environ[name+"_FILE"] = filepath.Join(dir, name)
		if err := os.WriteFile(environ[name+"_FILE"], []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	services := map[string]func() any{
		"owner":      func() any { return &owner.Config{} },
		"consent":    func() any { return &consent.Config{} },
		"disclosure": func() any { return &disclosure.Config{} },
		"history":    func() any { return &history.Config{} },
	}
	for name, cfg := range services {
		if err := config.LoadFrom(cfg(), environ); err != nil {
			t.Fatalf("the %s service refuses the full files: %v", name, err)
		}
	}
	for _, tc := range []struct{ service, setting string }{
		{"owner", "IDENTITY_KEYS"},
		{"owner", "IDENTITY_ACTIVE_KEY"},
		{"owner", "BLIND_INDEX_KEY"},
		{"owner", "MONGO_URI"},
		{"consent", "MONGO_URI"},
		{"disclosure", "MONGO_URI"},
		{"history", "MONGO_URI"},
		{"history", "REQUEST_DIGEST_KEY"},
	} {
		for held, content := range map[string]string{"nothing": "", "a newline": "\n", "white space": " \t\n"} {
			t.Run(tc.service+"/"+tc.setting+"/"+held, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), strings.ToLower(tc.setting))
				if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				env := maps.Clone(environ)
				env[tc.setting+"_FILE"] = path
				err := config.LoadFrom(services[tc.service](), env)
				want := "load configuration: " + tc.setting + "_FILE: " + path + " is empty"
				if err == nil || err.Error() != want {
					t.Fatalf("LoadFrom = %v, want %q", err, want)
				}
			})
		}
	}
}

// servingTLS is an environment holding the variables of a service's serving
// certificate and key, which it reads at start: development files made for the test.
func servingTLS(t *testing.T) map[string]string {
	t.Helper()
	files, err := devpki.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"TLS_CERT_FILE": files.CertFile, "TLS_KEY_FILE": files.KeyFile}
}
