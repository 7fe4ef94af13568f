//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup keeps a terminal's Ctrl-C, which reaches the whole
// foreground process group, away from a child the runner stops itself, in
// order, after the services.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
