package rampart_test

import (
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// An API key authenticates as its tenant with its scopes, and only while it
// is neither revoked nor expired; a key altered by one character, or
// made-up, is refused. Its scopes bound what it may do.
func TestAPIKeyAuthentication(t *testing.T) {
	w := newWorld(t, nil)
	admin := w.signup("keys@example.com")
	_, p := w.login("keys@example.com", testPassword, "")
	create := func(scopes []string, expires time.Time) (*rampart.APIKey, string) {
		k, secret, err := w.res.CreateAPIKey(w.ctx, meta, p, rampart.APIKeyInput{Name: "ci", Scopes: scopes, ExpiresAt: expires})
		if err != nil {
			t.Fatal(err)
		}
		return k, secret
	}
	k, key := create([]string{rampart.ScopeOrdersRead}, time.Time{})
	kp := w.principal(key)
	if kp.TenantID != admin.TenantID || kp.APIKeyID != k.ID || kp.UserID != "" {
		t.Fatalf("principal %+v", kp)
	}
	if err := rampart.Authorize(kp, rampart.ActionOrderRead); err != nil {
		t.Errorf("read with orders:read: %v", err)
	}
	wantCode(t, "create with orders:read", rampart.Authorize(kp, rampart.ActionOrderCreate), rampart.KindForbidden, "")
	wantCode(t, "audit with orders:read", rampart.Authorize(kp, rampart.ActionAuditRead), rampart.KindForbidden, "")

	last := key[len(key)-1:]
	altered := key[:len(key)-1] + map[bool]string{true: "b", false: "a"}[last == "a"]
	_, err := w.auth.Authenticate(w.ctx, altered)
	wantCode(t, "altered key", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)
	_, err = w.auth.Authenticate(w.ctx, rampart.APIKeyPrefix+strings.Repeat("0", 32)+"_"+strings.Repeat("a", 59))
	wantCode(t, "made-up key", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)

	if err := w.res.RevokeAPIKey(w.ctx, meta, p, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = w.auth.Authenticate(w.ctx, key)
	wantCode(t, "revoked key", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)

	_, expiring := create([]string{rampart.ScopeOrdersRead}, w.clock.Now().Add(time.Hour))
	w.principal(expiring)
	w.clock.Advance(time.Hour)
	_, err = w.auth.Authenticate(w.ctx, expiring)
	wantCode(t, "expired key", err, rampart.KindUnauthenticated, rampart.CodeTokenExpired)
}

// Anything that is not an API key is an access token: a forged or
// malformed one is refused, and an expired one says so.
func TestAccessTokenAuthentication(t *testing.T) {
	w := newWorld(t, nil)
	w.signup("tokens@example.com")
	tok, _ := w.login("tokens@example.com", testPassword, "")
	_, err := w.auth.Authenticate(w.ctx, tok.AccessToken+"x")
	wantCode(t, "altered token", err, rampart.KindUnauthenticated, "")
	_, err = w.auth.Authenticate(w.ctx, "not-a-token")
	wantCode(t, "malformed token", err, rampart.KindUnauthenticated, "")
	w.clock.Advance(rampart.DefaultIdentityConfig.AccessTTL + time.Minute)
	_, err = w.auth.Authenticate(w.ctx, tok.AccessToken)
	wantCode(t, "expired token", err, rampart.KindUnauthenticated, rampart.CodeTokenExpired)
}
