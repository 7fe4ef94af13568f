//go:build !unix

package main

import (
	"os"
	"os/exec"
	"time"
)

// stopSignals stop the run. Only Ctrl-C exists here; the project runs on Linux and
// macOS (on Windows, in WSL 2), so elsewhere a stopped step's process is simply ended.
var stopSignals = []os.Signal{os.Interrupt}

// inGroup leaves cmd as it is: there are no process groups to signal here.
func inGroup(*exec.Cmd) {}

// clearGroup has nothing to clear here.
func clearGroup(int, time.Time) {}
