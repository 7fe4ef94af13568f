//go:build unix

package embedded_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/lillvet/register/services/platform/embedded"
)

// storeChildDir, when set, makes TestStoreInAKilledProcess start a store on that folder,
// print its socket folder and wait to be killed.
const storeChildDir = "LILLVET_TEST_STORE_CHILD_DIR"

// TestStoreInAKilledProcess kills a process running a store, so that it never closes
// the store, and checks that the next start on the same data folder removes the socket
// folder the killed one left under the temporary folder.
func TestStoreInAKilledProcess(t *testing.T) {
	if dir := os.Getenv(storeChildDir); dir != "" {
		s, err := embedded.Start(t.Context(), dir)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		fmt.Printf("sockets %s\n", socketFolder(t, s))
		time.Sleep(time.Minute)
		return
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run", "^TestStoreInAKilledProcess$") //nolint:gosec // this test binary, run again
	child.Env = append(os.Environ(), storeChildDir+"="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	var left string
	for lines := bufio.NewScanner(out); lines.Scan(); {
		if rest, ok := strings.CutPrefix(lines.Text(), "sockets "); ok {
			left = rest
			break
		}
	}
	if left == "" {
		t.Fatal("the child printed no socket folder")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	_ = child.Wait()
	if _, err := os.Stat(left); err != nil {
		t.Fatalf("the killed store's socket folder should still be there before the next start: %v", err)
	}

	s := startIn(t, dir)
	t.Cleanup(func() { _ = s.Close() })
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("socket folder %s of the killed store still there after the next start (stat: %v)", left, err)
	}
	if now := socketFolder(t, s); now == left {
		t.Errorf("the new store reuses the killed one's socket folder %s", now)
	}
}

// TestStartKeepsWhatItDidNotMake checks that removing a killed store's socket folder
// removes only the sockets a store makes: a folder that has come to hold anything else
// stays, with what it holds.
func TestStartKeepsWhatItDidNotMake(t *testing.T) {
	dir := t.TempDir()
	s := startIn(t, dir)
	sockets := socketFolder(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	// What a killed store leaves: its record, naming a folder, which now also holds a
	// file that is not a store's socket.
	if err := os.Mkdir(sockets, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockets) })
	kept := filepath.Join(sockets, "notes.txt")
	if err := os.WriteFile(kept, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".sockets"), []byte(sockets), 0o600); err != nil {
		t.Fatal(err)
	}

	s = startIn(t, dir)
	t.Cleanup(func() { _ = s.Close() })
	if b, err := os.ReadFile(filepath.Clean(kept)); err != nil || string(b) != "not a socket" {
		t.Errorf("a file in the recorded folder was touched: %q, %v", b, err)
	}
}

// socketFolder is the folder holding the store's socket, from its URI.
func socketFolder(t *testing.T, s *embedded.Store) string {
	t.Helper()
	cs, err := connstring.ParseAndValidate(s.URI())
	if err != nil {
		t.Fatalf("parse URI %q: %v", s.URI(), err)
	}
	if len(cs.Hosts) != 1 {
		t.Fatalf("URI %q names %d hosts, want one socket", s.URI(), len(cs.Hosts))
	}
	return filepath.Dir(cs.Hosts[0])
}
