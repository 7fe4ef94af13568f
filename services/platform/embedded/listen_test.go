//go:build linux

package embedded_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/lillvet/register/services/platform/embedded"
)

// TestStoreListensOnlyOnAPrivateSocket checks that no other local user can reach the
// store, which has no authentication: it opens no TCP listener, and its socket is in a
// folder only this user may enter, removed on Close. The data folder is deeper than a
// socket path may be long, so the socket cannot live in it.
func TestStoreListensOnlyOnAPrivateSocket(t *testing.T) {
	before := listeningTCP(t)
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	s := startIn(t, dir)
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = s.Close()
		}
	})
	if opened := listeningTCP(t) - before; opened != 0 {
		t.Errorf("the store opened %d TCP listeners, want none", opened)
	}

	cs, err := connstring.ParseAndValidate(s.URI())
	if err != nil {
		t.Fatalf("parse URI %q: %v", s.URI(), err)
	}
	if len(cs.Hosts) != 1 {
		t.Fatalf("URI %q names %d hosts, want one socket", s.URI(), len(cs.Hosts))
	}
	socket := cs.Hosts[0]
	fi, err := os.Stat(socket)
	if err != nil {
		t.Fatalf("stat socket of URI %q: %v", s.URI(), err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		t.Errorf("%s is %v, want a socket", socket, fi.Mode().Type())
	}
	sockets := filepath.Dir(socket)
	fi, err = os.Stat(sockets)
	if err != nil {
		t.Fatalf("stat socket folder: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("socket folder mode = %o, want 700", perm)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		t.Errorf("socket folder owned by uid %d, want %d", st.Uid, os.Getuid())
	}

	client := connect(t, s)
	if _, err := client.Database("owner").Collection("owners").InsertOne(t.Context(), bson.D{}); err != nil {
		t.Fatalf("insert through the socket: %v", err)
	}
	if err := client.Disconnect(t.Context()); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	closed = true
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := os.Stat(sockets); !os.IsNotExist(err) {
		t.Errorf("socket folder left after Close: %v", err)
	}
}

// TestStartTakesTheSocketFolderFromTMPDIR checks the socket's URI with the characters a
// temporary folder may hold, and that a TMPDIR too long for a socket path, or holding a
// ':', is named.
func TestStartTakesTheSocketFolderFromTMPDIR(t *testing.T) {
	tests := []struct {
		name, tmp string
		wantErr   string
	}{
		{name: "blank and plus", tmp: "a b+c%20"},
		{name: "too long", tmp: strings.Repeat("t", 100), wantErr: "TMPDIR"},
		{name: "a colon, which the driver reads as a port", tmp: "a:b", wantErr: "holds a ':', which the MongoDB driver cannot take in a socket path: set TMPDIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// t.TempDir's own path is too long to hold a socket.
			base, err := os.MkdirTemp("", "tmpdir-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.RemoveAll(base) })
			tmp := filepath.Join(base, tt.tmp)
			if err := os.Mkdir(tmp, 0o700); err != nil {
				t.Fatal(err)
			}
			data := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			s, err := embedded.Start(t.Context(), data)
			if tt.wantErr != "" {
				if err == nil {
					_ = s.Close()
					t.Fatal("Start succeeded")
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not name %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			cs, err := connstring.ParseAndValidate(s.URI())
			if err != nil {
				t.Fatalf("parse URI %q: %v", s.URI(), err)
			}
			if len(cs.Hosts) != 1 || !strings.HasPrefix(cs.Hosts[0], tmp+string(filepath.Separator)) {
				t.Errorf("URI %q names %v, want a socket under %s", s.URI(), cs.Hosts, tmp)
			}
			if err := connect(t, s).Ping(t.Context(), nil); err != nil {
				t.Errorf("ping: %v", err)
			}
		})
	}
}

// listeningTCP counts this process's listening TCP sockets (IPv4 and IPv6), from the
// socket inodes of its file descriptors and the kernel's socket tables.
func listeningTCP(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("list file descriptors: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	n := 0
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		b, err := os.ReadFile(filepath.Clean(table))
		if os.IsNotExist(err) && table == "/proc/self/net/tcp6" {
			continue // IPv6 is disabled
		}
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			// sl local_address rem_address st ... inode; st 0A is LISTEN.
			if fields := strings.Fields(line); len(fields) > 9 && fields[3] == "0A" && inodes[fields[9]] {
				n++
			}
		}
	}
	return n
}
