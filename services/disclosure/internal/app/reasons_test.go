package app

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/changereason"
)

// TestChangeReasonsComeFromChangereason: the code that calls the other services (this
// package and the adapters) spells out none of the reasons the owner service stores
// (changereason's, an erasure request's prefix included): the erasure job's calls make
// the owner service store "erasure request <id>", which the report names in the
// owner's language only in changereason's form, so the job writes it from there as the
// owner service does. (The report's English names of the reasons read as the reasons
// themselves, so the domain's texts are not searched.)
func TestChangeReasonsComeFromChangereason(t *testing.T) {
	reasons := append(changereason.Fixed(), changereason.Erasure(""))
	fset := token.NewFileSet()
	for _, root := range []string{".", filepath.Join("..", "adapters")} {
		spelt, err := speltOut(fset, root, reasons)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range spelt {
			t.Errorf("%s: a reason spelt out, not changereason's", s)
		}
	}
}

// speltOut returns where the Go code under root, its tests aside, has a string literal
// that is one of texts.
func speltOut(fset *token.FileSet, root string, texts []string) (found []string, err error) {
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && slices.Contains(texts, s) {
					found = append(found, fmt.Sprintf("%s: %q", fset.Position(lit.Pos()), s))
				}
			}
			return true
		})
		return nil
	})
	return found, err
}
