// Package devauth is a development token issuer: it signs JWTs with an ES256
// key kept in a local folder and serves the matching JWKS, so that the local
// runner and the tests authenticate exactly like production, against a
// JWKS URL. Never use it as a production identity provider.
package devauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/internal/pemfile"
)

// KeyFile is the signing key's file name inside the issuer's folder.
const KeyFile = "token-signing-key.pem"

// Claims are the identity claims put into a minted token.
type Claims struct {
	Subject     string
	Name        string
	Roles       []auth.Role
	Clinic      string
	RecipientID string
}

// ErasureJob is who the disclosure service's erasure job is in the development stacks
// (the local runner's and compose's): a service subject with the erasure_job role,
// as docs/OPERATIONS.md asks of an identity provider's job token.
func ErasureJob() Claims {
	return Claims{Subject: "service:disclosure-erasure", Name: "Erasure job", Roles: []auth.Role{auth.RoleErasureJob}}
}

// NameRetentionJob is who the history service's job that extends erased owners' names'
// retention, and ends their identity codes' retention, in the owner service is in the
// development stacks: a service subject with the name_retention_job role.
func NameRetentionJob() Claims {
	return Claims{Subject: "service:history-name-retention", Name: "Name retention job", Roles: []auth.Role{auth.RoleNameRetentionJob}}
}

// Issuer mints development tokens and publishes their verification key.
type Issuer struct {
	issuer   string
	audience string
	private  jwk.Key
	jwks     []byte
}

// LoadOrCreate loads the signing key from dir, creating it (0600) on first
// use, and returns an issuer for the given iss and aud values.
func LoadOrCreate(dir, issuer, audience string) (*Issuer, error) {
	if issuer == "" || audience == "" {
		return nil, errors.New("devauth: issuer and audience are required")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create issuer dir: %w", err)
	}
	path := filepath.Join(dir, KeyFile)
	key, err := pemfile.ReadECKey(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
		err = pemfile.WriteECKey(path, key)
	}
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return newIssuer(key, issuer, audience)
}

func newIssuer(key *ecdsa.PrivateKey, issuer, audience string) (*Issuer, error) {
	private, err := jwk.Import(key)
	if err != nil {
		return nil, fmt.Errorf("import signing key: %w", err)
	}
	if err := jwk.AssignKeyID(private); err != nil {
		return nil, fmt.Errorf("assign key id: %w", err)
	}
	if err := private.Set(jwk.AlgorithmKey, jwa.ES256()); err != nil {
		return nil, fmt.Errorf("set key algorithm: %w", err)
	}
	public, err := private.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if err := public.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
		return nil, fmt.Errorf("set key usage: %w", err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(public); err != nil {
		return nil, fmt.Errorf("build JWKS: %w", err)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return &Issuer{issuer: issuer, audience: audience, private: private, jwks: jwks}, nil
}

// Issuer returns the iss value of minted tokens.
func (i *Issuer) Issuer() string { return i.issuer }

// Audience returns the aud value of minted tokens.
func (i *Issuer) Audience() string { return i.audience }

// AuthConfig returns the verifier configuration that accepts this issuer's
// tokens when its JWKSHandler is served at jwksURL.
func (i *Issuer) AuthConfig(jwksURL string) auth.Config {
	return auth.Config{JWKSURL: jwksURL, Issuer: i.issuer, Audience: i.audience}
}

// JWKSHandler serves the public key set as JSON.
func (i *Issuer) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		_, _ = w.Write(i.jwks)
	})
}

// Mint signs a token carrying c, valid from now for ttl.
func (i *Issuer) Mint(c Claims, ttl time.Duration) (string, error) {
	if c.Subject == "" {
		return "", errors.New("devauth: subject is required")
	}
	jti, err := randomID()
	if err != nil {
		return "", err
	}
	roles := make([]string, len(c.Roles))
	for n, r := range c.Roles {
		roles[n] = string(r)
	}
	now := time.Now()
	b := jwt.NewBuilder().
		Issuer(i.issuer).
		Audience([]string{i.audience}).
		Subject(c.Subject).
		JwtID(jti).
		IssuedAt(now).
		NotBefore(now).
		Expiration(now.Add(ttl)).
		Claim("roles", roles)
	for name, v := range map[string]string{"name": c.Name, "clinic": c.Clinic, "recipient_id": c.RecipientID} {
		if v != "" {
			b = b.Claim(name, v)
		}
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("build token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), i.private))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(signed), nil
}

func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	return hex.EncodeToString(b), nil
}
