//go:build unix

package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// SyncDir flushes dir's entries, so that a file renamed into it stays there after a
// crash.
func SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
