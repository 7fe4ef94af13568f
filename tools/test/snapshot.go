package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// snapshot reads every file under dir, by its slash-separated path relative to base.
func snapshot(base, dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path) //nolint:gosec // the generated files under the repository's proto/gen
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(base, path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	return files, nil
}

// diff lists, one line each and sorted by path, how generating changed the files:
// "changed", "added" (the protos give it, the tree did not have it) or "removed" (the
// tree had it, the protos no longer give it: stale). None when they are the same.
type diff []string

func compare(before, after map[string][]byte) diff {
	var d diff
	for path, b := range before {
		a, ok := after[path]
		switch {
		case !ok:
			d = append(d, "removed: "+path)
		case !bytes.Equal(a, b):
			d = append(d, "changed: "+path)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			d = append(d, "added: "+path)
		}
	}
	slices.SortFunc(d, func(x, y string) int {
		return strings.Compare(x[strings.Index(x, " ")+1:], y[strings.Index(y, " ")+1:])
	})
	return d
}

func (d diff) String() string {
	return "\t" + strings.Join(d, "\n\t")
}
