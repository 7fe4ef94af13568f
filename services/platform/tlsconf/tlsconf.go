// Package tlsconf turns certificate file paths from the environment into TLS
// configurations for servers and clients, so that every connection between
// the services is encrypted and, where required, mutually authenticated.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Client authentication modes for servers.
const (
	// ClientAuthRequire rejects clients without a certificate signed by the CA.
	ClientAuthRequire = "require"
	// ClientAuthVerifyIfGiven verifies a client certificate when one is sent.
	ClientAuthVerifyIfGiven = "verify_if_given"
)

// Files names the PEM files of a TLS identity and the CA that signs peers.
type Files struct {
	CertFile   string `env:"TLS_CERT_FILE"`
	KeyFile    string `env:"TLS_KEY_FILE"`
	CAFile     string `env:"TLS_CA_FILE"`
	ClientAuth string `env:"TLS_CLIENT_AUTH" envDefault:"verify_if_given"`
}

// Validate checks that the combination of files makes sense and that the
// files exist; it does not parse them.
func (f Files) Validate() error {
	var errs []error
	if (f.CertFile == "") != (f.KeyFile == "") {
		errs = append(errs, errors.New("TLS_CERT_FILE and TLS_KEY_FILE must be set together"))
	}
	switch f.ClientAuth {
	case "", ClientAuthVerifyIfGiven:
	case ClientAuthRequire:
		if f.CAFile == "" {
			errs = append(errs, errors.New("TLS_CLIENT_AUTH=require needs TLS_CA_FILE"))
		}
	default:
		errs = append(errs, fmt.Errorf("TLS_CLIENT_AUTH: %q is not one of %s, %s", f.ClientAuth, ClientAuthRequire, ClientAuthVerifyIfGiven))
	}
	for _, file := range []struct{ name, path string }{
		{"TLS_CERT_FILE", f.CertFile}, {"TLS_KEY_FILE", f.KeyFile}, {"TLS_CA_FILE", f.CAFile},
	} {
		if file.path == "" {
			continue
		}
		if _, err := os.Stat(file.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file.name, err))
		}
	}
	return errors.Join(errs...)
}

// ServerConfig returns a TLS 1.2+ server configuration presenting CertFile
// and verifying client certificates against CAFile as ClientAuth says.
func (f Files) ServerConfig() (*tls.Config, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.CertFile == "" {
		return nil, errors.New("server TLS needs TLS_CERT_FILE and TLS_KEY_FILE")
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load server key pair: %w", err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if f.CAFile == "" {
		return cfg, nil
	}
	pool, err := LoadPool(f.CAFile)
	if err != nil {
		return nil, err
	}
	cfg.ClientCAs = pool
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	if f.ClientAuth == ClientAuthRequire {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientConfig returns a TLS 1.2+ client configuration trusting CAFile (the
// system roots when empty) and presenting CertFile as client certificate
// when set.
func (f Files) ClientConfig() (*tls.Config, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pool, err := LoadPool(f.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// LoadPool reads a PEM bundle of CA certificates.
func LoadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}
