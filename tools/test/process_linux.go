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
// by its number here: a live group would look gone, and be left running. Where it cannot
// tell (a kernel before 4.1 has no NSpid), kill 0 decides, which errs only in waiting for
// a zombie until the kill time.
func procIsOurs() bool {
	status, err := os.ReadFile("/proc/self/status")
	return err == nil && nspidIsOwn(status, os.Getpid())
}

// nspidIsOwn tells whether a /proc/<pid>/status is that of process pid read through its
// own namespace's /proc: its NSpid line numbers the process in the /proc's namespace and
// in each one nested under it down to the process's own, so it has one number, pid,
// exactly when the /proc is of the process's own namespace. The pid alone cannot tell:
// the outer namespace may number the process as its own does.
func nspidIsOwn(status []byte, pid int) bool {
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			pids := strings.Fields(rest)
			return len(pids) == 1 && pids[0] == strconv.Itoa(pid)
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
