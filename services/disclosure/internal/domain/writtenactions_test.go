package domain

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// auditPath is the import path of the package of audit.Event.
const auditPath = "github.com/lillvet/register/services/platform/audit"

// TestWrittenActionsFindsEveryForm: the walk behind TestEveryActionNamed finds an action
// in each form the services' code can write it, and reports each form it cannot check,
// so that no action reaches the audit log unnamed by being written some other way.
func TestWrittenActionsFindsEveryForm(t *testing.T) {
	src := func(name, body string) string {
		return "package app\n\nimport " + name + " " + strconv.Quote(auditPath) + "\n\n" + body
	}
	tests := []struct {
		name      string
		src       string
		actions   []string
		unchecked int
	}{
		{"a literal", src("", `func f() audit.Event { return audit.Event{Action: "a.literal"} }`), []string{"a.literal"}, 0},
		{"a pointer to a literal", src("", `func f() *audit.Event { return &audit.Event{Action: "a.pointer"} }`), []string{"a.pointer"}, 0},
		{"literals in a slice and a map", src("", `var s = []audit.Event{{Action: "a.one"}, {Action: "a.two"}}
var m = map[string]*audit.Event{"k": {Action: "a.three"}}`), []string{"a.one", "a.three", "a.two"}, 0},
		{"a renamed import", src("aud", `var e = aud.Event{Action: "a.renamed"}`), []string{"a.renamed"}, 0},
		{"a dot import", src(".", `var e = Event{Action: "a.dot"}`), []string{"a.dot"}, 0},
		{"an assignment", src("", `func f() (e audit.Event) { e.Action = "an.assignment"; return e }`), []string{"an.assignment"}, 0},
		{"an assignment of a variable", src("", `func f(name string) (e audit.Event) { e.Action = name; return e }`), nil, 1},
		{"a literal of a variable", src("", `func f(name string) audit.Event { return audit.Event{Action: name} }`), nil, 1},
		{"a call to a function taking an action", src("", `func event(action string) audit.Event { return audit.Event{Action: action} }
func f() audit.Event { return event("a.call") }`), []string{"a.call"}, 0},
		{"a call to a method taking an action", src("", `type S struct{}
func (S) record(action string) audit.Event { e := audit.Event{}; e.Action = action; return e }
func f(s S) audit.Event { return s.record("a.method") }`), []string{"a.method"}, 0},
		{"a method value", src("", `type S struct{}
func (S) record(action string) audit.Event { return audit.Event{Action: action} }
func f(s S) audit.Event { r := s.record; return r("a.hidden") }`), nil, 1},
		{"a method expression", src("", `type S struct{}
func (S) record(action string) audit.Event { return audit.Event{Action: action} }
var r = S.record`), nil, 1},
		{"a function value", src("", `func event(action string) audit.Event { return audit.Event{Action: action} }
var r = event`), nil, 1},
		{"another package's Event", "package app\n\nimport \"example.com/audit\"\n\nvar e = audit.Event{Action: \"not.ours\"}\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(token.NewFileSet(), "app.go", tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			actions := map[string]bool{}
			unchecked := actionsOf(map[string]*ast.File{"app.go": f}, actions)
			if got := slices.Sorted(maps.Keys(actions)); !slices.Equal(got, tt.actions) || len(unchecked) != tt.unchecked {
				t.Errorf("found %q and %d unchecked (%q), want %q and %d", got, len(unchecked), unchecked, tt.actions, tt.unchecked)
			}
		})
	}
}

// writtenActions returns the actions the Go code under root (the services) writes, and
// where it writes one that cannot be checked (actionsOf).
func writtenActions(root string) (actions map[string]bool, unchecked []string, err error) {
	actions = map[string]bool{}
	err = filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if d.Name() == "testdata" {
			return filepath.SkipDir
		}
		files, err := parseDir(dir)
		if err != nil {
			return err
		}
		unchecked = append(unchecked, actionsOf(files, actions)...)
		return nil
	})
	return actions, unchecked, err
}

// parseDir parses the Go files of dir but its tests: one package.
func parseDir(dir string) (map[string]*ast.File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string]*ast.File{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return nil, err
		}
		files[path] = f
	}
	return files, nil
}

// actionsOf adds the actions one package's files write to actions: the Action of every
// audit.Event composite literal (the package imported under any name, or with a dot),
// every assignment to a field named Action (the walk reads no types, so any such field
// is taken for an event's), and the argument of every call, within the package, to a
// function or method with a parameter named action. Within such a function its action
// parameter is its caller's. It returns where an action cannot be checked: one that is
// neither a string literal nor that parameter, and such a function taken as a value
// (a method value or expression, a function assigned or passed), whose calls the walk
// cannot follow.
func actionsOf(files map[string]*ast.File, actions map[string]bool) (unchecked []string) {
	// The functions that take an action, by name, and where the action is among
	// their arguments.
	takers := map[string]int{}
	for _, f := range files {
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok {
				if i := actionParam(fn.Type); i >= 0 {
					takers[fn.Name.Name] = i
				}
			}
		}
	}
	for path, f := range files {
		isEvent := eventTypeOf(f)
		for _, decl := range f.Decls {
			// Within a function that takes an action, that action is its caller's.
			forwards := false
			if fn, ok := decl.(*ast.FuncDecl); ok {
				forwards = actionParam(fn.Type) >= 0
			}
			add := func(e ast.Expr) {
				if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if a, err := strconv.Unquote(lit.Value); err == nil {
						actions[a] = true
						return
					}
				}
				if id, ok := e.(*ast.Ident); ok && id.Name == "action" && forwards {
					return
				}
				unchecked = append(unchecked, path)
			}
			for _, e := range writtenIn(decl, isEvent, takers) {
				add(e)
			}
			if n := takenAsValues(decl, takers); n > 0 {
				unchecked = append(unchecked, fmt.Sprintf("%s (%d taken as a value)", path, n))
			}
		}
	}
	return unchecked
}

// writtenIn returns the expressions decl writes as actions: the Action of each event
// literal, the value of each assignment to an Action field, and the action argument of
// each call to a taker.
func writtenIn(decl ast.Decl, isEvent func(ast.Expr) bool, takers map[string]int) []ast.Expr {
	var out []ast.Expr
	ast.Inspect(decl, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			for _, ev := range events(n, isEvent) {
				for _, elt := range ev.Elts {
					if kv, ok := elt.(*ast.KeyValueExpr); ok {
						if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Action" {
							out = append(out, kv.Value)
						}
					}
				}
			}
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "Action" {
					// A compound or multi-valued assignment has no one value to check.
					var value ast.Expr = &ast.BadExpr{}
					if n.Tok == token.ASSIGN && len(n.Rhs) == len(n.Lhs) {
						value = n.Rhs[i]
					}
					out = append(out, value)
				}
			}
		case *ast.CallExpr:
			if i, ok := takers[calleeName(n)]; ok && i < len(n.Args) {
				out = append(out, n.Args[i])
			}
		}
		return true
	})
	return out
}

// takenAsValues counts the places decl names a taker other than to call it or declare
// it: a method value or expression, or a function assigned or passed on.
func takenAsValues(decl ast.Decl, takers map[string]int) int {
	called := map[ast.Node]bool{}
	if fn, ok := decl.(*ast.FuncDecl); ok {
		called[fn.Name] = true
	}
	n := 0
	ast.Inspect(decl, func(node ast.Node) bool {
		switch node := node.(type) {
		case *ast.CallExpr:
			called[node.Fun] = true
			if sel, ok := node.Fun.(*ast.SelectorExpr); ok {
				called[sel.Sel] = true
			}
		case *ast.SelectorExpr:
			// Its name is the selector's, not an identifier of its own.
			called[node.Sel] = true
			if _, ok := takers[node.Sel.Name]; ok && !called[node] {
				n++
			}
		case *ast.Ident:
			if _, ok := takers[node.Name]; ok && !called[node] {
				n++
			}
		}
		return true
	})
	return n
}

// eventTypeOf returns whether a type expression of f is audit.Event: through the name
// f imports the audit package by, or a dot import, or within the audit package.
func eventTypeOf(f *ast.File) func(ast.Expr) bool {
	local := ""
	if f.Name.Name == "audit" {
		local = "."
	}
	for _, imp := range f.Imports {
		if path, err := strconv.Unquote(imp.Path.Value); err == nil && path == auditPath {
			local = "audit"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	return func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.SelectorExpr:
			x, ok := e.X.(*ast.Ident)
			return ok && x.Name == local && e.Sel.Name == "Event"
		case *ast.Ident:
			return local == "." && e.Name == "Event"
		}
		return false
	}
}

// events are the audit.Event literals lit is: itself, or the elements of a slice, an
// array or a map of them (or of pointers to them) written without their type.
func events(lit *ast.CompositeLit, isEvent func(ast.Expr) bool) []*ast.CompositeLit {
	if isEvent(lit.Type) {
		return []*ast.CompositeLit{lit}
	}
	var elt ast.Expr
	switch t := lit.Type.(type) {
	case *ast.ArrayType:
		elt = t.Elt
	case *ast.MapType:
		elt = t.Value
	default:
		return nil
	}
	if star, ok := elt.(*ast.StarExpr); ok {
		elt = star.X
	}
	if !isEvent(elt) {
		return nil
	}
	var out []*ast.CompositeLit
	for _, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			e = kv.Value
		}
		if el, ok := e.(*ast.CompositeLit); ok && el.Type == nil {
			out = append(out, el)
		}
	}
	return out
}

// calleeName is the name of the function or method call calls.
func calleeName(call *ast.CallExpr) string {
	switch c := call.Fun.(type) {
	case *ast.Ident:
		return c.Name
	case *ast.SelectorExpr:
		return c.Sel.Name
	}
	return ""
}

// actionParam is the index of the parameter named action among ft's, or -1.
func actionParam(ft *ast.FuncType) int {
	i := 0
	for _, field := range ft.Params.List {
		for _, name := range field.Names {
			if name.Name == "action" {
				return i
			}
			i++
		}
		if len(field.Names) == 0 {
			i++
		}
	}
	return -1
}
