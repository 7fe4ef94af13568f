//go:build unix

package composesetup_test

import (
	"os"
	"syscall"
)

// fileIDs returns the user and group that own a file.
func fileIDs(info os.FileInfo) (uid, gid int, ok bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}
