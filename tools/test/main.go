// Command test is the project's test command, the one CI runs: from the repository root,
//
//	go run ./tools/test            # the whole check: tools, check-generated, lint, unit
//	go run ./tools/test lint       # one step (tools, generate, check-generated, lint, unit)
//
// It needs only Go: the pinned tools are built from tools/go.mod, the generated-code
// check compares files instead of asking git, and the breaking check, which reads main
// through git, is skipped with a word when git is not there.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	ctx, orphaned := context.WithCancel(ctx)
	go stopWhenOrphaned(ctx, orphaned, os.Getppid, time.Second)
	err := run(ctx, os.Args[1:])
	orphaned()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "test:", err)
		os.Exit(1)
	}
}

// stopWhenOrphaned cancels the run once the process that started it is gone, looking
// every interval. CI stops a job with SIGTERM to the process it started, here `go run`,
// which dies of it without a word to this program (it only ignores the SIGINT a
// terminal's Ctrl-C sends its whole foreground group, this program included): the run
// would otherwise go on alone, tests and all.
func stopWhenOrphaned(ctx context.Context, cancel context.CancelFunc, parent func() int, interval time.Duration) {
	first := parent()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if parent() != first {
				fmt.Fprintln(os.Stderr, "test: the process that started the run is gone; stopping")
				cancel()
				return
			}
		}
	}
}

func run(ctx context.Context, args []string) error {
	name := "test"
	if len(args) > 1 {
		return fmt.Errorf("want at most one step name, got %q", args)
	}
	if len(args) == 1 {
		name = args[0]
	}
	steps, ok := plan(name)
	if !ok {
		return fmt.Errorf("no step %q: want tools, generate, check-generated, lint or unit", name)
	}
	r, err := newRunner(ctx)
	if err != nil {
		return err
	}
	for _, step := range steps {
		if err := step(r); err != nil {
			return err
		}
	}
	return nil
}

// plan gives the steps a name runs, in order: those that run buf or golangci-lint build
// the pinned tools first.
func plan(name string) ([]func(*runner) error, bool) {
	switch name {
	case "test":
		return []func(*runner) error{buildTools, checkGenerated, lint, unit}, true
	case "tools":
		return []func(*runner) error{buildTools}, true
	case "generate":
		return []func(*runner) error{buildTools, generate}, true
	case "check-generated":
		return []func(*runner) error{buildTools, checkGenerated}, true
	case "lint":
		return []func(*runner) error{buildTools, lint}, true
	case "unit":
		return []func(*runner) error{unit}, true
	}
	return nil, false
}

// newRunner finds the repository from the workspace, so the command runs the same from
// any folder of it, and puts .bin first in PATH: the children then find the pinned buf,
// protoc plugins and golangci-lint rather than any others installed.
func newRunner(ctx context.Context) (*runner, error) {
	r := stoppable(ctx, stopWait)
	work, err := r.output("", "go", "env", "GOWORK")
	if err != nil {
		return nil, err
	}
	work = strings.TrimSpace(work)
	if work == "" || work == "off" {
		return nil, fmt.Errorf("no go.work (GOWORK=%q): run from the repository, without GOWORK=off", work)
	}
	r.root = filepath.Dir(work)
	r.bin = filepath.Join(r.root, ".bin")
	// Set for this process too: exec looks commands up in its own PATH.
	if err := os.Setenv("PATH", r.bin+string(os.PathListSeparator)+os.Getenv("PATH")); err != nil {
		return nil, fmt.Errorf("put .bin in PATH: %w", err)
	}
	r.modules, err = r.workspaceModules()
	if err != nil {
		return nil, err
	}
	return r, nil
}
