package auth

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/httprc/v3/errsink"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/sync/singleflight"

	"github.com/lillvet/register/services/platform/tlsconf"
)

// Config locates the identity provider's keys and names the expected token
// issuer and audience.
type Config struct {
	JWKSURL  string `env:"AUTH_JWKS_URL"`
	Issuer   string `env:"AUTH_ISSUER" envDefault:"lillvet-dev-issuer"`
	Audience string `env:"AUTH_AUDIENCE" envDefault:"lillvet-register"`
	// CAFile is the trust for an https JWKS URL; empty means system roots.
	CAFile string `env:"AUTH_CA_FILE"`

	// refreshEvery, when set, stands in for minRefreshGap as the background refresh's
	// interval and the gap between forced fetches, so that a test of either need not
	// wait a minute.
	refreshEvery time.Duration
}

// Validate checks that the configuration is complete and that AUTH_CA_FILE, when
// set, holds CA certificates.
func (c Config) Validate() error {
	var errs []error
	if err := checkJWKSURL(c.JWKSURL); err != nil {
		errs = append(errs, err)
	}
	if c.Issuer == "" {
		errs = append(errs, errors.New("AUTH_ISSUER must not be empty"))
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("AUTH_AUDIENCE must not be empty"))
	}
	if c.CAFile != "" {
		if _, err := tlsconf.LoadPool(c.CAFile); err != nil {
			errs = append(errs, fmt.Errorf("AUTH_CA_FILE: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkJWKSURL requires https, since whoever can change the key set in transit
// can sign any token; plain http is allowed for a loopback host only, where the tests
// serve their own keys (the local runner serves its keys over https). The key set is
// public, so the URL needs no credentials, and may hold none: no user name or password,
// and no query, where an access token would go.
func checkJWKSURL(raw string) error {
	if raw == "" {
		return errors.New("AUTH_JWKS_URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("AUTH_JWKS_URL must be an absolute https URL")
	}
	switch {
	case u.User != nil:
		// The URL is logged with every failed fetch: a password in it would be too.
		return errors.New("AUTH_JWKS_URL must not hold a user name or password")
	case u.RawQuery != "":
		// Logged alike.
		return errors.New("AUTH_JWKS_URL must not hold a query: the key set is public and needs no token")
	case !secureEnough(u):
		return errors.New("AUTH_JWKS_URL must be an https URL: plain http is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1)")
	}
	return nil
}

// secureEnough reports whether the key set may be fetched from u: over https, or
// over plain http from a loopback host.
func secureEnough(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return isLoopback(u.Hostname())
	}
	return false
}

// maxRedirects is how many redirects a key set fetch follows, as net/http's default.
const maxRedirects = 10

// checkRedirect holds a redirect of the key set fetch to the rule AUTH_JWKS_URL is
// held to: an https URL redirected to plain http would hand the key set to whoever is
// in the way.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if !secureEnough(req.URL) {
		return errors.New("refused a redirect of the key set fetch to a URL that is not https")
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}

const (
	fetchTimeout     = 10 * time.Second
	clockSkew        = 30 * time.Second
	minRefreshGap    = time.Minute
	maxJWKSBodyBytes = 1 << 20
)

// allowedAlg accepts only asymmetric signature algorithms; anything else
// (none, HMAC) is rejected before any key is looked at.
func allowedAlg(name string) bool {
	switch name {
	case "ES256", "RS256", "EdDSA":
		return true
	default:
		return false
	}
}

// ErrInvalidToken is returned for every token that fails verification; the
// wrapped detail is not for callers, and the log gets only its class (LogRefused).
var ErrInvalidToken = errors.New("invalid token")

// ErrKeysUnavailable is returned, instead of ErrInvalidToken, for a token whose key id
// the verifier does not hold and could not check against the identity provider's key
// set: the call gave up waiting for the key set to be fetched (the error then wraps its
// context's error too), or the fetch failed. The token may be good; the provider was
// slow or unreachable, and the caller is to be told to retry, not that its token is
// bad. It never lets a token in, and costs no more fetches than an unknown key id.
var ErrKeysUnavailable = errors.New("the key set to check the token against could not be fetched")

// errKeySetUnfetched is a forced fetch's failure as the calls that waited for it are
// told: the fetch's own error is logged, and may wrap its own context's error, which
// would read as the call's.
var errKeySetUnfetched = errors.New("the key set could not be fetched")

// The classes of a refused token, the only thing about it that is logged: the
// token, its claims and its header are the caller's (a subject, a name) or may
// hold anything.
const (
	reasonExpired     = "expired"
	reasonNotYetValid = "not_yet_valid"
	reasonAudience    = "audience"
	reasonIssuer      = "issuer"
	reasonUnknownKey  = "unknown_key_id"
	// The call gave up (its deadline passed, its client went away) while the key set
	// was being fetched for its unknown key id: not known to be a bad token, but a slow
	// identity provider, which unknown_key_id would hide (ErrKeysUnavailable).
	reasonRefreshPending = "key_refresh_pending"
	// The key set could not be fetched for the call's unknown key id, or could not the
	// last time within the minimum interval: the provider is unreachable or failing
	// (ErrKeysUnavailable).
	reasonRefreshFailed = "key_refresh_failed"
	reasonSignature     = "signature"
	reasonMalformed     = "malformed"
)

// refusedTokenError is a refused token's error: its kind (ErrInvalidToken or
// ErrKeysUnavailable), the detail, and the class that alone is logged.
type refusedTokenError struct {
	kind   error
	reason string
	err    error
}

// invalid refuses a token that failed verification.
func invalid(reason string, err error) error {
	return &refusedTokenError{kind: ErrInvalidToken, reason: reason, err: err}
}

// unchecked refuses a token whose key id could not be checked for want of the key set.
func unchecked(reason string, err error) error {
	return &refusedTokenError{kind: ErrKeysUnavailable, reason: reason, err: err}
}

func (e *refusedTokenError) Error() string { return e.kind.Error() + ": " + e.err.Error() }

func (e *refusedTokenError) Unwrap() []error { return []error{e.kind, e.err} }

// reasonOf returns the class of a refused token's error; malformed for one not
// classed.
func reasonOf(err error) string {
	if e, ok := errors.AsType[*refusedTokenError](err); ok {
		return e.reason
	}
	return reasonMalformed
}

// parseReason classes the parser's refusal of a token whose header passed.
func parseReason(err error) string {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return reasonExpired
	case errors.Is(err, jwt.TokenNotYetValidError()), errors.Is(err, jwt.InvalidIssuedAtError()):
		return reasonNotYetValid
	case errors.Is(err, jwt.InvalidAudienceError()):
		return reasonAudience
	case errors.Is(err, jwt.InvalidIssuerError()):
		return reasonIssuer
	case errors.Is(err, jws.VerifyError()), errors.Is(err, jws.VerificationError()):
		return reasonSignature
	default:
		return reasonMalformed
	}
}

// Verifier checks bearer tokens against the identity provider's JWKS, which
// it keeps cached and refreshes in the background.
type Verifier struct {
	cfg    Config
	cache  *jwk.Cache
	keys   jwk.Set
	logger *slog.Logger
	// refusals bounds the WARN lines of refused tokens, which a run of forged
	// tokens could otherwise make as fast as it sends them.
	refusals *warnLimit

	// refreshes lets the callers that find an unknown key id while a refresh runs
	// wait for it, instead of being refused before the new keys arrive. It runs
	// one refresh at a time, the only code that touches lastRefresh and
	// lastRefreshFailed.
	refreshes   singleflight.Group
	lastRefresh time.Time
	// lastRefreshFailed tells that the last forced fetch failed: until the next may
	// run, an unknown key id is one that could not be checked.
	lastRefreshFailed bool

	verified verifiedCache
}

// NewVerifier fetches the JWKS once (failing fast when it cannot) and keeps
// refreshing it until ctx is done or Close is called. Refused tokens and failed
// refreshes are logged at WARN to logger.
func NewVerifier(ctx context.Context, cfg Config, logger *slog.Logger) (*Verifier, error) {
	if logger == nil {
		return nil, errors.New("auth: a logger is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := httpClient(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	fetchCtx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	if _, err := jwk.Fetch(fetchCtx, cfg.JWKSURL, jwk.WithHTTPClient(client), jwk.WithMaxFetchBodySize(maxJWKSBodyBytes)); err != nil {
		return nil, fmt.Errorf("fetch JWKS from %s: %s", cfg.JWKSURL, fetchErrorText(err))
	}
	cache, err := jwk.NewCache(ctx, httprc.NewClient(httprc.WithErrorSink(errsink.NewFunc(func(ctx context.Context, err error) {
		logRefreshFailed(ctx, logger, cfg.JWKSURL, err)
	}))))
	if err != nil {
		return nil, fmt.Errorf("start JWKS cache: %w", err)
	}
	if err := cache.Register(fetchCtx, cfg.JWKSURL,
		jwk.WithHTTPClient(client),
		jwk.WithMaxFetchBodySize(maxJWKSBodyBytes),
		jwk.WithMinInterval(cmp.Or(cfg.refreshEvery, minRefreshGap)),
	); err != nil {
		_ = cache.Shutdown(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("register JWKS %s: %w", cfg.JWKSURL, err)
	}
	keys, err := cache.CachedSet(cfg.JWKSURL)
	if err != nil {
		_ = cache.Shutdown(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("cached JWKS %s: %w", cfg.JWKSURL, err)
	}
	return &Verifier{cfg: cfg, cache: cache, keys: keys, logger: logger, refusals: newWarnLimit()}, nil
}

// Close stops the background refresh.
func (v *Verifier) Close(ctx context.Context) error {
	if err := v.cache.Shutdown(ctx); err != nil {
		return fmt.Errorf("stop JWKS cache: %w", err)
	}
	return nil
}

func httpClient(caFile string) (*http.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pool, err := tlsconf.LoadPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("AUTH_CA_FILE: %w", err)
		}
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	return &http.Client{Transport: transport, Timeout: fetchTimeout, CheckRedirect: checkRedirect}, nil
}

// Verify checks the token's signature, algorithm, expiry, issuer and
// audience and returns the identity it carries. Errors wrap ErrInvalidToken, or
// ErrKeysUnavailable for a token whose unknown key id could not be checked.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	if id, ok := v.verified.get(raw, time.Now()); ok {
		return id, nil
	}
	kid, err := checkHeader(raw)
	if err != nil {
		return Identity{}, err
	}
	if _, ok := v.keys.LookupKeyID(kid); !ok {
		if err := v.refreshForUnknownKey(ctx); err != nil {
			return Identity{}, err
		}
		// The parser's error would quote the caller's key id.
		if _, ok := v.keys.LookupKeyID(kid); !ok {
			return Identity{}, invalid(reasonUnknownKey, errors.New("the token's key id is not among the issuer's keys"))
		}
	}
	tok, err := jwt.ParseString(raw,
		jwt.WithKeySet(v.keys, jws.WithInferAlgorithmFromKey(true)),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithAcceptableSkew(clockSkew),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
	)
	if err != nil {
		return Identity{}, invalid(parseReason(err), err)
	}
	id, err := identityOf(tok)
	if err != nil {
		return Identity{}, invalid(reasonMalformed, err)
	}
	id.Token = raw
	if exp, ok := tok.Expiration(); ok {
		v.verified.put(raw, id, exp)
	}
	return id, nil
}

// checkHeader allows only asymmetric algorithms and requires a key id.
func checkHeader(raw string) (string, error) {
	// The header is the caller's and may hold anything, which the parser's errors
	// quote (an unknown algorithm's name): the errors here name no header value.
	msg, err := jws.ParseString(raw)
	if err != nil {
		return "", invalid(reasonMalformed, errors.New("token is not a signed JWS in compact form"))
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return "", invalid(reasonMalformed, errors.New("token must carry exactly one signature"))
	}
	h := sigs[0].ProtectedHeaders()
	alg, ok := h.Algorithm()
	if !ok || !allowedAlg(alg.String()) {
		return "", invalid(reasonSignature, errors.New("signature algorithm is not accepted: ES256, RS256 and EdDSA are"))
	}
	kid, ok := h.KeyID()
	if !ok || kid == "" {
		return "", invalid(reasonMalformed, errors.New("token has no key id"))
	}
	return kid, nil
}

// refreshForUnknownKey fetches the JWKS anew when a token names a key we do
// not know (the provider may have rotated), at most once per minRefreshGap so
// that forged key ids cannot make us hammer the provider; the first time at
// once, as a key rotated in just before the start would otherwise be refused
// for a minute. A caller that comes while a refresh runs waits for it (or for its
// own context: key_refresh_pending) and looks again. When the fetch fails, or the
// last one within the interval did, the key id could not be checked
// (key_refresh_failed) and no more is fetched than for any unknown key id.
func (v *Verifier) refreshForUnknownKey(ctx context.Context) error {
	done := v.refreshes.DoChan("jwks", func() (any, error) {
		// Not the first caller's context: the others wait on this fetch too.
		return nil, v.refresh(context.WithoutCancel(ctx))
	})
	select {
	case r := <-done:
		if r.Err != nil {
			return unchecked(reasonRefreshFailed, r.Err)
		}
		return nil
	case <-ctx.Done():
		return unchecked(reasonRefreshPending, fmt.Errorf("gave up waiting for the key set: %w", ctx.Err()))
	}
}

// refresh fetches the JWKS unless the last forced fetch was less than
// minRefreshGap ago, and then answers as that one did. A failed fetch is logged
// and leaves the cached keys in place.
func (v *Verifier) refresh(ctx context.Context) error {
	if time.Since(v.lastRefresh) >= cmp.Or(v.cfg.refreshEvery, minRefreshGap) {
		v.lastRefresh = time.Now()
		v.lastRefreshFailed = !v.fetch(ctx)
	}
	if v.lastRefreshFailed {
		return errKeySetUnfetched
	}
	return nil
}

// fetch fetches the JWKS into the cache, and reports whether it could.
func (v *Verifier) fetch(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	if _, err := v.cache.Refresh(ctx, v.cfg.JWKSURL); err != nil {
		logRefreshFailed(ctx, v.logger, v.cfg.JWKSURL, err)
		return false
	}
	return true
}

// logRefreshFailed logs a failed fetch of the key set, in the background or for
// an unknown key id: the cached keys stay in use meanwhile.
func logRefreshFailed(ctx context.Context, logger *slog.Logger, url string, err error) {
	logger.WarnContext(ctx, "JWKS refresh failed, the cached keys stay in use",
		slog.String("url", url), slog.String("error", fetchErrorText(err)))
}

// fetchErrorText is a failed fetch's text with the url.Error in it told anew: its URL
// (a redirect's Location, refused or followed) cut to scheme, host and path, and the
// Location header net/http could not parse left out, as either may carry a signature
// or an access token in a query, or a user name and password, which the start error
// and the log would otherwise repeat. The error's own text is replaced whole, since
// net/http quotes the URL (escaping what a search for it would miss).
func fetchErrorText(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err.Error()
	}
	return strings.Replace(err.Error(), ue.Error(), urlErrorText(ue), 1)
}

// urlErrorText is ue's text as fetchErrorText tells it.
func urlErrorText(ue *url.Error) string {
	cut := "(a URL that does not parse)"
	if u, err := url.Parse(ue.URL); err == nil {
		cut = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	}
	inner := "a redirect's Location header that does not parse"
	if !strings.HasPrefix(ue.Err.Error(), "failed to parse Location header") {
		inner = fetchErrorText(ue.Err)
	}
	return ue.Op + " " + strconv.Quote(cut) + ": " + inner
}

// LogRefused logs a token that method refused, by its class alone (err is
// Verify's): expired, not_yet_valid, audience, issuer, unknown_key_id,
// key_refresh_pending, key_refresh_failed, signature or malformed. Past a burst the
// lines are limited to one a second, the next line counting those left out.
func (v *Verifier) LogRefused(ctx context.Context, method string, err error) {
	ok, suppressed := v.refusals.allow(time.Now())
	if !ok {
		return
	}
	attrs := []slog.Attr{slog.String("reason", reasonOf(err)), slog.String("method", method)}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	v.logger.LogAttrs(ctx, slog.LevelWarn, "bearer token refused", attrs...)
}

func identityOf(tok jwt.Token) (Identity, error) {
	var id Identity
	id.Subject, _ = tok.Subject()
	if id.Subject == "" {
		return Identity{}, errors.New("token has no subject")
	}
	id.Name = stringClaim(tok, "name")
	id.Clinic = stringClaim(tok, "clinic")
	id.RecipientID = stringClaim(tok, "recipient_id")
	var roles []any
	if tok.Has("roles") {
		if err := tok.Get("roles", &roles); err != nil {
			return Identity{}, errors.New("roles claim is not a list")
		}
	}
	for _, r := range roles {
		s, ok := r.(string)
		if !ok {
			return Identity{}, errors.New("roles claim holds a non-string")
		}
		// Unknown roles grant nothing, so they are dropped rather than
		// failing the token: a newer provider may know roles we do not.
		if role, err := ParseRole(s); err == nil {
			id.Roles = append(id.Roles, role)
		}
	}
	return id, nil
}

func stringClaim(tok jwt.Token, name string) string {
	var s string
	if err := tok.Get(name, &s); err != nil {
		return ""
	}
	return s
}
