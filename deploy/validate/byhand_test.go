package validate_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lillvet/register/deploy/validate/composesetup"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/shelltest"
)

// byHandSecrets finds docs/OPERATIONS.md's commands that make the compose stack's
// keys without compose-setup.
var byHandSecrets = regexp.MustCompile("(?s)```sh\n(cd deploy/compose && [^`]*)```")

// byHandKeys are the files the by-hand commands write.
var byHandKeys = []string{composesetup.IdentityKeysFile, composesetup.IdentityActiveKeyFile,
	composesetup.BlindIndexKeyFile, composesetup.RequestDigestKeyFile}

// TestByHandSecretsCommands runs OPERATIONS's by-hand key commands as an operator
// would, in dash and in bash: on a fresh checkout and again on the folder they made
// (a second run, or an upgrade that brings a new key), and again after a first run
// that failed because openssl was missing, now or with the earlier commands, which
// left identity_keys holding a key id alone. Each run leaves secrets/ private, keeps
// the keys already there and writes the missing or empty ones, keys the owner and
// history services start with.
func TestByHandSecretsCommands(t *testing.T) {
	block := keyCommands(t, byHandSecrets)
	shelltest.Each(t, []string{"dash", "bash"}, func(t *testing.T, sh string) {
		t.Run("run again", func(t *testing.T) {
			c := newByHandCheckout(t, sh, block)
			c.run(os.Getenv("PATH"))
			first := c.keys()
			// The upgrade: an installation made before the request digest key, its
			// folder opened up meanwhile.
			if err := os.Remove(filepath.Join(c.secrets, composesetup.RequestDigestKeyFile)); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(c.secrets, 0o755); err != nil { //nolint:gosec // the folder the commands must make private again
				t.Fatal(err)
			}
			c.run(os.Getenv("PATH"))
			second := c.keys()
			for _, k := range byHandKeys {
				if k != composesetup.RequestDigestKeyFile && !bytes.Equal(first[k], second[k]) {
					t.Errorf("a second run replaced %s", k)
				}
			}
		})
		t.Run("after a run without openssl", func(t *testing.T) {
			c := newByHandCheckout(t, sh, block)
			c.run(pathWithoutOpenssl(t))
			// An active key id naming no key is a file the next run would keep.
			if _, err := os.Stat(filepath.Join(c.secrets, composesetup.IdentityActiveKeyFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a run without openssl left %s: %v", composesetup.IdentityActiveKeyFile, err)
			}
			c.run(os.Getenv("PATH"))
			c.keys()
		})
		t.Run("a rotated installation that lost its active key", func(t *testing.T) {
			c := newByHandCheckout(t, sh, block)
			if err := os.Mkdir(c.secrets, 0o700); err != nil {
				t.Fatal(err)
			}
			key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
			rotated := "compose1:" + key + ",compose2:" + key + "\n"
			if err := os.WriteFile(filepath.Join(c.secrets, composesetup.IdentityKeysFile), []byte(rotated), 0o600); err != nil {
				t.Fatal(err)
			}
			c.run(os.Getenv("PATH"))
			// Naming compose1 active again would seal new codes under a retired key.
			if _, err := os.Stat(filepath.Join(c.secrets, composesetup.IdentityActiveKeyFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the commands guessed %s for rotated keys: %v", composesetup.IdentityActiveKeyFile, err)
			}
			if got, err := os.ReadFile(filepath.Join(c.secrets, composesetup.IdentityKeysFile)); err != nil || string(got) != rotated {
				t.Errorf("%s = %q, %v; want it kept", composesetup.IdentityKeysFile, got, err)
			}
		})
		for _, tc := range []struct {
			name  string
			files map[string]string
		}{
			{"over the empty files of an interrupted run", map[string]string{
				composesetup.IdentityKeysFile: "", composesetup.RequestDigestKeyFile: "",
			}},
			{"over what the earlier commands left without openssl", map[string]string{
				composesetup.IdentityKeysFile: "compose1:\n", composesetup.IdentityActiveKeyFile: "compose1\n",
				composesetup.BlindIndexKeyFile: "", composesetup.RequestDigestKeyFile: "",
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newByHandCheckout(t, sh, block)
				if err := os.Mkdir(c.secrets, 0o700); err != nil {
					t.Fatal(err)
				}
				for k, content := range tc.files {
					if err := os.WriteFile(filepath.Join(c.secrets, k), []byte(content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				c.run(os.Getenv("PATH"))
				c.keys()
			})
		}
	})
}

// upgradeDigestKey finds the upgrade note's command that writes the request digest
// key alone, on an installation whose keys were made by hand.
var upgradeDigestKey = regexp.MustCompile("(?s)```sh\n(\\(cd deploy/compose && umask 077 [^`]*?)\ndocker compose ")

// TestUpgradeRequestDigestKeyCommand runs the upgrade note's one-line command twice,
// in dash and bash, as an operator of an installation made by hand would: the first
// run writes the key, private, and the second keeps it.
func TestUpgradeRequestDigestKeyCommand(t *testing.T) {
	block := keyCommands(t, upgradeDigestKey)
	// sudo stands for itself: the test's user owns the files it chowns them to.
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte("#!/bin/sh\nexec \"$@\"\n"), 0o700); err != nil { //nolint:gosec // an executable stub
		t.Fatal(err)
	}
	shelltest.Each(t, []string{"dash", "bash"}, func(t *testing.T, sh string) {
		c := newByHandCheckout(t, sh, block)
		if err := os.Mkdir(c.secrets, 0o700); err != nil {
			t.Fatal(err)
		}
		dotenv := fmt.Sprintf("LILLVET_UID=%d\nLILLVET_GID=%d\n", os.Getuid(), os.Getgid())
		if err := os.WriteFile(filepath.Join(c.secrets, "..", ".env"), []byte(dotenv), 0o600); err != nil {
			t.Fatal(err)
		}
		var keys [][]byte
		for range 2 {
			c.run(bin + string(os.PathListSeparator) + os.Getenv("PATH"))
			path := filepath.Join(c.secrets, composesetup.RequestDigestKeyFile)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", composesetup.RequestDigestKeyFile, fi.Mode().Perm())
			}
			key, err := os.ReadFile(path) //nolint:gosec // the test's own file
			if err != nil {
				t.Fatal(err)
			}
			if b, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(string(key), "\n")); err != nil || len(b) != 32 {
				t.Fatalf("%s holds no 32-byte base64 key (%d bytes, %v)", composesetup.RequestDigestKeyFile, len(b), err)
			}
			keys = append(keys, key)
		}
		if !bytes.Equal(keys[0], keys[1]) {
			t.Error("a second run replaced the request digest key")
		}
	})
}

// keyCommands returns the commands re finds in OPERATIONS.md, and skips the test
// where they cannot run: they make keys with openssl.
func keyCommands(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("the documented commands need openssl")
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := re.FindSubmatch(doc)
	if m == nil {
		t.Fatalf("OPERATIONS.md has no sh block matching %s", re)
	}
	return string(m[1])
}

// byHandCheckout is a temporary checkout the by-hand commands run in.
type byHandCheckout struct {
	t             *testing.T
	sh, block     string
	root, secrets string
}

func newByHandCheckout(t *testing.T, sh, block string) *byHandCheckout {
	t.Helper()
	root := t.TempDir()
	secrets := filepath.Join(root, "deploy", "compose", "secrets")
	if err := os.MkdirAll(filepath.Dir(secrets), 0o750); err != nil {
		t.Fatal(err)
	}
	return &byHandCheckout{t: t, sh: sh, block: block, root: root, secrets: secrets}
}

// run runs the commands with the search path given.
func (c *byHandCheckout) run(path string) {
	c.t.Helper()
	// What the runs did is checked on the files.
	_, _ = shelltest.Run(c.t, c.sh, c.root, c.block, "PATH="+path)
}

// keys checks that secrets/ is private and holds every key, each of mode 0600 and
// taken by the owner and history services, and returns them.
func (c *byHandCheckout) keys() map[string][]byte {
	t := c.t
	t.Helper()
	dir, err := os.OpenRoot(c.secrets)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dir.Close() }()
	fi, err := dir.Stat(".")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("secrets/ has mode %v, want 0700", fi.Mode().Perm())
	}
	got := map[string][]byte{}
	for _, k := range byHandKeys {
		fi, err := dir.Stat(k)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
			t.Fatalf("%s has mode %v and %d bytes, want a key of mode 0600", k, fi.Mode().Perm(), fi.Size())
		}
		if got[k], err = dir.ReadFile(k); err != nil {
			t.Fatal(err)
		}
	}
	env := servingTLS(t)
	maps.Copy(env, map[string]string{
		"MONGO_URI":                "mongodb://mongo1:27017",
		"MONGO_DATABASE":           "register",
		"AUTH_JWKS_URL":            "https://jwks:8443/jwks.json",
		"IDENTITY_KEYS_FILE":       filepath.Join(c.secrets, composesetup.IdentityKeysFile),
		"IDENTITY_ACTIVE_KEY_FILE": filepath.Join(c.secrets, composesetup.IdentityActiveKeyFile),
		"BLIND_INDEX_KEY_FILE":     filepath.Join(c.secrets, composesetup.BlindIndexKeyFile),
		"REQUEST_DIGEST_KEY_FILE":  filepath.Join(c.secrets, composesetup.RequestDigestKeyFile),
	})
	for name, cfg := range map[string]interface{ Validate() error }{"owner": &owner.Config{}, "history": &history.Config{}} {
		if err := config.LoadFrom(cfg, env); err != nil {
			t.Errorf("the %s service refuses the keys: %v", name, err)
		} else if err := cfg.Validate(); err != nil {
			t.Errorf("the %s service refuses the keys: %v", name, err)
		}
	}
	return got
}

// pathWithoutOpenssl returns a search path holding the commands the by-hand
// block uses apart from openssl (the rest are shell builtins).
func pathWithoutOpenssl(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"mkdir", "chmod", "grep"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
