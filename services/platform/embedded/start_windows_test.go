package embedded_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/embedded"
)

// TestStartRefusesWindows: on Windows the store cannot listen where only its user may
// connect, so it refuses at once, pointing to WSL 2, and creates no data folder.
func TestStartRefusesWindows(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := embedded.Start(t.Context(), dir)
	if err == nil {
		_ = s.Close()
		t.Fatal("Start succeeded on Windows")
	}
	if !strings.Contains(err.Error(), "WSL 2") {
		t.Errorf("error %q does not say what to do", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Start created %s (%v)", dir, err)
	}
}
