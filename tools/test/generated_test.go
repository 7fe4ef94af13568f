//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckGenerated is the generated-code check's verdict on a repository whose buf
// gives fixed files: in a git checkout the generated code must be what the protos give
// and committed, so that a clean clone has it; without git, what the protos give.
func TestCheckGenerated(t *testing.T) {
	for _, name := range []string{"sh", "git"} {
		if !onPath(name) {
			t.Skipf("needs %s: buf is stood in for by a shell script, the repository is git's", name)
		}
	}
	const pb = "proto/gen/go/lillvet/a/v1/a.pb.go"
	const pb2 = "proto/gen/go/lillvet/b/v1/b.pb.go"
	tests := []struct {
		name string
		git  bool
		// committed is the tree of the repository's one commit (with git), changed the
		// tree after it, gives what buf generates.
		committed, changed, gives map[string]string
		want                      []string // what the error names; none when the check passes
	}{
		{"a clean clone", true, map[string]string{pb: "a"}, nil, map[string]string{pb: "a"}, nil},
		{"generated, not committed", true, map[string]string{pb: "old"}, map[string]string{pb: "a"}, map[string]string{pb: "a"}, []string{"not what is committed", "M " + pb}},
		{"a new file generated, not committed", true, map[string]string{pb: "a"}, map[string]string{pb2: "b"}, map[string]string{pb: "a", pb2: "b"}, []string{"not what is committed", "?? " + pb2}},
		{"committed, not what the protos give", true, map[string]string{pb: "old"}, nil, map[string]string{pb: "a"}, []string{"not what the protos give", "changed: " + pb}},
		{"no git, what the protos give", false, map[string]string{pb: "a"}, nil, map[string]string{pb: "a"}, nil},
		{"no git, not what the protos give", false, map[string]string{pb: "old"}, nil, map[string]string{pb: "a"}, []string{"not what the protos give", "changed: " + pb}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.committed)
			if tt.git {
				commitAll(t, root)
			}
			writeFiles(t, root, tt.changed)
			fakeBuf(t, tt.gives)
			r := stoppable(t.Context(), stopWait)
			r.root = root
			err := checkGenerated(r)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("check failed: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("check passed, want it to fail naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("check failed with\n%v\nwhich does not name %q", err, w)
				}
			}
		})
	}
}

// fakeBuf puts first in PATH a buf whose generate writes gives under the current folder.
func fakeBuf(t *testing.T, gives map[string]string) {
	t.Helper()
	src := t.TempDir()
	writeFiles(t, src, gives)
	bin := t.TempDir()
	script := "#!/bin/sh\nexec cp -R '" + src + "'/. .\n"
	if err := os.WriteFile(filepath.Join(bin, "buf"), []byte(script), 0o700); err != nil { //nolint:gosec // the fake buf must run
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for path, content := range files {
		write(t, filepath.Join(root, filepath.FromSlash(path)), content)
	}
}

// commitAll commits the tree of a new repository at root, with no user's git
// configuration in the way.
func commitAll(t *testing.T, root string) {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "generated code"},
	} {
		cmd := exec.CommandContext(t.Context(), "git", args...) //nolint:gosec // the fixed arguments above
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
