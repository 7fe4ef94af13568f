package main

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWorkspaceModulesAreEveryModule holds the listing the steps run over to the
// repository: every go.mod folder but the pinned tools' (tools, tools/jaeger), which stay
// out of the workspace on purpose. A module missing from go.work would otherwise escape
// every lint and test without a word.
func TestWorkspaceModulesAreEveryModule(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	r := stoppable(t.Context(), stopWait)
	r.root = root
	got, err := r.workspaceModules()
	if err != nil {
		t.Fatal(err)
	}
	want := goModFolders(t, root)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("workspace modules:\n\t%s\nwant the go.mod folders:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if !slices.Contains(got, filepath.Join(root, "tools", "test")) {
		t.Errorf("the test command's own module is not in the workspace: %q", got)
	}
}

// goModFolders finds the folders with a go.mod under root, sorted, leaving out the
// pinned tools' and those go ignores (hidden, testdata) or that hold data (var).
func goModFolders(t *testing.T, root string) []string {
	t.Helper()
	skip := map[string]bool{"tools": true, "tools/jaeger": true}
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == "var") {
			return filepath.SkipDir
		}
		if d.Name() == "go.mod" && !skip[filepath.ToSlash(filepath.Dir(rel))] {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dirs)
	return dirs
}

func TestCommandLineQuotesWhatAShellWouldSplit(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"test", "-count=1", "./x/..."}, "go test -count=1 ./x/..."},
		{[]string{"test", "-run", "^$", "-bench", "."}, "go test -run '^$' -bench ."},
		{[]string{"breaking", "--against", ".git#branch=main"}, "go breaking --against '.git#branch=main'"},
		{[]string{"it's"}, `go 'it'\''s'`},
	}
	for _, tt := range tests {
		if got := commandLine("go", tt.args); got != tt.want {
			t.Errorf("commandLine(go, %q) = %s, want %s", tt.args, got, tt.want)
		}
	}
}

// TestStopWhenOrphaned: the run stops once the process that started it is gone (CI's
// SIGTERM kills `go run` without passing it on), and not before. The last parent asked
// ends the watch either way.
func TestStopWhenOrphaned(t *testing.T) {
	for _, tc := range []struct {
		name    string
		parents []int
		stopped bool
	}{
		{"parent stays", []int{7, 7, 7, 7}, false},
		{"parent gone", []int{7, 7, 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, end := context.WithCancel(t.Context())
			defer end()
			asked := 0
			parent := func() int {
				// The watch may tick once more before it sees the end: the last parent
				// stays.
				p := tc.parents[min(asked, len(tc.parents)-1)]
				asked++
				if asked == len(tc.parents) {
					end()
				}
				return p
			}
			stopped := false
			stopWhenOrphaned(ctx, func() { stopped = true }, parent, time.Microsecond)
			if stopped != tc.stopped {
				t.Errorf("stopped = %t, want %t (parents %v)", stopped, tc.stopped, tc.parents)
			}
		})
	}
}
