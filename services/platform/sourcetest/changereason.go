package sourcetest

import (
	"go/ast"
	"go/types"
)

// ChangereasonPath is the import path of the change reasons the services write
// themselves, which the disclosure service names in the owner's language.
const ChangereasonPath = "github.com/lillvet/register/services/platform/changereason"

// ChangeReasonRule says what IsChangeReason accepts, for the scans' failure messages,
// which say where to write it.
const ChangeReasonRule = "a changereason constant (changereason.Registered, ...) or a call changereason.Erasure(requestID), " +
	"as it is: not kept in a variable, passed in, built or changed"

// IsChangeReason reports whether e, as written, is one of changereason's reasons: one
// of its constants (which its TestFixedHoldsEveryReason ties to Fixed) or a call of its
// Erasure, the function the package declares (not a method of that name). Nothing else
// of the package is one, whatever it returns (its TestExportsBuildNoOtherReason keeps it
// from exporting another builder), and a variable or a parameter is not followed to
// what it holds: the reason is written where it is used.
func IsChangeReason(info *types.Info, e ast.Expr) bool {
	e = ast.Unparen(e)
	if call, ok := e.(*ast.CallExpr); ok {
		fn, ok := Used(info, ast.Unparen(call.Fun)).(*types.Func)
		return ok && inChangereason(fn) && fn.Pkg().Scope().Lookup("Erasure") == fn
	}
	c, ok := Used(info, e).(*types.Const)
	return ok && inChangereason(c)
}

// inChangereason reports whether obj is declared by changereason.
func inChangereason(obj types.Object) bool {
	return obj.Pkg() != nil && obj.Pkg().Path() == ChangereasonPath
}
