package devpki_test

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/lillvet/register/services/platform/devpki"
)

func TestEnsureCreatesThenReuses(t *testing.T) {
	dir := t.TempDir()
	files, err := devpki.Ensure(dir)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if files.ClientAuth != "verify_if_given" {
		t.Errorf("ClientAuth = %q", files.ClientAuth)
	}
	for _, name := range []string{devpki.CAKeyFile, devpki.CertKeyFile} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, info.Mode().Perm())
		}
	}
	before, err := os.ReadFile(files.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	again, err := devpki.Ensure(dir)
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	after, err := os.ReadFile(again.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("second Ensure replaced a valid certificate")
	}
}

func TestEnsureReissuesLeafWhenBroken(t *testing.T) {
	dir := t.TempDir()
	files, err := devpki.Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(files.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files.CertFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := devpki.Ensure(dir); err != nil {
		t.Fatalf("Ensure after corruption: %v", err)
	}
	caAfter, err := os.ReadFile(files.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca, caAfter) {
		t.Error("CA replaced although it was intact")
	}
	if _, err := tls.LoadX509KeyPair(files.CertFile, files.KeyFile); err != nil {
		t.Fatalf("reissued pair unusable: %v", err)
	}
}
