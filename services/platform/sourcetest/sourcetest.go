// Package sourcetest type-checks Go packages for the tests that read the services' own
// code (which audit actions they write, which change reasons): with types, a name is
// what it declares, so a variable or a field that shares a function's name is not taken
// for the function, nor one parameter for another of the same name. Only the packages
// asked for are checked from source; what they import is read from the compiler's
// export data (go list -export), which a test build has already made.
package sourcetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Package is one package's Go files, its tests aside, with their types.
type Package struct {
	Path  string
	Fset  *token.FileSet
	Files []*ast.File
	Info  *types.Info
	Types *types.Package
}

// listed is what go list says of a package.
type listed struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Export     string
	DepOnly    bool
	Error      *struct{ Err string }
}

// Load type-checks the packages patterns match, as go list run in dir reads them (a
// directory or an import path, with /... for those under it).
func Load(dir string, patterns ...string) ([]*Package, error) {
	pkgs, err := list(dir, patterns)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	imp := exportImporter(fset, pkgs)
	var out []*Package
	for _, p := range pkgs {
		if p.DepOnly || len(p.GoFiles) == 0 {
			continue
		}
		if len(p.CgoFiles) > 0 {
			return nil, fmt.Errorf("package %s: cgo files are not read", p.ImportPath)
		}
		files, err := parseFiles(fset, p.Dir, p.GoFiles)
		if err != nil {
			return nil, err
		}
		pkg, err := check(fset, imp, p.ImportPath, files)
		if err != nil {
			return nil, err
		}
		out = append(out, pkg)
	}
	return out, nil
}

// Checker type-checks a test's small sources, importing from the export data of the
// packages it was made for, listed once.
type Checker struct {
	// Fset is the file set to parse the sources with.
	Fset *token.FileSet
	imp  types.Importer
}

// NewChecker returns a Checker for sources importing imports (and their imports), as
// go list run in dir reads them; an import it was not made for fails to import.
func NewChecker(dir string, imports ...string) (*Checker, error) {
	var pkgs []listed
	if len(imports) > 0 {
		var err error
		if pkgs, err = list(dir, imports); err != nil {
			return nil, err
		}
	}
	fset := token.NewFileSet()
	return &Checker{Fset: fset, imp: exportImporter(fset, pkgs)}, nil
}

// Check type-checks files, parsed with c.Fset, as the package path. It returns the
// package even when the sources do not check, with the types it could resolve, and the
// errors: an import the checker was not made for is one, and a name of it stays
// unresolved.
func (c *Checker) Check(path string, files []*ast.File) (*Package, error) {
	return check(c.Fset, c.imp, path, files)
}

// list runs go list in dir for patterns and what they import, with the export data of
// each: one that fails to list or build is an error.
func list(dir string, patterns []string) ([]listed, error) {
	args := append([]string{"list", "-e", "-export", "-deps", "-json=ImportPath,Dir,GoFiles,CgoFiles,Export,DepOnly,Error"}, patterns...)
	cmd := exec.Command("go", args...) //nolint:gosec // the go tool, listing the test's own packages
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %v: %w: %s", patterns, err, stderr.Bytes())
	}
	var pkgs []listed
	for dec := json.NewDecoder(bytes.NewReader(stdout)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list %v: %w", patterns, err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
}

// exportImporter imports the listed packages from their export data.
func exportImporter(fset *token.FileSet, pkgs []listed) types.Importer {
	exports := map[string]string{}
	for _, p := range pkgs {
		if p.Export != "" {
			exports[p.ImportPath] = p.Export
		}
	}
	return importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file) //nolint:gosec // a file of the build cache, as go list named it
	})
}

// parseFiles parses the named files of dir.
func parseFiles(fset *token.FileSet, dir string, names []string) ([]*ast.File, error) {
	files := make([]*ast.File, 0, len(names))
	for _, name := range names {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// check type-checks files as the package path, returning what it resolved and every
// error it met.
func check(fset *token.FileSet, imp types.Importer, path string, files []*ast.File) (*Package, error) {
	var errs []error
	conf := types.Config{Importer: imp, Error: func(err error) { errs = append(errs, err) }}
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	tpkg, _ := conf.Check(path, fset, files, info)
	pkg := &Package{Path: path, Fset: fset, Files: files, Info: info, Types: tpkg}
	if len(errs) > 0 {
		return pkg, fmt.Errorf("type-check %s: %w", path, errors.Join(errs...))
	}
	return pkg, nil
}
