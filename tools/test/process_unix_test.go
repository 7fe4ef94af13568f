//go:build unix

package main

import (
	"bufio"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStoppedStepLeavesNoProcess: a step stopped with the run leaves nothing of its
// group behind, a process that ignores the interrupt included (a test binary stuck in
// its cleanup), once the wait is over.
func TestStoppedStepLeavesNoProcess(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh to start a process that ignores SIGINT")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cmd := command(ctx, t.TempDir(), "sh", "-c", "trap '' INT; sh -c 'trap \"\" INT; echo $$; exec sleep 120' & wait")
	cmd.WaitDelay = 100 * time.Millisecond
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	child, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		t.Fatalf("the step's child never said its pid: %q (%v)", line, err)
	}
	cancel()
	_ = cmd.Wait()
	clearGroup(cmd.Process.Pid, 100*time.Millisecond)
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(child, 0) == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("process %d of the stopped step's group outlived it", child)
		}
	}
}
