package tlsconf_test

import (
	"crypto/tls"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/tlsconf"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	files, err := devpki.Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not-pem")
	if err := os.WriteFile(notPEM, []byte("not a PEM block\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(*tlsconf.Files)
		wantErr string
	}{
		{name: "dev files", mutate: func(*tlsconf.Files) {}},
		{name: "empty is valid", mutate: func(f *tlsconf.Files) { *f = tlsconf.Files{} }},
		{name: "cert without key", mutate: func(f *tlsconf.Files) { f.KeyFile = "" }, wantErr: "must be set together"},
		{name: "unknown client auth", mutate: func(f *tlsconf.Files) { f.ClientAuth = "maybe" }, wantErr: "TLS_CLIENT_AUTH"},
		{name: "require without CA", mutate: func(f *tlsconf.Files) { f.ClientAuth = "require"; f.CAFile = "" }, wantErr: "needs TLS_CA_FILE"},
		{name: "missing file", mutate: func(f *tlsconf.Files) { f.CAFile = "/nonexistent/ca.pem" }, wantErr: "TLS_CA_FILE"},
		// Each file is read and parsed, so that what only loading the files would find
		// stops a service at start, before it connects anywhere.
		{name: "certificate a folder", mutate: func(f *tlsconf.Files) { f.CertFile = dir }, wantErr: "TLS_CERT_FILE: read " + dir + ": is a directory"},
		{name: "key a folder", mutate: func(f *tlsconf.Files) { f.KeyFile = dir }, wantErr: "TLS_KEY_FILE: read " + dir + ": is a directory"},
		{name: "key not PEM", mutate: func(f *tlsconf.Files) { f.KeyFile = notPEM }, wantErr: "TLS_CERT_FILE and TLS_KEY_FILE: tls: "},
		{name: "key not the certificate's", mutate: func(f *tlsconf.Files) { f.CertFile = f.CAFile }, wantErr: "TLS_CERT_FILE and TLS_KEY_FILE: tls: private key does not match public key"},
		{name: "CA a folder", mutate: func(f *tlsconf.Files) { f.CAFile = dir }, wantErr: "TLS_CA_FILE: read CA file: read " + dir + ": is a directory"},
		{name: "CA no certificate", mutate: func(f *tlsconf.Files) { f.CAFile = notPEM }, wantErr: "TLS_CA_FILE: CA file " + notPEM + " holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := files
			tt.mutate(&f)
			err := f.Validate("")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// handshake runs one TLS handshake over loopback TCP.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer func() { _ = conn.Close() }()
		err = conn.(*tls.Conn).Handshake()
		if err == nil {
			_, err = io.WriteString(conn, "x")
		}
		done <- err
	}()
	c, clientErr := tls.Dial("tcp", ln.Addr().String(), client)
	if clientErr == nil {
		_, clientErr = c.Read(make([]byte, 1))
		_ = c.Close()
	}
	return <-done, clientErr
}

func TestMutualTLS(t *testing.T) {
	files, err := devpki.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	require := files
	require.ClientAuth = tlsconf.ClientAuthRequire
	anonymous := tlsconf.Files{CAFile: files.CAFile}

	tests := []struct {
		name      string
		server    tlsconf.Files
		client    tlsconf.Files
		wantError bool
	}{
		{name: "mutual", server: require, client: files},
		{name: "anonymous client allowed when verify_if_given", server: files, client: anonymous},
		{name: "anonymous client rejected when required", server: require, client: anonymous, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := tt.server.ServerConfig()
			if err != nil {
				t.Fatal(err)
			}
			cc, err := tt.client.ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			cc.ServerName = "localhost"
			serr, cerr := handshake(t, sc, cc)
			if got := errors.Join(serr, cerr) != nil; got != tt.wantError {
				t.Fatalf("server err %v, client err %v; want error %v", serr, cerr, tt.wantError)
			}
			if sc.MinVersion != tls.VersionTLS12 || cc.MinVersion != tls.VersionTLS12 {
				t.Error("MinVersion below TLS 1.2")
			}
		})
	}
}

func TestServerConfigNeedsCertificate(t *testing.T) {
	const want = "TLS_CERT_FILE and TLS_KEY_FILE are required: a server serves over TLS only"
	if _, err := (tlsconf.Files{}).ServerConfig(); err == nil || err.Error() != want {
		t.Fatalf("ServerConfig without certificate = %v, want %q", err, want)
	}
	if err := (tlsconf.Files{}).ValidateServer(""); err == nil || err.Error() != want {
		t.Fatalf("ValidateServer without certificate = %v, want %q", err, want)
	}
}

// TestValidateNamesPrefixedVariables: a peer's files are named by their own variables
// on every line of the message (OWNER_TLS_KEY_FILE, not the service's TLS_KEY_FILE).
func TestValidateNamesPrefixedVariables(t *testing.T) {
	dir := t.TempDir()
	err := tlsconf.Files{CertFile: dir, KeyFile: dir, CAFile: dir, ClientAuth: "sometimes"}.Validate("OWNER_")
	if err == nil {
		t.Fatal("Validate of folders = nil")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, want := range []string{"OWNER_TLS_CLIENT_AUTH: ", "OWNER_TLS_CERT_FILE: ", "OWNER_TLS_KEY_FILE: ", "OWNER_TLS_CA_FILE: "} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
			t.Errorf("no line starts %q in %q", want, err)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "OWNER_") {
			t.Errorf("line %q names no OWNER_ variable", l)
		}
	}
}
