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
// kill(-pgid, 0) counts zombies too, so /proc is read instead where it numbers processes
// as this process does (procIsOurs); elsewhere kill 0 decides, a zombie counting.
func groupAlive(pgid int) bool {
	if !procIsOurs() {
		return syscall.Kill(-pgid, 0) == nil
	}
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

// procIsOurs tells whether /proc is mounted for this process's PID namespace. In a
// namespace whose /proc is still the outer one's (unshare -p without --mount-proc) it
// lists processes under their outer pids and groups, where a group of ours is not found
// by its number here: a live group would look gone, and be left running.
func procIsOurs() bool {
	self, err := os.ReadFile("/proc/self/stat")
	return err == nil && statPidIs(self, os.Getpid())
}

// statPidIs tells whether a /proc/<pid>/stat's first field, the pid as that /proc
// numbers it, is pid.
func statPidIs(stat []byte, pid int) bool {
	first, _, ok := bytes.Cut(stat, []byte(" "))
	if !ok {
		return false
	}
	n, err := strconv.Atoi(string(first))
	return err == nil && n == pid
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
