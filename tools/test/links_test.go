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

// TestHelpersAreMarked: go list, given linkListing, names each of the repository's
// test helpers a helper, through the mark each imports, and no production package.
func TestHelpersAreMarked(t *testing.T) {
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
