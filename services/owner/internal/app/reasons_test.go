package app_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// changereasonPath is the import path of the reasons the service writes itself.
const changereasonPath = "github.com/lillvet/register/services/platform/changereason"

// TestOwnReasonsComeFromChangereason: every reason this package writes on a change is
// either the caller's (staff typed it) or one of changereason's, which the disclosure
// service names in the owner's language (its TestEveryChangeReasonNamed): a reason
// written here as a literal or a constant of its own would reach the owner's access
// report in the stored English. The reasons are the arguments in the place of a
// parameter named reason of the package's functions and methods.
func TestOwnReasonsComeFromChangereason(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	// The package's files but its tests, read by the parser (no source given).
	files := map[string]any{}
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			files[name] = nil
		}
	}
	found, bad := reasonsIn(t, files)
	if found == 0 {
		t.Fatal("found no reasons written: the walk is broken")
	}
	for _, b := range bad {
		t.Errorf("%s: a reason of the service's own not from changereason", b)
	}
}

// TestReasonsInRefusesOwnReasons: the walk behind TestOwnReasonsComeFromChangereason
// takes changereason's reasons, the caller's and the input's, and refuses a literal, a
// constant or an expression of the package's own.
func TestReasonsInRefusesOwnReasons(t *testing.T) {
	const header = "package app\n\nimport cr " + `"` + changereasonPath + `"` + "\n\nvar _ = cr.Registered\n\n" +
		"func change(fields []string, reason string) {}\n\n"
	tests := []struct {
		name string
		body string
		bad  int
	}{
		{"changereason's", `func f() { change(nil, cr.Registered); change(nil, cr.Erasure("id")) }`, 0},
		{"the caller's", `func f(reason string) { change(nil, reason) }`, 0},
		{"the input's", `type in struct{ Reason string }; func f(i in) { change(nil, i.Reason) }`, 0},
		{"a literal", `func f() { change(nil, "merged") }`, 1},
		{"a constant of its own", `const merged = "merged"; func f() { change(nil, merged) }`, 1},
		{"an expression", `func f(id string) { change(nil, "merged into " + id) }`, 1},
		{"a parameter of another name", `func f(why string) { change(nil, why) }`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, bad := reasonsIn(t, map[string]any{"app.go": header + tt.body})
			if len(bad) != tt.bad {
				t.Errorf("refused %q, want %d", bad, tt.bad)
			}
		})
	}
}

// reasonsIn parses one package's files (by name, with their source or nil to read the
// file) and returns how many reasons it writes and where it writes one that is not the
// caller's, the input's or changereason's.
func reasonsIn(t *testing.T, sources map[string]any) (found int, bad []string) {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	takers := map[string]int{}
	for name, src := range sources {
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok {
				if i := paramIndex(fn.Type, "reason"); i >= 0 {
					takers[fn.Name.Name] = i
				}
			}
		}
	}
	for _, f := range files {
		fromChangereason := importedAs(f, changereasonPath)
		for _, decl := range f.Decls {
			forwards := false
			if fn, ok := decl.(*ast.FuncDecl); ok {
				forwards = paramIndex(fn.Type, "reason") >= 0
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				name := ""
				switch fun := call.Fun.(type) {
				case *ast.Ident:
					name = fun.Name
				case *ast.SelectorExpr:
					name = fun.Sel.Name
				}
				if i, ok := takers[name]; ok && i < len(call.Args) {
					found++
					if !allowedReason(call.Args[i], fromChangereason, forwards) {
						bad = append(bad, fset.Position(call.Pos()).String())
					}
				}
				return true
			})
		}
	}
	return found, bad
}

// allowedReason reports whether e is a reason the package may write: one of
// changereason's (named through the name it is imported as), its caller's (the
// function's own reason parameter) or an input's Reason field, which staff typed.
func allowedReason(e ast.Expr, fromChangereason string, forwards bool) bool {
	if call, ok := e.(*ast.CallExpr); ok {
		e = call.Fun
	}
	switch e := e.(type) {
	case *ast.Ident:
		return forwards && e.Name == "reason"
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && x.Name == fromChangereason {
			return true
		}
		return e.Sel.Name == "Reason"
	}
	return false
}

// importedAs is the name f imports path by, or "" when it does not.
func importedAs(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		if p, err := strconv.Unquote(imp.Path.Value); err == nil && p == path {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return path[strings.LastIndex(path, "/")+1:]
		}
	}
	return ""
}

// paramIndex is the index of the parameter called name among ft's, or -1.
func paramIndex(ft *ast.FuncType, name string) int {
	i := 0
	for _, field := range ft.Params.List {
		for _, n := range field.Names {
			if n.Name == name {
				return i
			}
			i++
		}
		if len(field.Names) == 0 {
			i++
		}
	}
	return -1
}
