package app

import (
	"fmt"
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

// changereasonPath is the import path of the reasons the owner service stores.
const changereasonPath = "github.com/lillvet/register/services/platform/changereason"

// TestChangeReasonsComeFromChangereason: every reason this package and the adapters
// send another service (the Reason of a request of the services' APIs) is
// changereason's: the erasure job's calls make the owner service store "erasure
// request <id>", which the report names in the owner's language only in
// changereason's form, so the job writes it from there as the owner service does. The
// reason is followed back (reasonFlow) through the variables that keep it and the
// parameters that pass it on, also by the app's interfaces the adapters implement.
func TestChangeReasonsComeFromChangereason(t *testing.T) {
	pkgs, err := sourcetest.Load(".", ".", "../adapters/...")
	if err != nil {
		t.Fatal(err)
	}
	sent, unreached, bad := sentReasons(pkgs)
	if sent == 0 {
		t.Error("found no reasons sent: the walk is broken")
	}
	for _, u := range unreached {
		t.Errorf("%s: a reason sent that the walk follows to nothing: is it broken?", u)
	}
	for _, b := range bad {
		t.Errorf("%s: a reason sent not from changereason", b)
	}
}

// TestSentReasonsFollowsEveryForm: the walk behind TestChangeReasonsComeFromChangereason
// takes changereason's constants and Erasure, kept in a variable or passed on by a
// parameter, through the interface to the adapter that sends them, and refuses what
// else is sent, however it is built; words that are not sent (a log's) are not reasons.
func TestSentReasonsFollowsEveryForm(t *testing.T) {
	const header = "package app\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n\n\tcr \"" + changereasonPath + "\"\n" +
		"\townerv1 \"" + protoModule + "lillvet/owner/v1\"\n)\n\n" +
		"var (\n\t_ = fmt.Sprint\n\t_ = strings.ToUpper\n\t_ = cr.Registered\n)\n\n" +
		"type Restrictor interface{ Restrict(ownerID, reason string) }\n\n" +
		"type Client struct{ last *ownerv1.SetOwnerRestrictionRequest }\n\n" +
		"func (c *Client) Restrict(ownerID, reason string) {\n" +
		"\tc.last = &ownerv1.SetOwnerRestrictionRequest{OwnerId: ownerID, Restricted: true, Reason: reason}\n}\n\n"
	tests := []struct {
		name string
		body string
		bad  int
	}{
		{"changereason's Erasure", `func f(r Restrictor, id string) { r.Restrict("o", cr.Erasure(id)) }`, 0},
		{"changereason's constant", `func f(r Restrictor) { r.Restrict("o", cr.Registered) }`, 0},
		{"kept in a variable", `func f(r Restrictor, id string) { reason := cr.Erasure(id); r.Restrict("o", reason) }`, 0},
		{"passed on", `func g(r Restrictor, reason string) { r.Restrict("o", reason) }
func f(r Restrictor, id string) { g(r, cr.Erasure(id)) }`, 0},
		{"the prefix spelt out", `func f(r Restrictor, id string) { r.Restrict("o", "erasure request "+id) }`, 1},
		{"the prefix capitalised", `func f(r Restrictor, id string) { r.Restrict("o", "Erasure request "+id) }`, 1},
		{"built by a helper given the prefix", `func build(prefix, id string) string { return prefix + id }
func f(r Restrictor, id string) { r.Restrict("o", build("erasure request ", id)) }`, 1},
		{"an error's text", `func f(r Restrictor, id string) { r.Restrict("o", fmt.Errorf("erasure request %s", id).Error()) }`, 1},
		{"a constant of its own", `const registered = "registered"; func f(r Restrictor) { r.Restrict("o", registered) }`, 1},
		{"changereason's changed", `func f(r Restrictor, id string) { r.Restrict("o", strings.ToUpper(cr.Erasure(id))) }`, 1},
		{"a variable reassigned", `func f(r Restrictor, id string) { reason := cr.Erasure(id); reason = "x " + reason; r.Restrict("o", reason) }`, 1},
		{"a variable written through a pointer", `func f(r Restrictor, id string) { reason := cr.Erasure(id); p := &reason; *p = "x"; r.Restrict("o", reason) }`, 1},
		{"a package variable", `var reason = cr.Registered; func f(r Restrictor) { r.Restrict("o", reason) }`, 1},
		{"a field", `type job struct{ Reason string }; func f(r Restrictor, j job) { r.Restrict("o", j.Reason) }`, 1},
		{"passed on a literal", `func g(r Restrictor, reason string) { r.Restrict("o", reason) }
func f(r Restrictor) { g(r, cr.Registered); g(r, "merged") }`, 1},
		{"the adapter called directly", `func f(c *Client) { c.Restrict("o", "merged") }`, 1},
		{"a method value", `func f(r Restrictor) { m := r.Restrict; m("o", "merged") }`, 1},
		{"a closure's parameter", `func f(r Restrictor) { g := func(reason string) { r.Restrict("o", reason) }; g(cr.Registered) }`, 1},
		{"a request's Reason assigned", `func f() *ownerv1.SetOwnerRestrictionRequest { q := &ownerv1.SetOwnerRestrictionRequest{}; q.Reason = "merged"; return q }`, 1},
		{"a log's words", `func f(id string) string { return fmt.Sprintf("erasure request %s done", id) }`, 0},
		{"another struct's Reason", `type job struct{ Reason string }; var _ = job{Reason: "erasure request x"}`, 0},
	}
	c, err := sourcetest.NewChecker(".", "fmt", "strings", changereasonPath, protoModule+"lillvet/owner/v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "app.go", header+tt.body, 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check("example.com/app", []*ast.File{f})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, bad := sentReasons([]*sourcetest.Package{p}); len(bad) != tt.bad {
				t.Errorf("refused %q, want %d", bad, tt.bad)
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

// sentReasons returns how many reasons pkgs send another service, where one is sent
// that the walk follows to nothing made (no call gives it: a broken walk, or code
// never run), and where each value one comes from is made other than by changereason.
func sentReasons(pkgs []*sourcetest.Package) (sent int, unreached, bad []string) {
	flow := newReasonFlow(pkgs)
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			for _, w := range sourcetest.Writes(p.TypesInfo, f, requestReason) {
				sent++
				var o origins
				flow.follow(value{p.TypesInfo, w.Value, w.At}, map[*types.Var]bool{}, &o)
				if o.changereasons == 0 && len(o.others) == 0 {
					unreached = append(unreached, p.Fset.Position(w.At).String())
				}
				for _, at := range o.others {
					bad = append(bad, fmt.Sprintf("%s (sent at %s)", p.Fset.Position(at), p.Fset.Position(w.At)))
				}
			}
		}
	}
	return sent, unreached, bad
}

// origins are where the values a reason comes from are made: how many by
// changereason, and where the others are.
type origins struct {
	changereasons int
	others        []token.Pos
}

// isRequest reports whether t is a request of the services' APIs, or a pointer to one.
func isRequest(t types.Type) bool {
	if ptr, ok := t.(*types.Pointer); ok {
		t = ptr.Elem()
	}
	named, ok := t.(*types.Named)
	return ok && named.Obj().Pkg() != nil && strings.HasPrefix(named.Obj().Pkg().Path(), protoModule) &&
		strings.HasSuffix(named.Obj().Name(), "Request")
}

// value is an expression of the packages, with their types, or one the walk cannot
// follow (expr nil) at at.
type value struct {
	info *types.Info
	expr ast.Expr
	at   token.Pos
}

// call is a call of the packages, to the function or method callee.
type call struct {
	info   *types.Info
	expr   *ast.CallExpr
	callee *types.Func
}

// reasonFlow follows a value back to where it is made: the values given each variable
// of the packages, and their calls, whose arguments are the values of the callees'
// parameters.
type reasonFlow struct {
	assigned map[*types.Var][]value
	params   map[*types.Var]param
	calls    []call
	// asValues are the functions and methods named other than to be called, whose
	// callers the walk cannot find.
	asValues []*types.Func
}

// param is the function or method a parameter is of, and its index.
type param struct {
	fn    *types.Func
	index int
}

// newReasonFlow reads the assignments, the parameters and the calls of pkgs.
func newReasonFlow(pkgs []*sourcetest.Package) *reasonFlow {
	r := &reasonFlow{assigned: map[*types.Var][]value{}, params: map[*types.Var]param{}}
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			r.read(p.TypesInfo, f)
		}
	}
	return r
}

// read adds what f assigns, declares and calls to r.
func (r *reasonFlow) read(info *types.Info, f *ast.File) {
	called := map[*ast.Ident]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			r.readParams(info, n)
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				v := value{info: info, at: n.Pos()}
				if (n.Tok == token.ASSIGN || n.Tok == token.DEFINE) && len(n.Lhs) == len(n.Rhs) {
					v.expr = n.Rhs[i]
				}
				r.assign(info, lhs, v)
			}
		case *ast.ValueSpec:
			for i, name := range n.Names {
				v := value{info: info, at: name.Pos()}
				if len(n.Values) == len(n.Names) {
					v.expr = n.Values[i]
				}
				r.assign(info, name, v)
			}
		case *ast.RangeStmt:
			r.assign(info, n.Key, value{info: info, at: n.Pos()})
			r.assign(info, n.Value, value{info: info, at: n.Pos()})
		case *ast.UnaryExpr:
			if n.Op == token.AND {
				// What the pointer writes is not followed.
				r.assign(info, n.X, value{info: info, at: n.Pos()})
			}
		case *ast.CallExpr:
			if id := calledName(n.Fun); id != nil {
				called[id] = true
				if fn, ok := info.Uses[id].(*types.Func); ok {
					r.calls = append(r.calls, call{info, n, fn.Origin()})
				}
			}
		}
		return true
	})
	for id, obj := range info.Uses {
		if fn, ok := obj.(*types.Func); ok && !called[id] && id.Pos() >= f.Pos() && id.End() <= f.End() {
			r.asValues = append(r.asValues, fn.Origin())
		}
	}
}

// readParams adds the parameters fn declares to r.
func (r *reasonFlow) readParams(info *types.Info, fn *ast.FuncDecl) {
	obj, ok := info.Defs[fn.Name].(*types.Func)
	if !ok {
		return
	}
	params := obj.Signature().Params()
	for i := range params.Len() {
		r.params[params.At(i)] = param{obj, i}
	}
}

// assign adds v to the values of the variable e names, if it names one.
func (r *reasonFlow) assign(info *types.Info, e ast.Expr, v value) {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return
	}
	obj := info.Defs[id]
	if obj == nil {
		obj = info.Uses[id]
	}
	if variable, ok := obj.(*types.Var); ok {
		r.assigned[variable] = append(r.assigned[variable], v)
	}
}

// follow adds to o where the values v comes from are made: by changereason (one of
// its constants, or its Erasure), or otherwise: a literal, a constant of the package's
// own, any other call or expression, a field, a package's variable, or a value the
// walk cannot follow. A variable's values and a parameter's arguments are followed,
// each variable once (seen).
func (r *reasonFlow) follow(v value, seen map[*types.Var]bool, o *origins) {
	if v.expr == nil {
		o.others = append(o.others, v.at)
		return
	}
	switch e := ast.Unparen(v.expr).(type) {
	case *ast.CallExpr:
		if fn, ok := sourcetest.Used(v.info, e.Fun).(*types.Func); ok && isChangereasons(fn) && fn.Name() == "Erasure" {
			o.changereasons++
			return
		}
	case *ast.Ident, *ast.SelectorExpr:
		switch obj := sourcetest.Used(v.info, e).(type) {
		case *types.Const:
			if isChangereasons(obj) {
				o.changereasons++
				return
			}
		case *types.Var:
			if local(obj) {
				r.variable(obj, v.expr.Pos(), seen, o)
				return
			}
		}
	}
	o.others = append(o.others, v.expr.Pos())
}

// variable adds to o where the values given the function's variable obj (or the
// arguments of its calls, for a parameter) are made.
func (r *reasonFlow) variable(obj *types.Var, at token.Pos, seen map[*types.Var]bool, o *origins) {
	if seen[obj] {
		return
	}
	seen[obj] = true
	values := r.assigned[obj]
	if p, ok := r.params[obj]; ok {
		args, ok := r.arguments(p)
		if !ok {
			o.others = append(o.others, at)
			return
		}
		values = append(values, args...)
	} else if len(values) == 0 {
		// A variable declared without a value (or a closure's parameter).
		o.others = append(o.others, at)
		return
	}
	for _, v := range values {
		r.follow(v, seen, o)
	}
}

// arguments returns the arguments of every call that may run p's function, directly
// or by an interface it implements; not ok if the function may be run from a value
// (a method value, a function passed on), whose calls the walk cannot find.
func (r *reasonFlow) arguments(p param) (args []value, ok bool) {
	if slices.ContainsFunc(r.asValues, func(fn *types.Func) bool { return mayRun(fn, p.fn) }) {
		return nil, false
	}
	for _, c := range r.calls {
		if !mayRun(c.callee, p.fn) {
			continue
		}
		if p.index >= len(c.expr.Args) || c.expr.Ellipsis.IsValid() {
			args = append(args, value{info: c.info, at: c.expr.Pos()})
			continue
		}
		args = append(args, value{c.info, c.expr.Args[p.index], c.expr.Pos()})
	}
	return args, true
}

// mayRun reports whether a call of callee may run fn: it is fn, or a method of an
// interface fn's receiver implements, of the same name.
func mayRun(callee, fn *types.Func) bool {
	if callee == fn {
		return true
	}
	recv, fnRecv := callee.Signature().Recv(), fn.Signature().Recv()
	if recv == nil || fnRecv == nil || callee.Name() != fn.Name() {
		return false
	}
	iface, ok := recv.Type().Underlying().(*types.Interface)
	return ok && types.Implements(fnRecv.Type(), iface)
}

// local reports whether obj is a function's variable or parameter, not a field or a
// package's variable.
func local(obj *types.Var) bool {
	return !obj.IsField() && obj.Parent() != nil && obj.Pkg() != nil && obj.Parent() != obj.Pkg().Scope()
}

// isChangereasons reports whether obj is declared by changereason.
func isChangereasons(obj types.Object) bool {
	return obj.Pkg() != nil && obj.Pkg().Path() == changereasonPath
}

// calledName is the name of the function or method fun calls, its type arguments
// aside (findByID[T, D]), or nil.
func calledName(fun ast.Expr) *ast.Ident {
	switch f := ast.Unparen(fun).(type) {
	case *ast.Ident:
		return f
	case *ast.SelectorExpr:
		return f.Sel
	case *ast.IndexExpr:
		return calledName(f.X)
	case *ast.IndexListExpr:
		return calledName(f.X)
	}
	return nil
}
