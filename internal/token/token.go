// Package token issues and verifies access tokens: short-lived JWTs signed
// with Ed25519 (JWS "EdDSA") and typed "at+jwt" (RFC 9068), and publishes
// the verification keys as a JWK Set.
//
// The signing keys live in the store, their private halves sealed under the
// master key. Every replica loads the same keys, so a token issued by one
// replica verifies on all of them, and a key rotated by one replica is picked
// up by the others (see Refresh and Verify).
//
// Verification trusts nothing in the token's header beyond three names: alg
// (must be EdDSA), typ (must be at+jwt) and kid (must name one of our keys).
// A token with any other header parameter (jwk, jku, x5u, x5c, crit, ...) is
// refused, so no key or key location can ever come from the token itself.
package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"example.com/rampart/internal/rampart"
)

const (
	// MaxLifetime caps the lifetime of an access token (baseline JWT-04). A
	// stolen token is usable for at most this long; revocation that must be
	// immediate goes through the session check, not the token.
	MaxLifetime = 15 * time.Minute

	// Leeway is the clock skew Verify tolerates on exp, nbf and iat. Replicas
	// run NTP and are within a second of each other; 30 s covers a badly
	// synced host and stays well inside the baseline's 60 s ceiling (JWT-03).
	Leeway = 30 * time.Second

	// RefreshEvery is how often every replica must call Refresh. A replica
	// that has not seen a rotation yet keeps signing with the retired key for
	// up to this long, so retired keys stay valid for it too (see
	// verifyWindow). Operators are promised that a rotation is in use
	// everywhere within 5 s; the cost is one small query per replica per 5 s.
	RefreshEvery = 5 * time.Second

	// ReloadEvery limits how often Verify reloads the keys from the store
	// because a token names a kid it does not know. A new key published by
	// another replica is found within this time even while forged kids
	// flood in, and the flood costs the store one query per ReloadEvery.
	ReloadEvery = 5 * time.Second

	// verifyWindow is how long a retired key keeps verifying: a token it
	// signed may have been signed up to RefreshEvery after the retirement
	// (by a replica that had not refreshed yet), lives up to MaxLifetime and
	// is accepted for Leeway after it expires. After the window the key is
	// no longer published or trusted, and the next rotation deletes it.
	verifyWindow = RefreshEvery + MaxLifetime + Leeway

	// maxTokenSize bounds the work spent on a token before its signature is
	// checked. Ours are about 500 bytes.
	maxTokenSize = 4096

	algorithm = "EdDSA"  // the only JWS algorithm we sign with or accept
	tokenType = "at+jwt" // RFC 9068 §2.1
	mediaType = "application/at+jwt"
)

// Claims are the claims of an access token that callers use: the domain's
// AccessClaims, so that Manager satisfies rampart.TokenIssuer and the HTTP
// edge's verifier directly. On the wire they are sub, tenant, role, scope
// (space-separated, may be empty), sid, jti, iat, exp and auth_time (RFC
// 9470; absent when AuthTime is zero); the token also
// carries iss and aud, which come from the Config.
type Claims = rampart.AccessClaims

// payload is the JWT claims set as it is encoded. The go-jose JSON decoder
// matches names case-sensitively, so "Sub" is not "sub".
type payload struct {
	Issuer    string           `json:"iss"`
	Audience  jwt.Audience     `json:"aud"`
	Subject   string           `json:"sub"`
	TenantID  string           `json:"tenant"`
	Role      string           `json:"role"`
	Scope     string           `json:"scope,omitempty"`
	SessionID string           `json:"sid"`
	ID        string           `json:"jti"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	AuthTime  *jwt.NumericDate `json:"auth_time,omitempty"`
}

// Config configures a Manager.
type Config struct {
	Issuer   string        // "iss" of every token, e.g. "https://api.example.com"
	Audience string        // "aud" of every token, this API's identifier
	Lifetime time.Duration // of an access token: more than 0 and at most MaxLifetime
	// Now is the clock for key creation, the JWKS window and the reload
	// rate limit; nil means time.Now. Verify takes its time as an argument.
	Now func() time.Time
}

// invalidToken is the one message a client sees for any token that fails
// verification: which check failed is kept in the wrapped cause, for the logs
// only, so that a forger learns nothing from the answer.
const invalidToken = "invalid access token"

// expiredToken is the message for a token that passed every check but its
// expiry: the client should refresh rather than sign in again.
const expiredToken = "the access token expired"

// errExpired is the cause checkClaims gives for a token whose only fault is
// its age. It is checked last, so it is never the answer for a token whose
// signature, key, header, issuer, audience or lifetime is wrong: only a token
// we issued can be told apart as merely expired.
var errExpired = errors.New("expired")

func invalid(cause error) error {
	if errors.Is(cause, errExpired) {
		return &rampart.Error{Kind: rampart.KindUnauthenticated, Code: rampart.CodeTokenExpired, Message: expiredToken, Err: cause}
	}
	return &rampart.Error{Kind: rampart.KindUnauthenticated, Code: rampart.CodeInvalidToken, Message: invalidToken, Err: cause}
}

// Issue signs c with the active key. IssuedAt is required. An empty ID gets a
// random one and a zero Expiry becomes IssuedAt plus the configured lifetime;
// an Expiry beyond that lifetime is refused. Sub, tenant, role and sid are
// required, as Verify requires them.
func (m *Manager) Issue(c Claims) (string, error) {
	set := m.keys.Load()
	if set.signer == nil {
		return "", errors.New("token: no active signing key; Load was not called or failed")
	}
	if c.Subject == "" || c.TenantID == "" || c.Role == "" || c.SessionID == "" {
		return "", errors.New("token: sub, tenant, role and sid are required")
	}
	if c.IssuedAt.IsZero() {
		return "", errors.New("token: IssuedAt is required")
	}
	if c.ID == "" {
		c.ID = rampart.NewID()
	}
	if c.Expiry.IsZero() {
		c.Expiry = c.IssuedAt.Add(m.cfg.Lifetime)
	}
	// Compare what the token will carry: NumericDates are whole seconds.
	iat, exp := c.IssuedAt.Unix(), c.Expiry.Unix()
	if exp <= iat || time.Duration(exp-iat)*time.Second > m.cfg.Lifetime {
		return "", fmt.Errorf("token: lifetime %v is not within (0, %v]", c.Expiry.Sub(c.IssuedAt), m.cfg.Lifetime)
	}
	var authTime *jwt.NumericDate
	if !c.AuthTime.IsZero() {
		authTime = jwt.NewNumericDate(c.AuthTime)
	}
	return jwt.Signed(set.signer).Claims(payload{
		Issuer:    m.cfg.Issuer,
		Audience:  jwt.Audience{m.cfg.Audience},
		Subject:   c.Subject,
		TenantID:  c.TenantID,
		Role:      string(c.Role),
		Scope:     c.Scope,
		SessionID: c.SessionID,
		ID:        c.ID,
		IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
		Expiry:    jwt.NewNumericDate(c.Expiry),
		AuthTime:  authTime,
	}).Serialize()
}

// Verify checks an access token at time now and returns its claims. Every
// failure is a KindUnauthenticated error with the same client message and
// code rampart.CodeInvalidToken, except a token that is valid in every
// respect but its age, which has rampart.CodeTokenExpired; the wrapped cause
// says which check failed and is for the logs only.
//
// A kid that none of our keys has makes Verify reload the keys from the
// store (at most once per ReloadEvery), so that a key just rotated in by
// another replica is found; ctx bounds that reload.
//
// A token verified once is remembered until it expires (see
// verifiedCache): verifying the signature is most of the cost of an
// authenticated request, and a token's verdict cannot change while the keys
// do not. Revocation is not the token's business: the session behind it is
// checked on every request by the caller.
func (m *Manager) Verify(ctx context.Context, token string, now time.Time) (Claims, error) {
	set := m.keys.Load()
	if c, ok := set.verified.get(token, now); ok {
		return c, nil
	}
	c, err := m.verify(ctx, token, now)
	if err != nil {
		return Claims{}, invalid(err)
	}
	set.verified.put(token, c, now)
	return c, nil
}

// maxVerified bounds the verified-token cache: about 1 KiB a token, so a
// few MiB at most.
const maxVerified = 10_000

// verifiedCache maps tokens (the full compact string, so only an identical
// token hits) to their claims.
type verifiedCache struct {
	mu     sync.RWMutex
	claims map[string]Claims
}

// get returns the claims of a token verified before whose lifetime covers
// now, with the same leeway as verification on both ends.
func (v *verifiedCache) get(token string, now time.Time) (Claims, bool) {
	v.mu.RLock()
	c, ok := v.claims[token]
	v.mu.RUnlock()
	if !ok || !now.Before(c.Expiry.Add(Leeway)) || now.Before(c.IssuedAt.Add(-Leeway)) {
		return Claims{}, false
	}
	return c, true
}

// put remembers a verified token. When full it drops expired tokens, and if
// none had expired, everything: the cache is an optimisation, never state.
func (v *verifiedCache) put(token string, c Claims, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.claims == nil {
		v.claims = make(map[string]Claims)
	}
	if len(v.claims) >= maxVerified {
		for t, old := range v.claims {
			if !now.Before(old.Expiry.Add(Leeway)) {
				delete(v.claims, t)
			}
		}
		if len(v.claims) >= maxVerified {
			clear(v.claims)
		}
	}
	v.claims[token] = c
}

func (m *Manager) verify(ctx context.Context, token string, now time.Time) (Claims, error) {
	if len(token) > maxTokenSize {
		return Claims{}, errors.New("token too large")
	}
	// The cheap checks come first, so that a flood of forged tokens costs
	// little: the header, then the key, then the signature.
	kid, err := checkHeader(token)
	if err != nil {
		return Claims{}, err
	}
	key, err := m.verifyKey(ctx, kid)
	if err != nil {
		return Claims{}, err
	}
	if !key.usable(now) {
		return Claims{}, fmt.Errorf("kid %q retired at %v, past its verification window", kid, key.retiredAt)
	}
	// go-jose checks alg against the allowlist too, and refuses JWS JSON
	// serialisation: only the compact form parses.
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return Claims{}, fmt.Errorf("parse: %w", err)
	}
	// The key is an ed25519.PublicKey, never a JWK Set, so go-jose cannot
	// pick a key by itself from anything in the header.
	var p payload
	if err := tok.Claims(key.public, &p); err != nil {
		return Claims{}, fmt.Errorf("signature or claims: %w", err)
	}
	if err := m.checkClaims(&p, now); err != nil {
		return Claims{}, err
	}
	var authTime time.Time
	if p.AuthTime != nil {
		authTime = p.AuthTime.Time().UTC()
	}
	return Claims{
		AuthTime:  authTime,
		Subject:   p.Subject,
		TenantID:  p.TenantID,
		Role:      rampart.Role(p.Role),
		Scope:     p.Scope,
		SessionID: p.SessionID,
		ID:        p.ID,
		IssuedAt:  p.IssuedAt.Time().UTC(),
		Expiry:    p.Expiry.Time().UTC(),
	}, nil
}

// checkHeader reads the protected header and returns its kid. It allows
// exactly the parameters we write: alg, typ and kid. Anything else, and above
// all jwk, jku, x5u, x5c and crit, names keys or rules we never want to take
// from a token (RFC 8725 §3.10, baseline JWT-05), so it is refused rather
// than ignored.
func checkHeader(token string) (string, error) {
	encoded, _, ok := strings.Cut(token, ".")
	if !ok {
		return "", errors.New("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("header: %w", err)
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", fmt.Errorf("header: %w", err)
	}
	for name := range h {
		if name != "alg" && name != "typ" && name != "kid" {
			return "", fmt.Errorf("header parameter %q is not allowed", name)
		}
	}
	alg, err := headerString(h, "alg")
	if err != nil {
		return "", err
	}
	typ, err := headerString(h, "typ")
	if err != nil {
		return "", err
	}
	kid, err := headerString(h, "kid")
	if err != nil {
		return "", err
	}
	// Case-sensitive: "none", "None" and "nOnE" all fail here.
	if alg != algorithm {
		return "", fmt.Errorf("alg %q is not %s", alg, algorithm)
	}
	// RFC 9068 §4 allows both spellings; media types are case-insensitive.
	if !strings.EqualFold(typ, tokenType) && !strings.EqualFold(typ, mediaType) {
		return "", fmt.Errorf("typ %q is not %s", typ, tokenType)
	}
	if kid == "" {
		return "", errors.New("no kid")
	}
	return kid, nil
}

// headerString returns a header parameter that must be a string. A missing
// parameter fails: json.Unmarshal refuses the empty input.
func headerString(h map[string]json.RawMessage, name string) (string, error) {
	var s string
	if err := json.Unmarshal(h[name], &s); err != nil {
		return "", fmt.Errorf("header parameter %q: %w", name, err)
	}
	return s, nil
}

// checkClaims checks the claims of a token whose signature is valid.
func (m *Manager) checkClaims(p *payload, now time.Time) error {
	switch {
	case p.Issuer != m.cfg.Issuer:
		return fmt.Errorf("iss %q is not ours", p.Issuer)
	case !p.Audience.Contains(m.cfg.Audience):
		return fmt.Errorf("aud %q does not contain ours", []string(p.Audience))
	case p.Subject == "":
		return errors.New("claim sub is missing")
	case p.TenantID == "":
		return errors.New("claim tenant is missing")
	case p.Role == "":
		return errors.New("claim role is missing")
	case p.SessionID == "":
		return errors.New("claim sid is missing")
	case p.ID == "":
		return errors.New("claim jti is missing")
	case p.IssuedAt == nil:
		return errors.New("claim iat is missing")
	case p.Expiry == nil:
		return errors.New("claim exp is missing")
	}
	iat, exp := p.IssuedAt.Time(), p.Expiry.Time()
	switch {
	case iat.After(now.Add(Leeway)):
		return fmt.Errorf("iat %v is in the future", iat)
	case p.NotBefore != nil && p.NotBefore.Time().After(now.Add(Leeway)):
		return fmt.Errorf("nbf %v is in the future", p.NotBefore.Time())
	case p.AuthTime != nil && p.AuthTime.Time().After(iat):
		// The password is proved before a token is issued, never after.
		return fmt.Errorf("auth_time %v is after iat", p.AuthTime.Time())
	case !exp.After(iat) || exp.Sub(iat) > MaxLifetime:
		// We never issue such a token; one that verifies means a key leaked
		// or a bug, and either way it must not be honoured.
		return fmt.Errorf("lifetime %v is not within (0, %v]", exp.Sub(iat), MaxLifetime)
	case now.After(exp.Add(Leeway)):
		// Last, so that "expired" (which the client is told) is only ever
		// said of a token that is ours in every other respect.
		return fmt.Errorf("%w at %v", errExpired, exp)
	}
	return nil
}
