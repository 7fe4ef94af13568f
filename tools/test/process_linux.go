package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// groupAlive reports whether a process of group pgid is still running. A zombie is not:
// it has ended, and waits only for its parent to collect its status, or, orphaned, for
// init, which in a container (where PID 1 may be the job's own command) may never come.
// kill(-pgid, 0) counts zombies too, so /proc is read instead where there is one.
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return syscall.Kill(-pgid, 0) == nil
	}
	for _, e := range entries {
		state, group, ok := procStat(e.Name())
		if ok && group == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// procStat reads the state and the process group of /proc/<pid>/stat; ok is false when
// there is no such process (any longer).
func procStat(pid string) (state byte, pgid int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat")) //nolint:gosec // /proc's own entries
	if err != nil {
		return 0, 0, false
	}
	// The fields follow the command name, in parentheses, which may hold anything.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := strings.Fields(string(b[i+1:])) // state, parent, group, ...
	if len(fields) < 3 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	pgid, err = strconv.Atoi(fields[2])
	return fields[0][0], pgid, err == nil
}
