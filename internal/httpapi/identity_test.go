package httpapi

import (
	"encoding/base32"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/totp"
)

func TestSignupLoginMe(t *testing.T) {
	a := newTestApp(t)
	r := a.do("POST", "/v1/signup", "", map[string]string{
		"email": "Alice@Example.com", "password": testPassword, "displayName": "Alice", "organization": "Acme"})
	if r.Code != http.StatusCreated {
		t.Fatalf("signup: %d %s", r.Code, r.Body)
	}
	var su signupResponse
	r.json(t, &su)
	if su.User.Role != "admin" || su.User.TenantID != su.Tenant.ID || su.Tenant.Name != "Acme" || su.User.MFAEnabled {
		t.Errorf("signup body %+v", su)
	}
	for _, leak := range []string{"argon2", "password", "hash", testPassword} {
		if strings.Contains(strings.ToLower(r.Body.String()), leak) {
			t.Errorf("signup response contains %q: %s", leak, r.Body)
		}
	}

	tok := a.login("alice@example.COM", testPassword) // email is case-insensitive
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 600 || !strings.HasPrefix(tok.RefreshToken, "rt_") || len(tok.RefreshToken) < 46 {
		t.Errorf("token response %+v", tok)
	}
	me := a.do("GET", "/v1/me", tok.AccessToken, nil)
	var user userResponse
	me.json(t, &user)
	if me.Code != 200 || user.ID != su.User.ID || user.Email != "Alice@Example.com" {
		t.Fatalf("me: %d %s", me.Code, me.Body)
	}
	r = a.do("PATCH", "/v1/me", tok.AccessToken, map[string]string{"displayName": "Alice B"})
	if r.Code != 200 || !strings.Contains(r.Body.String(), `"displayName":"Alice B"`) {
		t.Errorf("patch me: %d %s", r.Code, r.Body)
	}
	if r := a.do("PATCH", "/v1/me", tok.AccessToken, map[string]string{"role": "admin"}); r.Code != 422 {
		t.Errorf("patch me with role: %d, want 422 (mass assignment)", r.Code)
	}

	if r := a.do("GET", "/v1/me", "", nil); r.Code != 401 || !strings.HasPrefix(r.Header().Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d %q", r.Code, r.Header().Get("WWW-Authenticate"))
	}
	if r := a.do("GET", "/v1/me?access_token="+tok.AccessToken, "", nil); r.Code != 401 {
		t.Errorf("token in the query string: %d, want 401", r.Code)
	}
}

func TestSignupRules(t *testing.T) {
	a := newTestApp(t)
	a.signup("taken@example.com")
	cases := []struct {
		name, email, password string
		status                int
		problem               string
	}{
		{"email taken in another case", "TAKEN@example.com", testPassword, 409, "email-taken"},
		{"too short", "new1@example.com", "short pass 14c", 422, "validation-failed"},
		{"common", "new2@example.com", "123456789012345", 422, "validation-failed"},
		{"contains the email", "someone.unique@example.com", "someone.unique forever and ever", 422, "validation-failed"},
		{"bad email", "not-an-email", testPassword, 422, "validation-failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("POST", "/v1/signup", "", map[string]string{
				"email": tc.email, "password": tc.password, "displayName": "New", "organization": "New Org"})
			if r.Code != tc.status || r.problemType() != tc.problem {
				t.Fatalf("%d %s", r.Code, r.Body)
			}
			if strings.Contains(r.Body.String(), tc.password) {
				t.Error("the error echoes the password")
			}
		})
	}
	r := a.do("POST", "/v1/signup", "", `{"email":"x@example.com","password":"`+testPassword+`","displayName":"X","organization":"Org","role":"admin","tenantId":"t"}`)
	if r.Code != 422 {
		t.Errorf("mass assignment: %d", r.Code)
	}
}

// stripRequestID removes the only part of a problem body that differs
// between requests.
func stripRequestID(r response) string {
	return strings.Replace(r.Body.String(), r.Header().Get("X-Request-Id"), "", 1)
}

func TestLoginDoesNotRevealAccounts(t *testing.T) {
	a := newTestApp(t)
	a.signup("known@example.com")
	wrong := func() response {
		return a.do("POST", "/v1/auth/login", "", map[string]string{"email": "known@example.com", "password": "wrong password entirely"})
	}
	unknown := func() response {
		return a.do("POST", "/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "wrong password entirely"})
	}
	w, u := wrong(), unknown()
	if w.Code != 401 || u.Code != 401 || stripRequestID(w) != stripRequestID(u) {
		t.Fatalf("wrong password %d %s\nunknown email %d %s", w.Code, w.Body, u.Code, u.Body)
	}
	if w.problemType() != "invalid-credentials" {
		t.Errorf("type %q", w.problemType())
	}
	for _, h := range []string{"Content-Type", "WWW-Authenticate", "Retry-After"} {
		if w.Header().Get(h) != u.Header().Get(h) {
			t.Errorf("header %s differs: %q vs %q", h, w.Header().Get(h), u.Header().Get(h))
		}
	}

	// Timing: an unknown email must cost a full argon2id verification too
	// (the dummy one, with the same parameters). Counted, not timed: a
	// timed comparison fails whenever the machine is busy.
	verifications := func(f func() response) int64 {
		before := a.hasher.verifications.Load()
		f()
		return a.hasher.verifications.Load() - before
	}
	a.clock.Advance(time.Hour) // let any delay pass
	if vw, vu := verifications(wrong), verifications(unknown); vw != 1 || vu != 1 {
		t.Errorf("argon2id verifications: wrong password %d, unknown email %d, want 1 each", vw, vu)
	}
}

func TestLockoutRefusesEvenTheRightPassword(t *testing.T) {
	a := newTestApp(t)
	a.signup("victim@example.com")
	for i := 1; i <= 5; i++ {
		r := a.do("POST", "/v1/auth/login", "", map[string]string{"email": "victim@example.com", "password": "guess number " + string(rune('0'+i))})
		if r.Code != 401 {
			t.Fatalf("guess %d: %d %s", i, r.Code, r.Body)
		}
	}
	r := a.do("POST", "/v1/auth/login", "", map[string]string{"email": "victim@example.com", "password": testPassword})
	if r.Code != 429 || r.Header().Get("Retry-After") != "30" || r.problemType() != "login-throttled" {
		t.Fatalf("right password while locked: %d Retry-After=%q %s", r.Code, r.Header().Get("Retry-After"), r.Body)
	}
	// The same for an account that does not exist: the throttle is no oracle.
	for range 5 {
		a.do("POST", "/v1/auth/login", "", map[string]string{"email": "ghost@example.com", "password": "guess"})
	}
	if r := a.do("POST", "/v1/auth/login", "", map[string]string{"email": "ghost@example.com", "password": "guess"}); r.Code != 429 {
		t.Errorf("unknown account after 5 failures: %d, want 429 like a real one", r.Code)
	}
	a.clock.Advance(30 * time.Second)
	a.login("victim@example.com", testPassword)
}

// TestRefreshRotationAndReuse: by default any reuse of a rotated refresh
// token, even the one just replaced and at once (what a thief replaying a
// stolen token looks like), revokes the whole session (RFC 9700 §4.14.2).
func TestRefreshRotationAndReuse(t *testing.T) {
	withStores(t, testRefreshRotationAndReuse)
}

func testRefreshRotationAndReuse(t *testing.T, cfg appConfig) {
	a := newTestAppWith(t, cfg)
	a.signup("rt@example.com")
	first := a.login("rt@example.com", testPassword)

	refresh := func(rt string) response {
		return a.do("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": rt})
	}
	var second tokenResponse
	r := refresh(first.RefreshToken)
	r.json(t, &second)
	if r.Code != 200 || second.RefreshToken == first.RefreshToken {
		t.Fatalf("first rotation: %d %s", r.Code, r.Body)
	}
	// The token just replaced, presented at once (no clock advance): theft.
	if r := refresh(first.RefreshToken); r.Code != 401 || r.problemType() != "refresh-token-reused" {
		t.Fatalf("reuse of the previous token: %d %s", r.Code, r.Body)
	}
	if r := refresh(second.RefreshToken); r.Code != 401 {
		t.Errorf("the current token survived reuse detection: %d", r.Code)
	}
	if r := a.do("GET", "/v1/me", second.AccessToken, nil); r.Code != 401 {
		t.Errorf("the access token survived reuse detection: %d", r.Code)
	}
	if !strings.Contains(a.auditTypes(t, "rt@example.com"), "session.refresh_reuse") {
		t.Error("no refresh_reuse audit event")
	}
	for _, bad := range []string{"rt_nope", "not-a-token", first.AccessToken} {
		if r := refresh(bad); r.Code != 401 && r.Code != 422 { // 422: an access token is longer than any refresh token
			t.Errorf("refresh with %q: %d", bad[:8], r.Code)
		}
	}
}

// auditTypes lists the audit event types of the tenant of email.
func (a *testApp) auditTypes(t *testing.T, email string) string {
	t.Helper()
	u, err := a.userByEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	events, _, err := a.store.ListAuditEvents(t.Context(), u.TenantID, rampart.AuditFilter{}, rampart.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	return strings.Join(types, ",")
}

func TestLogoutEndsTheAccessTokenAtOnce(t *testing.T) {
	a := newTestApp(t)
	a.signup("bye@example.com")
	tok := a.login("bye@example.com", testPassword)
	if r := a.do("GET", "/v1/me", tok.AccessToken, nil); r.Code != 200 {
		t.Fatal(r.Code)
	}
	if r := a.do("POST", "/v1/auth/logout", tok.AccessToken, nil); r.Code != 204 {
		t.Fatalf("logout: %d %s", r.Code, r.Body)
	}
	r := a.do("GET", "/v1/me", tok.AccessToken, nil)
	if r.Code != 401 || !strings.Contains(r.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("after logout: %d %q", r.Code, r.Header().Get("WWW-Authenticate"))
	}
	if r := a.do("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": tok.RefreshToken}); r.Code != 401 {
		t.Errorf("refresh after logout: %d", r.Code)
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	a := newTestApp(t)
	a.signup("pw@example.com")
	here, there := a.login("pw@example.com", testPassword), a.login("pw@example.com", testPassword)
	const next = "another long unusual passphrase 77"

	r := a.do("POST", "/v1/me/password", here.AccessToken, map[string]string{"currentPassword": "wrong wrong wrong", "newPassword": next})
	if r.Code != 401 {
		t.Fatalf("wrong current password: %d %s", r.Code, r.Body)
	}
	if r := a.do("POST", "/v1/me/password", here.AccessToken, map[string]string{"newPassword": next}); r.Code != 422 {
		t.Errorf("no current password: %d", r.Code)
	}
	if r := a.do("POST", "/v1/me/password", here.AccessToken, map[string]string{"currentPassword": testPassword, "newPassword": next}); r.Code != 204 {
		t.Fatalf("change: %d %s", r.Code, r.Body)
	}
	if r := a.do("GET", "/v1/me", there.AccessToken, nil); r.Code != 401 {
		t.Errorf("other session's access token: %d, want 401", r.Code)
	}
	if r := a.do("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": there.RefreshToken}); r.Code != 401 {
		t.Errorf("other session's refresh token: %d, want 401", r.Code)
	}
	if r := a.do("GET", "/v1/me", here.AccessToken, nil); r.Code != 200 {
		t.Errorf("this session: %d, want 200", r.Code)
	}
	a.login("pw@example.com", next)
	if r := a.do("POST", "/v1/auth/login", "", map[string]string{"email": "pw@example.com", "password": testPassword}); r.Code != 401 {
		t.Errorf("old password still works: %d", r.Code)
	}
}

func TestSessionsListAndRevoke(t *testing.T) {
	a := newTestApp(t)
	a.signup("s@example.com")
	a.signup("other@example.com")
	mine, phone := a.login("s@example.com", testPassword), a.login("s@example.com", testPassword)
	other := a.login("other@example.com", testPassword)

	var list listPage[sessionResponse]
	r := a.do("GET", "/v1/me/sessions?limit=1", mine.AccessToken, nil)
	r.json(t, &list)
	if r.Code != 200 || len(list.Items) != 1 || list.NextCursor == "" {
		t.Fatalf("page 1: %d %s", r.Code, r.Body)
	}
	var page2 listPage[sessionResponse]
	a.do("GET", "/v1/me/sessions?limit=1&cursor="+list.NextCursor, mine.AccessToken, nil).json(t, &page2)
	if len(page2.Items) != 1 || page2.NextCursor != "" || page2.Items[0].ID == list.Items[0].ID {
		t.Fatalf("page 2: %+v", page2)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "limit=1&limit=2", "cursor=" + list.NextCursor[:len(list.NextCursor)-2] + "AA", "sort=id"} {
		if r := a.do("GET", "/v1/me/sessions?"+q, mine.AccessToken, nil); r.Code != 422 {
			t.Errorf("?%s: %d, want 422", q, r.Code)
		}
	}
	// A cursor is bound to the user that listed it.
	if r := a.do("GET", "/v1/me/sessions?cursor="+list.NextCursor, other.AccessToken, nil); r.Code != 422 {
		t.Errorf("another user's cursor: %d, want 422", r.Code)
	}

	all := append(list.Items, page2.Items...)
	var phoneID string
	for _, s := range all {
		if !s.Current {
			phoneID = s.ID
		}
	}
	var otherList listPage[sessionResponse]
	a.do("GET", "/v1/me/sessions", other.AccessToken, nil).json(t, &otherList)
	if r := a.do("DELETE", "/v1/me/sessions/"+otherList.Items[0].ID, mine.AccessToken, nil); r.Code != 404 {
		t.Errorf("revoking another tenant's session: %d, want 404", r.Code)
	}
	if r := a.do("DELETE", "/v1/me/sessions/"+phoneID, mine.AccessToken, nil); r.Code != 204 {
		t.Fatalf("revoke: %d %s", r.Code, r.Body)
	}
	if r := a.do("GET", "/v1/me", phone.AccessToken, nil); r.Code != 401 {
		t.Errorf("revoked session's token: %d", r.Code)
	}
	if r := a.do("GET", "/v1/me", other.AccessToken, nil); r.Code != 200 {
		t.Errorf("the other tenant's session was touched: %d", r.Code)
	}
	if r := a.do("DELETE", "/v1/me/sessions/not-a-uuid'--", mine.AccessToken, nil); r.Code != 404 {
		t.Errorf("garbage id: %d, want 404", r.Code)
	}
}

func TestTOTP(t *testing.T) {
	a := newTestApp(t)
	a.signup("mfa@example.com")
	tok := a.login("mfa@example.com", testPassword)

	var enrol totpEnrolmentResponse
	r := a.do("POST", "/v1/me/mfa/totp", tok.AccessToken, nil)
	r.json(t, &enrol)
	if r.Code != 200 || len(enrol.Secret) < 32 || !strings.HasPrefix(enrol.OtpauthURL, "otpauth://totp/") {
		t.Fatalf("enrol: %d %s", r.Code, r.Body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enrol.Secret)
	if err != nil {
		t.Fatal(err)
	}
	// Not active until confirmed: sign-in still needs no code.
	a.login("mfa@example.com", testPassword)
	if r := a.do("POST", "/v1/me/mfa/totp/confirm", tok.AccessToken, map[string]string{"code": "000000"}); r.Code != 422 {
		t.Fatalf("confirm with a wrong code: %d %s", r.Code, r.Body)
	}
	code := totp.Code(secret, a.clock.Now())
	var rec recoveryCodesResponse
	r = a.do("POST", "/v1/me/mfa/totp/confirm", tok.AccessToken, map[string]string{"code": code})
	r.json(t, &rec)
	if r.Code != 200 || len(rec.RecoveryCodes) != 10 {
		t.Fatalf("confirm: %d %s", r.Code, r.Body)
	}

	login := func(code string) response {
		body := map[string]string{"email": "mfa@example.com", "password": testPassword}
		if code != "" {
			body["totp"] = code
		}
		return a.do("POST", "/v1/auth/login", "", body)
	}
	if r := login(""); r.Code != 401 || r.problemType() != "mfa-required" {
		t.Fatalf("no code: %d %s", r.Code, r.Body)
	}
	if r := login(code); r.Code != 401 || r.problemType() != "invalid-credentials" {
		t.Fatalf("replay of the confirmation code: %d %s", r.Code, r.Body)
	}
	a.clock.Advance(30 * time.Second)
	fresh := totp.Code(secret, a.clock.Now())
	if r := login(fresh); r.Code != 200 {
		t.Fatalf("fresh code: %d %s", r.Code, r.Body)
	}
	if r := login(fresh); r.Code != 401 {
		t.Fatalf("the same code twice: %d", r.Code)
	}
	if r := login(rec.RecoveryCodes[3]); r.Code != 200 {
		t.Fatalf("recovery code: %d %s", r.Code, r.Body)
	}
	if r := login(rec.RecoveryCodes[3]); r.Code != 401 {
		t.Fatalf("recovery code reused: %d", r.Code)
	}
	if r := a.do("GET", "/v1/me", tok.AccessToken, nil); !strings.Contains(r.Body.String(), `"mfaEnabled":true`) || strings.Contains(r.Body.String(), enrol.Secret) {
		t.Errorf("me: %s", r.Body)
	}
	if r := a.do("DELETE", "/v1/me/mfa/totp", tok.AccessToken, map[string]string{"password": testPassword, "code": "123456"}); r.Code != 401 {
		t.Errorf("disable with a wrong code: %d", r.Code)
	}
	a.clock.Advance(30 * time.Second)
	if r := a.do("DELETE", "/v1/me/mfa/totp", tok.AccessToken, map[string]string{"password": testPassword, "code": totp.Code(secret, a.clock.Now())}); r.Code != 204 {
		t.Fatalf("disable: %d %s", r.Code, r.Body)
	}
	if r := login(""); r.Code != 200 {
		t.Errorf("after disable: %d", r.Code)
	}
}

// TestForgedAccessTokensAreRefused sends forgeries through the whole server
// (the token package tests each check in detail): an unsigned token with
// the claims of a real one, a real token with its payload changed, and a
// real token whose signature is cut.
func TestForgedAccessTokensAreRefused(t *testing.T) {
	a := newTestApp(t)
	a.signup("forge@example.com")
	tok := a.login("forge@example.com", testPassword).AccessToken
	parts := strings.Split(tok, ".")
	b64 := base64.RawURLEncoding
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.Replace(string(payload), `"role":"admin"`, `"role":"owner"`, 1)
	forgeries := map[string]string{
		"alg none":          b64.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + ".",
		"payload edited":    parts[0] + "." + b64.EncodeToString([]byte(admin)) + "." + parts[2],
		"signature cut":     parts[0] + "." + parts[1] + "." + parts[2][:10],
		"embedded jwk":      b64.EncodeToString([]byte(`{"alg":"EdDSA","typ":"at+jwt","jwk":{"kty":"OKP"}}`)) + "." + parts[1] + "." + parts[2],
		"not a jwt at all":  "garbage",
		"api key lookalike": "rk_00000000000000000000000000000000_aaaa",
	}
	for name, forged := range forgeries {
		r := a.do("GET", "/v1/me", forged, nil)
		if r.Code != 401 || !strings.HasPrefix(r.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: %d %s", name, r.Code, r.Body)
		}
	}
	if r := a.do("GET", "/v1/me", tok, nil); r.Code != 200 {
		t.Fatalf("the genuine token: %d", r.Code)
	}
}
