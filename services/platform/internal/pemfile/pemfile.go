// Package pemfile reads and writes single-block PEM files for the development
// key material (devpki, devauth).
package pemfile

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lillvet/register/services/platform/atomicfile"
)

// Read returns the first PEM block of path, which must be of type typ.
func Read(path, typ string) (*pem.Block, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("%s: no %s PEM block", path, typ)
	}
	return block, nil
}

// Write writes one PEM block whole, so that a reader never sees a half-written file.
func Write(path, typ string, der []byte, mode os.FileMode) error {
	return atomicfile.Write(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// ReadECKey reads a PKCS#8 ECDSA private key.
func ReadECKey(path string) (*ecdsa.PrivateKey, error) {
	block, err := Read(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ECDSA key", path)
	}
	return ec, nil
}

// WriteECKey writes key as PKCS#8 PEM readable by the owner only.
func WriteECKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal key: %w", err)
	}
	return Write(path, "PRIVATE KEY", der, 0o600)
}
