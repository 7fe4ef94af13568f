package validate

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// StageContext copies into dst what the Dockerfile's context copies would put
// under its WORKDIR, following COPY's rules (a directory's contents are
// copied, not the directory), so that the build can be tried without Docker.
func StageContext(root string, copies []Copy, dst string) error {
	for _, c := range copies {
		if path.IsAbs(c.Dest) {
			return fmt.Errorf("line %d: absolute destination %s: copy relative to WORKDIR", c.Line, c.Dest)
		}
		into := len(c.Sources) > 1 || strings.HasSuffix(c.Dest, "/")
		dest := filepath.Join(dst, filepath.FromSlash(c.Dest))
		for _, src := range c.Sources {
			from := filepath.Join(root, filepath.FromSlash(path.Clean(src)))
			info, err := os.Stat(from)
			if err != nil {
				return fmt.Errorf("line %d: %w", c.Line, err)
			}
			switch {
			case info.IsDir():
				err = copyTree(from, dest)
			case into:
				err = copyFile(from, filepath.Join(dest, filepath.Base(from)))
			default:
				err = copyFile(from, dest)
			}
			if err != nil {
				return fmt.Errorf("line %d: stage %s: %w", c.Line, src, err)
			}
		}
	}
	return nil
}

func copyTree(from, to string) error {
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o750)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, filepath.Join(to, rel))
	})
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return nil
}

func copyFile(from, to string) (err error) {
	if err := os.MkdirAll(filepath.Dir(to), 0o750); err != nil {
		return fmt.Errorf("create folder for %s: %w", to, err)
	}
	in, err := os.Open(filepath.Clean(from))
	if err != nil {
		return fmt.Errorf("open %s: %w", from, err)
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(filepath.Clean(to), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", to, err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", to, cerr)
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return nil
}
