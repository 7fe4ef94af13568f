// Package devpki creates a development certificate authority and one
// certificate signed by it, so that the local runner and the tests use the
// same mutual TLS as production without any manual setup. Never use it for
// production certificates.
package devpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/lillvet/register/services/platform/internal/pemfile"
	"github.com/lillvet/register/services/platform/tlsconf"
)

// File names inside the directory given to Ensure.
const (
	CAFile      = "ca.pem"
	CAKeyFile   = "ca-key.pem"
	CertFile    = "cert.pem"
	CertKeyFile = "key.pem"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// renewBefore renews the leaf before it expires, so a long-lived local
	// data folder never ends up with an expired certificate.
	renewBefore = 7 * 24 * time.Hour
)

// Ensure returns the development TLS files in dir, creating the CA and the
// leaf certificate (server and client usage; localhost, 127.0.0.1, ::1) on
// first use and reusing them afterwards. A leaf that is close to expiry or no
// longer matches the CA is issued anew.
func Ensure(dir string) (tlsconf.Files, error) {
	files := tlsconf.Files{
		CertFile:   filepath.Join(dir, CertFile),
		KeyFile:    filepath.Join(dir, CertKeyFile),
		CAFile:     filepath.Join(dir, CAFile),
		ClientAuth: tlsconf.ClientAuthVerifyIfGiven,
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tlsconf.Files{}, fmt.Errorf("create pki dir: %w", err)
	}
	ca, caKey, err := loadCA(dir)
	if err != nil {
		ca, caKey, err = createCA(dir)
		if err != nil {
			return tlsconf.Files{}, err
		}
	}
	if leafValid(files, ca) {
		return files, nil
	}
	if err := createLeaf(dir, ca, caKey); err != nil {
		return tlsconf.Files{}, err
	}
	return files, nil
}

func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cert, err := readCert(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, nil, err
	}
	key, err := pemfile.ReadECKey(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, nil, err
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		return nil, nil, errors.New("CA key does not match CA certificate")
	}
	if time.Until(cert.NotAfter) < renewBefore {
		return nil, nil, errors.New("CA certificate expires soon")
	}
	return cert, key, nil
}

func leafValid(files tlsconf.Files, ca *x509.Certificate) bool {
	cert, err := readCert(files.CertFile)
	if err != nil {
		return false
	}
	key, err := pemfile.ReadECKey(files.KeyFile)
	if err != nil {
		return false
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) || time.Until(cert.NotAfter) < renewBefore {
		return false
	}
	return cert.CheckSignatureFrom(ca) == nil
}

func createCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Lillvet development"}, CommonName: "Lillvet development CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if err := pemfile.WriteECKey(filepath.Join(dir, CAKeyFile), key); err != nil {
		return nil, nil, err
	}
	if err := pemfile.Write(filepath.Join(dir, CAFile), "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func createLeaf(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate leaf key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"Lillvet development"}, CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("create leaf certificate: %w", err)
	}
	if err := pemfile.WriteECKey(filepath.Join(dir, CertKeyFile), key); err != nil {
		return err
	}
	return pemfile.Write(filepath.Join(dir, CertFile), "CERTIFICATE", der, 0o644)
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	return serial, nil
}

func readCert(path string) (*x509.Certificate, error) {
	block, err := pemfile.Read(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return cert, nil
}
