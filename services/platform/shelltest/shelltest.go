// Package shelltest runs the shell commands the repository's documents give, as a
// reader pastes them into a shell: the documents' commands are tested in the shells
// their readers use, not only read.
package shelltest

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	// A test helper: the test command refuses a production binary that links one.
	_ "github.com/lillvet/register/services/platform/testonly"
)

// shBlock finds a markdown document's sh blocks, indented ones (in a list) too.
var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// Blocks returns the text of each sh block of the markdown document, in order.
func Blocks(doc string) []string {
	var blocks []string
	for _, m := range shBlock.FindAllStringSubmatch(doc, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// Each runs f in a subtest per shell, named by its command, given the shell's path;
// a shell the search path does not have is skipped, so that the others still run.
func Each(t *testing.T, shells []string, f func(t *testing.T, sh string)) {
	t.Helper()
	for _, shell := range shells {
		t.Run(shell, func(t *testing.T) {
			sh, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("no %s: %v", shell, err)
			}
			f(t, sh)
		})
	}
}

// runLimit bounds one script's run: a command that hangs (a curl without a time limit
// against a server that never answers) fails its test instead of holding the whole
// package to the test binary's timeout, which would lose every other result.
const runLimit = 5 * time.Minute

// Run runs script with the shell sh (sh -c) in dir, in the test's environment with env
// added (a later entry wins), and returns its standard output and error together, also
// logged: a failed run says what failed, while what it did is for the caller to check.
// A script still running after runLimit is killed.
func Run(tb testing.TB, sh, dir, script string, env ...string) ([]byte, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, sh, "-c", script) //nolint:gosec // the documented commands, in the test's own folder
	// The script's children (curl) may hold its output open after the shell is killed.
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	tb.Logf("%s: %v\n%s", sh, err, out)
	return out, err
}
