package validate

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

// WorkspaceModules returns the folders go.work at root uses, relative to
// root and slash-separated.
func WorkspaceModules(root string) ([]string, error) {
	file := filepath.Join(root, "go.work")
	raw, err := os.ReadFile(filepath.Clean(file))
	if err != nil {
		return nil, fmt.Errorf("read go.work: %w", err)
	}
	wf, err := modfile.ParseWork(file, raw, nil)
	if err != nil {
		return nil, fmt.Errorf("parse go.work: %w", err)
	}
	var dirs []string
	for _, u := range wf.Use {
		dirs = append(dirs, path.Clean(filepath.ToSlash(u.Path)))
	}
	sort.Strings(dirs)
	return dirs, nil
}

// Binary is a deployable command of the workspace.
type Binary struct {
	// Name is the command's folder name, which names its image, its compose
	// service and its Kubernetes folder.
	Name string
	// Package is its path from the root, "./services/owner/cmd/owner".
	Package string
}

// Binaries lists the main packages under <module>/cmd/<name> of every
// workspace module outside deploy/ (which holds tooling, not services).
func Binaries(root string) ([]Binary, error) {
	modules, err := WorkspaceModules(root)
	if err != nil {
		return nil, err
	}
	var out []Binary
	for _, m := range modules {
		if m == "deploy" || strings.HasPrefix(m, "deploy/") {
			continue
		}
		cmdDir := filepath.Join(root, filepath.FromSlash(m), "cmd")
		entries, err := os.ReadDir(cmdDir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", cmdDir, err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			main, err := isMainPackage(filepath.Join(cmdDir, e.Name()))
			if err != nil {
				return nil, err
			}
			if main {
				out = append(out, Binary{Name: e.Name(), Package: "./" + path.Join(m, "cmd", e.Name())})
			}
		}
	}
	return out, nil
}

func isMainPackage(dir string) (bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return false, fmt.Errorf("list %s: %w", dir, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly)
		if err != nil {
			return false, fmt.Errorf("parse %s: %w", f, err)
		}
		return parsed.Name.Name == "main", nil
	}
	return false, nil
}
