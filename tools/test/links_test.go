package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTestOnlyLinks: each main package's test-only dependencies are named with it:
// golang.org/x/tools and package testing by the whole, the repository's helpers (the
// packages go list says import the mark) each by its path, whatever it is called; a
// package that is no helper is not refused for its name (latest, contest), nor are other
// modules' packages of similar names; every main package is counted, also one that links
// none.
func TestTestOnlyLinks(t *testing.T) {
	const (
		servicetest = repoPrefix + "services/platform/servicetest"
		sourcetest  = repoPrefix + "services/platform/sourcetest"
		fixtures    = repoPrefix + "services/owner/fixtures"
	)
	helpers := "helper " + servicetest + "\nhelper " + sourcetest + "\nhelper " + fixtures + "\n"
	tests := []struct {
		name     string
		listing  string
		binaries int
		links    []string
	}{
		{"nothing listed", "", 0, nil},
		{"clean binaries", "main a/cmd/a fmt " + repoPrefix + "services/platform/audit\n\nmain b/cmd/b\n" + helpers, 2, nil},
		{"production packages named like helpers", "main a/cmd/a " + repoPrefix + "services/owner/latest " + repoPrefix +
			"services/platform/contest " + repoPrefix + "tools/test " + repoPrefix + "services/platform/testing\n" + helpers, 1, nil},
		{"other modules' names", "main a/cmd/a net/http/httptest example.com/other/servicetest golang.org/x/toolsmith golang.org/x/sync/errgroup\n" + helpers, 1, nil},
		{"one links a helper", "main a/cmd/a fmt\nmain b/cmd/b " + servicetest + " golang.org/x/tools/go/packages\n" + helpers, 2,
			[]string{"b/cmd/b links " + servicetest, "b/cmd/b links golang.org/x/tools"}},
		{"a helper of any name", "main a/cmd/a " + fixtures + "\n" + helpers, 1, []string{"a/cmd/a links " + fixtures}},
		{"a helper listed after its binary", "main a/cmd/a " + sourcetest + "\nhelper " + sourcetest + "\n", 1, []string{"a/cmd/a links " + sourcetest}},
		{"package testing", "main a/cmd/a testing testing/iotest\n", 1, []string{"a/cmd/a links testing"}},
		{"a module's packages named once", "main a/cmd/a golang.org/x/tools golang.org/x/tools/go/packages golang.org/x/tools/internal/gcimporter\n" +
			"main b/cmd/b golang.org/x/tools/internal/stdlib\n", 2, []string{"a/cmd/a links golang.org/x/tools", "b/cmd/b links golang.org/x/tools"}},
		{"no newline at the end", "helper " + sourcetest + "\nmain a/cmd/a " + sourcetest, 1, []string{"a/cmd/a links " + sourcetest}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			binaries, links := testOnlyLinks(tt.listing)
			if binaries != tt.binaries || !slices.Equal(links, tt.links) {
				t.Errorf("got %d binaries, %q; want %d, %q", binaries, links, tt.binaries, tt.links)
			}
		})
	}
}

// TestLinkListingNamesHelpers: go list, given linkListing, names each of the
// repository's test helpers a helper, through the mark each imports, and no production
// package.
func TestLinkListingNamesHelpers(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"services/platform/audit/audittest", "services/platform/embedded/embeddedtest", "services/platform/servicetest",
		"services/platform/sourcetest", "services/owner/ownertest",
	}
	r := stoppable(t.Context(), stopWait)
	listing, err := r.output(root, "go", "list", "-deps", "-f", linkListing,
		"./services/platform/audit/audittest", "./services/platform/sourcetest", "./services/owner/ownertest")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for line := range strings.Lines(listing) {
		if helper, ok := strings.CutPrefix(strings.TrimSpace(line), "helper "+repoPrefix); ok {
			got = append(got, helper)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("helpers %q, want %q", got, want)
	}
}

// TestHelpersAreMarked: every package of the workspace's modules that is named as a
// helper (its name ends in test) or lies under a marked helper imports the mark, so
// that the link check, which knows a helper only by its mark, refuses it in a
// production binary; a helper added without the mark fails here.
func TestHelpersAreMarked(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	r := stoppable(t.Context(), stopWait)
	listing, err := r.output(root, "go", "list", "-f", markListing, "work")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(listing, " marked") {
		t.Fatal("go list found no marked package in the workspace: the walk reads nothing")
	}
	for _, p := range unmarkedHelpers(listing) {
		t.Errorf("%s is a test helper by its name or place but does not import %s: import it, blank, "+
			"so that the test command refuses a production binary linking it (or rename it if it is no helper)", p, testOnlyMark)
	}
}

// TestUnmarkedHelpers: the walk behind TestHelpersAreMarked refuses a package named as
// a helper without the mark (consenttest, also one a production binary links, which
// the link check alone passes) and an unmarked package under a marked helper, wherever
// it is listed; it takes marked helpers of any name, production packages, a main
// package in a directory called test, and a package whose path only starts like a
// helper's.
func TestUnmarkedHelpers(t *testing.T) {
	const (
		servicetest = repoPrefix + "services/platform/servicetest"
		consenttest = repoPrefix + "services/consent/consenttest"
	)
	tests := []struct {
		name     string
		listing  string
		unmarked []string
	}{
		{"nothing listed", "", nil},
		{"marked helpers", servicetest + " servicetest marked\n" + repoPrefix + "services/owner/fixtures fixtures marked\n", nil},
		{"an unmarked helper", repoPrefix + "services/consent/cmd/consent main\n" + consenttest + " consenttest\n", []string{consenttest}},
		{"a package named test", repoPrefix + "services/platform/test test\n", []string{repoPrefix + "services/platform/test"}},
		{"production packages", repoPrefix + "services/owner/internal/app app\n" + repoPrefix + "tools/test main\n", nil},
		{"an unmarked package under a helper", servicetest + " servicetest marked\n" + servicetest + "/peers peers\n",
			[]string{servicetest + "/peers"}},
		{"an unmarked package listed before its helper", servicetest + "/peers peers\n" + servicetest + " servicetest marked\n",
			[]string{servicetest + "/peers"}},
		{"a marked package under a helper", servicetest + " servicetest marked\n" + servicetest + "/peers peers marked\n", nil},
		{"a path only starting like a helper's", servicetest + " servicetest marked\n" + servicetest + "data data\n", nil},
		{"no newline at the end", consenttest + " consenttest", []string{consenttest}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unmarkedHelpers(tt.listing); !slices.Equal(got, tt.unmarked) {
				t.Errorf("unmarked %q, want %q", got, tt.unmarked)
			}
		})
	}
}

// markListing is the go list template that gives, for each package, a line
// "<import path> <package name>", with " marked" after it when the package imports
// testOnlyMark.
const markListing = `{{.ImportPath}} {{.Name}}{{range .Imports}}{{if eq . "` + testOnlyMark + `"}} marked{{end}}{{end}}`

// unmarkedHelpers reads go list's lines (markListing) and returns, in their order, the
// packages that do not import testOnlyMark though they are helpers by their name (it
// ends in test) or their place (under a marked package's path).
func unmarkedHelpers(listing string) []string {
	var marked, unmarked []string
	names := map[string]string{}
	for line := range strings.Lines(listing) {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		if len(fields) == 3 && fields[2] == "marked" {
			marked = append(marked, fields[0])
			continue
		}
		unmarked = append(unmarked, fields[0])
		names[fields[0]] = fields[1]
	}
	var out []string
	for _, p := range unmarked {
		under := slices.ContainsFunc(marked, func(m string) bool { return strings.HasPrefix(p, m+"/") })
		if strings.HasSuffix(names[p], "test") || under {
			out = append(out, p)
		}
	}
	return out
}

// TestProductionBinaries: the binaries checked are every service's, the gateway's and
// the local runner, and today none links a test helper.
func TestProductionBinaries(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	got, err := productionBinaries(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"./services/consent/cmd/...", "./services/disclosure/cmd/...", "./services/history/cmd/...", "./services/owner/cmd/...",
		"./gateway/cmd/...", "./deploy/local",
	}
	if !slices.Equal(got, want) {
		t.Errorf("production binaries %q, want %q", got, want)
	}
	r := stoppable(t.Context(), stopWait)
	r.root = root
	if err := checkLinks(r); err != nil {
		t.Error(err)
	}
}
