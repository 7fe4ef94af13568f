package atomicfile_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lillvet/register/services/platform/atomicfile"
)

// entries lists dir, so that a test sees a temporary file left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name     string
		existing *os.FileMode // the mode of a file already at the path, if any
		mode     os.FileMode
	}{
		{name: "a new file", mode: 0o600},
		{name: "a file with a wider mode is replaced with the mode asked for", existing: new(os.FileMode(0o644)), mode: 0o600},
		{name: "a public file", existing: new(os.FileMode(0o600)), mode: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "key")
			if tt.existing != nil {
				if err := os.WriteFile(path, []byte("old"), *tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			if err := atomicfile.Write(path, []byte("new\n"), tt.mode); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Clean(path))
			if err != nil || string(raw) != "new\n" {
				t.Fatalf("%s holds %q (%v)", path, raw, err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && info.Mode().Perm() != tt.mode {
				t.Errorf("mode %v, want %v", info.Mode().Perm(), tt.mode)
			}
			if got := entries(t, dir); len(got) != 1 {
				t.Errorf("the folder holds %q, want only the file", got)
			}
		})
	}
}

// TestWriteStaysBesideABareFileName: the temporary file of `.env` goes into the working
// folder, not $TMPDIR (here a folder that does not exist), which may be another file
// system and is shared.
func TestWriteStaysBesideABareFileName(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("TMPDIR", filepath.Join(dir, "no-such-folder"))
	if err := atomicfile.Write(".env", []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, "."); len(got) != 1 || got[0] != ".env" {
		t.Errorf("the folder holds %q, want only .env", got)
	}
}

// TestFailedWriteKeepsTheTarget: a write that cannot be renamed into place (a folder is
// in the way) leaves what was there and no temporary file.
func TestFailedWriteKeepsTheTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "key")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "inside"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(target, []byte("new"), 0o600); err == nil {
		t.Fatal("Write replaced a folder")
	}
	if got := entries(t, dir); len(got) != 1 || got[0] != "key" {
		t.Errorf("the folder holds %q, want only the folder in the way", got)
	}
	if got := entries(t, target); len(got) != 1 {
		t.Errorf("the folder in the way now holds %q", got)
	}
}

// TestIsTemp: the temporary file a write leaves is told from the user's files beside
// the target, which a clean-up must never remove.
func TestIsTemp(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{name: ".key.123456", want: true},
		{name: ".key.0", want: true},
		{name: ".key.bak"},
		{name: ".key.swp"},
		{name: ".key.123456.bak"},
		{name: ".key."},
		{name: ".key"},
		{name: "key"},
		{name: "..key.123"},
		{name: ".other.123"},
	}
	for _, tt := range tests {
		if got := atomicfile.IsTemp(tt.name, "key"); got != tt.want {
			t.Errorf("IsTemp(%q, key) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
