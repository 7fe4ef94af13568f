package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// runner runs the steps' commands in the repository, each printed before it runs as
// make prints its recipes.
type runner struct {
	ctx     context.Context
	root    string
	bin     string   // the pinned tools' folder, first in PATH
	modules []string // the workspace's module folders
	// stopWait is how long a stopped step's processes have to clean up before they are
	// killed, counted from the stop (killAt).
	stopWait time.Duration
	// killAt is when what is left of a stopped step is killed: fixed by the first call,
	// made as the run stops.
	killAt func() time.Time
}

// stoppable is a runner on ctx, whose stopped steps' processes have wait to clean up.
func stoppable(ctx context.Context, wait time.Duration) *runner {
	r := &runner{ctx: ctx, stopWait: wait}
	r.killAt = sync.OnceValue(func() time.Time { return time.Now().Add(wait) })
	context.AfterFunc(ctx, func() { r.killAt() })
	return r
}

// run runs name in dir (the repository's root or a folder in it) with the terminal's
// output, and fails when it does.
func (r *runner) run(dir, name string, args ...string) error {
	return r.runWith(dir, nil, name, args...)
}

// runWith is run with env added to the environment.
func (r *runner) runWith(dir string, env []string, name string, args ...string) error {
	line := strings.Join(append(env, commandLine(name, args)), " ")
	if rel, err := filepath.Rel(r.root, dir); err == nil && rel != "." {
		line = fmt.Sprintf("(cd %s && %s)", rel, line)
	}
	fmt.Println(line)
	cmd := r.command(dir, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err := cmd.Run()
	r.stopped(cmd)
	if err != nil {
		return fmt.Errorf("%s: %w", line, err)
	}
	return r.ctx.Err()
}

// everyModule gives each workspace module's folder, relative to the repository, with
// suffix, e.g. "/..." for all its packages: plain ./... does not cross modules.
func (r *runner) everyModule(suffix string) []string {
	patterns := make([]string, len(r.modules))
	for i, m := range r.modules {
		rel, err := filepath.Rel(r.root, m)
		if err != nil {
			rel = m
		}
		patterns[i] = "./" + filepath.ToSlash(rel) + suffix
	}
	return patterns
}

// workspaceModules lists the folders of the modules go.work uses.
func (r *runner) workspaceModules() ([]string, error) {
	out, err := r.output(r.root, "go", "list", "-f", "{{.Dir}}", "-m")
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// output runs a command that only answers a question, without printing it.
func (r *runner) output(dir, name string, args ...string) (string, error) {
	cmd := r.command(dir, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	r.stopped(cmd)
	if err != nil {
		return "", fmt.Errorf("%s: %w: %s", commandLine(name, args), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return string(out), nil
}

// command is name in dir, in a process group of its own (inGroup), interrupted rather
// than killed when the run is stopped so that tests clean up after themselves; its first
// process is killed, and its pipes closed, after stopWait, and the rest of its group by
// stopped.
func (r *runner) command(dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(r.ctx, name, args...) //nolint:gosec // the steps' own commands: go, buf, golangci-lint, git
	cmd.Dir = dir
	inGroup(cmd)
	cmd.WaitDelay = r.stopWait
	return cmd
}

// stopped clears what is left of cmd's process group once cmd has ended because the run
// was stopped. The group has until stopWait after the stop, not after cmd's end: a
// process holding output's pipe keeps cmd from ending until stopWait has passed.
func (r *runner) stopped(cmd *exec.Cmd) {
	if r.ctx.Err() != nil && cmd.Process != nil {
		clearGroup(cmd.Process.Pid, r.killAt())
	}
}

// stopWait is how long a stopped step's processes have to clean up before they are
// killed.
const stopWait = 30 * time.Second

// commandLine quotes the arguments a shell would split or expand, so a printed line
// can be pasted back.
func commandLine(name string, args []string) string {
	words := []string{name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " '\"$^*?#\\|&;<>()[]{}") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}
