package validate_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/lillvet/register/deploy/validate/composesetup"
)

// byHandSecrets finds docs/OPERATIONS.md's commands that make the compose stack's
// keys without compose-setup.
var byHandSecrets = regexp.MustCompile("(?s)```sh\n(cd deploy/compose && [^`]*)```")

// TestByHandSecretsCommands runs OPERATIONS's by-hand key commands as an operator
// would, on a fresh checkout and again on the folder they made (a second run, or an
// upgrade that brings a new key): each run leaves secrets/ private, keeps the keys
// already there and writes the missing ones.
func TestByHandSecretsCommands(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("the documented commands need openssl")
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := byHandSecrets.FindSubmatch(doc)
	if m == nil {
		t.Fatal("OPERATIONS.md has no sh block starting with cd deploy/compose")
	}
	root := t.TempDir()
	secrets := filepath.Join(root, "deploy", "compose", "secrets")
	if err := os.MkdirAll(filepath.Dir(secrets), 0o750); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		cmd := exec.Command("sh", "-c", string(m[1])) //nolint:gosec // the documented commands, in the test's own folder
		cmd.Dir = root
		// A second run says which keys it kept; what it did is checked on the files.
		out, _ := cmd.CombinedOutput()
		t.Logf("%s", out)
	}
	keys := []string{composesetup.IdentityKeysFile, composesetup.IdentityActiveKeyFile,
		composesetup.BlindIndexKeyFile, composesetup.RequestDigestKeyFile}
	read := func() map[string][]byte {
		t.Helper()
		fi, err := os.Stat(secrets)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Fatalf("secrets/ has mode %v, want 0700", fi.Mode().Perm())
		}
		got := map[string][]byte{}
		for _, k := range keys {
			path := filepath.Join(secrets, k)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
				t.Fatalf("%s has mode %v and %d bytes, want a key of mode 0600", k, fi.Mode().Perm(), fi.Size())
			}
			got[k], _ = os.ReadFile(filepath.Clean(path))
		}
		return got
	}

	run()
	first := read()
	// The upgrade: an installation made before the request digest key, its folder
	// opened up meanwhile.
	if err := os.Remove(filepath.Join(secrets, composesetup.RequestDigestKeyFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secrets, 0o755); err != nil { //nolint:gosec // the folder the commands must make private again
		t.Fatal(err)
	}
	run()
	second := read()
	for _, k := range keys[:3] {
		if !bytes.Equal(first[k], second[k]) {
			t.Errorf("a second run replaced %s", k)
		}
	}
}
