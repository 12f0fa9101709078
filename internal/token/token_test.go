package token

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func TestIssueVerify(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	c := testClaims(now)
	c.AuthTime = now.Add(-7 * time.Minute)
	tok, err := e.m.Issue(c)
	if err != nil {
		t.Fatal(err)
	}

	got, err := e.m.Verify(t.Context(), tok, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == "" {
		t.Error("Issue did not set a jti")
	}
	c.ID, c.Expiry = got.ID, now.Add(testLifetime)
	if got != c {
		t.Errorf("Verify = %+v, want %+v", got, c)
	}

	// The header and claims are exactly what RFC 9068 and the brief name.
	header, claims := decodeParts(t, tok)
	kid, _ := e.activeKey(t)
	if want := map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": kid}; !equalJSON(header, want) {
		t.Errorf("header = %v, want %v", header, want)
	}
	wantClaims := map[string]any{
		"iss": testIssuer, "aud": testAudience, "sub": "user-1", "tenant": "tenant-1",
		"role": "member", "scope": "orders:read orders:write", "sid": "session-1",
		"jti": got.ID, "iat": now.Unix(), "exp": now.Add(testLifetime).Unix(),
		"auth_time": c.AuthTime.Unix(),
	}
	if !equalJSON(claims, wantClaims) {
		t.Errorf("claims = %v, want %v", claims, wantClaims)
	}

	// Two tokens never share a jti.
	if other := issue(t, e.m, now); other == tok {
		t.Error("two tokens are identical")
	}
}

// TestNoAuthTime: a token issued without an AuthTime has no auth_time
// claim, rather than a zero one (TestIssueVerify covers one with it).
func TestNoAuthTime(t *testing.T) {
	e := newEnv(t)
	if _, claims := decodeParts(t, issue(t, e.m, e.clock.Now())); claims["auth_time"] != nil {
		t.Errorf("a token without AuthTime has auth_time %v", claims["auth_time"])
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestIssueRefuses(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	tests := []struct {
		name   string
		change func(*Claims)
	}{
		{"lifetime over 15 min", func(c *Claims) { c.Expiry = now.Add(16 * time.Minute) }},
		{"lifetime over the configured 10 min", func(c *Claims) { c.Expiry = now.Add(testLifetime + time.Second) }},
		{"expiry before issue", func(c *Claims) { c.Expiry = now.Add(-time.Second) }},
		{"expiry at issue", func(c *Claims) { c.Expiry = now }},
		{"no iat", func(c *Claims) { c.IssuedAt = time.Time{} }},
		{"no sub", func(c *Claims) { c.Subject = "" }},
		{"no tenant", func(c *Claims) { c.TenantID = "" }},
		{"no role", func(c *Claims) { c.Role = "" }},
		{"no sid", func(c *Claims) { c.SessionID = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClaims(now)
			tt.change(&c)
			if tok, err := e.m.Issue(c); err == nil {
				t.Errorf("Issue = %q, want an error", tok)
			}
		})
	}

	// The configured lifetime itself is fine.
	c := testClaims(now)
	c.Expiry = now.Add(testLifetime)
	if _, err := e.m.Issue(c); err != nil {
		t.Errorf("Issue with exactly the lifetime: %v", err)
	}
}

func TestNewRefusesLongLifetime(t *testing.T) {
	e := newEnv(t)
	for _, d := range []time.Duration{0, -time.Minute, MaxLifetime + time.Second, time.Hour} {
		if _, err := New(e.store, e.box, Config{Issuer: testIssuer, Audience: testAudience, Lifetime: d}); err == nil {
			t.Errorf("New accepted a lifetime of %v", d)
		}
	}
	if _, err := New(e.store, e.box, Config{Issuer: testIssuer, Audience: testAudience, Lifetime: MaxLifetime}); err != nil {
		t.Errorf("New refused a lifetime of %v: %v", MaxLifetime, err)
	}
}

func TestIssueWithoutLoad(t *testing.T) {
	e := newEnv(t)
	m, err := New(e.store, e.box, Config{Issuer: testIssuer, Audience: testAudience, Lifetime: testLifetime})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Issue(testClaims(e.clock.Now())); err == nil {
		t.Error("Issue before Load succeeded")
	}
}

// TestForgedTokensAccepted checks the forging helpers: a hand-made token
// with our key and good claims verifies, so the attacks below fail for the
// reason they name, not because the helper is broken.
func TestForgedTokensAccepted(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	kid, key := e.activeKey(t)
	tests := []struct {
		name           string
		header, claims map[string]any
	}{
		{"good", goodHeader(kid), goodClaims(now)},
		{"typ application/at+jwt", with(goodHeader(kid), map[string]any{"typ": "application/at+jwt"}), goodClaims(now)},
		{"aud array with ours", goodHeader(kid), with(goodClaims(now), map[string]any{"aud": []string{"other", testAudience}})},
		{"expired within leeway", goodHeader(kid), with(goodClaims(now), map[string]any{
			"iat": now.Add(-10 * time.Minute).Unix(), "exp": now.Add(-Leeway + time.Second).Unix()})},
		{"iat in the future within leeway", goodHeader(kid), with(goodClaims(now), map[string]any{
			"iat": now.Add(Leeway - time.Second).Unix()})},
		{"nbf in the past", goodHeader(kid), with(goodClaims(now), map[string]any{"nbf": now.Unix()})},
		{"lifetime exactly 15 min", goodHeader(kid), with(goodClaims(now), map[string]any{"exp": now.Add(MaxLifetime).Unix()})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := forge(t, tt.header, tt.claims, edSign(key))
			if _, err := e.m.Verify(t.Context(), tok, now); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// TestAttacks shows each known attack on JWTs failing, each with the same
// client-visible error and a logged cause naming the check that caught it.
func TestAttacks(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	kid, key := e.activeKey(t)
	ours := edSign(key)
	_, foreignKey, _ := ed25519.GenerateKey(nil)
	foreign := edSign(foreignKey)
	public := key.Public().(ed25519.PublicKey)

	// A jku or x5u must never be fetched: this server counts the attempts.
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	attackerJWK := map[string]any{
		"kty": "OKP", "crv": "Ed25519", "x": b64(foreignKey.Public().(ed25519.PublicKey)),
	}

	valid := issue(t, e.m, now)
	parts := splitToken(t, valid)

	header := func(changes map[string]any) map[string]any { return with(goodHeader(kid), changes) }
	claims := func(changes map[string]any) map[string]any { return with(goodClaims(now), changes) }

	tests := []struct {
		name   string
		token  string
		reason string // in the logged cause
	}{
		// Algorithm: only EdDSA, compared case-sensitively (JWT-01).
		{"alg none", forge(t, header(map[string]any{"alg": "none"}), goodClaims(now), noSignature), `alg "none"`},
		{"alg None", forge(t, header(map[string]any{"alg": "None"}), goodClaims(now), noSignature), `alg "None"`},
		{"alg nOnE", forge(t, header(map[string]any{"alg": "nOnE"}), goodClaims(now), noSignature), `alg "nOnE"`},
		{"alg none, no typ or kid", forge(t, map[string]any{"alg": "none"}, goodClaims(now), noSignature), "typ"},
		{"alg none, signed", forge(t, header(map[string]any{"alg": "none"}), goodClaims(now), ours), `alg "none"`},
		{"alg eddsa", forge(t, header(map[string]any{"alg": "eddsa"}), goodClaims(now), ours), `alg "eddsa"`},
		{"alg Ed25519", forge(t, header(map[string]any{"alg": "Ed25519"}), goodClaims(now), ours), `alg "Ed25519"`},
		{"alg missing", forge(t, header(map[string]any{"alg": nil}), goodClaims(now), ours), `"alg"`},
		{"HS256 with the public key as secret", forge(t, header(map[string]any{"alg": "HS256"}), goodClaims(now), hmacSign(public)), `alg "HS256"`},
		{"HS256 with the public JWK's x as secret", forge(t, header(map[string]any{"alg": "HS256"}), goodClaims(now), hmacSign([]byte(b64(public)))), `alg "HS256"`},
		{"ES256", forge(t, header(map[string]any{"alg": "ES256"}), goodClaims(now), foreign), `alg "ES256"`},

		// Keys: only ours, chosen by kid (JWT-05).
		{"foreign key with our kid", forge(t, goodHeader(kid), goodClaims(now), foreign), "signature"},
		{"foreign kid", forge(t, goodHeader("attacker-key"), goodClaims(now), foreign), `unknown kid "attacker-key"`},
		{"kid path traversal", forge(t, goodHeader("../../dev/null"), goodClaims(now), foreign), "unknown kid"},
		{"kid SQL", forge(t, goodHeader("' OR '1'='1"), goodClaims(now), foreign), "unknown kid"},
		{"no kid", forge(t, header(map[string]any{"kid": nil}), goodClaims(now), ours), `"kid"`},
		{"empty kid", forge(t, header(map[string]any{"kid": ""}), goodClaims(now), ours), "no kid"},
		{"kid not a string", forge(t, header(map[string]any{"kid": 1}), goodClaims(now), ours), `"kid"`},
		{"embedded jwk, attacker key", forge(t, header(map[string]any{"jwk": attackerJWK}), goodClaims(now), foreign), `"jwk" is not allowed`},
		{"embedded jwk, no kid", forge(t, map[string]any{"alg": "EdDSA", "typ": "at+jwt", "jwk": attackerJWK}, goodClaims(now), foreign), `"jwk" is not allowed`},
		// Signed with our key: the header parameter alone is refused.
		{"embedded jwk, our signature", forge(t, header(map[string]any{"jwk": attackerJWK}), goodClaims(now), ours), `"jwk" is not allowed`},
		{"jku", forge(t, header(map[string]any{"jku": srv.URL + "/jwks.json"}), goodClaims(now), ours), `"jku" is not allowed`},
		{"jku with foreign kid", forge(t, header(map[string]any{"jku": srv.URL + "/jwks.json", "kid": "attacker-key"}), goodClaims(now), foreign), `"jku" is not allowed`},
		{"x5u", forge(t, header(map[string]any{"x5u": srv.URL + "/cert.pem"}), goodClaims(now), ours), `"x5u" is not allowed`},
		{"x5c", forge(t, header(map[string]any{"x5c": []string{"MIIBfake"}}), goodClaims(now), ours), `"x5c" is not allowed`},
		{"crit", forge(t, header(map[string]any{"crit": []string{"exp"}, "exp": 1}), goodClaims(now), ours), "is not allowed"},
		{"b64", forge(t, header(map[string]any{"b64": false, "crit": []string{"b64"}}), goodClaims(now), ours), "is not allowed"},
		{"cty JWT (nested)", forge(t, header(map[string]any{"cty": "JWT"}), goodClaims(now), ours), `"cty" is not allowed`},

		// Explicit typing (JWT-02).
		{"typ JWT", forge(t, header(map[string]any{"typ": "JWT"}), goodClaims(now), ours), `typ "JWT"`},
		{"typ of another token kind", forge(t, header(map[string]any{"typ": "mfa+jwt"}), goodClaims(now), ours), `typ "mfa+jwt"`},
		{"typ missing", forge(t, header(map[string]any{"typ": nil}), goodClaims(now), ours), `"typ"`},

		// Claims (JWT-03, JWT-04).
		{"wrong issuer", forge(t, goodHeader(kid), claims(map[string]any{"iss": "https://evil.test"}), ours), "iss"},
		{"issuer differs in case", forge(t, goodHeader(kid), claims(map[string]any{"iss": strings.ToUpper(testIssuer)}), ours), "iss"},
		{"wrong audience", forge(t, goodHeader(kid), claims(map[string]any{"aud": "other-api"}), ours), "aud"},
		{"auth_time after iat", forge(t, goodHeader(kid), claims(map[string]any{"auth_time": now.Unix() + 60}), ours), "auth_time"},
		{"audience array without ours", forge(t, goodHeader(kid), claims(map[string]any{"aud": []string{"a", "b"}}), ours), "aud"},
		{"expired", forge(t, goodHeader(kid), claims(map[string]any{
			"iat": now.Add(-10 * time.Minute).Unix(), "exp": now.Add(-Leeway - time.Second).Unix()}), ours), "expired"},
		{"expired 61 s ago", forge(t, goodHeader(kid), claims(map[string]any{
			"iat": now.Add(-10 * time.Minute).Unix(), "exp": now.Add(-61 * time.Second).Unix()}), ours), "expired"},
		{"iat far in the future", forge(t, goodHeader(kid), claims(map[string]any{
			"iat": now.Add(time.Hour).Unix(), "exp": now.Add(time.Hour + 5*time.Minute).Unix()}), ours), "future"},
		{"iat just past the leeway", forge(t, goodHeader(kid), claims(map[string]any{
			"iat": now.Add(Leeway + time.Second).Unix()}), ours), "future"},
		{"nbf in the future", forge(t, goodHeader(kid), claims(map[string]any{"nbf": now.Add(time.Minute).Unix()}), ours), "nbf"},
		{"lifetime over 15 min", forge(t, goodHeader(kid), claims(map[string]any{"exp": now.Add(MaxLifetime + time.Second).Unix()}), ours), "lifetime"},
		{"exp before iat", forge(t, goodHeader(kid), claims(map[string]any{"iat": now.Unix(), "exp": now.Add(-time.Second).Unix()}), ours), "lifetime"},
		// Expired as well as wrong: only a token that is ours in every other
		// respect may be called expired, so these are all invalid-token.
		{"expired, foreign key with our kid", forge(t, goodHeader(kid), claims(map[string]any{
			"iat": now.Add(-10 * time.Minute).Unix(), "exp": now.Add(-time.Hour).Unix()}), foreign), "signature"},
		{"expired, alg none", forge(t, header(map[string]any{"alg": "none"}), claims(map[string]any{
			"iat": now.Add(-10 * time.Minute).Unix(), "exp": now.Add(-time.Hour).Unix()}), noSignature), `alg "none"`},
		{"expired, wrong issuer", forge(t, goodHeader(kid), claims(map[string]any{"iss": "https://evil.test",
			"iat": now.Add(-70 * time.Minute).Unix(), "exp": now.Add(-time.Hour).Unix()}), ours), "iss"},
		{"expired, wrong audience", forge(t, goodHeader(kid), claims(map[string]any{"aud": "other-api",
			"iat": now.Add(-70 * time.Minute).Unix(), "exp": now.Add(-time.Hour).Unix()}), ours), "aud"},
		{"expired, lifetime over 15 min", forge(t, goodHeader(kid), claims(map[string]any{
			"iat": now.Add(-3 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()}), ours), "lifetime"},
		{"expired, sid missing", forge(t, goodHeader(kid), claims(map[string]any{"sid": nil,
			"iat": now.Add(-70 * time.Minute).Unix(), "exp": now.Add(-time.Hour).Unix()}), ours), "claim sid is missing"},
		{"exp not a number", forge(t, goodHeader(kid), claims(map[string]any{"exp": "tomorrow"}), ours), "claims"},
		{"claim name in another case", forge(t, goodHeader(kid), claims(map[string]any{"sub": nil, "Sub": "user-1"}), ours), "claim sub is missing"},

		// Tampering: the signature covers header and payload.
		{"payload tampered", parts[0] + "." + b64(mustJSON(t, with(decodedClaims(t, valid), map[string]any{"role": "admin"}))) + "." + parts[2], "signature"},
		{"tenant tampered", parts[0] + "." + b64(mustJSON(t, with(decodedClaims(t, valid), map[string]any{"tenant": "tenant-2"}))) + "." + parts[2], "signature"},
		{"header tampered", b64(mustJSON(t, header(map[string]any{"typ": "application/at+jwt"}))) + "." + parts[1] + "." + parts[2], "signature"},
		{"signature truncated", valid[:len(valid)-4], "signature"},
		{"signature missing", parts[0] + "." + parts[1] + ".", "signature"},
		{"signature of another token", parts[0] + "." + parts[1] + "." + splitToken(t, issue(t, e.m, now))[2], "signature"},

		// Malformed input.
		{"empty", "", "not a compact JWS"},
		{"garbage", "not a token", "not a compact JWS"},
		{"two parts", parts[0] + "." + parts[1], "parse"},
		{"four parts", valid + ".x", "parse"},
		{"header not base64", "!!!." + parts[1] + "." + parts[2], "header"},
		{"header not JSON", b64([]byte("[1,2]")) + "." + parts[1] + "." + parts[2], "header"},
		{"JWS JSON serialisation", string(mustJSON(t, map[string]any{"protected": parts[0], "payload": parts[1], "signature": parts[2]})), "compact"},
		{"too large", forge(t, goodHeader(kid), claims(map[string]any{"pad": strings.Repeat("x", maxTokenSize)}), ours), "too large"},
	}

	// Each required claim, missing.
	for _, name := range []string{"iss", "aud", "sub", "tenant", "role", "sid", "jti", "iat", "exp"} {
		tests = append(tests, struct{ name, token, reason string }{
			"missing " + name, forge(t, goodHeader(kid), claims(map[string]any{name: nil}), ours), missing(name),
		})
		if name != "iat" && name != "exp" {
			tests = append(tests, struct{ name, token, reason string }{
				"empty " + name, forge(t, goodHeader(kid), claims(map[string]any{name: ""}), ours), missing(name),
			})
		}
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.m.Verify(t.Context(), tt.token, now)
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", c)
			}
			if c != (Claims{}) {
				t.Errorf("Verify returned claims with the error: %+v", c)
			}
			// The client sees the same kind, code and message for every
			// failure, except a token of ours whose only fault is its age.
			wantCode, wantMsg := rampart.CodeInvalidToken, invalidToken
			if tt.reason == "expired" {
				wantCode, wantMsg = rampart.CodeTokenExpired, expiredToken
			}
			if e := rampart.ErrorOf(err); e == nil || e.Kind != rampart.KindUnauthenticated || e.Code != wantCode || e.Message != wantMsg {
				t.Errorf("err = %v (%+v), want %v %q %q", err, e, rampart.KindUnauthenticated, wantCode, wantMsg)
			}
			// The logs see which check failed.
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %v, want the cause to mention %q", err, tt.reason)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the jku/x5u server got %d requests, want 0", n)
	}
	// The valid token still verifies: nothing above broke the manager.
	if _, err := e.m.Verify(t.Context(), valid, now); err != nil {
		t.Errorf("Verify(valid): %v", err)
	}
}

// missing is the logged cause for a missing claim: iss and aud fail their
// comparison with ours rather than a presence check.
func missing(name string) string {
	switch name {
	case "iss":
		return `iss "" is not ours`
	case "aud":
		return "does not contain ours"
	}
	return "claim " + name + " is missing"
}

func decodedClaims(t *testing.T, token string) map[string]any {
	_, c := decodeParts(t, token)
	return c
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExpiry follows one token through its life with a moving clock.
func TestExpiry(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	tok := issue(t, e.m, now)
	for _, tt := range []struct {
		at time.Duration
		ok bool
	}{
		{-Leeway, true}, // a verifier whose clock is behind
		{-Leeway - time.Second, false},
		{0, true},
		{testLifetime, true},
		{testLifetime + Leeway, true},
		{testLifetime + Leeway + time.Second, false},
		{24 * time.Hour, false},
	} {
		_, err := e.m.Verify(context.Background(), tok, now.Add(tt.at))
		if (err == nil) != tt.ok {
			t.Errorf("Verify at iat%+v: err = %v, want ok = %v", tt.at, err, tt.ok)
		}
		// Past its end the token is reported as expired (refresh it); before
		// its start it is simply not valid.
		wantCode := rampart.CodeInvalidToken
		if tt.at > 0 {
			wantCode = rampart.CodeTokenExpired
		}
		if e := rampart.ErrorOf(err); err != nil && (e == nil || e.Code != wantCode) {
			t.Errorf("Verify at iat%+v: err = %v, want code %s", tt.at, err, wantCode)
		}
	}
}
