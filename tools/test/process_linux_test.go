package main

import (
	"os"
	"strconv"
	"syscall"
	"testing"
)

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER, which syscall does not name.
const prSetChildSubreaper = 36

// keepOrphans makes the test process the parent of the orphans of its children's
// children, for the test's length, and never reaps them by itself: they stay zombies,
// as under a PID 1 that does not reap. reap collects those of a process group.
func keepOrphans(t *testing.T) (reap func(pgid int)) {
	t.Helper()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Logf("orphans go to init, which may reap them: become a subreaper: %v", errno)
	}
	t.Cleanup(func() { _, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 0, 0) })
	return func(pgid int) {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if state, group, ok := procStat(e.Name()); ok && group == pgid && state == 'Z' {
				pid, _ := strconv.Atoi(e.Name())
				_, _ = syscall.Wait4(pid, nil, syscall.WNOHANG, nil)
			}
		}
	}
}
