package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
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
// the rule needs no following of values through the code: Erasure's argument is the
// parameter that takes the erasure request's id, as given, in the method of one of this
// package's interfaces that the adapter implements.
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
		t.Error(b)
	}
}

// TestRequestReasonsReadsEveryForm: the scan behind TestRequestReasonsAreChangereasons
// finds a request's Reason in a literal and assigned, takes changereason's constants and
// Erasure written there, and refuses anything else, however it is built, also
// changereason's reason kept in a variable or passed in; a Reason of a struct that is no
// request, or words of a log, are no reason sent. Erasure's argument is the erasure
// request's id as the method implementing this package's interface was given it (in the
// place of the interface's requestID, whatever the method calls it): not the owner's
// id, a literal, a changed id, another variable of the name or the parameter changed
// (assigned, also as a range's key or value, or through its address),
// nor anything in a function that implements no such method.
func TestRequestReasonsReadsEveryForm(t *testing.T) {
	tests := []struct {
		name string
		body string
		// sent is how many requests' Reasons the scan finds, bad how many it refuses.
		sent, bad int
	}{
		{"changereason's Erasure", restrictOwner(`send(&request{OwnerId: ownerID, Reason: cr.Erasure(requestID)})`), 1, 0},
		{"changereason's constant", `var _ = request{Reason: cr.Registered}`, 1, 0},
		{"in parentheses", `var _ = request{Reason: (cr.Registered)}`, 1, 0},
		{"in a slice's literals", restrictOwner(`_ = []*request{{Reason: cr.Erasure((requestID))}, {Reason: cr.Registered}}`), 2, 0},
		{"changereason's assigned", restrictOwner(`var q request; q.Reason = cr.Erasure(requestID); send(&q)`), 1, 0},
		{"in a closure of the method", restrictOwner(`func() { send(&request{Reason: cr.Erasure(requestID)}) }()`), 1, 0},
		{"the request's id by another name", `func (*client) RestrictOwner(_ context.Context, owner, id string) error {
send(&request{OwnerId: owner, Reason: cr.Erasure(id)}); return nil }`, 1, 0},
		{"no Reason", `var _ = request{OwnerId: "o"}`, 0, 0},
		{"kept in a variable", restrictOwner(`reason := cr.Erasure(requestID); send(&request{Reason: reason})`), 1, 1},
		{"passed in", `func f(reason string) *request { return &request{Reason: reason} }`, 1, 1},
		{"a field", `type job struct{ Reason string }; func f(j job) request { return request{Reason: j.Reason} }`, 1, 1},
		{"the prefix spelt out", restrictOwner(`send(&request{Reason: "erasure request " + requestID})`), 1, 1},
		{"an error's text", restrictOwner(`send(&request{Reason: fmt.Errorf("erasure request %s", requestID).Error()})`), 1, 1},
		{"a constant of its own", `const registered = "registered"; var _ = request{Reason: registered}`, 1, 1},
		{"changereason's changed", restrictOwner(`send(&request{Reason: strings.ToUpper(cr.Erasure(requestID))})`), 1, 1},
		{"another function of changereason", `var _ = request{Reason: cr.Fixed()[0]}`, 1, 1},
		{"a literal assigned", `func f() (q *request) { q = &request{}; q.Reason = "merged"; return q }`, 1, 1},
		{"assigned with another field", restrictOwner(`var q request; q.Reason, q.OwnerId = cr.Erasure(requestID), ownerID; send(&q)`), 1, 0},
		{"assigned from a call of two", `func two() (string, string) { return "", "" }
func f() (q request) { q.Reason, q.OwnerId = two(); return q }`, 1, 1},
		{"added to", restrictOwner(`var q request; q.Reason = cr.Erasure(requestID); q.Reason += "!"; send(&q)`), 2, 1},
		{"Erasure of the owner's id", restrictOwner(`send(&request{Reason: cr.Erasure(ownerID)})`), 1, 1},
		{"Erasure of a literal", restrictOwner(`send(&request{Reason: cr.Erasure("0190f5a4-2222-7000-8000-000000000001")})`), 1, 1},
		{"Erasure of the id changed", restrictOwner(`send(&request{Reason: cr.Erasure(strings.TrimSpace(requestID))})`), 1, 1},
		{"Erasure of another requestID", restrictOwner(`{ requestID := ownerID; send(&request{Reason: cr.Erasure(requestID)}) }`), 1, 1},
		{"Erasure of the id reassigned", restrictOwner(`requestID = ownerID; send(&request{Reason: cr.Erasure(requestID)})`), 1, 1},
		{"Erasure of the id reassigned by a range", restrictOwner(`for _, requestID = range []string{ownerID} {}; send(&request{Reason: cr.Erasure(requestID)})`), 1, 1},
		{"Erasure of the id reassigned as a range's key", restrictOwner(`for requestID = range map[string]bool{ownerID: true} {}; send(&request{Reason: cr.Erasure(requestID)})`), 1, 1},
		{"Erasure of the id changed through its address", restrictOwner(`id := &requestID; *id = ownerID; send(&request{Reason: cr.Erasure(requestID)})`), 1, 1},
		{"Erasure of a closure's requestID", restrictOwner(`func(requestID string) { send(&request{Reason: cr.Erasure(requestID)}) }(ownerID)`), 1, 1},
		{"the parameters swapped", `func (client) RestrictOwner(ctx context.Context, requestID, ownerID string) error {
send(&request{OwnerId: ownerID, Reason: cr.Erasure(requestID)}); return nil }`, 1, 1},
		{"Erasure in a function", `func f(requestID string) request { return request{Reason: cr.Erasure(requestID)} }`, 1, 1},
		{"Erasure in a method of no interface", `func (client) Restrict(ctx context.Context, ownerID, requestID string) error {
send(&request{Reason: cr.Erasure(requestID)}); return nil }`, 1, 1},
		{"Erasure in a method of another signature", `func (client) RestrictOwner(ctx context.Context, ownerID, requestID string) {
send(&request{Reason: cr.Erasure(requestID)}) }`, 1, 1},
		{"another struct's Reason", `type job struct{ Reason string }; var _ = job{Reason: "erasure request x"}`, 0, 0},
		{"a log's words", `func f(id string) string { return fmt.Sprintf("erasure request %s done", id) }`, 0, 0},
	}
	c := adapterChecker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sent, bad := requestReasons([]*sourcetest.Package{checkAdapter(t, c, tt.body)}); sent != tt.sent || len(bad) != tt.bad {
				t.Errorf("found %d sent, refused %v; want %d sent, %d refused", sent, bad, tt.sent, tt.bad)
			}
		})
	}
}

// TestRequestReasonsSayTheRuleBroken: a refused Reason's failure message states the rule
// it breaks: a Reason not changereason's as written is told what changereason's are, and
// an Erasure written as the rule for them says, but of something else or in the wrong
// place, is told what its argument must be and where, not to write what it wrote.
func TestRequestReasonsSayTheRuleBroken(t *testing.T) {
	tests := []struct {
		name string
		body string
		rule string
	}{
		{"a literal", `var _ = request{Reason: "merged"}`, reasonRule},
		{"Erasure of the owner's id", restrictOwner(`send(&request{Reason: cr.Erasure(ownerID)})`), erasureRule},
		{"Erasure of the id reassigned", restrictOwner(`requestID = ownerID; send(&request{Reason: cr.Erasure(requestID)})`), erasureRule},
		{"Erasure in a function", `func f(requestID string) request { return request{Reason: cr.Erasure(requestID)} }`, erasureRule},
	}
	c := adapterChecker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, bad := requestReasons([]*sourcetest.Package{checkAdapter(t, c, tt.body)})
			if len(bad) != 1 || bad[0].rule != tt.rule {
				t.Errorf("refused %v, want one refusal saying %q", bad, tt.rule)
			}
		})
	}
}

// adapterHeader starts the source of an example adapter: its imports, a request of the
// services' APIs and a function sending it.
const adapterHeader = "package adapter\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\t\"strings\"\n\n\tcr \"" + sourcetest.ChangereasonPath + "\"\n" +
	"\townerv1 \"" + protoModule + "lillvet/owner/v1\"\n\t\"" + appPath + "\"\n)\n\n" +
	"var (\n\t_ = context.Background\n\t_ = fmt.Sprint\n\t_ = strings.ToUpper\n\t_ = cr.Registered\n\t_ app.OwnerEraser\n)\n\n" +
	"type request = ownerv1.SetOwnerRestrictionRequest\n\ntype client struct{}\n\nfunc send(*request) {}\n\n"

// restrictOwner is RestrictOwner of app.OwnerEraser in an example adapter, sending the
// request of body.
func restrictOwner(body string) string {
	return "func (client) RestrictOwner(ctx context.Context, ownerID, requestID string) error {\n" + body + "\nreturn nil\n}\n"
}

// adapterChecker returns a checker of example adapters, which import what
// adapterHeader does.
func adapterChecker(t *testing.T) *sourcetest.Checker {
	t.Helper()
	c, err := sourcetest.NewChecker(".", "context", "fmt", "strings", sourcetest.ChangereasonPath, protoModule+"lillvet/owner/v1", appPath)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkAdapter type-checks an example adapter of adapterHeader and body.
func checkAdapter(t *testing.T, c *sourcetest.Checker, body string) *sourcetest.Package {
	t.Helper()
	f, err := parser.ParseFile(c.Fset, "adapter.go", adapterHeader+body, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Check("example.com/adapter", []*ast.File{f})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// requestReason is where the code sends another service a reason: the Reason of a
// request of the services' APIs, in a literal or assigned.
var requestReason = sourcetest.Target{
	Field:    "Reason",
	Literal:  isRequest,
	Selected: func(s *types.Selection) bool { return isRequest(s.Recv()) },
	Argument: func(*ast.CallExpr) int { return -1 },
}

// appPath is the import path of this package, whose interfaces the adapters implement.
const appPath = "github.com/lillvet/register/services/disclosure/internal/app"

// The rules a request's Reason is held to, as the scan's failure messages state them.
const (
	reasonRule  = "write the request's Reason right in the request the adapter sends, as " + sourcetest.ChangeReasonRule
	erasureRule = "changereason.Erasure's argument must be the parameter in the place of requestID of the method " +
		"of this package's interface that the adapter's method implements (same name and signature), " +
		"unchanged in that method, and Erasure must be written in that method"
)

// refusal is a Reason the scan refuses: where it is written and the rule it breaks.
type refusal struct {
	at   string
	rule string
}

func (r refusal) String() string { return r.at + ": " + r.rule }

// requestReasons returns how many requests' Reasons pkgs write, and where one is not
// changereason's as written there (sourcetest.IsChangeReason), or is an erasure's reason
// (changereason.Erasure) of anything but the erasure request's id as the method writing
// it was given it (erasureOfRequestID).
func requestReasons(pkgs []*sourcetest.Package) (sent int, bad []refusal) {
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			for _, w := range sourcetest.Writes(p.TypesInfo, f, requestReason) {
				sent++
				if rule := ruleBroken(p, f, w); rule != "" {
					bad = append(bad, refusal{at: p.Fset.Position(w.At).String(), rule: rule})
				}
			}
		}
	}
	return sent, bad
}

// ruleBroken returns the rule the Reason w writes in f breaks, or "" when it keeps them.
func ruleBroken(p *sourcetest.Package, f *ast.File, w sourcetest.Written) string {
	switch {
	case w.Value == nil || !sourcetest.IsChangeReason(p.TypesInfo, w.Value):
		return reasonRule
	case !erasureOfRequestID(p, enclosingFunc(f, w.At), w.Value):
		return erasureRule
	}
	return ""
}

// erasureOfRequestID reports whether reason, one of changereason's, is a constant, or
// an erasure's reason (a call of changereason.Erasure) whose argument is the parameter
// of fn that takes the erasure request's id (requestIDParam), as it is: not assigned in
// fn, nor its address taken. The job gives that parameter the request's id; anything
// else, the owner's id say, would name in the owner's history a request that is not the
// one erasing it.
func erasureOfRequestID(p *sourcetest.Package, fn *ast.FuncDecl, reason ast.Expr) bool {
	call, ok := ast.Unparen(reason).(*ast.CallExpr)
	if !ok {
		return true
	}
	param := requestIDParam(p, fn)
	if param == nil || len(call.Args) != 1 {
		return false
	}
	arg, ok := ast.Unparen(call.Args[0]).(*ast.Ident)
	return ok && p.TypesInfo.Uses[arg] == param && !changedIn(p.TypesInfo, fn.Body, param)
}

// requestIDParam returns the parameter of method fn that takes the erasure request's id:
// the one in the place where an interface of this package whose method fn implements
// (same name, identical signature) has its parameter requestID. Its own name does not
// matter; nil when fn implements no such method.
func requestIDParam(p *sourcetest.Package, fn *ast.FuncDecl) types.Object {
	if fn == nil || fn.Recv == nil {
		return nil
	}
	method, ok := p.TypesInfo.Defs[fn.Name].(*types.Func)
	if !ok {
		return nil
	}
	sig := method.Signature()
	for _, want := range appMethods(p.Types, method.Name()) {
		if !types.Identical(sig, want.Signature()) { // receivers aside
			continue
		}
		for i := range want.Signature().Params().Len() {
			if want.Signature().Params().At(i).Name() == "requestID" {
				return sig.Params().At(i)
			}
		}
	}
	return nil
}

// appMethods returns the methods called name of the interfaces this package declares, as
// pkg (this package or one importing it) sees them.
func appMethods(pkg *types.Package, name string) []*types.Func {
	app := pkg
	if pkg.Path() != appPath {
		i := slices.IndexFunc(pkg.Imports(), func(p *types.Package) bool { return p.Path() == appPath })
		if i < 0 {
			return nil
		}
		app = pkg.Imports()[i]
	}
	var out []*types.Func
	for _, n := range app.Scope().Names() {
		iface, ok := app.Scope().Lookup(n).Type().Underlying().(*types.Interface)
		if !ok {
			continue
		}
		for m := range iface.Methods() {
			if m.Name() == name {
				out = append(out, m)
			}
		}
	}
	return out
}

// changedIn reports whether body assigns v, in an assignment or as a range's key or
// value, or takes its address.
func changedIn(info *types.Info, body *ast.BlockStmt, v types.Object) bool {
	changed := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			changed = changed || isAnyOf(info, v, n.Lhs...)
		case *ast.RangeStmt:
			// for k, v := range declares its own; only = assigns what is outside.
			changed = changed || n.Tok == token.ASSIGN && isAnyOf(info, v, n.Key, n.Value)
		case *ast.UnaryExpr:
			changed = changed || n.Op == token.AND && isAnyOf(info, v, n.X)
		}
		return !changed
	})
	return changed
}

// isAnyOf reports whether one of exprs (nil ones aside) is v itself.
func isAnyOf(info *types.Info, v types.Object, exprs ...ast.Expr) bool {
	return slices.ContainsFunc(exprs, func(e ast.Expr) bool {
		id, ok := ast.Unparen(e).(*ast.Ident)
		return ok && info.Uses[id] == v
	})
}

// enclosingFunc returns the function declaration of f that pos is in, or nil.
func enclosingFunc(f *ast.File, pos token.Pos) *ast.FuncDecl {
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Pos() <= pos && pos < fn.End() {
			return fn
		}
	}
	return nil
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
