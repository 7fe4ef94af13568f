package changereason

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestFixedHoldsEveryReason: every reason constant of the package, in any of its files,
// is in Fixed, which the disclosure service reads to check that each has a name in
// every language, so a reason added here and not to Fixed fails; so does one written
// other than as a string literal, which the walk cannot read.
func TestFixedHoldsEveryReason(t *testing.T) {
	files, err := packageFiles(".")
	if err != nil {
		t.Fatal(err)
	}
	consts, unread := declaredReasons(files)
	for _, u := range unread {
		t.Errorf("%s: not a string literal", u)
	}
	if len(consts) == 0 {
		t.Fatal("found no reason constants")
	}
	for _, c := range consts {
		if !slices.Contains(Fixed(), c) {
			t.Errorf("Fixed lacks %q", c)
		}
	}
	if len(Fixed()) != len(consts) {
		t.Errorf("Fixed holds %d reasons, the package declares %d", len(Fixed()), len(consts))
	}
}

// TestDeclaredReasonsFindsEveryForm: the walk behind TestFixedHoldsEveryReason reads a
// constant declared in any file, typed or not, and reports each exported constant whose
// value is not a string literal.
func TestDeclaredReasonsFindsEveryForm(t *testing.T) {
	tests := []struct {
		name   string
		srcs   []string
		consts []string
		unread []string
	}{
		{"literals in two files", []string{`const A = "a"`, `const (B = "b"; C string = "c")`}, []string{"a", "b", "c"}, nil},
		{"unexported", []string{`const a = "a" + "b"`}, nil, nil},
		{"a concatenation", []string{`const A = "a" + "b"`}, nil, []string{"A"}},
		{"another constant", []string{`const (A = "a"; B = A)`}, []string{"a"}, []string{"B"}},
		{"a repeated value", []string{`const (A = "a"; B)`}, []string{"a"}, []string{"B"}},
		{"not a string", []string{"const A = `a`; const B = 1"}, []string{"a"}, []string{"B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			var files []*ast.File
			for i, src := range tt.srcs {
				f, err := parser.ParseFile(fset, fmt.Sprintf("f%d.go", i), "package changereason\n\n"+src+"\n", 0)
				if err != nil {
					t.Fatal(err)
				}
				files = append(files, f)
			}
			consts, unread := declaredReasons(files)
			slices.Sort(consts)
			if !slices.Equal(consts, tt.consts) || !slices.Equal(unread, tt.unread) {
				t.Errorf("read %q, unread %q; want %q, %q", consts, unread, tt.consts, tt.unread)
			}
		})
	}
}

// packageFiles parses the Go files of dir but its tests: one package.
func packageFiles(dir string) ([]*ast.File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// declaredReasons returns the values of the exported constants of files, and the names
// of those whose value is not a string literal (an expression, another constant, a
// value repeated from the line before), which it cannot read without types.
func declaredReasons(files []*ast.File) (consts, unread []string) {
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !name.IsExported() {
						continue
					}
					if v, ok := stringLiteral(vs.Values, i); ok {
						consts = append(consts, v)
					} else {
						unread = append(unread, name.Name)
					}
				}
			}
		}
	}
	return consts, unread
}

// stringLiteral is the string values[i] spells, if it is a string literal.
func stringLiteral(values []ast.Expr, i int) (string, bool) {
	if i >= len(values) {
		return "", false
	}
	lit, ok := values[i].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}

// TestStoredReasons: each reason reads exactly as the change histories store it, so
// that a renamed one, which the report could no longer name in what is already stored,
// fails here; a reason added to Fixed fails until it is tabled too.
func TestStoredReasons(t *testing.T) {
	tests := []struct {
		name, reason, stored string
	}{
		{"Registered", Registered, "registered"},
		{"RetentionEnded", RetentionEnded, "retention period ended"},
		{"Untransfer", Untransfer, "transfer taken back: the new owner was restricted (or could not be read) when it was written"},
		{"TakenBack", TakenBack, "transfer taken back"},
		{"LateErasure", LateErasure, "covered by the owner's erasure: the patient came under the owner after it ran"},
		{"Erased", Erased, "(erased)"},
		{"Withheld", Withheld, "(withheld)"},
		{"Erasure", Erasure("0190f5a4-2222-7000-8000-000000000001"), "erasure request 0190f5a4-2222-7000-8000-000000000001"},
	}
	tabled := map[string]bool{}
	for _, tt := range tests {
		tabled[tt.reason] = true
		if tt.reason != tt.stored {
			t.Errorf("%s reads %q, stored as %q", tt.name, tt.reason, tt.stored)
		}
	}
	for _, r := range Fixed() {
		if !tabled[r] {
			t.Errorf("%q is not tabled here as stored", r)
		}
	}
}

func TestErasure(t *testing.T) {
	const id = "0190f5a4-2222-7000-8000-000000000001"
	tests := []struct {
		reason string
		id     string
		ok     bool
	}{
		{Erasure(id), id, true},
		{"erasure request pending", "pending", true},
		{"erasure request", "", false},
		{Registered, "", false},
	}
	for _, tt := range tests {
		if got, ok := ErasureRequest(tt.reason); got != tt.id || ok != tt.ok {
			t.Errorf("ErasureRequest(%q) = %q, %v, want %q, %v", tt.reason, got, ok, tt.id, tt.ok)
		}
	}
}
