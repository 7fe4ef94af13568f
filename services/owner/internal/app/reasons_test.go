package app_test

import (
	"go/ast"
	"go/parser"
	"go/types"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/sourcetest"
)

// ownerModule prefixes the import paths of the service's packages, whose functions with
// a parameter named reason write what they are given.
const ownerModule = "github.com/lillvet/register/services/owner/"

// TestOwnReasonsComeFromChangereason: every reason the service's app and domain
// packages write on a change is either what staff typed (the caller's reason, an
// input's or a stored change's Reason, as typed or changed by a function of package
// strings given nothing else) or one of changereason's, which the disclosure
// service names in the owner's language (its TestEveryChangeReasonNamed): a reason
// written here as a literal or a constant of its own would reach the owner's access
// report in the stored English. The reasons written are the arguments in the place of a
// parameter named reason of the service's functions and methods, what is assigned to a
// Reason field or to such a parameter, and a Reason in a literal, of any struct but an
// error (whose Reason is why it failed, not a change's).
func TestOwnReasonsComeFromChangereason(t *testing.T) {
	pkgs, err := sourcetest.Load(".", ".", "../domain")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		found, bad := reasonsIn(p)
		if found == 0 {
			t.Errorf("%s: found no reasons written: the walk is broken", p.PkgPath)
		}
		for _, b := range bad {
			t.Errorf("%s: a reason the service writes itself must be %s, written right where it is passed or assigned; "+
				"or the reason staff typed (the caller's reason parameter, an input's or a stored change's Reason)", b, sourcetest.ChangeReasonRule)
		}
	}
}

// TestReasonsInRefusesOwnReasons: the walk behind TestOwnReasonsComeFromChangereason
// takes changereason's reasons, the caller's, an input's and a stored change's (also
// trimmed or lowered by package strings), in each form a reason is written, and refuses
// a literal, a constant or an expression of the package's own, a strings function given
// words of the package's own or one of changereason's, a function of changereason's
// other than Erasure, an error's Reason and a method named Reason.
func TestReasonsInRefusesOwnReasons(t *testing.T) {
	const header = "package app\n\nimport (\n\tcr " + `"` + sourcetest.ChangereasonPath + `"` + "\n\t\"strings\"\n)\n\n" +
		"var (\n\t_ = cr.Registered\n\t_ = strings.TrimSpace\n)\n\n" +
		"type Change struct{ Fields []string; Reason string }\n\n" +
		"type badPhone struct{ Reason string }\n\nfunc (e *badPhone) Error() string { return e.Reason }\n\n" +
		"func change(fields []string, reason string) Change { return Change{Fields: fields, Reason: reason} }\n\n"
	tests := []struct {
		name string
		body string
		bad  int
	}{
		{"changereason's", `func f() { change(nil, cr.Registered); change(nil, cr.Erasure("id")) }`, 0},
		{"the caller's", `func f(reason string) { change(nil, reason) }`, 0},
		{"the input's", `type in struct{ Reason string }; func f(i in) { change(nil, i.Reason) }`, 0},
		{"a stored change's", `func f(cs []Change) { for _, c := range cs { change(nil, c.Reason) } }`, 0},
		{"the caller's trimmed", `func f(reason string) { change(nil, strings.TrimSpace(reason)) }`, 0},
		{"the input's trimmed and lowered", `type in struct{ Reason string }; func f(i in) { change(nil, strings.ToLower(strings.TrimSpace(i.Reason))) }`, 0},
		{"a literal trimmed", `func f() { change(nil, strings.TrimSpace("merged")) }`, 1},
		{"the caller's with words of its own", `func f(reason string) { change(nil, strings.ReplaceAll(reason, "x", "merged")) }`, 1},
		{"changereason's changed", `func f() { change(nil, strings.ToUpper(cr.Registered)) }`, 1},
		{"changereason's other function", `func set(reason string, ok bool) {}; func f(r string) { set(cr.ErasureRequest(r)) }`, 1},
		{"a strings method", `func f(reason string) { change(nil, strings.NewReplacer("x", "merged").Replace(reason)) }`, 1},
		{"a function of its own", `func tidy(s string) string { return s + " merged" }; func f(reason string) { change(nil, tidy(reason)) }`, 1},
		{"a literal", `func f() { change(nil, "merged") }`, 1},
		{"a constant of its own", `const merged = "merged"; func f() { change(nil, merged) }`, 1},
		{"a constant named Reason", `const Reason = "merged"; func f() { change(nil, Reason) }`, 1},
		{"an expression", `func f(id string) { change(nil, "merged into " + id) }`, 1},
		{"a parameter of another name", `func f(why string) { change(nil, why) }`, 1},
		{"an error's Reason", `func f(e *badPhone) { change(nil, e.Reason) }`, 1},
		{"a method named Reason", `type m struct{}; func (m) Reason() string { return "" }; func f(x m) { change(nil, x.Reason()) }`, 1},
		{"an error's literal", `var _ = &badPhone{Reason: "too long"}`, 0},
		{"an assignment of changereason's", `func f(c *Change) { c.Reason = cr.Withheld }`, 0},
		{"an assignment of a literal", `func f(c *Change) { c.Reason = "withheld" }`, 1},
		{"an assignment of several", `func f(c *Change) { c.Reason, c.Fields = "withheld", nil }`, 1},
		{"a literal's Reason", `var _ = Change{Reason: "merged"}`, 1},
		{"a literal's Reason of a pointer", `var _ = []*Change{{Reason: "merged"}}`, 1},
		{"a literal's Reason of the caller's", `func f(reason string) Change { return Change{Reason: reason} }`, 0},
		{"the caller's reason reassigned", `func f(reason string) { reason = "merged"; change(nil, reason) }`, 1},
		{"a closure's own reason", `func f() { g := func(reason string) { change(nil, reason) }; g("merged") }`, 1},
		{"a method expression's call of changereason's", `type S struct{}; func (S) set(fields []string, reason string) {}
func f(s S) { S.set(s, nil, cr.Registered) }`, 0},
		{"a method expression's call of a literal", `type S struct{}; func (*S) set(fields []string, reason string) {}
func f(s *S) { (*S).set(s, nil, "merged") }`, 1},
	}
	c, err := sourcetest.NewChecker(".", sourcetest.ChangereasonPath, "strings")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "app.go", header+tt.body, 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check(ownerModule+"internal/app", []*ast.File{f})
			if err != nil {
				t.Fatal(err)
			}
			if _, bad := reasonsIn(p); len(bad) != tt.bad {
				t.Errorf("refused %q, want %d", bad, tt.bad)
			}
		})
	}
}

// reasonsIn returns how many reasons one package writes and where it writes one that
// is not the caller's, an input's or a change's, or changereason's: the argument in the
// place of a parameter named reason of a call to one of the service's functions or
// methods, the value assigned to a Reason field of a struct that is no error or to a
// reason parameter of the package's functions, and the Reason of a literal of such a
// struct.
func reasonsIn(p *sourcetest.Package) (found int, bad []string) {
	// The reason parameters of the functions and methods whose calls are checked.
	_, params := sourcetest.ParamsNamed(p, "reason")
	target := sourcetest.Target{
		Field:    "Reason",
		Literal:  isReasonHolder,
		Selected: func(s *types.Selection) bool { return !isError(s.Recv()) },
		Params:   params,
		Argument: func(call *ast.CallExpr) int { return reasonParam(p.TypesInfo, call) },
	}
	for _, f := range p.Syntax {
		for _, w := range sourcetest.Writes(p.TypesInfo, f, target) {
			found++
			if w.Value == nil || !allowedReason(p.TypesInfo, w.Value, params) {
				bad = append(bad, p.Fset.Position(w.At).String())
			}
		}
	}
	return found, bad
}

// reasonParam is the index of the argument call passes as the parameter named reason
// of the service's function or method it calls (a method expression's arguments start
// with the receiver), or -1.
func reasonParam(info *types.Info, call *ast.CallExpr) int {
	fn, offset := sourcetest.Callee(info, call)
	if fn == nil || fn.Pkg() == nil || !strings.HasPrefix(fn.Pkg().Path(), ownerModule) {
		return -1
	}
	params := fn.Signature().Params()
	for i := range params.Len() {
		if params.At(i).Name() == "reason" {
			return offset + i
		}
	}
	return -1
}

// allowedReason reports whether e is a reason the package may write: one of
// changereason's or one staff typed (typedByStaff).
func allowedReason(info *types.Info, e ast.Expr, params map[types.Object]bool) bool {
	return sourcetest.IsChangeReason(info, e) || typedByStaff(info, e, params)
}

// typedByStaff reports whether e is a reason staff typed: its caller's (a reason
// parameter of params, whatever is assigned to it being checked as written), the
// Reason field of an input or a change, or a function of package strings given only
// such reasons (strings.TrimSpace(reason)), which adds no words of the service's own.
// One of changereason's so changed is not allowed: the report names it only as it is.
func typedByStaff(info *types.Info, e ast.Expr, params map[types.Object]bool) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return params[sourcetest.Used(info, e)] || isReasonField(info, e)
	}
	if !isStringsFunc(info, call.Fun) || len(call.Args) == 0 {
		return false
	}
	for _, arg := range call.Args {
		if !typedByStaff(info, arg, params) {
			return false
		}
	}
	return true
}

// isStringsFunc reports whether e names a function of package strings, not a method
// (a strings.Replacer's Replace adds the words it was made with).
func isStringsFunc(info *types.Info, e ast.Expr) bool {
	fn, ok := sourcetest.Used(info, e).(*types.Func)
	return ok && fn.Pkg() != nil && fn.Pkg().Path() == "strings" && fn.Signature().Recv() == nil
}

// isReasonField reports whether e selects the Reason field of a struct that is no
// error: an input's, or a change's.
func isReasonField(info *types.Info, e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Reason" {
		return false
	}
	s, ok := info.Selections[sel]
	return ok && s.Kind() == types.FieldVal && !isError(s.Recv())
}

// isReasonHolder reports whether a literal of type t writes a reason: a struct (or
// a pointer to one) that is no error, with a Reason field.
func isReasonHolder(t types.Type) bool {
	if t == nil || isError(t) {
		return false
	}
	if ptr, ok := t.Underlying().(*types.Pointer); ok {
		return isReasonHolder(ptr.Elem())
	}
	s, ok := t.Underlying().(*types.Struct)
	if !ok {
		return false
	}
	for i := range s.NumFields() {
		if s.Field(i).Name() == "Reason" {
			return true
		}
	}
	return false
}

// isError reports whether t, or a pointer to it, is an error.
func isError(t types.Type) bool {
	errorType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	return types.Implements(t, errorType) || types.Implements(types.NewPointer(t), errorType)
}
