package main

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestTestOnly: golang.org/x/tools and the repository's test helpers, and what is under
// them, are for tests only, named by the module or the helper; the repository's other
// packages, its test command and other modules' packages of similar names are not.
func TestTestOnly(t *testing.T) {
	tests := []struct {
		pkg  string
		name string
	}{
		{"golang.org/x/tools", "golang.org/x/tools"},
		{"golang.org/x/tools/go/packages", "golang.org/x/tools"},
		{"golang.org/x/toolsmith", ""},
		{"golang.org/x/sync/errgroup", ""},
		{repoPrefix + "services/platform/sourcetest", repoPrefix + "services/platform/sourcetest"},
		{repoPrefix + "services/platform/servicetest", repoPrefix + "services/platform/servicetest"},
		{repoPrefix + "services/platform/embedded/embeddedtest", repoPrefix + "services/platform/embedded/embeddedtest"},
		{repoPrefix + "services/platform/audit/audittest", repoPrefix + "services/platform/audit/audittest"},
		{repoPrefix + "services/owner/ownertest", repoPrefix + "services/owner/ownertest"},
		{repoPrefix + "services/owner/ownertest/internal/fake", repoPrefix + "services/owner/ownertest"},
		{repoPrefix + "services/platform/audit", ""},
		{repoPrefix + "services/platform/embedded", ""},
		{repoPrefix + "tools/test", ""},
		{repoPrefix + "services/platform/testing", ""},
		{"net/http/httptest", ""},
		{"example.com/other/servicetest", ""},
	}
	for _, tt := range tests {
		if name, ok := testOnly(tt.pkg); name != tt.name || ok != (tt.name != "") {
			t.Errorf("testOnly(%s) = %q, %v; want %q", tt.pkg, name, ok, tt.name)
		}
	}
}

// TestTestOnlyLinks: each main package's test-only dependencies are named with it, and
// every main package is counted, also one that links none.
func TestTestOnlyLinks(t *testing.T) {
	tests := []struct {
		name     string
		listing  string
		binaries int
		links    []string
	}{
		{"nothing listed", "", 0, nil},
		{"clean binaries", "a/cmd/a fmt " + repoPrefix + "services/platform/audit\nb/cmd/b\n", 2, nil},
		{"one links a helper", "a/cmd/a fmt\nb/cmd/b " + repoPrefix + "services/platform/servicetest golang.org/x/tools/go/packages\n", 2,
			[]string{"b/cmd/b links " + repoPrefix + "services/platform/servicetest", "b/cmd/b links golang.org/x/tools"}},
		{"a module's packages named once", "a/cmd/a golang.org/x/tools/go/packages golang.org/x/tools/internal/gcimporter\n" +
			"b/cmd/b golang.org/x/tools/internal/stdlib\n", 2, []string{"a/cmd/a links golang.org/x/tools", "b/cmd/b links golang.org/x/tools"}},
		{"no newline at the end", "a/cmd/a " + repoPrefix + "services/platform/sourcetest", 1,
			[]string{"a/cmd/a links " + repoPrefix + "services/platform/sourcetest"}},
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
