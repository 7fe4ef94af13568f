//go:build unix && !linux

package main

import "syscall"

// groupAlive reports whether a process of group pgid is still there. Without /proc a
// zombie counts too; init reaps orphans promptly on the systems this runs on here
// (macOS).
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}
