package domain

import (
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

	"github.com/lillvet/register/services/platform/changereason"
)

// TestActionText: an action is named in each language; one newer than the texts is
// "other action", never its code.
func TestActionText(t *testing.T) {
	tests := []struct {
		lang   Language
		action string
		want   string
	}{
		{LanguageFinnish, "owner.read", "asiakastietojen katselu"},
		{LanguageSwedish, "erasure_request.create", "begäran om radering registrerad"},
		{LanguageEnglish, "disclosure.retention_sweep", "removal after the retention period"},
		{LanguageFinnish, "owner.merge", "muu toiminto"},
		{LanguageSwedish, "owner.merge", "annan åtgärd"},
		{LanguageEnglish, "owner.merge", "other action"},
		{LanguageEnglish, "", "other action"},
	}
	for _, tt := range tests {
		if got := ActionText(DocumentTexts(tt.lang), tt.action); got != tt.want {
			t.Errorf("%s: %q is %q, want %q", tt.lang, tt.action, got, tt.want)
		}
	}
}

// TestEveryActionNamed: every action a service can write into its audit log has a
// name in each language. The actions are read from the services' code: the Action of
// each audit.Event literal and the action argument of each function that builds
// events from one, so that a new action fails here until it is named. An action that
// is not a string literal there cannot be checked and fails too.
func TestEveryActionNamed(t *testing.T) {
	actions := writtenActions(t, filepath.Join("..", "..", ".."))
	// The walk finds the services' actions, not nothing: one of each service's.
	for _, a := range []string{"owner.read", "visit.create", "consent.check", "erasure_request.step", "rpc.denied", "audit.export"} {
		if !actions[a] {
			t.Fatalf("the walk did not find %q among %v", a, slices.Sorted(maps.Keys(actions)))
		}
	}
	for _, a := range slices.Sorted(maps.Keys(actions)) {
		for _, lang := range Languages() {
			if strings.TrimSpace(DocumentTexts(lang)[ValueTextKey(ValueAction, a)]) == "" {
				t.Errorf("%s: the action %q has no name", lang, a)
			}
		}
	}
}

// TestEveryChangeReasonNamed: every reason the owner service writes itself on a change
// (changereason, which it writes them from) is named in each language, an erasure
// request's with its id, so that no reason reaches the owner in the stored English or
// a new one passes unnamed.
func TestEveryChangeReasonNamed(t *testing.T) {
	const request = "0190f5a4-2222-7000-8000-000000000001"
	for _, lang := range Languages() {
		texts := DocumentTexts(lang)
		for _, r := range changereason.Fixed() {
			if name := texts[ValueTextKey(ValueChangeReason, r)]; strings.TrimSpace(name) == "" || ChangeReasonText(texts, r) != name {
				t.Errorf("%s: the reason %q has no name", lang, r)
			}
		}
		want := texts[ValueTextKey(ValueChangeReason, erasureRequestKey)] + " " + request
		if got := ChangeReasonText(texts, changereason.Erasure(request)); strings.TrimSpace(want) == request || got != want {
			t.Errorf("%s: an erasure request's reason reads %q, want %q", lang, got, want)
		}
	}
}

// writtenActions returns the actions the Go code under root (the services) writes: the
// Action of every audit.Event composite literal, and the argument of every call, within
// its package, to a function with a parameter named action. An action passed on from
// such a parameter is the caller's; anything else that is not a string literal fails t.
func writtenActions(t *testing.T, root string) map[string]bool {
	t.Helper()
	actions := map[string]bool{}
	err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
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
		actionsOf(t, files, actions)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return actions
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

// actionsOf adds the actions one package's files write (see writtenActions) to actions.
func actionsOf(t *testing.T, files map[string]*ast.File, actions map[string]bool) {
	t.Helper()
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
		isEvent := func(e ast.Expr) bool {
			switch e := e.(type) {
			case *ast.SelectorExpr:
				x, ok := e.X.(*ast.Ident)
				return ok && x.Name == "audit" && e.Sel.Name == "Event"
			case *ast.Ident:
				return f.Name.Name == "audit" && e.Name == "Event"
			}
			return false
		}
		for _, decl := range f.Decls {
			// Within a function that takes an action, that action is its caller's.
			forwards := false
			if fn, ok := decl.(*ast.FuncDecl); ok {
				forwards = actionParam(fn.Type) >= 0
			}
			add := func(e ast.Expr) {
				if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					a, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					actions[a] = true
					return
				}
				if id, ok := e.(*ast.Ident); ok && id.Name == "action" && forwards {
					return
				}
				t.Errorf("%s: an action that is not a string literal cannot be checked", path)
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CompositeLit:
					for _, ev := range events(n, isEvent) {
						for _, elt := range ev.Elts {
							if kv, ok := elt.(*ast.KeyValueExpr); ok {
								if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Action" {
									add(kv.Value)
								}
							}
						}
					}
				case *ast.CallExpr:
					if i, ok := takers[calleeName(n)]; ok && i < len(n.Args) {
						add(n.Args[i])
					}
				}
				return true
			})
		}
	}
}

// events are the audit.Event literals lit is: itself, or the elements of a slice or
// array of them.
func events(lit *ast.CompositeLit, isEvent func(ast.Expr) bool) []*ast.CompositeLit {
	if isEvent(lit.Type) {
		return []*ast.CompositeLit{lit}
	}
	arr, ok := lit.Type.(*ast.ArrayType)
	if !ok || !isEvent(arr.Elt) {
		return nil
	}
	var out []*ast.CompositeLit
	for _, elt := range lit.Elts {
		if el, ok := elt.(*ast.CompositeLit); ok {
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
