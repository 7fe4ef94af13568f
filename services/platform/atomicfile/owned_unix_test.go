//go:build unix

package atomicfile_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lillvet/register/services/platform/atomicfile"
)

// TestWriteOwned: the file belongs to the user asked for (another user when the test
// runs as root, who can give files away, else the invoker), and a user who cannot hand
// the file over gets an error and keeps the old file.
func TestWriteOwned(t *testing.T) {
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 1234, 2345
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := atomicfile.WriteOwned(path, []byte("tok\n"), 0o600, uid, gid); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("%s belongs to %v, want %d:%d", path, info.Sys(), uid, gid)
	}
	if os.Getuid() == 0 {
		return
	}
	if err := atomicfile.WriteOwned(path, []byte("other\n"), 0o600, os.Getuid()+1, gid); err == nil {
		t.Fatal("a user other than root gave a file away")
	}
	if raw, _ := os.ReadFile(filepath.Clean(path)); string(raw) != "tok\n" {
		t.Errorf("a failed write changed the file: %q", raw)
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("the folder holds %q, want only the file", got)
	}
}
