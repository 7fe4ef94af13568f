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

// Validate checks that the combination of files makes sense and that each file
// can be read and holds what it should (a certificate and its key, CA
// certificates): a service checks its files so with its configuration, before any
// network work, and the message names the variable: the files' own, after prefix
// ("OWNER_" for OWNER_TLS_CERT_FILE; "" for the service's own TLS_CERT_FILE).
func (f Files) Validate(prefix string) error {
	_, err := f.load(prefix)
	return err
}

// ValidateServer is Validate for a server's files, which must name a certificate
// and its key: a server serves over TLS only.
func (f Files) ValidateServer(prefix string) error {
	_, err := f.loadServer(prefix)
	return err
}

// contents are what the files hold: nil for a file not named.
type contents struct {
	cert *tls.Certificate
	pool *x509.CertPool
}

// load reads and parses the files named, after checking their combination; its
// messages name the variables after prefix.
func (f Files) load(prefix string) (contents, error) {
	certVar, keyVar, caVar, authVar := prefix+"TLS_CERT_FILE", prefix+"TLS_KEY_FILE", prefix+"TLS_CA_FILE", prefix+"TLS_CLIENT_AUTH"
	var errs []error
	if (f.CertFile == "") != (f.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%s and %s must be set together", certVar, keyVar))
	}
	switch f.ClientAuth {
	case "", ClientAuthVerifyIfGiven:
	case ClientAuthRequire:
		if f.CAFile == "" {
			errs = append(errs, fmt.Errorf("%s=require needs %s", authVar, caVar))
		}
	default:
		errs = append(errs, fmt.Errorf("%s: %q is not one of %s, %s", authVar, f.ClientAuth, ClientAuthRequire, ClientAuthVerifyIfGiven))
	}
	var c contents
	certPEM, certErr := readNamed(certVar, f.CertFile)
	keyPEM, keyErr := readNamed(keyVar, f.KeyFile)
	errs = append(errs, certErr, keyErr)
	if certPEM != nil && keyPEM != nil {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s and %s: %w", certVar, keyVar, err))
		} else {
			c.cert = &cert
		}
	}
	if f.CAFile != "" {
		pool, err := LoadPool(f.CAFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", caVar, err))
		}
		c.pool = pool
	}
	return c, errors.Join(errs...)
}

// loadServer is load for a server, which needs a certificate.
func (f Files) loadServer(prefix string) (contents, error) {
	c, err := f.load(prefix)
	if f.CertFile == "" && f.KeyFile == "" {
		err = errors.Join(err, fmt.Errorf("%sTLS_CERT_FILE and %sTLS_KEY_FILE are required: a server serves over TLS only", prefix, prefix))
	}
	return c, err
}

// readNamed reads the file at path, which the variable names; nothing when path is
// empty.
func readNamed(variable, path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", variable, err)
	}
	return b, nil
}

// ServerConfig returns a TLS 1.2+ server configuration presenting CertFile
// and verifying client certificates against CAFile as ClientAuth says.
func (f Files) ServerConfig() (*tls.Config, error) {
	c, err := f.loadServer("")
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{*c.cert},
	}
	if c.pool == nil {
		return cfg, nil
	}
	cfg.ClientCAs = c.pool
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
	c, err := f.load("")
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: c.pool}
	if c.cert != nil {
		cfg.Certificates = []tls.Certificate{*c.cert}
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
