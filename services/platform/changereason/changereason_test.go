package changereason

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// TestFixedHoldsEveryReason: every reason constant of the package is in Fixed, which
// the disclosure service reads to check that each has a name in every language, so a
// reason added here and not to Fixed fails.
func TestFixedHoldsEveryReason(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "changereason.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !name.IsExported() || !ok {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				consts = append(consts, v)
			}
		}
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
