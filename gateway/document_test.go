package gateway_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lillvet/register/proto/gen/openapi"
)

// generatedHandlers are grpc-gateway's handlers of every service, beside this module in
// the workspace.
const generatedHandlers = "../proto/gen/go/lillvet/*/v1/*.pb.gw.go"

// TestDocumentHasEveryRoute: the OpenAPI document served at /openapi.yaml describes
// exactly the routes the generated handlers register, method and path, and the gateway
// serves each of them. A route missing from the document is one partners cannot find; one
// the document has and no handler registers is one they call in vain. The document
// gives a route query parameters exactly when its handler reads the query
// (runtime.PopulateQueryParameters): refuseQuery, which takes the routes that read one
// from the document, would otherwise refuse a valid parameter or let an unread one pass.
func TestDocumentHasEveryRoute(t *testing.T) {
	routes := registeredRoutes(t)
	if len(routes) == 0 {
		t.Fatalf("no routes found in %s", generatedHandlers)
	}
	h := start(t, options{})
	code, _, raw := h.do(t, h.request(t, http.MethodGet, "/openapi.yaml", nil))
	if code != http.StatusOK {
		t.Fatalf("GET /openapi.yaml: %d", code)
	}
	doc, err := openapi.Document()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, doc) {
		t.Fatal("the document served is not openapi.Document, whose operations are checked")
	}
	ops, err := openapi.Operations()
	if err != nil {
		t.Fatal(err)
	}
	inDocument := slices.Collect(maps.Keys(ops))
	for _, r := range routes {
		query, ok := ops[documented(r.Operation)]
		switch {
		case !ok:
			t.Errorf("%s %s is registered but not in the document", r.Method, r.Path)
		case r.readsQuery && len(query) == 0:
			t.Errorf("%s %s reads the query, but the document gives it no query parameter", r.Method, r.Path)
		case !r.readsQuery && len(query) > 0:
			t.Errorf("%s %s reads no query, but the document gives it the query parameters %q", r.Method, r.Path, query)
		}
	}
	for _, op := range inDocument {
		if !slices.ContainsFunc(routes, func(r route) bool { return documented(r.Operation) == op }) {
			t.Errorf("%s %s is in the document but no handler registers it", op.Method, op.Path)
		}
	}

	// Routing comes before authentication: a route the gateway serves answers an
	// anonymous call 401, any other path or method 404 or 405.
	for _, r := range routes {
		req := h.request(t, r.Method, pathVariables.ReplaceAllString(r.Path, "x-1"), strings.NewReader(`{}`))
		req.Header.Del("Authorization")
		if code, _, body := h.do(t, req); code != http.StatusUnauthorized {
			t.Errorf("%s %s: anonymous call answered %d, want 401 from a served route: %s", r.Method, r.Path, code, body)
		}
	}
	if n := len(h.owner.received()); n != 0 {
		t.Errorf("the service received %d calls, want none", n)
	}
}

// pathVariables are the variables of a route template ("{owner_id}").
var pathVariables = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)

// documented is the operation as the OpenAPI document writes it: its path variables by
// their JSON names.
func documented(r openapi.Operation) openapi.Operation {
	r.Path = pathVariables.ReplaceAllStringFunc(r.Path, func(v string) string {
		parts := strings.Split(strings.Trim(v, "{}"), "_")
		for i := 1; i < len(parts); i++ {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
		return "{" + strings.Join(parts, "") + "}"
	})
	return r
}

// route is a route a generated handler registers, and whether its request function
// reads the query.
type route struct {
	openapi.Operation
	readsQuery bool
}

// registeredRoutes reads the routes from the generated handlers: each mux.Handle call of
// a Register…HandlerClient function (the ones the gateway uses), its method, the route
// template its handler annotates the call with, and whether the request_… function it
// calls populates query parameters.
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	paths, err := filepath.Glob(generatedHandlers)
	if err != nil || len(paths) == 0 {
		t.Fatalf("generated handlers %s: %v", generatedHandlers, err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, path := range paths {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	readers := queryReaders(files)
	var routes []route
	for _, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || !strings.HasPrefix(fn.Name.Name, "Register") || !strings.HasSuffix(fn.Name.Name, "HandlerClient") {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if r, ok := handleCall(t, n, readers); ok {
					routes = append(routes, r)
				}
				return true
			})
		}
	}
	return routes
}

// queryReaders are the names of the generated request_… functions that call
// runtime.PopulateQueryParameters.
func queryReaders(files []*ast.File) map[string]bool {
	readers := map[string]bool{}
	for _, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || !strings.HasPrefix(fn.Name.Name, "request_") {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok && isSelector(c.Fun, "runtime", "PopulateQueryParameters") {
					readers[fn.Name.Name] = true
				}
				return !readers[fn.Name.Name]
			})
		}
	}
	return readers
}

// handleCall reads mux.Handle(http.MethodX, pattern, func(...) {... runtime.WithHTTPPathPattern("template") ... request_…(...) ...}).
func handleCall(t *testing.T, n ast.Node, readers map[string]bool) (route, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok || !isSelector(call.Fun, "mux", "Handle") || len(call.Args) != 3 {
		return route{}, false
	}
	method, ok := call.Args[0].(*ast.SelectorExpr)
	if !ok || !strings.HasPrefix(method.Sel.Name, "Method") {
		t.Fatalf("mux.Handle with a method that is no http.MethodX constant at %v", call.Pos())
	}
	var template, request string
	ast.Inspect(call.Args[2], func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if isSelector(c.Fun, "runtime", "WithHTTPPathPattern") && len(c.Args) == 1 {
			if lit, ok := c.Args[0].(*ast.BasicLit); ok {
				template, _ = strconv.Unquote(lit.Value)
			}
		}
		if id, ok := c.Fun.(*ast.Ident); ok && strings.HasPrefix(id.Name, "request_") {
			request = id.Name
		}
		return true
	})
	if template == "" || request == "" {
		t.Fatalf("mux.Handle without a route template or a request function at %v", call.Pos())
	}
	op := openapi.Operation{Method: strings.ToUpper(strings.TrimPrefix(method.Sel.Name, "Method")), Path: template}
	return route{Operation: op, readsQuery: readers[request]}, true
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}
