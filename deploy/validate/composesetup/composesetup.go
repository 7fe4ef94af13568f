// Package composesetup prepares what deploy/compose needs and the repository
// must never hold: a certificate per service signed by the local runner's
// development CA, the development token issuer's public keys, the erasure job's
// token, and an env file with fresh identity-code keys. Development only, like the CA.
package composesetup

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/devpki"
)

// The development issuer's names, as the local runner uses them: tokens from
// `go run ./deploy/local token` are valid against the compose stack.
const (
	Issuer   = "lillvet-dev-issuer"
	Audience = "lillvet-register"
)

// Files inside CertDir.
const (
	CAFile   = "ca.pem"
	JWKSFile = "jwks.json"
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
	// JobTokenFile is the disclosure service's erasure job token (devauth.ErasureJob).
	JobTokenFile = "disclosure-job/token"
)

// JobTokenValidity is how long the compose stack's erasure job token lasts: compose has
// no token renewer, so running compose-setup again renews it (the service reads the
// file before every step, without a restart).
const JobTokenValidity = 30 * 24 * time.Hour

// nonrootID is the distroless nonroot user the images run as.
const nonrootID = 65532

const leafValidity = 365 * 24 * time.Hour

// DefaultHosts are the compose services that get a certificate.
func DefaultHosts() []string {
	return []string{"owner", "consent", "disclosure", "history", "gateway", "jwks"}
}

// Options say where the inputs and outputs live.
type Options struct {
	// DataDir is the local runner's data folder: its pki/ CA signs the
	// certificates and its auth/ key is the token issuer (both are created
	// when missing, as the runner would).
	DataDir string
	// CertDir receives ca.pem, jwks.json and HOST/{cert,key}.pem.
	CertDir string
	// EnvFile is compose's .env: written with fresh keys when missing, kept
	// otherwise.
	EnvFile string
	// Hosts get one certificate each, valid for HOST, localhost and loopback.
	Hosts []string
}

// Run creates (or renews) the certificates, writes the JWKS and makes sure
// the env file exists.
func Run(o Options) error {
	if o.DataDir == "" || o.CertDir == "" || o.EnvFile == "" || len(o.Hosts) == 0 {
		return errors.New("compose setup: DataDir, CertDir, EnvFile and Hosts are required")
	}
	owner, err := fileOwner()
	if err != nil {
		return err
	}
	pki, err := devpki.Ensure(filepath.Join(o.DataDir, "pki"))
	if err != nil {
		return fmt.Errorf("development CA: %w", err)
	}
	ca, caKey, err := loadCA(pki.CAFile, filepath.Join(o.DataDir, "pki", devpki.CAKeyFile))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.CertDir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", o.CertDir, err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	if err := writePublic(filepath.Join(o.CertDir, CAFile), caPEM); err != nil {
		return err
	}
	for _, host := range o.Hosts {
		if err := issue(filepath.Join(o.CertDir, host), host, ca, caKey, owner); err != nil {
			return fmt.Errorf("certificate for %s: %w", host, err)
		}
	}
	iss, err := devauth.LoadOrCreate(filepath.Join(o.DataDir, "auth"), Issuer, Audience)
	if err != nil {
		return fmt.Errorf("development token issuer: %w", err)
	}
	if err := writeJWKS(iss, filepath.Join(o.CertDir, JWKSFile)); err != nil {
		return err
	}
	if err := writeJobToken(iss, filepath.Join(o.CertDir, filepath.FromSlash(JobTokenFile)), owner); err != nil {
		return err
	}
	return ensureEnv(o.EnvFile, owner)
}

// ids is who owns the key files, and so who the service containers run as.
type ids struct{ uid, gid int }

// fileOwner returns the invoking user, except root: the containers must not
// run as root, so root hands the keys to the images' nonroot user instead.
func fileOwner() (ids, error) {
	uid, gid := os.Getuid(), os.Getgid()
	if uid < 0 {
		return ids{}, errors.New("compose setup needs a system with user ids (Linux or macOS)")
	}
	if uid == 0 {
		return ids{nonrootID, nonrootID}, nil
	}
	return ids{uid, gid}, nil
}

func loadCA(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(filepath.Clean(certFile))
	if err != nil {
		return nil, nil, fmt.Errorf("read CA: %w", err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM certificate", certFile)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Clean(keyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("read CA key: %w", err)
	}
	block, _ = pem.Decode(keyPEM)
	if block == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM key", keyFile)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s is not an ECDSA key", keyFile)
	}
	return ca, ec, nil
}

// issue writes a server-and-client certificate for host into dir.
func issue(dir, host string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, owner ids) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return fmt.Errorf("serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"Lillvet development (compose)"}, CommonName: host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{host, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	keyFile := filepath.Join(dir, KeyFile)
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if err := writePublic(filepath.Join(dir, CertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return err
	}
	for _, p := range []string{dir, keyFile} {
		if err := os.Lchown(p, owner.uid, owner.gid); err != nil {
			return fmt.Errorf("hand %s to uid %d: %w", p, owner.uid, err)
		}
	}
	return nil
}

// publicMode lets every container user read certificates and the JWKS,
// which are public.
const publicMode os.FileMode = 0o644

func writePublic(path string, data []byte) error {
	if err := os.WriteFile(path, data, publicMode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// WriteFile keeps the mode of a file that already exists.
	if err := os.Chmod(path, publicMode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}

// writeJWKS writes the development issuer's key set, as the local runner
// serves it.
func writeJWKS(iss *devauth.Issuer, path string) error {
	rec := httptest.NewRecorder()
	iss.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/jwks.json", nil))
	if rec.Code != http.StatusOK {
		return fmt.Errorf("development token issuer: JWKS answered %d", rec.Code)
	}
	return writePublic(path, rec.Body.Bytes())
}

// writeJobToken mints the erasure job's token into path, readable by the container user
// only, replacing the file at once so that the running service never reads half a token.
func writeJobToken(iss *devauth.Issuer, path string, owner ids) error {
	tok, err := iss.Mint(devauth.ErasureJob(), JobTokenValidity)
	if err != nil {
		return fmt.Errorf("erasure job token: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
		return fmt.Errorf("write erasure job token: %w", err)
	}
	for _, p := range []string{dir, tmp} {
		if err := os.Lchown(p, owner.uid, owner.gid); err != nil {
			return fmt.Errorf("hand %s to uid %d: %w", p, owner.uid, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write erasure job token: %w", err)
	}
	return nil
}

// Env file keys.
const (
	envIdentityKeys   = "IDENTITY_KEYS"
	envActiveKey      = "IDENTITY_ACTIVE_KEY"
	envBlindIndexKey  = "BLIND_INDEX_KEY"
	envUID            = "LILLVET_UID"
	envGID            = "LILLVET_GID"
	composeKeyID      = "compose1"
	secretKeyBytes    = 32
	envFileMode       = 0o600
	envFileHeaderLine = "# Written by compose-setup. Never commit this file; see .env.example."
)

// ensureEnv writes the env file with fresh keys when it is missing, and adds
// the container user when an existing file lacks it. Existing keys are never
// replaced: identity codes sealed under them would become unreadable.
func ensureEnv(path string, owner ids) error {
	existing, err := os.ReadFile(filepath.Clean(path))
	switch {
	case errors.Is(err, os.ErrNotExist):
		keys, err := randomKeys(2)
		if err != nil {
			return err
		}
		lines := []string{
			envFileHeaderLine,
			envIdentityKeys + "=" + composeKeyID + ":" + keys[0],
			envActiveKey + "=" + composeKeyID,
			envBlindIndexKey + "=" + keys[1],
		}
		return writeEnv(path, nil, append(lines, userLines(owner)...))
	case err != nil:
		return fmt.Errorf("read %s: %w", path, err)
	}
	var missing []string
	for _, line := range userLines(owner) {
		name, _, _ := strings.Cut(line, "=")
		if !hasKey(existing, name) {
			missing = append(missing, line)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return writeEnv(path, existing, missing)
}

func userLines(owner ids) []string {
	return []string{envUID + "=" + strconv.Itoa(owner.uid), envGID + "=" + strconv.Itoa(owner.gid)}
}

func randomKeys(n int) ([]string, error) {
	keys := make([]string, n)
	for i := range keys {
		b := make([]byte, secretKeyBytes)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("random key: %w", err)
		}
		keys[i] = base64.StdEncoding.EncodeToString(b)
	}
	return keys, nil
}

func hasKey(env []byte, name string) bool {
	sc := bufio.NewScanner(bytes.NewReader(env))
	for sc.Scan() {
		if k, _, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && strings.TrimSpace(k) == name {
			return true
		}
	}
	return false
}

func writeEnv(path string, existing []byte, lines []string) error {
	var buf bytes.Buffer
	buf.Write(existing)
	if len(existing) > 0 && !bytes.HasSuffix(existing, []byte("\n")) {
		buf.WriteByte('\n')
	}
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(path, buf.Bytes(), envFileMode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
