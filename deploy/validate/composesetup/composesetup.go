// Package composesetup prepares what deploy/compose needs and the repository
// must never hold: a certificate per service signed by the local runner's
// development CA, the development token issuer's public keys, the erasure job's
// token, the owner service's identity-code keys as one file per secret, the history
// service's request digest key, and an env file with the container user. Development
// only, like the CA.
package composesetup

import (
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
	"io/fs"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gofrs/flock"

	"github.com/lillvet/register/services/platform/atomicfile"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/fieldcrypt"
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
	// NameRetentionTokenFile is the history service's name retention job token
	// towards the owner service (devauth.NameRetentionJob).
	NameRetentionTokenFile = "history-name-retention/token"
)

// Files inside SecretDir, one per secret setting of the owner service: compose mounts
// them at /run/secrets/<file> and the service reads them through NAME_FILE, so that the
// keys stay out of its environment (and docker inspect).
const (
	IdentityKeysFile      = "identity_keys"
	IdentityActiveKeyFile = "identity_active_key"
	BlindIndexKeyFile     = "blind_index_key"
)

// RequestDigestKeyFile, inside SecretDir, is the history service's REQUEST_DIGEST_KEY,
// mounted and read as the owner service's keys are. It is no part of their set: a
// fresh one loses nothing stored (the digests made under a lost key are compared as if
// there were none), so it is written whenever it is missing, an installation made
// before it gaining one, and never replaced.
const RequestDigestKeyFile = "request_digest_key"

// JobTokenValidity is how long the compose stack's erasure job token, and the history
// service's name retention job token, last: compose has no token renewer, so running
// compose-setup again renews them (the services read the files before every use,
// without a restart).
const JobTokenValidity = 30 * 24 * time.Hour

// nonrootID is the distroless nonroot user the images run as.
const nonrootID = 65532

const leafValidity = 365 * 24 * time.Hour

// DNSNames are the names the certificate of host is issued for (and the
// loopback addresses): deploy/validate checks the compose services' peers and
// health checks against them.
func DNSNames(host string) []string {
	return []string{host, "localhost"}
}

// DefaultHosts are the compose services that need a certificate (deploy/validate
// checks them against compose.yaml); Run refuses Hosts that leave one out.
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
	// SecretDir receives the history service's request digest key when it has none
	// (RequestDigestKeyFile), and the owner service's keys, one file each: fresh keys,
	// all at once, when there are none yet, the keys of an earlier setup's env
	// file moved there once, existing files never replaced. Of a set with a key
	// missing, only the active key id is written, when IDENTITY_KEYS holds one key.
	// It may be a mount point or a link to one (an encrypted volume): the keys go
	// into it, and it is never removed or replaced. A run holds the lock file
	// .<name>.lock beside it.
	SecretDir string
	// EnvFile is compose's .env: the container user (LILLVET_UID, LILLVET_GID),
	// who gets the key files, added when missing, and no secret.
	EnvFile string
	// Hosts get one certificate each, valid for HOST, localhost and loopback: every
	// one of DefaultHosts, and any more a changed compose file needs.
	Hosts []string
}

// Run creates (or renews) the certificates, writes the JWKS and the erasure
// job's token, and makes sure the secret files and the env file exist.
func Run(o Options) (err error) {
	if o.DataDir == "" || o.CertDir == "" || o.SecretDir == "" || o.EnvFile == "" || len(o.Hosts) == 0 {
		return errors.New("compose setup: DataDir, CertDir, SecretDir, EnvFile and Hosts are required")
	}
	if err := checkHosts(o.Hosts); err != nil {
		return err
	}
	lock, err := lockSecrets(o.SecretDir)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := lock.Unlock(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unlock %s: %w", lock.Path(), uerr))
		}
	}()
	// The env file is read first: it names the container user, who must own the keys,
	// and a line that cannot be read stops the setup before anything is written.
	existing, err := os.ReadFile(filepath.Clean(o.EnvFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", o.EnvFile, err)
	}
	inEnv, err := envValues(o.EnvFile, existing)
	if err != nil {
		return err
	}
	owner, err := fileOwner(o.EnvFile, inEnv)
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
	if err := writeToken(iss, devauth.ErasureJob(), filepath.Join(o.CertDir, filepath.FromSlash(JobTokenFile)), owner); err != nil {
		return fmt.Errorf("erasure job token: %w", err)
	}
	if err := writeToken(iss, devauth.NameRetentionJob(), filepath.Join(o.CertDir, filepath.FromSlash(NameRetentionTokenFile)), owner); err != nil {
		return fmt.Errorf("name retention job token: %w", err)
	}
	if err := ensureSecrets(o.SecretDir, o.EnvFile, existing, inEnv, owner); err != nil {
		return err
	}
	return ensureRequestDigestKey(o.SecretDir, owner)
}

// hostName is a DNS label as compose service names that get a certificate use it.
var hostName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkHosts refuses hosts that leave out a compose service needing a certificate:
// without one, that service never becomes healthy, and the services that depend on it
// never start.
func checkHosts(hosts []string) error {
	for _, h := range hosts {
		// A host names a certificate's folder and its DNS name: "../x" or "a/b" would
		// write outside the certificate folder.
		if h != "" && !hostName.MatchString(h) {
			return fmt.Errorf("compose setup: host %q is not a host name: lower-case letters, digits and inner hyphens, at most 63", h)
		}
	}
	missing := slices.DeleteFunc(DefaultHosts(), func(h string) bool { return slices.Contains(hosts, h) })
	if len(missing) > 0 {
		return fmt.Errorf("compose setup: the hosts leave out %s, whose compose service needs a certificate; list all of %s and any more",
			strings.Join(missing, ", "), strings.Join(DefaultHosts(), ","))
	}
	return nil
}

// lockSecrets keeps a second compose-setup from deciding on the keys while this one
// writes them: it would find them partly moved into place, or write fresh ones of its
// own. The lock file is beside the secrets folder, which may be a volume not mounted yet.
// It holds nothing, and whoever may read it can take the lock: a run with sudo creates it,
// and a later run as the container user must still open it.
func lockSecrets(dir string) (*flock.Flock, error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return nil, fmt.Errorf("create %s: %w", parent, err)
	}
	lock := flock.New(filepath.Join(parent, "."+filepath.Base(dir)+".lock"), flock.SetPermissions(publicMode))
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", lock.Path(), err)
	}
	if !locked {
		return nil, fmt.Errorf("another compose-setup is writing %s (it holds %s): let it finish, then run compose-setup again if needed", dir, lock.Path())
	}
	// The file was created under the umask (077 would make it 0600). A lock file owned
	// by another user was opened all the same, so only its owner need widen it.
	if err := os.Chmod(lock.Path(), publicMode); err != nil && !errors.Is(err, fs.ErrPermission) {
		return nil, errors.Join(fmt.Errorf("open %s to every user: %w", lock.Path(), err), lock.Unlock())
	}
	return lock, nil
}

// ids is who owns the key files, and so who the service containers run as.
type ids struct{ uid, gid int }

// fileOwner returns the container user: the one the env file names, as the containers
// run as it and compose bind-mounts the key files (0600) with their host owner. Without
// it, the invoking user, except root: the containers must not run as root, so root
// hands the keys to the images' nonroot user instead. Only root can give files away,
// so another user than the invoker named in the env file is refused.
func fileOwner(envFile string, env map[string]envValue) (ids, error) {
	uid, gid := os.Getuid(), os.Getgid()
	if uid < 0 {
		return ids{}, errors.New("compose setup needs a system with user ids (Linux or macOS)")
	}
	owner := ids{uid, gid}
	if uid == 0 {
		owner = ids{nonrootID, nonrootID}
	}
	named := false
	for _, id := range []struct {
		name string
		to   *int
	}{{envUID, &owner.uid}, {envGID, &owner.gid}} {
		v, ok := env[id.name]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v.value)
		if !v.exact || err != nil || n < 0 {
			return ids{}, fmt.Errorf("%s in %s (line %d) is not a number", id.name, envFile, v.line)
		}
		*id.to = n
		named = true
	}
	if owner.uid == 0 {
		return ids{}, fmt.Errorf("%s in %s is 0: the containers must not run as root", envUID, envFile)
	}
	if named && uid != 0 && (owner.uid != uid || owner.gid != gid) {
		return ids{}, fmt.Errorf("%s names the container user %d:%d, and compose-setup runs as %d:%d: the containers could not read the keys it writes, and only root can give files away; run it as that user or with sudo, or change %s and %s in %s",
			envFile, owner.uid, owner.gid, uid, gid, envUID, envGID, envFile)
	}
	return owner, nil
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
		DNSNames:     DNSNames(host),
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

// writeToken mints a service's own job's token for claims into path, readable by the
// container user only.
func writeToken(iss *devauth.Issuer, claims devauth.Claims, path string, owner ids) error {
	tok, err := iss.Mint(claims, JobTokenValidity)
	if err != nil {
		return err
	}
	if err := makeDir(filepath.Dir(path), 0o750, owner); err != nil {
		return err
	}
	if err := atomicfile.WriteOwned(path, []byte(tok+"\n"), secretMode, owner.uid, owner.gid); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(filepath.Dir(path)), err)
	}
	return nil
}

func makeDir(dir string, mode os.FileMode, owner ids) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Lchown(dir, owner.uid, owner.gid); err != nil {
		return fmt.Errorf("hand %s to uid %d: %w", dir, owner.uid, err)
	}
	return nil
}

// secretMode keeps keys, the job token and the env file from other users.
const secretMode os.FileMode = 0o600

// secretSetting is a secret of the owner service: the variable it used to be
// given as in the env file, and its file in SecretDir.
type secretSetting struct{ env, file string }

func secretSettings() []secretSetting {
	return []secretSetting{
		{"IDENTITY_KEYS", IdentityKeysFile},
		{"IDENTITY_ACTIVE_KEY", IdentityActiveKeyFile},
		{"BLIND_INDEX_KEY", BlindIndexKeyFile},
	}
}

// Env file keys.
const (
	envUID            = "LILLVET_UID"
	envGID            = "LILLVET_GID"
	envFileHeaderLine = "# Written by compose-setup. Never commit this file; see .env.example."
)

// Fresh keys: one AES-256 identity key under this id, and a blind-index key as long.
const (
	composeKeyID   = "compose1"
	secretKeyBytes = 32
)

// ensureSecrets makes sure each secret of the owner service has its file in dir,
// and that the env file names the container user and holds no secret. Fresh keys
// are made only when there are none, in files or in the env file, and all at once
// (writeFreshSecrets): existing keys are never replaced, as identity codes sealed under
// them would become unreadable. An env file from an earlier setup gives its keys to the
// files once; they leave it only after the files are on disk.
func ensureSecrets(dir, envFile string, existing []byte, inEnv map[string]envValue, owner ids) error {
	if err := finishStaged(dir); err != nil {
		return err
	}
	kept := map[string]string{}   // by file: keys already in dir
	values := map[string]string{} // by file: keys to write, from the env file
	var missing []string
	for _, s := range secretSettings() {
		path := filepath.Join(dir, s.file)
		raw, err := os.ReadFile(filepath.Clean(path))
		v, inEnvFile := inEnv[s.env]
		switch {
		case err == nil:
			if inEnvFile && (!v.exact || v.value != strings.TrimSuffix(string(raw), "\n")) {
				return fmt.Errorf("%s in %s differs from %s: keep the value the stored identity codes need in %s and remove the line from %s",
					s.env, envFile, path, path, envFile)
			}
			kept[s.file] = strings.TrimSuffix(string(raw), "\n")
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("read %s: %w", path, err)
		case inEnvFile && !v.exact:
			return fmt.Errorf("%s in %s (line %d) holds a $ or a backslash, which compose would interpret and compose-setup does not: write the key as compose reads it into %s and remove the line from %s",
				s.env, envFile, v.line, path, envFile)
		case inEnvFile:
			values[s.file] = v.value
		default:
			missing = append(missing, s.file)
		}
	}
	switch {
	case len(missing) == len(secretSettings()):
		if err := writeFreshSecrets(dir, owner); err != nil {
			return err
		}
		return ensureEnv(envFile, existing, inEnv, owner)
	case len(missing) > 0:
		active, err := missingActiveKey(dir, envFile, missing, kept, values)
		if err != nil {
			return err
		}
		values[IdentityActiveKeyFile] = active
	}
	if err := makeDir(dir, 0o700, owner); err != nil {
		return err
	}
	for _, s := range secretSettings() {
		path := filepath.Join(dir, s.file)
		if v, ok := values[s.file]; ok {
			if err := atomicfile.WriteOwned(path, []byte(v+"\n"), secretMode, owner.uid, owner.gid); err != nil {
				return err
			}
			continue
		}
		// A file kept from a run for another container user (a first run with sudo,
		// before the env file named the user) goes to the user the containers run as
		// now, who could not read it otherwise.
		if err := os.Lchown(path, owner.uid, owner.gid); err != nil {
			return fmt.Errorf("hand %s to uid %d: %w", path, owner.uid, err)
		}
	}
	return ensureEnv(envFile, existing, inEnv, owner)
}

// Fresh keys are staged in a folder of compose-setup's own inside the secrets folder, on
// its file system whatever is mounted or linked there; the marker, written last, says
// that the three keys in it are on disk.
const (
	stagingDir   = ".compose-setup-staging"
	stagedMarker = "complete"
)

// writeFreshSecrets writes fresh keys into dir, which holds no key, so that a run stopped
// on the way leaves all of them or none for the owner service: they are staged in
// stagingDir, marked complete, and only then moved into place. A set with a file missing
// could not be completed: no run can tell a blind-index key never written from one lost
// after it indexed identity codes. dir itself stays: it may be a mount point or a link to
// one (an encrypted volume), which no rename could replace.
func writeFreshSecrets(dir string, owner ids) error {
	if err := checkEmptyForKeys(dir); err != nil {
		return err
	}
	keys, err := randomKeys(2)
	if err != nil {
		return err
	}
	values := map[string]string{
		IdentityKeysFile:      composeKeyID + ":" + keys[0],
		IdentityActiveKeyFile: composeKeyID,
		BlindIndexKeyFile:     keys[1],
	}
	if err := makeDir(dir, 0o700, owner); err != nil {
		return err
	}
	stage := filepath.Join(dir, stagingDir)
	if err := makeDir(stage, 0o700, owner); err != nil {
		return err
	}
	for _, s := range secretSettings() {
		if err := atomicfile.WriteOwned(filepath.Join(stage, s.file), []byte(values[s.file]+"\n"), secretMode, owner.uid, owner.gid); err != nil {
			// This run made the folder, under the lock, and nothing has read it.
			return errors.Join(err, os.RemoveAll(stage))
		}
	}
	if err := atomicfile.WriteOwned(filepath.Join(stage, stagedMarker), nil, secretMode, owner.uid, owner.gid); err != nil {
		return errors.Join(err, os.RemoveAll(stage))
	}
	return moveStaged(dir)
}

// finishStaged completes what a run stopped while writing fresh keys left in dir. Staged
// keys marked complete are all on disk and may be partly moved already: they are moved
// into place as that run would have. Without the marker, no key was moved yet, and the
// staging folder is that run's leftover, never read: it is removed.
func finishStaged(dir string) error {
	stage := filepath.Join(dir, stagingDir)
	entries, err := os.ReadDir(stage)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("read %s: %w", stage, err)
	}
	_, err = os.Lstat(filepath.Join(stage, stagedMarker))
	switch {
	case err == nil:
		return moveStaged(dir)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("stat %s: %w", filepath.Join(stage, stagedMarker), err)
	}
	var others []string
	for _, e := range entries {
		if !isStagedFile(e.Name()) {
			others = append(others, e.Name())
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("%s, where compose-setup stages fresh keys, holds %s, which compose-setup did not write: move it out and run compose-setup again",
			stage, strings.Join(others, ", "))
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(stage, e.Name())); err != nil {
			return fmt.Errorf("remove %s: %w", filepath.Join(stage, e.Name()), err)
		}
	}
	if err := os.Remove(stage); err != nil {
		return fmt.Errorf("remove %s: %w", stage, err)
	}
	return atomicfile.SyncDir(dir)
}

// isStagedFile tells the files compose-setup writes into its staging folder, and the
// temporary files atomicfile writes them through.
func isStagedFile(name string) bool {
	for _, f := range []string{IdentityKeysFile, IdentityActiveKeyFile, BlindIndexKeyFile, stagedMarker} {
		if name == f || atomicfile.IsTemp(name, f) {
			return true
		}
	}
	return false
}

// moveStaged moves complete staged keys into dir, blind_index_key last: the owner service
// cannot start without it, so it never runs on a part of the set. A key already in
// place must be the staged one; compose-setup replaces no key.
func moveStaged(dir string) error {
	stage := filepath.Join(dir, stagingDir)
	for _, s := range secretSettings() {
		staged, target := filepath.Join(stage, s.file), filepath.Join(dir, s.file)
		want, err := os.ReadFile(filepath.Clean(staged))
		if errors.Is(err, os.ErrNotExist) {
			// Moved by the run that stopped.
			if _, err := os.Lstat(target); err != nil {
				return fmt.Errorf("%s was moved into place by a compose-setup that stopped before it was done, and cannot be found now (%w): restore it from a backup", target, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", staged, err)
		}
		have, err := os.ReadFile(filepath.Clean(target))
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Rename(staged, target); err != nil {
				return fmt.Errorf("move the fresh key %s into place: %w", target, err)
			}
		case err != nil:
			return fmt.Errorf("read %s: %w", target, err)
		case !bytes.Equal(have, want):
			return fmt.Errorf("%s holds fresh keys a compose-setup staged before it stopped, and %s, written since, differs from the staged one; compose-setup replaces no key: remove %s to keep %s, or remove %s to complete the staged keys, and run compose-setup again",
				stage, target, stage, target, target)
		default:
			if err := os.Remove(staged); err != nil {
				return fmt.Errorf("remove %s: %w", staged, err)
			}
		}
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(stage, stagedMarker)); err != nil {
		return fmt.Errorf("remove %s: %w", filepath.Join(stage, stagedMarker), err)
	}
	if err := os.Remove(stage); err != nil {
		return fmt.Errorf("remove %s: %w", stage, err)
	}
	return atomicfile.SyncDir(dir)
}

// checkEmptyForKeys makes sure dir, which holds none of the keys, holds nothing that
// fresh keys could be confused with or that someone would miss. It may hold a file
// system's lost+found (a volume's root), the history service's request digest key, which
// is no part of the owner service's set, and a key's temporary file from a compose-setup
// stopped while writing it (named as atomicfile names them, never renamed to the key's
// name, so never read), which it removes; anything else, a user's backup or an editor's
// swap file of a key included, stops the setup, named, before anything is removed.
func checkEmptyForKeys(dir string) error {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if _, lerr := os.Lstat(dir); lerr == nil {
			// A link to a folder that does not exist (a volume not mounted): keys
			// written in its place would not be where they are looked for.
			return fmt.Errorf("%s is not a folder: it links to one that does not exist (a volume not mounted?)", dir)
		}
		return nil
	case err != nil:
		return fmt.Errorf("stat %s: %w", dir, err)
	case !info.IsDir():
		return fmt.Errorf("%s is not a folder", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	var temporary, others []string
	for _, e := range entries {
		switch {
		case e.Name() == "lost+found" && e.IsDir():
		case e.Name() == RequestDigestKeyFile:
		case isTemporaryKeyFile(e.Name()):
			temporary = append(temporary, e.Name())
		default:
			others = append(others, e.Name())
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("%s holds %s and none of the owner service's keys: compose-setup writes fresh keys only into an empty folder and removes nothing it did not write; move %s out of it, or name another folder with -secrets",
			dir, strings.Join(others, ", "), strings.Join(others, ", "))
	}
	for _, name := range temporary {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove %s: %w", filepath.Join(dir, name), err)
		}
	}
	return nil
}

// isTemporaryKeyFile tells the temporary file atomicfile writes a key file through.
func isTemporaryKeyFile(name string) bool {
	for _, s := range secretSettings() {
		if atomicfile.IsTemp(name, s.file) {
			return true
		}
	}
	return atomicfile.IsTemp(name, RequestDigestKeyFile)
}

// ensureRequestDigestKey writes a fresh request digest key into dir when it has none,
// and hands a kept one to the container user, as ensureSecrets does the owner's keys.
func ensureRequestDigestKey(dir string, owner ids) error {
	path := filepath.Join(dir, RequestDigestKeyFile)
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		if err := os.Lchown(path, owner.uid, owner.gid); err != nil {
			return fmt.Errorf("hand %s to uid %d: %w", path, owner.uid, err)
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("stat %s: %w", path, err)
	}
	keys, err := randomKeys(1)
	if err != nil {
		return err
	}
	if err := makeDir(dir, 0o700, owner); err != nil {
		return err
	}
	return atomicfile.WriteOwned(path, []byte(keys[0]+"\n"), secretMode, owner.uid, owner.gid)
}

// missingActiveKey is the value of IDENTITY_ACTIVE_KEY when it is the only key missing
// (kept are the keys in files, moving those in the env file) and can be told for
// certain: the owner service seals under a key of IDENTITY_KEYS, so with only one there
// the active id can be no other. Any other key missing is an error naming the files
// and what to do: fresh identity keys could not open the codes sealed under the lost
// ones, nor a fresh blind-index key find those indexed under the lost one. A
// compose-setup before fresh keys were written all at once left such a set when it
// stopped partway, always without the blind-index key, which it wrote last.
func missingActiveKey(dir, envFile string, missing []string, kept, moving map[string]string) (string, error) {
	var present []string
	identityKeys, haveIdentityKeys := "", false
	for _, s := range secretSettings() {
		v, inFile := kept[s.file]
		if inFile {
			present = append(present, filepath.Join(dir, s.file))
		} else if v, inFile = moving[s.file]; inFile {
			present = append(present, fmt.Sprintf("the %s line of %s", s.env, envFile))
		}
		if inFile && s.file == IdentityKeysFile {
			identityKeys, haveIdentityKeys = v, true
		}
	}
	lost := make([]string, len(missing))
	for i, f := range missing {
		lost[i] = filepath.Join(dir, f)
	}
	has := fmt.Sprintf("compose-setup found %s, but not %s", strings.Join(present, " and "), strings.Join(lost, " and "))
	switch {
	case !haveIdentityKeys:
		return "", fmt.Errorf("%s: fresh identity keys could not open the identity codes already stored; restore %s from a backup, or, to start afresh without the stored data, remove %s and the stack's volumes",
			has, strings.Join(lost, " and "), strings.Join(present, " and "))
	case slices.Contains(missing, BlindIndexKeyFile):
		return "", fmt.Errorf("%s: a fresh blind-index key would not find the identity codes already stored. If the owner service never ran with these keys (an earlier compose-setup stopped before writing the last one), remove %s and run compose-setup again; otherwise restore %s from a backup",
			has, strings.Join(present, " and "), strings.Join(lost, " and "))
	}
	keys, err := fieldcrypt.ParseKeys(identityKeys)
	if err != nil {
		return "", fmt.Errorf("%s, and the identity keys cannot be read to tell the active one: %w", has, err)
	}
	ids := slices.Sorted(maps.Keys(keys))
	if len(ids) != 1 {
		return "", fmt.Errorf("%s, and the identity keys are %s: write the id the owner service seals new identity codes under into %s",
			has, strings.Join(ids, ", "), lost[0])
	}
	return ids[0], nil
}

// ensureEnv writes the env file with the container user when it is missing, adds the
// user when an existing file lacks it, and drops the secrets an earlier setup put there
// (the secret files hold them now). Every other line stays as it was, line endings
// included, and so do an existing file's owner and mode: it is the file of whoever
// runs docker compose, who may not be who runs compose-setup (sudo).
func ensureEnv(path string, existing []byte, set map[string]envValue, owner ids) error {
	var out strings.Builder
	changed := false
	eol := "\n"
	if bytes.Contains(existing, []byte("\r\n")) {
		eol = "\r\n"
	}
	if len(existing) == 0 {
		out.WriteString(envFileHeaderLine + eol)
	}
	for _, line := range envLines(existing) {
		// envValues has read every line already.
		if name, _, ok, _ := envAssignment(line); ok && isSecretSetting(name) {
			changed = true
			continue
		}
		out.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			out.WriteString(eol)
		}
	}
	for _, line := range userLines(owner) {
		name, _, _ := strings.Cut(line, "=")
		if _, ok := set[name]; !ok {
			out.WriteString(line + eol)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return atomicfile.Write(path, []byte(out.String()), secretMode)
	case err != nil:
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if o, ok := statOwner(info); ok {
		return atomicfile.WriteOwned(path, []byte(out.String()), info.Mode().Perm(), o.uid, o.gid)
	}
	return atomicfile.Write(path, []byte(out.String()), info.Mode().Perm())
}

func isSecretSetting(name string) bool {
	for _, s := range secretSettings() {
		if s.env == name {
			return true
		}
	}
	return false
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

// envValue is an assignment of an env file: its value as compose reads it, unless
// exact is false, and the line (counted from 1) it is on.
type envValue struct {
	value string
	// exact is false for a value compose would change further: a $ it interpolates
	// or a backslash escape. compose-setup does not copy compose's interpolation, so
	// it uses such a value for nothing and refuses to move it into a key file.
	exact bool
	line  int
}

// envLines splits an env file into its lines, each with its line ending.
func envLines(env []byte) []string {
	lines := strings.SplitAfter(string(env), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// envValues reads the assignments of an env file as compose does: the last
// assignment of a name wins, and empty values are left out. A line it cannot read
// as compose would is an error, which names the line but never repeats its value:
// a key moved into a file with a stray quote or comment would leave the owner
// service unable to start, once the line is gone from the env file.
func envValues(path string, env []byte) (map[string]envValue, error) {
	out := map[string]envValue{}
	for i, line := range envLines(env) {
		name, v, ok, err := envAssignment(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w; fix the line (compose-setup reads .env as docker compose does)", path, i+1, err)
		}
		if !ok {
			continue
		}
		if v.value == "" {
			delete(out, name)
			continue
		}
		v.line = i + 1
		out[name] = v
	}
	return out, nil
}

// envAssignment reads one line of an env file as compose's dotenv parser does: an
// optional export prefix, a name, = (or :), and a value. A value in quotes runs to the
// matching quote, after which only blanks or a comment may follow; an unquoted value
// ends at " #" and loses its trailing blanks. ok is false for a blank line or a
// comment. Errors never hold the value, which may be a key.
func envAssignment(line string) (name string, v envValue, ok bool, err error) {
	line = strings.TrimLeft(strings.TrimRight(line, "\r\n"), " \t")
	if line == "" || line[0] == '#' {
		return "", envValue{}, false, nil
	}
	if rest, found := strings.CutPrefix(line, "export"); found && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		line = strings.TrimLeft(rest, " \t")
	}
	end := strings.IndexFunc(line, func(r rune) bool { return !isEnvNameRune(r) })
	if end <= 0 {
		return "", envValue{}, false, errors.New("no variable name at the start")
	}
	name = line[:end]
	rest := strings.TrimLeft(line[end:], " \t")
	if rest == "" || (rest[0] != '=' && rest[0] != ':') {
		return "", envValue{}, false, fmt.Errorf("%s is not followed by =", name)
	}
	value := strings.TrimLeft(rest[1:], " \t")
	if value == "" || (value[0] != '"' && value[0] != '\'') {
		value, _, _ = strings.Cut(value, " #")
		value = strings.TrimRight(value, " \t")
		return name, envValue{value: value, exact: !strings.ContainsAny(value, "$\\")}, true, nil
	}
	quote := value[0]
	closing := -1
	for i := 1; i < len(value); i++ {
		// compose skips a quote behind a backslash, in single quotes too.
		if value[i] == quote && value[i-1] != '\\' {
			closing = i
			break
		}
	}
	if closing < 0 {
		return "", envValue{}, false, fmt.Errorf("the value of %s has no closing quote on its line", name)
	}
	if after := strings.TrimLeft(value[closing+1:], " \t"); after != "" && after[0] != '#' {
		return "", envValue{}, false, fmt.Errorf("the value of %s is followed by more than a comment after its closing quote", name)
	}
	inner := value[1:closing]
	// compose takes single quotes literally, and interprets escapes and $ in double ones.
	exact := quote == '\'' || !strings.ContainsAny(inner, "$\\")
	return name, envValue{value: inner, exact: exact}, true, nil
}

// isEnvNameRune tells the characters compose's dotenv parser allows in a name.
func isEnvNameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || strings.ContainsRune("_.-[]", r)
}
