package sourcetest_test

import (
	"go/ast"
	"go/parser"
	"go/types"
	"slices"
	"testing"

	"github.com/lillvet/register/services/platform/sourcetest"
)

// TestLoad: a package is checked from its source, its tests aside, and what it imports
// resolves to the imported package's declarations.
func TestLoad(t *testing.T) {
	pkgs, err := sourcetest.Load(".", "../changereason")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || pkgs[0].PkgPath != sourcetest.ChangereasonPath {
		t.Fatalf("loaded %d packages, want changereason alone", len(pkgs))
	}
	p := pkgs[0]
	if fn, ok := p.Types.Scope().Lookup("Erasure").(*types.Func); !ok || fn.Signature().Params().At(0).Name() != "requestID" {
		t.Errorf("Erasure is %v", p.Types.Scope().Lookup("Erasure"))
	}
	for _, f := range p.Syntax {
		if name := p.Fset.Position(f.Pos()).Filename; len(name) > 8 && name[len(name)-8:] == "_test.go" {
			t.Errorf("a test file was read: %s", name)
		}
	}
	uses := 0
	for id, obj := range p.TypesInfo.Uses {
		if id.Name == "CutPrefix" && obj.Pkg() != nil && obj.Pkg().Path() == "strings" {
			uses++
		}
	}
	if uses != 1 {
		t.Errorf("strings.CutPrefix resolved %d times, want once", uses)
	}
}

// TestLoadFails: a package that cannot be listed or does not type-check is an error,
// and so are patterns that match no package to read, so that a scan does not pass over
// code it could not read, nor over nothing.
func TestLoadFails(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
	}{
		{"no such directory", "./testdata/none"},
		{"a type error", "./testdata/broken"},
		{"a wildcard matching no package", "github.com/lillvet/register/services/platform/none/..."},
		{"tests alone", "./testdata/testsonly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if pkgs, err := sourcetest.Load(".", tt.pattern); err == nil {
				t.Errorf("loaded %d packages, want an error", len(pkgs))
			}
		})
	}
}

// TestChecker: a test's small source is checked, its imports read as Load reads them,
// or as a source provided to stand in a package declared them; an import the checker
// was not made for is an error, and the rest is still resolved. A source merely checked
// before is not importable, so that what a row checks does not change the rows after it.
func TestChecker(t *testing.T) {
	c, err := sourcetest.NewChecker(".", "strings")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		src    string
		errors bool
	}{
		{"a known import", "package p\n\nimport \"strings\"\n\nvar s = strings.ToUpper(\"a\")\n", false},
		{"an unknown import", "package p\n\nimport (\"strings\"; \"example.com/none\")\n\nvar s = strings.ToUpper(none.A)\n", true},
		{"a package provided before", "package p\n\nimport \"example.com/q\"\n\nvar s = q.A\n", false},
		{"a package checked before", "package p\n\nimport (\"strings\"; \"example.com/r\")\n\nvar s = strings.ToUpper(r.A)\n", true},
	}
	q, err := parser.ParseFile(c.Fset, "q.go", "package q\n\nconst A = \"a\"\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Provide("example.com/q", []*ast.File{q}); err != nil {
		t.Fatal(err)
	}
	r, err := parser.ParseFile(c.Fset, "r.go", "package r\n\nconst A = \"a\"\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check("example.com/r", []*ast.File{r}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "p.go", tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check("example.com/p", []*ast.File{f})
			if (err != nil) != tt.errors || p == nil {
				t.Fatalf("errors %v, want %v", err, tt.errors)
			}
			if obj := p.Types.Scope().Lookup("s"); p.PkgPath != "example.com/p" || obj == nil || obj.Type().String() != "string" {
				t.Errorf("s is %v", obj)
			}
		})
	}
}

// TestWrites: each form of write to a field or a parameter is found, with its value, or
// none where the statement has no one value; a field of another name, a selection the
// target refuses and a call to another function are not writes.
func TestWrites(t *testing.T) {
	const header = "package p\n\ntype T struct{ Name, Other string }\n\ntype U struct{ Name string }\n\n" +
		"func set(x int, name string) {}\n\nfunc get() (string, string) { return \"\", \"\" }\n\n" +
		"func (T) put(x int, name string) {}\n\n"
	tests := []struct {
		name   string
		body   string
		values []string
	}{
		{"a literal", `var _ = T{Name: "lit"}`, []string{`"lit"`}},
		{"a literal's other field", `var _ = T{Other: "lit"}`, nil},
		{"a literal of a type refused", `var _ = U{Name: "lit"}`, nil},
		{"elided literals", `var _ = []*T{{Name: "a"}, {Name: "b"}}`, []string{`"a"`, `"b"`}},
		{"an assignment", `func f(t *T) { t.Name = "set" }`, []string{`"set"`}},
		{"an assignment of several", `func f(t *T) { t.Other, t.Name = "o", "n" }`, []string{`"n"`}},
		{"an assignment from a call", `func f(t *T) { t.Name, t.Other = get() }`, []string{""}},
		{"a compound assignment", `func f(t *T) { t.Name += "x" }`, []string{""}},
		{"a selection refused", `func f(u *U) { u.Name = "set" }`, nil},
		{"a parameter assigned", `func g(name string) { name = "again"; _ = name }`, []string{`"again"`}},
		{"a call", `func f() { set(1, "arg") }`, []string{`"arg"`}},
		{"a method call", `func f(t T) { t.put(1, "arg") }`, []string{`"arg"`}},
		{"a method expression's call", `func f(t T) { T.put(t, 1, "arg") }`, []string{`"arg"`}},
		{"a method expression of a pointer", `func f(t *T) { (*T).put(t, 1, "arg") }`, []string{`"arg"`}},
	}
	c, err := sourcetest.NewChecker(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "p.go", header+tt.body, 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check("example.com/p", []*ast.File{f})
			if err != nil {
				t.Fatal(err)
			}
			funcs, params := sourcetest.ParamsNamed(p, "name")
			isT := func(t types.Type) bool {
				if ptr, ok := t.(*types.Pointer); ok {
					t = ptr.Elem()
				}
				return types.TypeString(t, nil) == "example.com/p.T"
			}
			var values []string
			for _, w := range sourcetest.Writes(p.TypesInfo, f, sourcetest.Target{
				Field: "Name", Literal: isT, Selected: func(s *types.Selection) bool { return isT(s.Recv()) }, Params: params,
				Argument: func(call *ast.CallExpr) int {
					fn, offset := sourcetest.Callee(p.TypesInfo, call)
					if i, ok := funcs[fn]; ok {
						return offset + i
					}
					return -1
				},
			}) {
				v := ""
				if w.Value != nil {
					v = types.ExprString(w.Value)
				}
				values = append(values, v)
			}
			if !slices.Equal(values, tt.values) {
				t.Errorf("writes %q, want %q", values, tt.values)
			}
		})
	}
}

// TestIsChangeReason: changereason's constants and a call of its Erasure, however the
// package is imported and parenthesised, are change reasons; nothing else is, neither
// another function of the package nor one of its reasons kept, changed or spelt out.
func TestIsChangeReason(t *testing.T) {
	const header = "package p\n\nimport (\n\tcr \"" + sourcetest.ChangereasonPath + "\"\n\t\"strings\"\n)\n\n" +
		"var _ = strings.ToUpper\n\nfunc id() string { return \"r-1\" }\n\n"
	tests := []struct {
		name   string
		reason string
		is     bool
	}{
		{"a constant", "cr.Registered", true},
		{"a constant in parentheses", "(cr.Erased)", true},
		{"Erasure", "cr.Erasure(id())", true},
		{"Erasure in parentheses", "(cr.Erasure)(id())", true},
		{"another function", "cr.Fixed()[0]", false},
		{"a constant changed", "strings.ToUpper(cr.Registered)", false},
		{"Erasure spelt out", `"erasure request " + id()`, false},
		{"a literal", `"registered"`, false},
		{"a variable", "kept", false},
		{"a constant of its own", "own", false},
	}
	c, err := sourcetest.NewChecker(".", sourcetest.ChangereasonPath, "strings")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := header + "const own = \"registered\"\n\nvar kept = cr.Registered\n\nvar reason = " + tt.reason + "\n"
			if got := lastValueIsChangeReason(t, c, src); got != tt.is {
				t.Errorf("IsChangeReason(%s) = %v, want %v", tt.reason, got, tt.is)
			}
		})
	}
}

// TestIsChangeReasonTakesErasureItself: with a changereason of another shape standing
// in, its function Erasure is a change reason, and a method called Erasure is not,
// whatever leads to it: a value of the package's type, a constant's, a function's
// result or a method expression.
func TestIsChangeReasonTakesErasureItself(t *testing.T) {
	const changereason = "package changereason\n\nconst Registered = \"registered\"\n\n" +
		"func Erasure(requestID string) string { return \"erasure request \" + requestID }\n\n" +
		"type R string\n\nconst Code R = \"c\"\n\nfunc (R) Erasure(id string) string { return \"moved \" + id }\n\n" +
		"type builder struct{}\n\nfunc (builder) Erasure(id string) string { return \"merged \" + id }\n\n" +
		"func Builder() builder { return builder{} }\n"
	tests := []struct {
		name   string
		reason string
		is     bool
	}{
		{"the function", "cr.Erasure(id())", true},
		{"a constant", "cr.Registered", true},
		{"a method of a value", `cr.R("x").Erasure(id())`, false},
		{"a method of a constant", "cr.Code.Erasure(id())", false},
		{"a method of a function's result", "cr.Builder().Erasure(id())", false},
		{"a method expression", "cr.R.Erasure(cr.Code, id())", false},
	}
	c, err := sourcetest.NewChecker(".")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(c.Fset, "changereason.go", changereason, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Provide(sourcetest.ChangereasonPath, []*ast.File{f}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package p\n\nimport cr \"" + sourcetest.ChangereasonPath + "\"\n\nfunc id() string { return \"r-1\" }\n\nvar reason = " + tt.reason + "\n"
			if got := lastValueIsChangeReason(t, c, src); got != tt.is {
				t.Errorf("IsChangeReason(%s) = %v, want %v", tt.reason, got, tt.is)
			}
		})
	}
}

// lastValueIsChangeReason checks src, whose last declaration is a var of one value, as
// package example.com/p, and tells whether that value is a change reason.
func lastValueIsChangeReason(t *testing.T, c *sourcetest.Checker, src string) bool {
	t.Helper()
	f, err := parser.ParseFile(c.Fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Check("example.com/p", []*ast.File{f})
	if err != nil {
		t.Fatal(err)
	}
	spec := f.Decls[len(f.Decls)-1].(*ast.GenDecl).Specs[0].(*ast.ValueSpec)
	return sourcetest.IsChangeReason(p.TypesInfo, spec.Values[0])
}

// TestCallee: a method expression's arguments start with the receiver, so its
// parameters are offset by one; a call of a value names no function.
func TestCallee(t *testing.T) {
	const header = "package p\n\ntype T struct{}\n\nfunc (T) m(a int) int { return a }\n\n" +
		"func (*T) pm(a int) int { return a }\n\nfunc g(a int) int { return a }\n\n"
	tests := []struct {
		name   string
		call   string
		fn     string
		offset int
	}{
		{"a function", "g(1)", "g", 0},
		{"a method", "t.m(1)", "m", 0},
		{"a method expression", "T.m(t, 1)", "m", 1},
		{"a method expression of a pointer", "(*T).pm(&t, 1)", "pm", 1},
		{"a function in parentheses", "(g)(1)", "g", 0},
		{"a method expression in parentheses", "((*T).pm)(&t, 1)", "pm", 1},
		{"a method value", "v(1)", "", 0},
		{"a conversion", "int(1)", "", 0},
	}
	c, err := sourcetest.NewChecker(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "p.go", header+"func f(t T) { v := t.m; _ = v; _ = "+tt.call+" }\n", 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check("example.com/p", []*ast.File{f})
			if err != nil {
				t.Fatal(err)
			}
			body := f.Decls[len(f.Decls)-1].(*ast.FuncDecl).Body.List
			call := body[len(body)-1].(*ast.AssignStmt).Rhs[0].(*ast.CallExpr)
			fn, offset := sourcetest.Callee(p.TypesInfo, call)
			name := ""
			if fn != nil {
				name = fn.Name()
			}
			if name != tt.fn || offset != tt.offset {
				t.Errorf("Callee(%s) = %q, %d; want %q, %d", tt.call, name, offset, tt.fn, tt.offset)
			}
		})
	}
}
