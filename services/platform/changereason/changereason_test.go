package changereason

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/types"
	"slices"
	"testing"

	"github.com/lillvet/register/services/platform/sourcetest"
)

// TestFixedHoldsEveryReason: every exported string constant of the package, in any of
// its files and however its value is spelt, is a reason in Fixed, which the disclosure
// service reads to check that each has a name in every language, so a reason added here
// and not to Fixed fails; and Fixed holds nothing else. An exported variable fails too:
// a reason is a constant (the owner and disclosure services' tests take only the
// package's constants and Erasure for reasons, so a variable or another function
// written as one fails there).
func TestFixedHoldsEveryReason(t *testing.T) {
	pkgs, err := sourcetest.Load(".", ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 {
		t.Fatalf("loaded %d packages, want this one", len(pkgs))
	}
	consts, refused := declaredReasons(pkgs[0].Types)
	for _, r := range refused {
		t.Errorf("%s: not a reason constant", r)
	}
	if len(consts) == 0 {
		t.Fatal("found no reason constants")
	}
	for _, c := range consts {
		if !slices.Contains(Fixed(), c) {
			t.Errorf("Fixed lacks %q", c)
		}
	}
	for _, r := range Fixed() {
		if !slices.Contains(consts, r) {
			t.Errorf("Fixed holds %q, which no constant declares", r)
		}
	}
}

// TestDeclaredReasonsFindsEveryForm: the walk behind TestFixedHoldsEveryReason reads the
// value of every exported string constant declared in any file, however it is spelt,
// and refuses an exported variable and an exported constant that is no string.
func TestDeclaredReasonsFindsEveryForm(t *testing.T) {
	tests := []struct {
		name    string
		srcs    []string
		consts  []string
		refused []string
	}{
		{"literals in two files", []string{`const A = "a"`, `const (B = "b"; C string = "c")`}, []string{"a", "b", "c"}, nil},
		{"unexported", []string{`const a = "a" + "b"; var b = "b"`}, nil, nil},
		{"a concatenation", []string{`const A = "a" + "b"`}, []string{"ab"}, nil},
		{"another constant", []string{`const (a = "a"; B = a + "b")`}, []string{"ab"}, nil},
		{"a repeated value", []string{`const (A = "a"; B)`}, []string{"a", "a"}, nil},
		{"a string type of its own", []string{`type R string; const A R = "a"`}, []string{"a"}, nil},
		{"not a string", []string{"const A = `a`; const B = 1"}, []string{"a"}, []string{"B"}},
		{"an exported variable", []string{`const A = "a"`, `var Sneaky = "sneaky"`}, []string{"a"}, []string{"Sneaky"}},
		{"an exported variable of another type", []string{`var Sneaky = []string{"sneaky"}`}, nil, []string{"Sneaky"}},
		{"functions and types", []string{`type T struct{}; func F() string { return "f" }`}, nil, nil},
	}
	c, err := sourcetest.NewChecker(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var files []*ast.File
			for i, src := range tt.srcs {
				f, err := parser.ParseFile(c.Fset, fmt.Sprintf("f%d.go", i), "package changereason\n\n"+src+"\n", 0)
				if err != nil {
					t.Fatal(err)
				}
				files = append(files, f)
			}
			p, err := c.Check("example.com/changereason", files)
			if err != nil {
				t.Fatal(err)
			}
			consts, refused := declaredReasons(p.Types)
			slices.Sort(consts)
			if !slices.Equal(consts, tt.consts) || !slices.Equal(refused, tt.refused) {
				t.Errorf("read %q, refused %q; want %q, %q", consts, refused, tt.consts, tt.refused)
			}
		})
	}
}

// declaredReasons returns the values of the exported string constants of pkg, and the
// names of its other exported constants and of its exported variables, which are no
// reasons (a variable could change as the program runs, and escape Fixed).
func declaredReasons(pkg *types.Package) (consts, refused []string) {
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		switch obj := scope.Lookup(name).(type) {
		case *types.Const:
			if !obj.Exported() {
				continue
			}
			if obj.Val().Kind() == constant.String {
				consts = append(consts, constant.StringVal(obj.Val()))
			} else {
				refused = append(refused, name)
			}
		case *types.Var:
			if obj.Exported() {
				refused = append(refused, name)
			}
		}
	}
	return consts, refused
}

// TestExportsBuildNoOtherReason: besides its constants, the package exports Erasure,
// the one builder of a reason the owner and disclosure services' scans follow
// (sourcetest.IsChangeReason), and Fixed and ErasureRequest, which build none, each of
// the signature pinned here (its parameters' names aside); any other exported function,
// or exported method of a type of the package, that returns a string (or something
// holding one) fails, since it could build a reason that no scan follows and no
// language names.
func TestExportsBuildNoOtherReason(t *testing.T) {
	pkgs, err := sourcetest.Load(".", ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range otherExports(pkgs[0].Types) {
		t.Errorf("%s: changereason exports no function or method returning a string but Erasure, Fixed and ErasureRequest as they are; "+
			"a reason is a constant, or Erasure's, which the services' scans follow", e)
	}
}

// TestOtherExportsFindsEveryForm: the walk behind TestExportsBuildNoOtherReason takes
// the pinned functions of their signatures, whatever their parameters are called,
// unexported functions and methods, interfaces, and exported functions and methods
// returning nothing that holds a string; it refuses another exported function or
// exported method of any type of the package returning a string, a type of its own
// based on one, or a slice, struct or function holding one, and a pinned one of another
// signature.
func TestOtherExportsFindsEveryForm(t *testing.T) {
	const pinned = "func Fixed() []string { return nil }\n" +
		"func Erasure(requestID string) string { return requestID }\n" +
		"func ErasureRequest(reason string) (requestID string, ok bool) { return reason, true }\n"
	tests := []struct {
		name  string
		src   string
		other []string
	}{
		{"the pinned functions", pinned, nil},
		{"another function", pinned + `func Moved(id string) string { return "moved " + id }`, []string{"Moved"}},
		{"the pinned functions with their parameters renamed", "func Fixed() []string { return nil }\n" +
			"func Erasure(id string) string { return id }\n" +
			"func ErasureRequest(s string) (id string, found bool) { return s, true }\n", nil},
		{"a function of no string", pinned + `func Count(s string) int { return len(s) }`, nil},
		{"a function of a string among its results", pinned + `func Two() (int, string) { return 0, "" }`, []string{"Two"}},
		{"a function of a string type of its own", pinned + `type R string; func Make() R { return "" }`, []string{"Make"}},
		{"a function of strings in a slice", pinned + `func All() []string { return nil }`, []string{"All"}},
		{"a function of a string in a struct", pinned + `type T struct{ Why string }; func Make() *T { return nil }`, []string{"Make"}},
		{"a function of a builder of strings", pinned + `func Builder() func(string) string { return nil }`, []string{"Builder"}},
		{"a function of a type of itself", pinned + `type L struct{ Next *L }; func New() L { return L{} }`, nil},
		{"Erasure of another signature", `func Erasure(requestID, why string) string { return why }`, []string{"Erasure"}},
		{"ErasureRequest of another signature", `func ErasureRequest(reason string) (string, error) { return reason, nil }`, []string{"ErasureRequest"}},
		{"an unexported function", pinned + `func moved(id string) string { return id }`, nil},
		{"a method of an exported type", pinned + `type R string; func (R) With(id string) string { return id }`, []string{"R.With"}},
		{"a method Erasure of an unexported type", pinned + `type r string; func (r) Erasure(id string) string { return id }`, []string{"r.Erasure"}},
		{"a pointer method", pinned + `type T struct{}; func (*T) M() string { return "" }`, []string{"T.M"}},
		{"a method of no string", pinned + `type T struct{}; func (T) Len() int { return 0 }`, nil},
		{"an unexported method", pinned + `type R string; func (R) with() string { return "" }`, nil},
		{"an interface", pinned + `type I interface{ Reason() string }`, nil},
	}
	c, err := sourcetest.NewChecker(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "f.go", "package changereason\n\n"+tt.src+"\n", 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check("example.com/changereason", []*ast.File{f})
			if err != nil {
				t.Fatal(err)
			}
			if other := otherExports(p.Types); !slices.Equal(other, tt.other) {
				t.Errorf("refused %q, want %q", other, tt.other)
			}
		})
	}
}

// otherExports returns the exported functions of pkg that could build a reason (their
// results hold a string, holdsString) but Erasure, Fixed and ErasureRequest of their
// pinned signatures (parameter names aside), and the exported methods of its types
// (Type.Method) that could, sorted.
func otherExports(pkg *types.Package) []string {
	str := types.NewVar(0, nil, "", types.Typ[types.String])
	pinned := map[string]*types.Signature{
		"Erasure":        signature([]*types.Var{str}, []*types.Var{str}),
		"Fixed":          signature(nil, []*types.Var{types.NewVar(0, nil, "", types.NewSlice(types.Typ[types.String]))}),
		"ErasureRequest": signature([]*types.Var{str}, []*types.Var{str, types.NewVar(0, nil, "", types.Typ[types.Bool])}),
	}
	var out []string
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		switch obj := scope.Lookup(name).(type) {
		case *types.Func:
			if want, ok := pinned[name]; ok && types.Identical(obj.Type(), want) {
				continue
			}
			if obj.Exported() && buildsString(obj) {
				out = append(out, name)
			}
		case *types.TypeName:
			named, ok := obj.Type().(*types.Named)
			if !ok {
				continue
			}
			for m := range named.Methods() {
				if m.Exported() && buildsString(m) {
					out = append(out, name+"."+m.Name())
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// signature returns the signature of a function of params and results.
func signature(params, results []*types.Var) *types.Signature {
	return types.NewSignatureType(nil, nil, nil, types.NewTuple(params...), types.NewTuple(results...), false)
}

// buildsString reports whether one of fn's results holds a string (holdsString).
func buildsString(fn *types.Func) bool {
	for r := range fn.Signature().Results().Variables() {
		if holdsString(r.Type(), map[types.Type]bool{}) {
			return true
		}
	}
	return false
}

// holdsString reports whether a value of t is or carries a string-based one a caller
// could take for a reason: a type whose underlying type is string, or a pointer, slice,
// array, map, channel or struct holding one, or a function returning one. An interface
// is no such value (the scans take no method's result for a reason). seen stops a type
// that refers to itself.
func holdsString(t types.Type, seen map[types.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Info()&types.IsString != 0
	case *types.Pointer:
		return holdsString(u.Elem(), seen)
	case *types.Slice:
		return holdsString(u.Elem(), seen)
	case *types.Array:
		return holdsString(u.Elem(), seen)
	case *types.Chan:
		return holdsString(u.Elem(), seen)
	case *types.Map:
		return holdsString(u.Key(), seen) || holdsString(u.Elem(), seen)
	case *types.Struct:
		for f := range u.Fields() {
			if holdsString(f.Type(), seen) {
				return true
			}
		}
	case *types.Signature:
		for r := range u.Results().Variables() {
			if holdsString(r.Type(), seen) {
				return true
			}
		}
	}
	return false
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
		{"RetentionExtended", RetentionExtended, "retention period extended"},
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
