package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// buildTools builds the pinned tools of tools/go.mod into .bin, unless they were built
// since tools/go.mod or go.sum last changed (what .bin/.stamp records). tools/go.mod
// stays outside the workspace, so that the tools' dependencies do not mix with ours.
func buildTools(r *runner) error {
	stamp := filepath.Join(r.bin, ".stamp")
	fresh, err := newerThan(stamp, filepath.Join(r.root, "tools", "go.mod"), filepath.Join(r.root, "tools", "go.sum"))
	if err != nil || fresh {
		return err
	}
	if err := r.runWith(filepath.Join(r.root, "tools"), []string{"GOWORK=off"}, "go", "build", "-o", r.bin+string(filepath.Separator), "tool"); err != nil {
		return fmt.Errorf("build the pinned tools: %w", err)
	}
	return touch(stamp)
}

// newerThan tells whether file exists and is no older than any of others, as make
// judges a target against its prerequisites.
func newerThan(file string, others ...string) (bool, error) {
	info, err := os.Stat(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, o := range others {
		oi, err := os.Stat(o)
		if err != nil {
			return false, err
		}
		if info.ModTime().Before(oi.ModTime()) {
			return false, nil
		}
	}
	return true, nil
}

func touch(file string) error {
	f, err := os.Create(file) //nolint:gosec // .bin/.stamp in the repository
	if err != nil {
		return fmt.Errorf("touch %s: %w", file, err)
	}
	return f.Close()
}

// generate regenerates the Go code and the OpenAPI document from proto/, removing first
// what a deleted proto would otherwise leave behind.
func generate(r *runner) error {
	fmt.Println("rm -rf proto/gen/go/lillvet proto/gen/openapi/*.yaml")
	if err := os.RemoveAll(filepath.Join(r.root, "proto", "gen", "go", "lillvet")); err != nil {
		return err
	}
	yamls, err := filepath.Glob(filepath.Join(r.root, "proto", "gen", "openapi", "*.yaml"))
	if err != nil {
		return err
	}
	for _, y := range yamls {
		if err := os.Remove(y); err != nil {
			return err
		}
	}
	return r.run(r.root, "buf", "generate")
}

// checkGenerated fails when the generated code in the tree is not what the protos give:
// it compares proto/gen before and after generating, so a file changed, one missing and
// a stale one left from a deleted proto all fail.
func checkGenerated(r *runner) error {
	dir := filepath.Join(r.root, "proto", "gen")
	before, err := snapshot(r.root, dir)
	if err != nil {
		return err
	}
	if err := generate(r); err != nil {
		return err
	}
	after, err := snapshot(r.root, dir)
	if err != nil {
		return err
	}
	if diff := compare(before, after); len(diff) > 0 {
		return fmt.Errorf("proto/gen is not what the protos give; generating changed, added or removed these, so review and commit them:\n%s", diff)
	}
	return nil
}

// lint runs buf's lint, format and breaking checks, the go.mod tidiness check, the
// check that no production binary links a test helper (checkLinks), go vet and
// golangci-lint over every module.
func lint(r *runner) error {
	if err := r.run(r.root, "buf", "lint"); err != nil {
		return err
	}
	if err := r.run(r.root, "buf", "format", "-d", "--exit-code"); err != nil {
		return err
	}
	if err := breaking(r); err != nil {
		return err
	}
	for _, m := range r.modules {
		if err := r.run(m, "go", "mod", "tidy", "-diff"); err != nil {
			return fmt.Errorf("go.mod of %s is not tidy, run go mod tidy there: %w", m, err)
		}
	}
	if err := checkLinks(r); err != nil {
		return err
	}
	if err := r.run(r.root, "go", append([]string{"vet"}, r.everyModule("/...")...)...); err != nil {
		return err
	}
	return r.run(r.root, "golangci-lint", append([]string{"run", "--allow-parallel-runners"}, r.everyModule("/...")...)...)
}

// breaking checks the protos against main's, unless it cannot.
func breaking(r *runner) error {
	why, err := noMain(r)
	if err != nil {
		return err
	}
	if why != "" {
		fmt.Println("buf breaking skipped: " + why)
		return nil
	}
	return r.run(r.root, "buf", "breaking", "--against", ".git#branch=main")
}

// noMain tells why there is no main to compare with, or "" when there is: buf reads
// main's protos through git. Git failing otherwise (a repository it refuses to read) is
// an error, not a reason to skip: buf would fail on it too.
func noMain(r *runner) (string, error) {
	if !onPath("git") {
		return "git is not on PATH, and buf reads main's protos through it", nil
	}
	if !exists(filepath.Join(r.root, ".git")) {
		return r.root + " is not a git repository, so there is no main to compare with", nil
	}
	_, err := r.output(r.root, "git", "rev-parse", "--verify", "--quiet", "refs/heads/main")
	if exit, ok := errors.AsType[*exec.ExitError](err); ok && exit.ExitCode() == 1 {
		return "the repository has no main branch to compare with", nil
	}
	return "", err
}

// unit runs every module's tests, then every benchmark once so that none rots.
func unit(r *runner) error {
	if err := r.run(r.root, "go", append([]string{"test", "-count=1", "-timeout", "15m"}, r.everyModule("/...")...)...); err != nil {
		return err
	}
	return r.run(r.root, "go", append([]string{"test", "-count=1", "-run", "^$", "-bench", ".", "-benchtime", "1x", "-timeout", "10m"}, r.everyModule("/...")...)...)
}

// onPath reports whether name is a command on PATH.
func onPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// exists reports whether path names anything.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
