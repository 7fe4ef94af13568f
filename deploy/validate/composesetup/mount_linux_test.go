package composesetup_test

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/lillvet/register/deploy/validate/composesetup"
)

// TestFreshKeysOnAMountedVolume: a secrets folder that is a volume's mount point, or a
// link to one (an encrypted volume), cannot be removed or replaced; the fresh keys go
// into it, beside the lost+found such a volume's root holds. It mounts a tmpfs, which
// needs root: CI runs the tests as root.
func TestFreshKeysOnAMountedVolume(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a tmpfs needs root (CI runs the tests as root); not tested here")
	}
	for _, linked := range []bool{false, true} {
		t.Run(map[bool]string{false: "mounted", true: "linked"}[linked], func(t *testing.T) {
			o := options(t.TempDir())
			mnt := o.SecretDir
			if linked {
				mnt = filepath.Join(t.TempDir(), "volume")
			}
			if err := os.MkdirAll(mnt, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "mode=0700"); err != nil {
				t.Skipf("mounting a tmpfs failed (%v), so a mounted secrets folder is not tested here", err)
			}
			t.Cleanup(func() { _ = syscall.Unmount(mnt, 0) })
			if err := os.Mkdir(filepath.Join(mnt, "lost+found"), 0o700); err != nil {
				t.Fatal(err)
			}
			if linked {
				if err := os.Symlink(mnt, o.SecretDir); err != nil {
					t.Fatal(err)
				}
			}
			if err := composesetup.Run(o); err != nil {
				t.Fatalf("Run with an empty volume as the secrets folder: %v", err)
			}
			checkKeyring(t, readSecrets(t, o))
			want := []string{composesetup.BlindIndexKeyFile, composesetup.IdentityActiveKeyFile, composesetup.IdentityKeysFile, "lost+found", composesetup.RequestDigestKeyFile}
			if got := names(t, mnt); !slices.Equal(got, want) {
				t.Errorf("the volume holds %q, want %q", got, want)
			}
		})
	}
}
