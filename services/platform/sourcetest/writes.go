package sourcetest

import (
	"go/ast"
	"go/token"
	"go/types"
)

// Written is a value a package's code writes to a field or a parameter, and where it
// does. Value is nil when the statement has no one value to check (a compound
// assignment, or several values from one call).
type Written struct {
	At    token.Pos
	Value ast.Expr
}

// Target is what Writes follows: a field, by its name, of the literals and the
// selections it accepts, parameters, and the arguments of calls.
type Target struct {
	// Field is the field's name (Action, Reason).
	Field string
	// Literal reports whether a literal of the type writes the field.
	Literal func(types.Type) bool
	// Selected reports whether an assignment to the field so selected writes it.
	Selected func(*types.Selection) bool
	// Params are the parameters whose assignment is a write.
	Params map[types.Object]bool
	// Argument is the index of the argument call writes, or -1.
	Argument func(call *ast.CallExpr) int
}

// Writes returns the values f writes to target: the field's value in each literal
// target.Literal accepts, what is assigned to the field where target.Selected accepts
// the selection or to a parameter of target.Params, and the argument of each call that
// target.Argument names.
func Writes(info *types.Info, f *ast.File, target Target) []Written {
	var out []Written
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			if target.Literal(info.TypeOf(n)) {
				out = append(out, fieldValues(n, target.Field)...)
			}
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				if !selectsField(info, lhs, target) && !target.Params[Used(info, lhs)] {
					continue
				}
				w := Written{At: n.Pos()}
				if n.Tok == token.ASSIGN && len(n.Rhs) == len(n.Lhs) {
					w.Value = n.Rhs[i]
				}
				out = append(out, w)
			}
		case *ast.CallExpr:
			if i := target.Argument(n); i >= 0 && i < len(n.Args) {
				out = append(out, Written{n.Pos(), n.Args[i]})
			}
		}
		return true
	})
	return out
}

// ParamsNamed returns the functions and methods p declares with a parameter called
// name, with its index, and those parameters.
func ParamsNamed(p *Package, name string) (funcs map[types.Object]int, params map[types.Object]bool) {
	funcs, params = map[types.Object]int{}, map[types.Object]bool{}
	for _, f := range p.Syntax {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			i := 0
			for _, field := range fn.Type.Params.List {
				for _, n := range field.Names {
					if n.Name == name {
						funcs[p.TypesInfo.Defs[fn.Name]] = i
						params[p.TypesInfo.Defs[n]] = true
					}
					i++
				}
				if len(field.Names) == 0 {
					i++
				}
			}
		}
	}
	return funcs, params
}

// Callee is the function or method call calls by name (nil if it calls a value), and
// the offset of its parameters among the call's arguments: 1 for a method expression
// ((*T).M(t, ...)), whose first argument is the receiver, else 0.
func Callee(info *types.Info, call *ast.CallExpr) (fn *types.Func, offset int) {
	fun := ast.Unparen(call.Fun)
	fn, ok := Used(info, fun).(*types.Func)
	if !ok {
		return nil, 0
	}
	if sel, ok := fun.(*ast.SelectorExpr); ok {
		if s, ok := info.Selections[sel]; ok && s.Kind() == types.MethodExpr {
			return fn, 1
		}
	}
	return fn, 0
}

// Used is what the identifier or selector e names, or nil.
func Used(info *types.Info, e ast.Expr) types.Object {
	switch e := e.(type) {
	case *ast.Ident:
		return info.Uses[e]
	case *ast.SelectorExpr:
		return info.Uses[e.Sel]
	}
	return nil
}

// fieldValues are the values lit gives the field name.
func fieldValues(lit *ast.CompositeLit, name string) []Written {
	var out []Written
	for _, elt := range lit.Elts {
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			if key, ok := kv.Key.(*ast.Ident); ok && key.Name == name {
				out = append(out, Written{kv.Pos(), kv.Value})
			}
		}
	}
	return out
}

// selectsField reports whether e selects target's field where target.Selected accepts it.
func selectsField(info *types.Info, e ast.Expr, target Target) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != target.Field {
		return false
	}
	s, ok := info.Selections[sel]
	return ok && s.Kind() == types.FieldVal && target.Selected(s)
}
