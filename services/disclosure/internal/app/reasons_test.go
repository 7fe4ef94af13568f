package app

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/changereason"
	"github.com/lillvet/register/services/platform/sourcetest"
)

// disclosureModule prefixes the import paths of the service's own packages.
const disclosureModule = "github.com/lillvet/register/services/disclosure/"

// TestChangeReasonsComeFromChangereason: the code that calls the other services (this
// package and the adapters) spells out none of the reasons the owner service stores
// (changereason's, an erasure request's included): the erasure job's calls make the
// owner service store "erasure request <id>", which the report names in the owner's
// language only in changereason's form, so the job writes it from there as the owner
// service does. (The report's English names of the reasons read as the reasons
// themselves, so the domain's texts are not searched.)
func TestChangeReasonsComeFromChangereason(t *testing.T) {
	pkgs, err := sourcetest.Load(".", ".", "../adapters/...")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, s := range speltOut(p) {
			t.Errorf("%s: a reason spelt out, not changereason's", s)
		}
	}
}

// TestSpeltOutFindsEveryForm: the walk behind TestChangeReasonsComeFromChangereason
// finds a reason spelt out whole, with spaces around it, and the start of an erasure
// request's reason in any expression that builds one; it leaves an error's text and a
// kind's name given to the service's own function, which no reason is made of.
func TestSpeltOutFindsEveryForm(t *testing.T) {
	const header = "package app\n\nimport (\n\t\"errors\"\n\t\"fmt\"\n)\n\nvar (\n\t_ = errors.New\n\t_ = fmt.Sprint\n)\n\n" +
		"func store(what, id string) error { return fmt.Errorf(\"store %s %s\", what, id) }\n\n"
	tests := []struct {
		name  string
		body  string
		found int
	}{
		{"a reason", `var r = "registered"`, 1},
		{"a reason with spaces", `var r = " retention period ended "`, 1},
		{"the erasure's prefix", `func f(id string) string { return "erasure request " + id }`, 1},
		{"a format", `func f(id string) string { return fmt.Sprintf("erasure request %s", id) }`, 1},
		{"a concatenation", `func f(id string) string { return "erasure request" + " " + id }`, 1},
		{"a concatenation by words", `func f(id string) string { return "erasure " + "request " + id }`, 1},
		{"a format's arguments", `func f(id string) string { return fmt.Sprint("erasure request", " ", id) }`, 1},
		{"a slice joined", `var parts = []string{"erasure request", "id"}`, 1},
		{"a constant", `const prefix = "erasure request"`, 1},
		{"an error's text", `func f(id string) error { return fmt.Errorf("erasure request %s: stuck", id) }`, 0},
		{"an error", `var err = errors.New("erasure request refused")`, 0},
		{"a kind's name", `func f(id string) error { return store("erasure request", id) }`, 0},
		{"other words", `func f(id string) error { return store("erasure job", "erasure requests of "+id) }`, 0},
		{"a word's start", `var s = "eras"`, 0},
	}
	c, err := sourcetest.NewChecker(".", "errors", "fmt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "app.go", header+tt.body, 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check(disclosureModule+"internal/app", []*ast.File{f})
			if err != nil {
				t.Fatal(err)
			}
			if found := speltOut(p); len(found) != tt.found {
				t.Errorf("found %q, want %d", found, tt.found)
			}
		})
	}
}

// speltOut returns where p's code has a string literal that spells out a reason
// (spellsReason): in full anywhere, or as the start of an erasure request's reason
// anywhere but in an error's text (fmt.Errorf, errors.New) or as a whole argument of
// the service's own function (the mongo adapter names the kind "erasure request" in its
// errors so).
func speltOut(p *sourcetest.Package) []string {
	var found []string
	for _, f := range p.Syntax {
		named := namesOnly(p.TypesInfo, f)
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && spellsReason(s, !named[lit]) {
				found = append(found, fmt.Sprintf("%s: %q", p.Fset.Position(lit.Pos()), s))
			}
			return true
		})
	}
	return found
}

// spellsReason reports whether s is one of changereason's reasons but for the spaces
// around it, or, where building says it may be made into a reason, starts an erasure
// request's: it starts with changereason's prefix ("erasure request "), or is its
// first words ("erasure", "erasure request"), to which an id is joined.
func spellsReason(s string, building bool) bool {
	trimmed := strings.TrimSpace(s)
	if trimmed == "" {
		return false
	}
	if slices.ContainsFunc(changereason.Fixed(), func(r string) bool { return strings.TrimSpace(r) == trimmed }) {
		return true
	}
	if !building {
		return false
	}
	prefix := changereason.Erasure("")
	return strings.HasPrefix(strings.TrimLeft(s, " "), prefix) || strings.HasPrefix(prefix, trimmed+" ")
}

// namesOnly returns the string literals of f that cannot be made into a reason: those
// within an error's text (an argument of fmt.Errorf or errors.New) and the whole
// arguments of a call to a function of the service's own.
func namesOnly(info *types.Info, f *ast.File) map[*ast.BasicLit]bool {
	out := map[*ast.BasicLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		fn, ok := sourcetest.Used(info, ast.Unparen(callee(call.Fun))).(*types.Func)
		if !ok || fn.Pkg() == nil {
			return true
		}
		switch name := fn.FullName(); {
		case name == "fmt.Errorf" || name == "errors.New":
			for _, arg := range call.Args {
				ast.Inspect(arg, func(n ast.Node) bool {
					if lit, ok := n.(*ast.BasicLit); ok {
						out[lit] = true
					}
					return true
				})
			}
		case strings.HasPrefix(fn.Pkg().Path(), disclosureModule):
			for _, arg := range call.Args {
				if lit, ok := ast.Unparen(arg).(*ast.BasicLit); ok {
					out[lit] = true
				}
			}
		}
		return true
	})
	return out
}

// callee is the function fun names, its type arguments aside (findByID[T, D]).
func callee(fun ast.Expr) ast.Expr {
	switch f := fun.(type) {
	case *ast.IndexExpr:
		return f.X
	case *ast.IndexListExpr:
		return f.X
	}
	return fun
}
