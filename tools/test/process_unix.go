//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// stopSignals stop the run: Ctrl-C, CI's SIGTERM, the terminal closed (SIGHUP) and
// Ctrl-\ (SIGQUIT). The steps run in process groups of their own (inGroup), which the
// terminal's signals do not reach, so every one of them must come through the run.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// inGroup runs cmd in a process group of its own and interrupts the whole group when
// the run is stopped: `go test` leaves its test binaries to the terminal's Ctrl-C, which
// reaches no one when the run is stopped otherwise (CI's SIGTERM, see stopWhenOrphaned).
func inGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
}

// clearGroup kills what is left running of a stopped step's group (a test binary that
// ignored the interrupt, or is slow to clean up) at killAt.
func clearGroup(pgid int, killAt time.Time) {
	for groupAlive(pgid) {
		if !time.Now().Before(killAt) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
