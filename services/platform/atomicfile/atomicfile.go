// Package atomicfile replaces files whole: a reader, or a start after a crash, finds
// the old content or the new, never half of it. The development tools write keys,
// tokens and certificates with it (compose-setup, the local runner, devpki, devauth).
//
// github.com/google/renameio does the same but does not build on Windows, where the
// local runner does, stages in $TMPDIR when that is on the same file system (keys
// would pass through a shared folder), and syncs no folder.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Write replaces path with data, with mode.
func Write(path string, data []byte, mode os.FileMode) error {
	return write(path, data, mode, nil)
}

// WriteOwned replaces path with data, with mode, owned by uid and gid from the start:
// a file handed over after the rename would be readable by its writer for a moment,
// and the container user could not read one left behind by a failed chown.
func WriteOwned(path string, data []byte, mode os.FileMode, uid, gid int) error {
	return write(path, data, mode, func(f *os.File) error {
		if err := f.Chown(uid, gid); err != nil {
			return fmt.Errorf("hand %s to uid %d: %w", path, uid, err)
		}
		return nil
	})
}

// write writes a temporary file beside path, syncs it, renames it over path and syncs
// the folder, so that the new file is on disk before the caller goes on: a key moved
// out of an env file must be stored before the env file loses it.
func write(path string, data []byte, mode os.FileMode, chown func(*os.File) error) error {
	// Beside path, even for a bare file name (-env .env), for which Split would give an
	// empty folder and CreateTemp $TMPDIR: the rename could not cross into another file
	// system, and the keys would pass through a shared folder.
	dir, base := filepath.Dir(path), filepath.Base(path)
	f, err := os.CreateTemp(dir, tempPrefix(base)+"*")
	if err != nil {
		return fmt.Errorf("create a file beside %s: %w", path, err)
	}
	tmp := f.Name()
	err = fill(f, path, data, mode, chown)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", path, cerr)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

func fill(f *os.File, path string, data []byte, mode os.FileMode, chown func(*os.File) error) error {
	if chown != nil {
		if err := chown(f); err != nil {
			return err
		}
	}
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

func tempPrefix(base string) string { return "." + base + "." }

// IsTemp tells whether name is a temporary file Write leaves behind when it stops before
// its rename, of the file called base: "."+base+"." and the decimal number os.CreateTemp
// puts in place of its "*". A caller that cleans up such files removes nothing else, not
// even a user's ".key.bak" or an editor's ".key.swp".
func IsTemp(name, base string) bool {
	n, ok := strings.CutPrefix(name, tempPrefix(base))
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}
