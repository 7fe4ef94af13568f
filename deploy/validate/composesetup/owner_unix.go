//go:build unix

package composesetup

import (
	"os"
	"syscall"
)

// statOwner returns the user and group that own a file.
func statOwner(info os.FileInfo) (ids, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return ids{}, false
	}
	return ids{int(st.Uid), int(st.Gid)}, true
}
