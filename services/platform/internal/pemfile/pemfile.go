// Package pemfile reads and writes single-block PEM files for the development
// key material (devpki, devauth).
package pemfile

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// Write writes one PEM block through a temporary file and a rename, so that
// a reader never sees a half-written file.
func Write(path, typ string, der []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file for %s: %w", path, err)
	}
	if err := fill(tmp, path, typ, der, mode); err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return errors.Join(fmt.Errorf("rename %s: %w", path, err), os.Remove(tmp.Name()))
	}
	return nil
}

// fill writes the block into tmp and closes it; path names the destination in
// errors.
func fill(tmp *os.File, path, typ string, der []byte, mode os.FileMode) error {
	if err := tmp.Chmod(mode); err != nil {
		return errors.Join(fmt.Errorf("chmod %s: %w", path, err), tmp.Close())
	}
	if err := pem.Encode(tmp, &pem.Block{Type: typ, Bytes: der}); err != nil {
		return errors.Join(fmt.Errorf("write %s: %w", path, err), tmp.Close())
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
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
