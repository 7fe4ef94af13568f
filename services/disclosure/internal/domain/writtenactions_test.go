package domain

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/lillvet/register/services/platform/sourcetest"
)

// auditPath is the import path of the package of audit.Event.
const auditPath = "github.com/lillvet/register/services/platform/audit"

// TestWrittenActionsFindsEveryForm: the walk behind TestEveryActionNamed finds an action
// in each form the services' code can write it, and reports each form it cannot check,
// so that no action reaches the audit log unnamed by being written some other way; a
// name that is not a function taking an action is not taken for one.
func TestWrittenActionsFindsEveryForm(t *testing.T) {
	src := func(name, body string) string {
		return "package app\n\nimport " + name + " " + strconv.Quote(auditPath) + "\n\n" + body
	}
	// A function taking an action, for the cases that call it.
	const taker = "func record(action string) audit.Event { return audit.Event{Action: action} }\n"
	tests := []struct {
		name      string
		src       string
		actions   []string
		unchecked int
		// The source imports a package no module provides.
		broken bool
	}{
		{"a literal", src("", `func f() audit.Event { return audit.Event{Action: "a.literal"} }`), []string{"a.literal"}, 0, false},
		{"a pointer to a literal", src("", `func f() *audit.Event { return &audit.Event{Action: "a.pointer"} }`), []string{"a.pointer"}, 0, false},
		{"literals in a slice and a map", src("", `var s = []audit.Event{{Action: "a.one"}, {Action: "a.two"}}
var m = map[string]*audit.Event{"k": {Action: "a.three"}}`), []string{"a.one", "a.three", "a.two"}, 0, false},
		{"a renamed import", src("aud", `var e = aud.Event{Action: "a.renamed"}`), []string{"a.renamed"}, 0, false},
		{"a dot import", src(".", `var e = Event{Action: "a.dot"}`), []string{"a.dot"}, 0, false},
		{"a constant", src("", `const c = "a.constant"
var e = audit.Event{Action: c}`), []string{"a.constant"}, 0, false},
		{"an assignment", src("", `func f() (e audit.Event) { e.Action = "an.assignment"; return e }`), []string{"an.assignment"}, 0, false},
		{"an assignment of a variable", src("", `func f(name string) (e audit.Event) { e.Action = name; return e }`), nil, 1, false},
		{"an assignment of several", src("", `func f() (e audit.Event) { e.Action, e.Resource = "a.first", "r"; return e }`), []string{"a.first"}, 0, false},
		{"an assignment to another struct's Action", src("", `var _ audit.Event
type job struct{ Action string }
func f(name string) (j job) { j.Action = name; return j }`), nil, 0, false},
		{"a literal of a variable", src("", `func f(name string) audit.Event { return audit.Event{Action: name} }`), nil, 1, false},
		{"a call to a function taking an action", src("", taker+`func f() audit.Event { return record("a.call") }`), []string{"a.call"}, 0, false},
		{"a call to a method taking an action", src("", `type S struct{}
func (S) record(action string) audit.Event { e := audit.Event{}; e.Action = action; return e }
func f(s S) audit.Event { return s.record("a.method") }`), []string{"a.method"}, 0, false},
		{"a method value", src("", `type S struct{}
func (S) record(action string) audit.Event { return audit.Event{Action: action} }
func f(s S) audit.Event { r := s.record; return r("a.hidden") }`), nil, 1, false},
		{"a method expression", src("", `type S struct{}
func (S) record(action string) audit.Event { return audit.Event{Action: action} }
var r = S.record`), nil, 1, false},
		{"a method expression called", src("", `type S struct{}
func (S) record(action string) audit.Event { return audit.Event{Action: action} }
func f(s S) audit.Event { return S.record(s, "an.expression") }`), []string{"an.expression"}, 0, false},
		{"a pointer's method expression called", src("", `type S struct{}
func (*S) record(action string) audit.Event { return audit.Event{Action: action} }
func f(s *S) audit.Event { return (*S).record(s, "a.pointer.expression") }`), []string{"a.pointer.expression"}, 0, false},
		{"a function value", src("", taker+`var r = record`), nil, 1, false},
		{"a variable named as a function taking an action", src("", taker+`func f() int { record := 1; return record }`), nil, 0, false},
		{"a field named as a function taking an action", src("", taker+`type S struct{ record int }
func f(s S) int { return s.record + S{record: 1}.record }`), nil, 0, false},
		{"an action reassigned a literal", src("", `func record(action string) audit.Event { action = "a.reassigned"; return audit.Event{Action: action} }`),
			[]string{"a.reassigned"}, 0, false},
		{"an action reassigned a variable", src("", `func record(action, other string) audit.Event { action = other; return audit.Event{Action: action} }`),
			nil, 1, false},
		{"a call to a function passing its action on", src("", taker+`func outer(action string) audit.Event { return record(action) }
var e = outer("an.outer")`), []string{"an.outer"}, 0, false},
		{"a function reading an action", src("", `var _ audit.Event
func name(action string) string { return "named " + action }
func f(a string) string { return name(a) }`), nil, 0, false},
		{"a closure's own action", src("", `func record(action string) audit.Event {
	f := func(action string) audit.Event { return audit.Event{Action: action} }
	return f("a.hidden")
}`), nil, 1, false},
		{"another package's Event", "package app\n\nimport \"example.com/audit\"\n\nvar e = audit.Event{Action: \"not.ours\"}\n", nil, 0, true},
	}
	c, err := sourcetest.NewChecker(".", auditPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(c.Fset, "app.go", tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Check("example.com/app", []*ast.File{f})
			if (err != nil) != tt.broken {
				t.Fatalf("type-check: %v", err)
			}
			actions := map[string]bool{}
			unchecked := actionsIn([]*sourcetest.Package{p}, actions)
			if got := slices.Sorted(maps.Keys(actions)); !slices.Equal(got, tt.actions) || len(unchecked) != tt.unchecked {
				t.Errorf("found %q and %d unchecked (%q), want %q and %d", got, len(unchecked), unchecked, tt.actions, tt.unchecked)
			}
		})
	}
}

// TestWrittenActionsFollowsOtherPackages: a call to a taker declared in another package
// (as audit.Refusal is, in platform/audit) is checked as one within the package, both
// packages loaded together from source. The packages are under testdata/takers, beside
// their helper.Success.
func TestWrittenActionsFollowsOtherPackages(t *testing.T) {
	tests := []struct {
		pkg       string
		actions   []string
		unchecked int
	}{
		{"literal", []string{"a.helped"}, 0},
		{"variable", nil, 1},
		{"caller", []string{"a.passed"}, 0},
		{"value", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			pkgs, err := sourcetest.Load(".", "./testdata/takers/helper", "./testdata/takers/"+tt.pkg)
			if err != nil {
				t.Fatal(err)
			}
			actions := map[string]bool{}
			unchecked := actionsIn(pkgs, actions)
			if got := slices.Sorted(maps.Keys(actions)); !slices.Equal(got, tt.actions) || len(unchecked) != tt.unchecked {
				t.Errorf("found %q and %d unchecked (%q), want %q and %d", got, len(unchecked), unchecked, tt.actions, tt.unchecked)
			}
		})
	}
}

// writtenActions returns the actions the Go code of the modules under root (the
// services) writes, and where it writes one that cannot be checked (actionsOf).
func writtenActions(root string) (actions map[string]bool, unchecked []string, err error) {
	var patterns []string
	err = filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			patterns = append(patterns, filepath.ToSlash(dir)+"/...")
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	pkgs, err := sourcetest.Load(".", patterns...)
	if err != nil {
		return nil, nil, err
	}
	actions = map[string]bool{}
	return actions, actionsIn(pkgs, actions), nil
}

// actionsIn adds the actions pkgs write to actions (actionsOf), a call to a taker of
// any of them checked wherever it is, and returns where one cannot be checked.
func actionsIn(pkgs []*sourcetest.Package, actions map[string]bool) (unchecked []string) {
	takers, params := takersIn(pkgs)
	for _, p := range pkgs {
		unchecked = append(unchecked, actionsOf(p, takers, params, actions)...)
	}
	return unchecked
}

// takersIn returns the functions and methods of pkgs that take an action ("takers"),
// with the index of the action parameter, and those parameters. A taker is declared
// with a parameter named action that it writes (actionTarget): into an event, or to
// another taker's; one that only reads it (ActionText) is none. Packages loaded
// together share their objects, so a taker is the same object in the packages calling
// it as in its own.
func takersIn(pkgs []*sourcetest.Package) (takers map[*types.Func]int, params map[types.Object]bool) {
	type candidate struct {
		fn    *types.Func
		index int
	}
	candidates := map[types.Object]candidate{}
	for _, p := range pkgs {
		funcs, _ := sourcetest.ParamsNamed(p, "action")
		for obj, i := range funcs {
			fn := obj.(*types.Func)
			candidates[fn.Signature().Params().At(i)] = candidate{fn, i}
		}
	}
	// A taker found makes the functions passing it their action takers too.
	takers, params = map[*types.Func]int{}, map[types.Object]bool{}
	for grown := true; grown; {
		grown = false
		for _, p := range pkgs {
			for _, f := range p.Syntax {
				for _, w := range sourcetest.Writes(p.TypesInfo, f, actionTarget(p, takers, params)) {
					param := sourcetest.Used(p.TypesInfo, w.Value)
					if c, ok := candidates[param]; ok && !params[param] {
						takers[c.fn], params[param], grown = c.index, true, true
					}
				}
			}
		}
	}
	return takers, params
}

// takerParam is the index of the action parameter of the taker obj names, if it names one.
func takerParam(takers map[*types.Func]int, obj types.Object) (int, bool) {
	fn, ok := obj.(*types.Func)
	if !ok {
		return 0, false
	}
	i, ok := takers[fn.Origin()]
	return i, ok
}

// actionsOf adds the actions one package writes to actions: the Action of every
// audit.Event literal, every value assigned to an event's Action, and the argument of
// every call to a taker (takersIn), of this package or another, as well as every value
// assigned to a taker's action parameter (params). Within a taker its action parameter
// is its caller's. An action is a string constant: it returns where one is not (nor
// that parameter), and where a taker is taken as a value (a method value or
// expression, a function assigned or passed), whose calls the walk cannot follow.
func actionsOf(p *sourcetest.Package, takers map[*types.Func]int, params map[types.Object]bool, actions map[string]bool) (unchecked []string) {
	target := actionTarget(p, takers, params)
	for _, f := range p.Syntax {
		for _, w := range sourcetest.Writes(p.TypesInfo, f, target) {
			if w.Value != nil {
				if tv := p.TypesInfo.Types[w.Value]; tv.Value != nil && tv.Value.Kind() == constant.String {
					actions[constant.StringVal(tv.Value)] = true
					continue
				}
				if params[sourcetest.Used(p.TypesInfo, w.Value)] {
					continue
				}
			}
			unchecked = append(unchecked, p.Fset.Position(w.At).String())
		}
		for _, at := range takenAsValues(p.TypesInfo, f, takers) {
			unchecked = append(unchecked, fmt.Sprintf("%s (taken as a value)", p.Fset.Position(at)))
		}
	}
	return unchecked
}

// actionTarget is where p's code writes an action: an audit.Event's Action, a taker's
// action parameter (params), and the argument of a call to a taker (after the receiver,
// for a method expression's call).
func actionTarget(p *sourcetest.Package, takers map[*types.Func]int, params map[types.Object]bool) sourcetest.Target {
	return sourcetest.Target{
		Field:   "Action",
		Literal: isEvent,
		Selected: func(s *types.Selection) bool {
			return s.Obj().Pkg() != nil && s.Obj().Pkg().Path() == auditPath
		},
		Params: params,
		Argument: func(call *ast.CallExpr) int {
			fn, offset := sourcetest.Callee(p.TypesInfo, call)
			if fn == nil {
				return -1
			}
			if i, ok := takerParam(takers, fn); ok {
				return offset + i
			}
			return -1
		},
	}
}

// takenAsValues returns where f names a taker other than to call it: a method value or
// expression, or a function assigned or passed on. A variable or a field of the same
// name is another object, and not counted.
func takenAsValues(info *types.Info, f *ast.File, takers map[*types.Func]int) []token.Pos {
	called := map[*ast.Ident]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			switch fun := call.Fun.(type) {
			case *ast.Ident:
				called[fun] = true
			case *ast.SelectorExpr:
				called[fun.Sel] = true
			}
		}
		return true
	})
	var out []token.Pos
	for id, obj := range info.Uses {
		if _, ok := takerParam(takers, obj); ok && !called[id] && id.Pos() >= f.Pos() && id.End() <= f.End() {
			out = append(out, id.Pos())
		}
	}
	slices.Sort(out)
	return out
}

// isEvent reports whether t is audit.Event or a pointer to it.
func isEvent(t types.Type) bool {
	if ptr, ok := t.(*types.Pointer); ok {
		t = ptr.Elem()
	}
	named, ok := t.(*types.Named)
	return ok && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == auditPath && named.Obj().Name() == "Event"
}
