package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// repoPrefix starts the import path of every package of the repository.
const repoPrefix = "github.com/lillvet/register/"

// mainDeps is the go list template that gives each main package's import path and
// every package it links, on one line.
const mainDeps = `{{if eq .Name "main"}}{{.ImportPath}}{{range .Deps}} {{.}}{{end}}{{end}}`

// checkLinks fails when a production binary (productionBinaries) links a package that
// only tests may use (testOnly): a test helper imported by production code would ship
// an embedded store, a token issuer or a source loader in the service.
func checkLinks(r *runner) error {
	patterns, err := productionBinaries(r.root)
	if err != nil {
		return err
	}
	fmt.Println(commandLine("go", append([]string{"list", "-f", mainDeps}, patterns...)))
	listing, err := r.output(r.root, "go", append([]string{"list", "-f", mainDeps}, patterns...)...)
	if err != nil {
		return err
	}
	binaries, links := testOnlyLinks(listing)
	if binaries < len(patterns) {
		return fmt.Errorf("go list found %d main packages in %q, want one at least for each", binaries, patterns)
	}
	if len(links) > 0 {
		return fmt.Errorf("production binaries link packages only tests may use (a repository package named <something>test is a test helper, as the standard library's are: rename a production package that is not one); import them from _test.go files only:\n\t%s",
			strings.Join(links, "\n\t"))
	}
	return nil
}

// productionBinaries gives the patterns of the binaries the project ships: each
// service's commands, the gateway's and the local all-in-one runner.
func productionBinaries(root string) ([]string, error) {
	cmds, err := filepath.Glob(filepath.Join(root, "services", "*", "cmd"))
	if err != nil {
		return nil, err
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("no services/*/cmd under %s", root)
	}
	var patterns []string
	for _, c := range cmds {
		rel, err := filepath.Rel(root, c)
		if err != nil {
			return nil, err
		}
		patterns = append(patterns, "./"+filepath.ToSlash(rel)+"/...")
	}
	return append(patterns, "./gateway/cmd/...", "./deploy/local"), nil
}

// testOnlyLinks reads go list's lines of a main package and what it links (mainDeps),
// and returns how many main packages there are and, for each test-only package one
// links (named as testOnly names it, once), "<main> links <package>".
func testOnlyLinks(listing string) (binaries int, links []string) {
	for line := range strings.Lines(listing) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		binaries++
		seen := map[string]bool{}
		for _, dep := range fields[1:] {
			if name, ok := testOnly(dep); ok && !seen[name] {
				seen[name] = true
				links = append(links, fields[0]+" links "+name)
			}
		}
	}
	return binaries, links
}

// testOnly reports whether only tests may use the package, and names what it is part
// of: golang.org/x/tools, which sourcetest loads the services' code with, and the
// repository's test helpers (with what is under them), each named for what it helps
// test as the standard library's are (servicetest, embeddedtest, audittest,
// ownertest, sourcetest).
func testOnly(pkg string) (name string, ok bool) {
	const tools = "golang.org/x/tools"
	if pkg == tools || strings.HasPrefix(pkg, tools+"/") {
		return tools, true
	}
	rest, ok := strings.CutPrefix(pkg, repoPrefix)
	if !ok {
		return "", false
	}
	elems := strings.Split(rest, "/")
	for i, e := range elems {
		if len(e) > len("test") && strings.HasSuffix(e, "test") {
			return repoPrefix + strings.Join(elems[:i+1], "/"), true
		}
	}
	return "", false
}
