package app

import (
	"go/ast"
	"go/parser"
	"go/types"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/sourcetest"
)

// protoModule prefixes the import paths of the services' generated APIs.
const protoModule = "github.com/lillvet/register/proto/gen/go/"

// TestRequestReasonsAreChangereasons: every reason this package and the adapters send
// another service (the Reason of a request of the services' APIs) is changereason's,
// written in the request itself: the owner service stores the erasure job's reason,
// "erasure request <id>", and the report names it in the owner's language only in
// changereason's form. The adapters write it from the request id they are given, so
// the rule needs no following of values through the code.
func TestRequestReasonsAreChangereasons(t *testing.T) {
	pkgs, err := sourcetest.Load(".", ".", "../adapters/...")
	if err != nil {
		t.Fatal(err)
	}
	sent, bad := requestReasons(pkgs)
	if sent == 0 {
		t.Error("found no request with a Reason in the app or the adapters: the scan reads nothing")
	}
	for _, b := range bad {
		t.Errorf("%s: write the request's Reason right in the request the adapter sends, as %s", b, sourcetest.ChangeReasonRule)
	}
}

// TestRequestReasonsReadsEveryForm: the scan behind TestRequestReasonsAreChangereasons
// finds a request's Reason in a literal and assigned, takes changereason's constants and
// Erasure written there, and refuses anything else, however it is built, also
// changereason's reason kept in a variable or passed in; a Reason of a struct that is no
// request, or words of a log, are no reason sent.
func TestRequestReasonsReadsEveryForm(t *testing.T) {
	const header = "package adapter\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n\n\tcr \"" + sourcetest.ChangereasonPath + "\"\n" +
		"\townerv1 \"" + protoModule + "lillvet/owner/v1\"\n)\n\n" +
		"var (\n\t_ = fmt.Sprint\n\t_ = strings.ToUpper\n\t_ = cr.Registered\n)\n\n" +
		"type request = ownerv1.SetOwnerRestrictionRequest\n\n"
	tests := []struct {
		name string
		body string
		// sent is how many requests' Reasons the scan finds, bad how many it refuses.
		sent, bad int
	}{
		{"changereason's Erasure", `func f(id string) *request { return &request{OwnerId: "o", Reason: cr.Erasure(id)} }`, 1, 0},
		{"changereason's constant", `var _ = request{Reason: cr.Registered}`, 1, 0},
		{"in parentheses", `var _ = request{Reason: (cr.Registered)}`, 1, 0},
		{"in a slice's literals", `func f(id string) []*request { return []*request{{Reason: cr.Erasure(id)}, {Reason: cr.Registered}} }`, 2, 0},
		{"changereason's assigned", `func f(id string) (q request) { q.Reason = cr.Erasure(id); return q }`, 1, 0},
		{"no Reason", `var _ = request{OwnerId: "o"}`, 0, 0},
		{"kept in a variable", `func f(id string) *request { reason := cr.Erasure(id); return &request{Reason: reason} }`, 1, 1},
		{"passed in", `func f(reason string) *request { return &request{Reason: reason} }`, 1, 1},
		{"a field", `type job struct{ Reason string }; func f(j job) request { return request{Reason: j.Reason} }`, 1, 1},
		{"the prefix spelt out", `func f(id string) request { return request{Reason: "erasure request " + id} }`, 1, 1},
		{"an error's text", `func f(id string) request { return request{Reason: fmt.Errorf("erasure request %s", id).Error()} }`, 1, 1},
		{"a constant of its own", `const registered = "registered"; var _ = request{Reason: registered}`, 1, 1},
		{"changereason's changed", `func f(id string) request { return request{Reason: strings.ToUpper(cr.Erasure(id))} }`, 1, 1},
		{"another function of changereason", `var _ = request{Reason: cr.Fixed()[0]}`, 1, 1},
		{"a literal assigned", `func f() (q *request) { q = &request{}; q.Reason = "merged"; return q }`, 1, 1},
		{"assigned with another field", `func f(id string) (q request) { q.Reason, q.OwnerId = cr.Erasure(id), id; return q }`, 1, 0},
		{"assigned from a call of two", `func two() (string, string) { return "", "" }
func f() (q request) { q.Reason, q.OwnerId = two(); return q }`, 1, 1},
		{"added to", `func f(id string) (q request) { q.Reason = cr.Erasure(id); q.Reason += "!"; return q }`, 2, 1},
		{"another struct's Reason", `type job struct{ Reason string }; var _ = job{Reason: "erasure request x"}`, 0, 0},
		{"a log's words", `func f(id string) string { return fmt.Sprintf("erasure request %s done", id) }`, 0, 0},
	}
	c, err := sourcetest.NewChecker(".", "fmt", "strings", sourcetest.ChangereasonPath, protoModule+"lillvet/owner/v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "adapter.go", header+tt.body, 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check("example.com/adapter", []*ast.File{f})
			if err != nil {
				t.Fatal(err)
			}
			if sent, bad := requestReasons([]*sourcetest.Package{p}); sent != tt.sent || len(bad) != tt.bad {
				t.Errorf("found %d sent, refused %q; want %d sent, %d refused", sent, bad, tt.sent, tt.bad)
			}
		})
	}
}

// requestReason is where the code sends another service a reason: the Reason of a
// request of the services' APIs, in a literal or assigned.
var requestReason = sourcetest.Target{
	Field:    "Reason",
	Literal:  isRequest,
	Selected: func(s *types.Selection) bool { return isRequest(s.Recv()) },
	Argument: func(*ast.CallExpr) int { return -1 },
}

// requestReasons returns how many requests' Reasons pkgs write, and where one is not
// changereason's as written there (sourcetest.IsChangeReason).
func requestReasons(pkgs []*sourcetest.Package) (sent int, bad []string) {
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			for _, w := range sourcetest.Writes(p.TypesInfo, f, requestReason) {
				sent++
				if w.Value == nil || !sourcetest.IsChangeReason(p.TypesInfo, w.Value) {
					bad = append(bad, p.Fset.Position(w.At).String())
				}
			}
		}
	}
	return sent, bad
}

// isRequest reports whether t is a request of the services' APIs, or a pointer to one,
// under any alias.
func isRequest(t types.Type) bool {
	if ptr, ok := types.Unalias(t).(*types.Pointer); ok {
		t = ptr.Elem()
	}
	named, ok := types.Unalias(t).(*types.Named)
	return ok && named.Obj().Pkg() != nil && strings.HasPrefix(named.Obj().Pkg().Path(), protoModule) &&
		strings.HasSuffix(named.Obj().Name(), "Request")
}
