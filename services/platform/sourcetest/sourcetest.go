// Package sourcetest type-checks Go packages for the tests that read the services' own
// code (which audit actions they write, which change reasons): with types, a name is
// what it declares, so a variable or a field that shares a function's name is not taken
// for the function, nor one parameter for another of the same name. Packages are loaded
// by golang.org/x/tools/go/packages: those asked for from source, what they import from
// the compiler's export data.
package sourcetest

import (
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/packages"

	// A test helper: the test command refuses a production binary that links one.
	_ "github.com/lillvet/register/services/platform/testonly"
)

// Package is one package's Go files, its tests aside, with their types.
type Package = packages.Package

// loadMode is what Load reads of the packages asked for: their syntax and types, and
// of what they import only the types.
const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedImports |
	packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo

// Load type-checks the packages patterns match, as go list run in dir reads them (a
// directory or an import path, with /... for those under it). A package that does not
// list, parse or type-check, or one it imports, is an error, and so are patterns that
// match no package with Go files but tests (go list only warns of a wildcard matching
// nothing), so that a scan given a wrong path fails instead of passing over nothing.
func Load(dir string, patterns ...string) ([]*Package, error) {
	pkgs, err := load(dir, loadMode, patterns)
	if err != nil {
		return nil, err
	}
	var out []*Package
	for _, p := range pkgs {
		if len(p.Syntax) > 0 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("load %v: no package with Go files but tests", patterns)
	}
	return out, nil
}

// Checker type-checks a test's small sources, importing the packages it was made for,
// loaded once.
type Checker struct {
	// Fset is the file set to parse the sources with.
	Fset    *token.FileSet
	imports map[string]*types.Package
}

// NewChecker returns a Checker for sources importing imports, as go list run in dir
// reads them; an import it was not made for fails to import.
func NewChecker(dir string, imports ...string) (*Checker, error) {
	c := &Checker{Fset: token.NewFileSet(), imports: map[string]*types.Package{}}
	if len(imports) == 0 {
		return c, nil
	}
	pkgs, err := load(dir, packages.NeedName|packages.NeedTypes, imports)
	if err != nil {
		return nil, err
	}
	for _, p := range pkgs {
		c.imports[p.PkgPath] = p.Types
	}
	return c, nil
}

// Check type-checks files, parsed with c.Fset, as the package path. It returns the
// package even when the sources do not check, with the types it could resolve, and the
// errors: an import the checker was not made for is one, and a name of it stays
// unresolved. The package is not importable by the sources checked after it (Provide
// makes one so), so that one table row's source does not change the next's.
func (c *Checker) Check(path string, files []*ast.File) (*Package, error) {
	var errs []error
	conf := types.Config{
		Importer: importerFunc(c.importPackage),
		Error:    func(err error) { errs = append(errs, err) },
	}
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	tpkg, _ := conf.Check(path, c.Fset, files, info)
	pkg := &Package{PkgPath: path, Fset: c.Fset, Syntax: files, TypesInfo: info, Types: tpkg}
	if len(errs) > 0 {
		return pkg, fmt.Errorf("type-check %s: %w", path, errors.Join(errs...))
	}
	return pkg, nil
}

// Provide type-checks files, parsed with c.Fset, as the package path and makes it
// importable by the sources checked after it, in place of any the checker was made with
// at that path, so that a test can stand in a package of its own for a real one (a
// changereason of another shape). Sources that do not check are an error.
func (c *Checker) Provide(path string, files []*ast.File) error {
	p, err := c.Check(path, files)
	if err != nil {
		return fmt.Errorf("provide %s: %w", path, err)
	}
	c.imports[path] = p.Types
	return nil
}

// importPackage returns the types of path if it is among the imports the checker was
// made for (loaded once by NewChecker), and an error otherwise, so that a test's source
// importing anything else does not check.
func (c *Checker) importPackage(path string) (*types.Package, error) {
	if p, ok := c.imports[path]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%s: not among the checker's imports", path)
}

// importerFunc is a function as a types.Importer.
type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// load loads patterns in dir with mode, failing on any package's error.
func load(dir string, mode packages.LoadMode, patterns []string) ([]*Package, error) {
	pkgs, err := packages.Load(&packages.Config{Mode: mode, Dir: dir}, patterns...)
	if err != nil {
		return nil, fmt.Errorf("load %v: %w", patterns, err)
	}
	var errs []error
	packages.Visit(pkgs, nil, func(p *Package) {
		for _, e := range p.Errors {
			errs = append(errs, fmt.Errorf("%s: %w", p.PkgPath, e))
		}
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("load %v: %w", patterns, errors.Join(errs...))
	}
	return pkgs, nil
}
