package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// repoPrefix starts the import path of every package of the repository.
const repoPrefix = "github.com/lillvet/register/"

// testOnlyMark is the package a test helper imports to be one (its doc says why). The
// link check knows a helper by it alone; TestHelpersAreMarked keeps every package named
// as a helper (…test) or under a marked one carrying it.
const testOnlyMark = repoPrefix + "services/platform/testonly"

// linkListing is the go list -deps template that gives, for each main package, a line
// "main <import path> <every package it links>", and for each package that imports
// testOnlyMark, a line "helper <import path>"; other packages give empty lines.
const linkListing = `{{if eq .Name "main"}}main {{.ImportPath}}{{range .Deps}} {{.}}{{end}}` +
	`{{else}}{{range .Imports}}{{if eq . "` + testOnlyMark + `"}}helper {{$.ImportPath}}{{end}}{{end}}{{end}}`

// checkLinks fails when a production binary (productionBinaries) links a package that
// only tests may use (testOnly): a test helper imported by production code would ship
// an embedded store, a token issuer or a source loader in the service.
func checkLinks(r *runner) error {
	patterns, err := productionBinaries(r.root)
	if err != nil {
		return err
	}
	args := append([]string{"list", "-deps", "-f", linkListing}, patterns...)
	fmt.Println(commandLine("go", args))
	listing, err := r.output(r.root, "go", args...)
	if err != nil {
		return err
	}
	binaries, links := testOnlyLinks(listing)
	if binaries < len(patterns) {
		return fmt.Errorf("go list found %d main packages in %q, want one at least for each", binaries, patterns)
	}
	if len(links) > 0 {
		return fmt.Errorf("production binaries link packages only tests may use (a test helper is a package that imports %s, and package testing is for tests alone); import them from _test.go files only:\n\t%s",
			testOnlyMark, strings.Join(links, "\n\t"))
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

// testOnlyLinks reads go list's lines (linkListing) and returns how many main packages
// there are and, for each test-only package one links (named as testOnly names it,
// once), "<main> links <package>".
func testOnlyLinks(listing string) (binaries int, links []string) {
	helpers := map[string]bool{}
	mains := map[string][]string{}
	var order []string
	for line := range strings.Lines(listing) {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 2 && fields[0] == "helper":
			helpers[fields[1]] = true
		case len(fields) >= 2 && fields[0] == "main":
			order = append(order, fields[1])
			mains[fields[1]] = fields[2:]
		}
	}
	for _, m := range order {
		seen := map[string]bool{}
		for _, dep := range mains[m] {
			if name, ok := testOnly(dep, helpers); ok && !seen[name] {
				seen[name] = true
				links = append(links, m+" links "+name)
			}
		}
	}
	return len(order), links
}

// testOnly reports whether only tests may use the package, and names what it is part
// of: golang.org/x/tools, which sourcetest loads the services' code with; package
// testing and what is under it; and the repository's test helpers, the packages that
// import testOnlyMark (helpers), whatever their names.
func testOnly(pkg string, helpers map[string]bool) (name string, ok bool) {
	for _, whole := range []string{"golang.org/x/tools", "testing"} {
		if pkg == whole || strings.HasPrefix(pkg, whole+"/") {
			return whole, true
		}
	}
	if helpers[pkg] {
		return pkg, true
	}
	return "", false
}
