//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStoppedStepLeavesNoProcess: a step stopped with the run leaves nothing of its
// group running once the wait is over, a process that ignores the interrupt included (a
// test binary stuck in its cleanup), whether the step prints to the terminal (run) or
// answers through a pipe that process holds (output). Orphans are left unreaped, as a
// container's PID 1 may leave them: a zombie has ended, and must not keep the stop
// waiting or count as left.
func TestStoppedStepLeavesNoProcess(t *testing.T) {
	if !onPath("sh") {
		t.Skip("needs sh to start a process that ignores SIGINT")
	}
	reap := keepOrphans(t)
	// The shell and its child ignore SIGINT; the shell says its pid, its group's, once
	// the child runs.
	const script = "trap '' INT; sleep 120 & echo $$ > pid; wait"
	tests := []struct {
		name string
		step func(r *runner, dir string) error
	}{
		{"run", func(r *runner, dir string) error { return r.run(dir, "sh", "-c", script) }},
		{"output", func(r *runner, dir string) error {
			_, err := r.output(dir, "sh", "-c", script)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := syscall.Mkfifo(filepath.Join(dir, "pid"), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithCancel(t.Context())
			r := stoppable(ctx, 100*time.Millisecond)
			r.root = dir
			ended := make(chan error, 1)
			go func() { ended <- tt.step(r, dir) }()
			pgid := pidFrom(t, filepath.Join(dir, "pid"), ended)
			stop()
			if err := <-ended; err == nil {
				t.Error("the stopped step succeeded")
			}
			for deadline := time.Now().Add(5 * time.Second); groupAlive(pgid); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					_ = syscall.Kill(-pgid, syscall.SIGKILL)
					t.Fatalf("a process of the stopped step's group %d outlived it", pgid)
				}
			}
			reap(pgid)
		})
	}
}

// pidFrom reads the pid a step's shell writes to the fifo, failing if the step ends
// first.
func pidFrom(t *testing.T, fifo string, ended <-chan error) int {
	t.Helper()
	pids := make(chan string, 1)
	go func() {
		b, err := os.ReadFile(fifo) //nolint:gosec // the test's own fifo
		if err != nil {
			pids <- err.Error()
			return
		}
		pids <- string(b)
	}()
	select {
	case err := <-ended:
		t.Fatalf("the step ended before its shell said its pid: %v", err)
	case line := <-pids:
		pid, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("the step's shell never said its pid: %q", line)
		}
		return pid
	}
	return 0
}
