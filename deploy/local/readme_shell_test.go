package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// shBlock finds a markdown document's sh blocks.
var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// colonAfterParameter finds a parameter expanded without braces and followed by a
// colon: zsh, macOS's default shell, reads "$OWNER:revealIdentityCode" as $OWNER
// with its :r modifier (the name without its "extension") followed by
// "evealIdentityCode", where sh and bash read the name and the text.
var colonAfterParameter = regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*:`)

// expanded returns the shell text with each single-quoted string, in which the shell
// expands nothing (a mongosh script's "{$or: …}"), blanked out.
func expanded(block string) string {
	out := []byte(block)
	var single, double bool
	for i := 0; i < len(out); i++ {
		switch c := out[i]; {
		case single && c == '\'':
			single = false
		case single:
			if c != '\n' {
				out[i] = ' '
			}
		case c == '\\':
			i++ // the escaped character is no quote
		case c == '"':
			double = !double
		case c == '\'' && !double:
			single = true
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
		for _, block := range shBlock.FindAllStringSubmatch(string(text), -1) {
			for line := range strings.Lines(expanded(block[1])) {
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
	}
	for _, tt := range tests {
		if got := expanded(tt.in); got != tt.want {
			t.Errorf("expanded(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
