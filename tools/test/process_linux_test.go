package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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

// inPIDNamespace is set in the environment of the test binary that
// TestStoppedGroupIsKilledInAPIDNamespace runs again inside a PID namespace.
const inPIDNamespace = "LILLVET_TEST_IN_PID_NAMESPACE"

// TestStoppedGroupIsKilledInAPIDNamespace: in a PID namespace of its own, a stopped
// step's group still running at its kill time is killed, whether the namespace's /proc is
// the outer one's (unshare -p without --mount-proc, where /proc numbers processes as the
// outer namespace does) or its own. The test binary runs itself again under unshare
// -Urpf (a user namespace too, so that it needs no privilege), and skips where that is
// not allowed.
func TestStoppedGroupIsKilledInAPIDNamespace(t *testing.T) {
	if os.Getenv(inPIDNamespace) != "" {
		checkStoppedGroupIsKilled(t)
		return
	}
	if !onPath("unshare") {
		t.Skip("needs unshare to make a PID namespace")
	}
	tests := []struct {
		name    string
		options []string
	}{
		{"the outer namespace's /proc", nil},
		{"its own /proc", []string{"--mount-proc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unshare := append([]string{"-Urpf"}, tt.options...)
			// Each row's options are tried alone first: a container that allows user
			// namespaces may still refuse --mount-proc (its /proc has mounts over parts of it).
			if out, err := exec.CommandContext(t.Context(), "unshare", append(unshare, "true")...).CombinedOutput(); err != nil { //nolint:gosec // fixed options
				t.Skipf("cannot make this PID namespace here (unshare %s true: %v): %s", strings.Join(unshare, " "), err, out)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			args := append(unshare, os.Args[0], "-test.run=^TestStoppedGroupIsKilledInAPIDNamespace$", "-test.count=1", "-test.timeout=1m")
			cmd := exec.CommandContext(ctx, "unshare", args...) //nolint:gosec // this test binary, fixed options
			cmd.Env = append(os.Environ(), inPIDNamespace+"=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("in the PID namespace: %v\n%s", err, out)
			}
		})
	}
}

// checkStoppedGroupIsKilled starts a group that runs until killed, has clearGroup clear
// it at once, and checks the group's process died of clearGroup's SIGKILL rather than of
// the SIGTERM the test sends after, which ends it only if clearGroup took it for gone.
func checkStoppedGroupIsKilled(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), "sleep", "120")
	inGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	clearGroup(pgid, time.Now())
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	_ = cmd.Wait()
	status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() || status.Signal() != syscall.SIGKILL {
		t.Errorf("clearGroup left group %d running: it ended %v, not killed by clearGroup", pgid, cmd.ProcessState)
	}
	if groupAlive(pgid) {
		t.Errorf("group %d counts as alive once its one process is reaped", pgid)
	}
}

// TestNSpidIsOwn: /proc is trusted only when its status of this process numbers it in
// one namespace, its own, with its own pid: not when it numbers it in an outer namespace
// too, also by the same number there (which the pid /proc/self/stat gives cannot tell
// from the process's own), nor when the status has no NSpid or one that cannot be read.
func TestNSpidIsOwn(t *testing.T) {
	const head = "Name:\ttest\nState:\tS (sleeping)\nTgid:\t%[1]s\nNgid:\t0\nPid:\t%[1]s\nPPid:\t1\n"
	tests := []struct {
		name   string
		status string
		pid    int
		want   bool
	}{
		{"its own namespace's /proc", fmt.Sprintf(head, "4242") + "NSpid:\t4242\nNSpgid:\t4242\n", 4242, true},
		{"the outer namespace's /proc", fmt.Sprintf(head, "16900") + "NSpid:\t16900\t3\nNSpgid:\t16900\t3\n", 3, false},
		{"the outer namespace's, numbering it alike", fmt.Sprintf(head, "3") + "NSpid:\t3\t3\nNSpgid:\t3\t3\n", 3, false},
		{"three namespaces deep", fmt.Sprintf(head, "900") + "NSpid:\t900\t40\t3\n", 3, false},
		{"another process", fmt.Sprintf(head, "4242") + "NSpid:\t4242\n", 4243, false},
		{"no NSpid", fmt.Sprintf(head, "4242"), 4242, false},
		{"NSpid empty", fmt.Sprintf(head, "4242") + "NSpid:\n", 4242, false},
		{"NSpid not a number", fmt.Sprintf(head, "4242") + "NSpid:\tself\n", 4242, false},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		if got := nspidIsOwn([]byte(tt.status), tt.pid); got != tt.want {
			t.Errorf("%s: nspidIsOwn(%q, %d) = %t, want %t", tt.name, tt.status, tt.pid, got, tt.want)
		}
	}
}
