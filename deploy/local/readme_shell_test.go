package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/shelltest"
)

// colonAfterParameter finds a parameter expanded without braces and followed by a
// colon: zsh, macOS's default shell, reads "$OWNER:revealIdentityCode" as $OWNER
// with its :r modifier (the name without its "extension") followed by
// "evealIdentityCode", where sh and bash read the name and the text.
var colonAfterParameter = regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*:`)

// expanded returns the shell text with each single-quoted string, in which the shell
// expands nothing (a mongosh script's "{$or: …}"), and each comment blanked out. A
// comment is blanked so that its apostrophe ("# prod's replicas") opens no quote.
func expanded(block string) string {
	out := []byte(block)
	var single, double, comment bool
	for i := 0; i < len(out); i++ {
		switch c := out[i]; {
		case c == '\n':
			comment = false
		case comment:
			out[i] = ' '
		case single && c == '\'':
			single = false
		case single:
			out[i] = ' '
		case c == '\\':
			i++ // the escaped character is no quote
		case c == '"':
			double = !double
		case c == '\'' && !double:
			single = true
		case c == '#' && !double && (i == 0 || out[i-1] == ' ' || out[i-1] == '\t' || out[i-1] == '\n'):
			comment = true
			out[i] = ' '
		}
	}
	return string(out)
}

// TestDocumentedCommandsReadTheSameInZsh holds the sh blocks of the README and the
// docs to "${NAME}:" wherever a colon follows a parameter, so that a reader who pastes
// them into zsh runs what a reader in bash does.
func TestDocumentedCommandsReadTheSameInZsh(t *testing.T) {
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range append(docs, "../../README.md") {
		text, err := os.ReadFile(doc) //nolint:gosec // the repository's own documents
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range shelltest.Blocks(string(text)) {
			for line := range strings.Lines(expanded(block)) {
				if m := colonAfterParameter.FindString(line); m != "" {
					t.Errorf("%s: %q: zsh reads %q as a parameter with a modifier; write ${%s}:",
						filepath.Base(doc), strings.TrimSpace(line), m+"…", strings.TrimSuffix(m[1:], ":"))
				}
			}
		}
	}
}

// TestExpanded: single-quoted text is blanked out, line breaks kept; a single quote
// inside double quotes or escaped starts no string.
func TestExpanded(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a '$x:' $y:`, `a '   ' $y:`},
		{"'a\n$x:' $y:", "' \n   ' $y:"},
		{`"it's $x:" '$y:'`, `"it's $x:" '   '`},
		{`\' $x: '`, `\' $x: '`},
		{"# prod's replicas\n$x:", "                 \n$x:"},
		{"echo a#b $x: # it's\n'$y:'", "echo a#b $x:       \n'   '"},
		{`"# $x:"`, `"# $x:"`},
	}
	for _, tt := range tests {
		if got := expanded(tt.in); got != tt.want {
			t.Errorf("expanded(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestReadmeOwnerWalkThrough runs the README's "Try it" blocks of the owner register,
// from the tokens to the reveal, as a reader pastes them into bash and into zsh (macOS's
// default shell; skipped where it is not installed), against the runner started as the
// README starts it: the owner is registered, given a pet and updated, and billing sees
// the identity code in full; the name search is checked only as the source of the
// owner id every later step uses.
func TestReadmeOwnerWalkThrough(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the README's commands need curl")
	}
	script := ownerWalkThrough(t)
	shelltest.Each(t, []string{"bash", "zsh"}, func(t *testing.T, sh string) {
		r := startRunner(t)
		dir := readerFolder(t)
		if err := os.Symlink(r.data, filepath.Join(dir, "var")); err != nil {
			t.Fatal(err)
		}
		// The runner listens on a free port, not on the README's (which is its default:
		// TestReadmeNamesTheRunnersDefaults); the README's var/ is the runner's folder.
		script := strings.ReplaceAll(script, "https://"+readmeGateway, r.gateway)
		out, err := shelltest.Run(t, sh, dir, script, "LILLVET_RUNNER="+r.bin,
			"PATH="+filepath.Join(dir, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
		if err != nil {
			t.Fatalf("the walk-through failed in %s: %v", sh, err)
		}
		for _, want := range []string{`"familyName":"Äijälä"`, `"name":"Nappi"`, `"email":"aino@example.fi"`, `"identityCode":"131052-308T"`} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("no answer of the walk-through in %s holds %s", sh, want)
			}
		}
	})
}

// The runner's defaults as the README's walk-through uses them: its data folder (the
// development CA at var/pki/ca.pem) and the gateway's address.
const (
	readmeDataDir = "var"
	readmeGateway = "127.0.0.1:8080"
)

// TestReadmeNamesTheRunnersDefaults holds the runner's defaults to the folder and the
// address the README's walk-through names, which TestReadmeOwnerWalkThrough replaces
// by the test runner's.
func TestReadmeNamesTheRunnersDefaults(t *testing.T) {
	cfg, ok := reflect.TypeFor[Config]().FieldByName("DataDir")
	if !ok || cfg.Tag.Get("envDefault") != readmeDataDir {
		t.Errorf("the runner's data folder defaults to %q, the README uses %s/", cfg.Tag.Get("envDefault"), readmeDataDir)
	}
	addr, ok := reflect.TypeFor[Config]().FieldByName("GatewayAddr")
	if !ok || addr.Tag.Get("envDefault") != readmeGateway {
		t.Errorf("the gateway's address defaults to %q, the README uses %s", addr.Tag.Get("envDefault"), readmeGateway)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"https://" + readmeGateway + "/", readmeDataDir + "/pki/ca.pem"} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("the README never names %s", want)
		}
	}
}

// ownerWalkThrough returns the sh blocks of the README's "Try it" section up to the
// reveal's, the owner register's part of the walk-through.
func ownerWalkThrough(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Try it\n")
	if !ok {
		t.Fatal(`README has no "## Try it" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var script []string
	for _, block := range shelltest.Blocks(section) {
		if script = append(script, block); strings.Contains(block, ":revealIdentityCode") {
			return strings.Join(script, "\n")
		}
	}
	t.Fatal(`README's "Try it" has no block that reveals the identity code`)
	return ""
}

// readerGo stands for "go run ./deploy/local …", the README's way to mint a token,
// on the reader's search path: it runs the runner the tests built.
const readerGo = `#!/bin/sh
if [ "$1" != run ] || [ "$2" != ./deploy/local ]; then
	echo "go $*: the walk-through runs only go run ./deploy/local" >&2
	exit 2
fi
shift 2
exec "$LILLVET_RUNNER" "$@"
`

// readerFolder is the folder a reader of the README runs its commands in, with a bin/
// holding readerGo.
func readerFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "go"), []byte(readerGo), 0o700); err != nil { //nolint:gosec // an executable stub
		t.Fatal(err)
	}
	return dir
}
