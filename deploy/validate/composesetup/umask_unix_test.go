//go:build unix

package composesetup_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lillvet/register/deploy/validate/composesetup"
)

// TestLockFileOpenUnderAStrictUmask: the lock file a run creates under umask 077 can
// still be opened by the next run as another user (a first run with sudo, then the
// container user).
func TestLockFileOpenUnderAStrictUmask(t *testing.T) {
	o := options(t.TempDir())
	defer syscall.Umask(syscall.Umask(0o077))
	if err := composesetup.Run(o); err != nil {
		t.Fatalf("Run: %v", err)
	}
	lock := filepath.Join(filepath.Dir(o.SecretDir), ".secrets.lock")
	if info, err := os.Stat(lock); err != nil || info.Mode().Perm()&0o004 == 0 {
		t.Errorf("the lock file %s is not readable by every user under umask 077 (%v)", lock, err)
	}
}
