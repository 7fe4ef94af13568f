package app_test

import (
	"fmt"
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

// The packages the scan reads: the app, whose Service takes inputs, and the domain,
// whose Change holds the reason of each change.
const (
	appPath    = ownerModule + "internal/app"
	domainPath = ownerModule + "internal/domain"
)

// TestOwnReasonsComeFromChangereason: every reason the service's app and domain
// packages write on a change is either what staff typed (the caller's reason, an
// input's or a stored change's Reason, as typed or changed by a function of package
// strings given nothing else) or one of changereason's, which the disclosure
// service names in the owner's language (its TestEveryChangeReasonNamed): a reason
// written here as a literal or a constant of its own would reach the owner's access
// report in the stored English. The reasons written are the arguments in the place of a
// parameter named reason of the service's functions and methods, what is assigned to
// domain.Change's Reason field or to such a parameter, and the Reason of a literal of
// domain.Change; the fields are told by go/types (reasonFieldsOf), not by their names.
func TestOwnReasonsComeFromChangereason(t *testing.T) {
	pkgs, err := sourcetest.Load(".", ".", "../domain")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		found, bad, err := reasonsIn(p)
		if err != nil {
			t.Fatal(err)
		}
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
// takes changereason's reasons, the caller's, an input's (the Reason of a struct an
// exported Service method takes) and a stored change's (also trimmed or lowered by
// package strings), in each form a reason is written, and refuses a literal, a constant
// or an expression of the package's own, a strings function given words of the
// package's own or one of changereason's, a function of changereason's other than
// Erasure, an error's Reason, another struct's Reason (even one an unexported Service
// method takes), an input's other field and a method named Reason.
// Only domain.Change's Reason is a change's: another struct's Reason written is none.
func TestReasonsInRefusesOwnReasons(t *testing.T) {
	const header = "package app\n\nimport (\n\tcr " + `"` + sourcetest.ChangereasonPath + `"` + "\n\t\"strings\"\n\n\t\"" + domainPath + "\"\n)\n\n" +
		"var (\n\t_ = cr.Registered\n\t_ = strings.TrimSpace\n)\n\n" +
		"type Service struct{}\n\ntype UpdateThing struct{ ID, Reason string }\n\n" +
		"func (s *Service) UpdateThing(in UpdateThing) error { return nil }\n\n" +
		"type badPhone struct{ Reason string }\n\nfunc (e *badPhone) Error() string { return e.Reason }\n\n" +
		"type job struct{ Reason string }\n\n" +
		"func change(fields []string, reason string) domain.Change { return domain.Change{Fields: fields, Reason: reason} }\n\n"
	tests := []struct {
		name string
		body string
		bad  int
	}{
		{"changereason's", `func f() { change(nil, cr.Registered); change(nil, cr.Erasure("id")) }`, 0},
		{"the caller's", `func f(reason string) { change(nil, reason) }`, 0},
		{"the input's", `func f(i UpdateThing) { change(nil, i.Reason) }`, 0},
		{"a stored change's", `func f(cs []domain.Change) { for _, c := range cs { change(nil, c.Reason) } }`, 0},
		{"the caller's trimmed", `func f(reason string) { change(nil, strings.TrimSpace(reason)) }`, 0},
		{"the input's trimmed and lowered", `func f(i *UpdateThing) { change(nil, strings.ToLower(strings.TrimSpace(i.Reason))) }`, 0},
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
		{"another struct's Reason", `func f(j job) { change(nil, j.Reason) }`, 1},
		{"a Reason of a struct no Service method takes", `type Other struct{ Reason string }; func f(o Other) { change(nil, o.Reason) }`, 1},
		{"a Reason of a struct only an unexported Service method takes", `func (s *Service) plan(j job) {}; func f(j job) { change(nil, j.Reason) }`, 1},
		{"an input's other field", `func f(i UpdateThing) { change(nil, i.ID) }`, 1},
		{"a method named Reason", `type m struct{}; func (m) Reason() string { return "" }; func f(x m) { change(nil, x.Reason()) }`, 1},
		{"an error's literal", `var _ = &badPhone{Reason: "too long"}`, 0},
		{"another struct's literal", `var _ = job{Reason: "merged"}`, 0},
		{"another struct's Reason assigned", `func f(j *job) { j.Reason = "merged" }`, 0},
		{"an assignment of changereason's", `func f(c *domain.Change) { c.Reason = cr.Withheld }`, 0},
		{"an assignment of a literal", `func f(c *domain.Change) { c.Reason = "withheld" }`, 1},
		{"an assignment of several", `func f(c *domain.Change) { c.Reason, c.Fields = "withheld", nil }`, 1},
		{"an assignment through an embedding struct", `type kept struct{ domain.Change }; func f(k *kept) { k.Reason = "withheld" }`, 1},
		{"a literal's Reason", `var _ = domain.Change{Reason: "merged"}`, 1},
		{"a literal's Reason of a pointer", `var _ = []*domain.Change{{Reason: "merged"}}`, 1},
		{"a literal's Reason under another name", `type entry = domain.Change; var _ = entry{Reason: "merged"}`, 1},
		{"a literal's Reason of the caller's", `func f(reason string) domain.Change { return domain.Change{Reason: reason} }`, 0},
		{"the caller's reason reassigned", `func f(reason string) { reason = "merged"; change(nil, reason) }`, 1},
		{"a closure's own reason", `func f() { g := func(reason string) { change(nil, reason) }; g("merged") }`, 1},
		{"a method expression's call of changereason's", `type S struct{}; func (S) set(fields []string, reason string) {}
func f(s S) { S.set(s, nil, cr.Registered) }`, 0},
		{"a method expression's call of a literal", `type S struct{}; func (*S) set(fields []string, reason string) {}
func f(s *S) { (*S).set(s, nil, "merged") }`, 1},
	}
	c, err := sourcetest.NewChecker(".", sourcetest.ChangereasonPath, "strings", domainPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "app.go", header+tt.body, 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check(appPath, []*ast.File{f})
			if err != nil {
				t.Fatal(err)
			}
			_, bad, err := reasonsIn(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(bad) != tt.bad {
				t.Errorf("refused %q, want %d", bad, tt.bad)
			}
		})
	}
}

// TestReasonFieldsOfFindsChangeReason: the scan finds domain.Change's Reason, a string,
// and fails when it cannot, the field renamed or of another type, or Change gone, rather
// than pass over the reasons written.
func TestReasonFieldsOfFindsChangeReason(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		found bool
	}{
		{"Change's Reason", "type Change struct{ Fields []string; Reason string }", true},
		{"Reason renamed", "type Change struct{ Fields []string; Why string }", false},
		{"Reason of another type", "type Change struct{ Reason []string }", false},
		{"Reason a method", "type Change struct{}\n\nfunc (Change) Reason() string { return \"\" }", false},
		{"no Change", "type Entry struct{ Reason string }", false},
		{"Change no struct", "type Change string", false},
	}
	c, err := sourcetest.NewChecker(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "domain.go", "package domain\n\n"+tt.src+"\n", 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check(domainPath, []*ast.File{f})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reasonFieldsOf(p.Types); (err == nil) != tt.found {
				t.Errorf("reasonFieldsOf: %v, want found %t", err, tt.found)
			}
		})
	}
}

// reasonsIn returns how many reasons one package writes and where it writes one that
// is not the caller's, an input's or a change's, or changereason's: the argument in the
// place of a parameter named reason of a call to one of the service's functions or
// methods, the value assigned to domain.Change's Reason or to a reason parameter of the
// package's functions, and the Reason of a literal of domain.Change.
func reasonsIn(p *sourcetest.Package) (found int, bad []string, err error) {
	fields, err := reasonFieldsOf(p.Types)
	if err != nil {
		return 0, nil, err
	}
	// The reason parameters of the functions and methods whose calls are checked.
	_, params := sourcetest.ParamsNamed(p, "reason")
	target := sourcetest.Target{
		Field:    fields.change.Name(),
		Literal:  fields.isChange,
		Selected: func(s *types.Selection) bool { return s.Obj() == fields.change },
		Params:   params,
		Argument: func(call *ast.CallExpr) int { return reasonParam(p.TypesInfo, call) },
	}
	for _, f := range p.Syntax {
		for _, w := range sourcetest.Writes(p.TypesInfo, f, target) {
			found++
			if w.Value == nil || !allowedReason(p.TypesInfo, w.Value, params, fields) {
				bad = append(bad, p.Fset.Position(w.At).String())
			}
		}
	}
	return found, bad, nil
}

// reasonFields are the fields that hold a change's reason, as go/types declares them:
// domain.Change's Reason, which the service writes, and, with it, those of what staff
// typed, the Reason of each input of the app's Service (a struct an exported method
// takes).
type reasonFields struct {
	change *types.Var
	typed  map[types.Object]bool
}

// reasonFieldsOf finds the reason fields pkg (the app, the domain or a package of the
// service importing them) can see: domain.Change's Reason, which must be a string field
// (an error otherwise, so that a renamed field fails the scan instead of escaping it),
// and the string Reason of each struct of package app that an exported method of its
// Service takes.
func reasonFieldsOf(pkg *types.Package) (reasonFields, error) {
	domain := packageSeen(pkg, domainPath)
	if domain == nil {
		return reasonFields{}, fmt.Errorf("%s does not import %s", pkg.Path(), domainPath)
	}
	change, ok := stringField(domain.Scope().Lookup("Change"), "Reason")
	if !ok {
		return reasonFields{}, fmt.Errorf("%s.Change has no string field Reason: the scan reads the reason of a change there", domainPath)
	}
	fields := reasonFields{change: change, typed: map[types.Object]bool{change: true}}
	app := packageSeen(pkg, appPath)
	if app == nil {
		return fields, nil
	}
	service, ok := app.Scope().Lookup("Service").(*types.TypeName)
	if !ok {
		return fields, nil
	}
	methods := types.NewMethodSet(types.NewPointer(service.Type()))
	for m := range methods.Methods() {
		// Only an exported method is a use case taking what staff typed: an
		// unexported helper's parameters are built by the service itself.
		if !m.Obj().Exported() {
			continue
		}
		params := m.Obj().(*types.Func).Signature().Params()
		for param := range params.Variables() {
			t := types.Unalias(param.Type())
			if ptr, ok := t.(*types.Pointer); ok {
				t = types.Unalias(ptr.Elem())
			}
			if named, ok := t.(*types.Named); ok && named.Obj().Pkg() == app {
				if input, ok := stringField(named.Obj(), "Reason"); ok {
					fields.typed[input] = true
				}
			}
		}
	}
	return fields, nil
}

// isChange reports whether t is domain.Change, or a pointer to it, under any name.
func (f reasonFields) isChange(t types.Type) bool {
	if ptr, ok := types.Unalias(t).(*types.Pointer); ok {
		t = ptr.Elem()
	}
	s, ok := types.Unalias(t).Underlying().(*types.Struct)
	if !ok {
		return false
	}
	for i := range s.NumFields() {
		if s.Field(i) == f.change {
			return true
		}
	}
	return false
}

// packageSeen returns pkg if its path is path, else the package of that path pkg
// imports, or nil.
func packageSeen(pkg *types.Package, path string) *types.Package {
	if pkg.Path() == path {
		return pkg
	}
	for _, p := range pkg.Imports() {
		if p.Path() == path {
			return p
		}
	}
	return nil
}

// stringField returns the field name of a struct type obj declares, if it is a string.
func stringField(obj types.Object, name string) (*types.Var, bool) {
	tn, ok := obj.(*types.TypeName)
	if !ok {
		return nil, false
	}
	s, ok := tn.Type().Underlying().(*types.Struct)
	if !ok {
		return nil, false
	}
	for i := range s.NumFields() {
		if f := s.Field(i); f.Name() == name && types.Identical(f.Type(), types.Typ[types.String]) {
			return f, true
		}
	}
	return nil, false
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
func allowedReason(info *types.Info, e ast.Expr, params map[types.Object]bool, fields reasonFields) bool {
	return sourcetest.IsChangeReason(info, e) || typedByStaff(info, e, params, fields)
}

// typedByStaff reports whether e is a reason staff typed: its caller's (a reason
// parameter of params, whatever is assigned to it being checked as written), a field of
// fields.typed (an input's or a stored change's Reason), or a function of package
// strings given only such reasons (strings.TrimSpace(reason)), which adds no words of
// the service's own. One of changereason's so changed is not allowed: the report names
// it only as it is.
func typedByStaff(info *types.Info, e ast.Expr, params map[types.Object]bool, fields reasonFields) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return params[sourcetest.Used(info, e)] || isTypedField(info, e, fields)
	}
	if !isStringsFunc(info, call.Fun) || len(call.Args) == 0 {
		return false
	}
	for _, arg := range call.Args {
		if !typedByStaff(info, arg, params, fields) {
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

// isTypedField reports whether e selects a field of fields.typed: an input's Reason, or
// a change's.
func isTypedField(info *types.Info, e ast.Expr, fields reasonFields) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	s, ok := info.Selections[sel]
	return ok && s.Kind() == types.FieldVal && fields.typed[s.Obj()]
}
