package httpapi

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/json/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/totp"
)

// The step-up challenge, exactly as RFC 9470 §3 writes it, for the default
// RAMPART_STEP_UP_MAX_AGE of 10 minutes.
const wantStepUpChallenge = `Bearer error="insufficient_user_authentication", max_age=600`

// authTimeOf returns the auth_time claim of an access token (0 when absent).
func authTimeOf(t *testing.T, access string) int64 {
	t.Helper()
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", access)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.AuthTime
}

// wantStepUp checks that r is the step-up challenge, header and problem.
func wantStepUp(t *testing.T, what string, r response) {
	t.Helper()
	if r.Code != 401 || r.Header().Get("WWW-Authenticate") != wantStepUpChallenge || r.problemType() != "step-up-required" {
		t.Errorf("%s: %d %q %s; want 401 %q /step-up-required", what, r.Code, r.Header().Get("WWW-Authenticate"), r.Body, wantStepUpChallenge)
	}
}

func reauth(a *testApp, access string, body map[string]string) response {
	a.t.Helper()
	return a.do("POST", "/v1/auth/reauthenticate", access, body)
}

// TestStolenTokenCannotTakeOverTheAccount: an access token of a session
// whose password was proved long ago (a thief's, from a refresh an hour
// after sign-in) can read, but cannot enrol a second factor, mint an API
// key or change who is in the tenant. After the owner proves the password
// again, the same session can.
func TestStolenTokenCannotTakeOverTheAccount(t *testing.T) {
	a := newTestApp(t)
	su := a.signup("stepup@example.com")
	first := a.login("stepup@example.com", testPassword)
	signedIn := a.clock.Now().Unix()
	member := a.newUser(su.TenantID, rampart.RoleMember)

	a.clock.Advance(time.Hour)
	var stolen tokenResponse
	r := a.refresh(first.RefreshToken)
	r.json(t, &stolen)
	if r.Code != 200 {
		t.Fatalf("refresh: %d %s", r.Code, r.Body)
	}
	if got := authTimeOf(t, stolen.AccessToken); got != signedIn {
		t.Fatalf("refreshed token auth_time %d, want the sign-in's %d", got, signedIn)
	}

	// Reading and harmless changes still work.
	if r := a.do("GET", "/v1/me", stolen.AccessToken, nil); r.Code != 200 {
		t.Fatalf("GET /v1/me: %d", r.Code)
	}
	if r := a.do("PATCH", "/v1/users/"+member.ID, stolen.AccessToken, map[string]string{"displayName": "Renamed"}); r.Code != 200 {
		t.Errorf("rename: %d %s", r.Code, r.Body)
	}
	if r := a.do("PATCH", "/v1/users/"+member.ID, stolen.AccessToken, map[string]string{"role": "member"}); r.Code != 200 {
		t.Errorf("PATCH with the unchanged role: %d %s", r.Code, r.Body)
	}
	// Everything that would outlast the token is refused.
	wantStepUp(t, "enrol TOTP", a.do("POST", "/v1/me/mfa/totp", stolen.AccessToken, nil))
	wantStepUp(t, "confirm TOTP", a.do("POST", "/v1/me/mfa/totp/confirm", stolen.AccessToken, map[string]string{"code": "123456"}))
	wantStepUp(t, "disable TOTP", a.do("DELETE", "/v1/me/mfa/totp", stolen.AccessToken, map[string]string{"password": "x", "code": "123456"}))
	wantStepUp(t, "create API key", a.do("POST", "/v1/api-keys", stolen.AccessToken,
		map[string]any{"name": "mine now", "scopes": []string{"users:write"}}))
	wantStepUp(t, "add a user", a.do("POST", "/v1/users", stolen.AccessToken, map[string]string{
		"email": "thief@example.com", "displayName": "Thief", "role": "admin"}))
	wantStepUp(t, "promote a member", a.do("PATCH", "/v1/users/"+member.ID, stolen.AccessToken, map[string]string{"role": "admin"}))
	wantStepUp(t, "delete a member", a.do("DELETE", "/v1/users/"+member.ID, stolen.AccessToken, nil))

	u, err := a.userByEmail("stepup@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.MFA.TOTPSecret != nil {
		t.Error("a TOTP secret was stored for the refused enrolment")
	}
	keys, _, err := a.store.ListAPIKeys(t.Context(), su.TenantID, rampart.Page{Limit: 10})
	if err != nil || len(keys) != 0 {
		t.Errorf("API keys after the refused creation: %d, %v", len(keys), err)
	}
	if m := a.mustUser(su.TenantID, member.ID); m == nil || m.Role != rampart.RoleMember {
		t.Errorf("the member was deleted or promoted: %+v", m)
	}

	// A wrong password does not help, and says so plainly.
	if r := reauth(a, stolen.AccessToken, map[string]string{"password": "not the password at all"}); r.Code != 401 || r.problemType() != "invalid-credentials" {
		t.Fatalf("reauthenticate with a wrong password: %d %s", r.Code, r.Body)
	}
	// The owner proves the password: a new pair for the same session.
	_, sessionID := a.currentSession("stepup@example.com", stolen.AccessToken)
	var fresh tokenResponse
	r = reauth(a, stolen.AccessToken, map[string]string{"password": testPassword})
	r.json(t, &fresh)
	if r.Code != 200 || fresh.RefreshToken == "" || fresh.RefreshToken == stolen.RefreshToken {
		t.Fatalf("reauthenticate: %d %s", r.Code, r.Body)
	}
	if got := authTimeOf(t, fresh.AccessToken); got != a.clock.Now().Unix() {
		t.Errorf("reauthenticated token auth_time %d, want now %d", got, a.clock.Now().Unix())
	}
	if _, id := a.currentSession("stepup@example.com", fresh.AccessToken); id != sessionID {
		t.Errorf("reauthenticate started session %s, want the same session %s", id, sessionID)
	}
	if r := a.do("POST", "/v1/me/mfa/totp", fresh.AccessToken, nil); r.Code != 200 {
		t.Errorf("enrol TOTP after reauthenticating: %d %s", r.Code, r.Body)
	}
	if r := a.do("POST", "/v1/api-keys", fresh.AccessToken, map[string]any{"name": "CI", "scopes": []string{"orders:read"}}); r.Code != 201 {
		t.Errorf("create an API key after reauthenticating: %d %s", r.Code, r.Body)
	}
	// The refresh token was rotated: the one from before is spent, and
	// presenting it is a reuse that ends the session.
	if r := a.refresh(stolen.RefreshToken); r.Code != 401 || r.problemType() != "refresh-token-reused" {
		t.Errorf("the refresh token from before reauthenticating: %d %s", r.Code, r.Body)
	}
	if !strings.Contains(a.auditTypes(t, "stepup@example.com"), "session.reauthenticated") {
		t.Error("no session.reauthenticated audit event")
	}
}

// TestRefreshDoesNotRenewAuthTime: a refresh hands on the time of the last
// password proof. Were it renewed, a thief holding a refresh token would
// never face the step-up.
func TestRefreshDoesNotRenewAuthTime(t *testing.T) {
	a := newTestApp(t)
	a.signup("renew@example.com")
	tok := a.login("renew@example.com", testPassword)
	signedIn := a.clock.Now()
	if r := a.do("POST", "/v1/me/mfa/totp", tok.AccessToken, nil); r.Code != 200 {
		t.Fatalf("enrol just after sign-in: %d %s", r.Code, r.Body)
	}
	a.clock.Advance(9 * time.Minute)
	var next tokenResponse
	r := a.refresh(tok.RefreshToken)
	r.json(t, &next)
	if r.Code != 200 || authTimeOf(t, next.AccessToken) != signedIn.Unix() {
		t.Fatalf("refresh: %d, auth_time %d, want %d", r.Code, authTimeOf(t, next.AccessToken), signedIn.Unix())
	}
	// The refreshed token is valid for 10 more minutes; its auth_time is
	// past RAMPART_STEP_UP_MAX_AGE after 1 of them.
	a.clock.Advance(2 * time.Minute)
	if r := a.do("GET", "/v1/me", next.AccessToken, nil); r.Code != 200 {
		t.Fatalf("the refreshed token: %d", r.Code)
	}
	wantStepUp(t, "enrol with a refreshed token", a.do("POST", "/v1/me/mfa/totp", next.AccessToken, nil))
	u, _ := a.currentSession("renew@example.com", next.AccessToken)
	sessions, _, err := a.store.ListActiveSessions(t.Context(), u.TenantID, u.ID, a.clock.Now(), rampart.Page{Limit: 10})
	if err != nil || len(sessions) != 1 || !sessions[0].AuthTime.Equal(rampart.Timestamp(signedIn)) {
		t.Fatalf("stored session auth time: %+v %v, want %v", sessions, err, signedIn)
	}
}

// TestStepUpRefusesAPIKeys: an API key has no person or password behind it,
// so it can never pass a step-up: 403 on every step-up route, whatever its
// scopes, and it cannot reauthenticate.
func TestStepUpRefusesAPIKeys(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	member := a.newUser(tenant, rampart.RoleMember)
	_, key := a.newAPIKey(admin, rampart.Scopes()...)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/users", map[string]string{"email": "k@example.com", "displayName": "Key", "role": "member"}},
		{"DELETE", "/v1/users/" + member.ID, nil},
		{"PATCH", "/v1/users/" + member.ID, map[string]string{"role": "admin"}},
		{"POST", "/v1/auth/reauthenticate", map[string]string{"password": testPassword}},
	} {
		if r := a.do(c.method, c.path, key, c.body); r.Code != 403 {
			t.Errorf("%s %s with an API key: %d %s, want 403", c.method, c.path, r.Code, r.Body)
		}
	}
	if m := a.mustUser(tenant, member.ID); m == nil || m.Role != rampart.RoleMember {
		t.Errorf("the member was deleted or promoted: %+v", m)
	}
}

// TestStepUpRoutes pins the routes marked as step-up in the table to the
// ⚑ routes of api.md (PATCH /v1/users/{id} decides in the service, as only
// a role change needs it).
func TestStepUpRoutes(t *testing.T) {
	var got []string
	for _, rt := range bareRouteTable() {
		if rt.stepUp {
			got = append(got, rt.method+" "+rt.path)
		}
	}
	want := []string{"POST /v1/me/mfa/totp", "POST /v1/me/mfa/totp/confirm", "DELETE /v1/me/mfa/totp",
		"POST /v1/users", "DELETE /v1/users/{id}", "POST /v1/api-keys"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("step-up routes %v, want %v", got, want)
	}
}

// enableTOTP enrols and confirms TOTP with access, and returns the secret.
func (a *testApp) enableTOTP(access string) []byte {
	a.t.Helper()
	var enrol totpEnrolmentResponse
	a.do("POST", "/v1/me/mfa/totp", access, nil).json(a.t, &enrol)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enrol.Secret)
	if err != nil {
		a.t.Fatal(err)
	}
	if r := a.do("POST", "/v1/me/mfa/totp/confirm", access, map[string]string{"code": totp.Code(secret, a.clock.Now())}); r.Code != 200 {
		a.t.Fatalf("confirm: %d %s", r.Code, r.Body)
	}
	return secret
}

// TestReauthenticateWithSecondFactor: an account with TOTP proves both, as
// at sign-in; the code is spent once.
func TestReauthenticateWithSecondFactor(t *testing.T) {
	a := newTestApp(t)
	a.signup("mfa-stepup@example.com")
	tok := a.login("mfa-stepup@example.com", testPassword)
	secret := a.enableTOTP(tok.AccessToken)
	a.clock.Advance(time.Minute)

	if r := reauth(a, tok.AccessToken, map[string]string{"password": testPassword}); r.Code != 401 || r.problemType() != "mfa-required" {
		t.Errorf("without a code: %d %s", r.Code, r.Body)
	}
	if r := reauth(a, tok.AccessToken, map[string]string{"password": testPassword, "totp": "000000"}); r.Code != 401 || r.problemType() != "invalid-credentials" {
		t.Errorf("with a wrong code: %d %s", r.Code, r.Body)
	}
	code := totp.Code(secret, a.clock.Now())
	if r := reauth(a, tok.AccessToken, map[string]string{"password": "wrong password entirely", "totp": code}); r.Code != 401 || r.problemType() != "invalid-credentials" {
		t.Errorf("with a wrong password: %d %s", r.Code, r.Body)
	}
	r := reauth(a, tok.AccessToken, map[string]string{"password": testPassword, "totp": code})
	if r.Code != 200 {
		t.Fatalf("with both: %d %s", r.Code, r.Body)
	}
	if r := reauth(a, tok.AccessToken, map[string]string{"password": testPassword, "totp": code}); r.Code != 401 {
		t.Errorf("the same code again: %d, want 401", r.Code)
	}
}

// TestReauthenticateIsThrottled: guessing the password through
// reauthenticate counts against the same per-account delay as sign-in.
func TestReauthenticateIsThrottled(t *testing.T) {
	a := newTestApp(t)
	a.signup("guess@example.com")
	tok := a.login("guess@example.com", testPassword)
	for range 5 {
		reauth(a, tok.AccessToken, map[string]string{"password": "a wrong guess"})
	}
	r := reauth(a, tok.AccessToken, map[string]string{"password": testPassword})
	if r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") == "" {
		t.Errorf("the right password after 5 wrong guesses: %d, want 429 with Retry-After", r.Code)
	}
	if r := a.do("POST", "/v1/auth/login", "", map[string]string{"email": "guess@example.com", "password": testPassword}); r.Code != http.StatusTooManyRequests {
		t.Errorf("sign-in after 5 wrong reauthentications: %d, want 429", r.Code)
	}
}

// TestRefreshReuseGrace: with RAMPART_REFRESH_REUSE_GRACE set, only the
// immediately previous token, and only within the grace, is spared (401
// without revoking); an older token, or the previous one after the grace,
// still revokes the session.
func TestRefreshReuseGrace(t *testing.T) {
	withStores(t, func(t *testing.T, cfg appConfig) {
		cfg.identity = func(c *rampart.IdentityConfig) { c.RefreshGrace = 5 * time.Second }
		a := newTestAppWith(t, cfg)
		a.signup("grace@example.com")
		refresh := func(rt string) (response, tokenResponse) {
			var out tokenResponse
			r := a.refresh(rt)
			if r.Code == 200 {
				r.json(t, &out)
			}
			return r, out
		}

		first := a.login("grace@example.com", testPassword)
		_, second := refresh(first.RefreshToken)
		if r, _ := refresh(first.RefreshToken); r.Code != 401 || r.problemType() != "invalid-token" {
			t.Fatalf("the previous token within the grace: %d %s, want 401 invalid-token", r.Code, r.Body)
		}
		r, third := refresh(second.RefreshToken)
		if r.Code != 200 {
			t.Fatalf("the session did not survive a racing tab: %d %s", r.Code, r.Body)
		}
		// first is now two generations old: theft, grace or not.
		if r, _ := refresh(first.RefreshToken); r.Code != 401 || r.problemType() != "refresh-token-reused" {
			t.Errorf("a token two generations old: %d %s", r.Code, r.Body)
		}
		if r, _ := refresh(third.RefreshToken); r.Code != 401 {
			t.Errorf("the session survived: %d", r.Code)
		}

		other := a.login("grace@example.com", testPassword)
		_, next := refresh(other.RefreshToken)
		a.clock.Advance(6 * time.Second)
		if r, _ := refresh(other.RefreshToken); r.Code != 401 || r.problemType() != "refresh-token-reused" {
			t.Errorf("the previous token after the grace: %d %s", r.Code, r.Body)
		}
		if r, _ := refresh(next.RefreshToken); r.Code != 401 {
			t.Errorf("the session survived: %d", r.Code)
		}
	})
}

// TestSessionDetails: GET /v1/me/sessions shows what a person needs to tell
// sessions apart — the network (never the full address, and the one the
// edge derived, not a forged X-Forwarded-For), the user agent cut to 200
// characters, when it was created and last obtained tokens, and which one
// is the caller's.
func TestSessionDetails(t *testing.T) {
	withStores(t, func(t *testing.T, cfg appConfig) {
		a := newTestAppWith(t, cfg)
		a.signup("devices@example.com")
		login := func(remote, ua string) tokenResponse {
			req := httptest.NewRequest("POST", "/v1/auth/login", strings.NewReader(`{"email":"devices@example.com","password":"`+testPassword+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", ua)
			req.Header.Set("X-Forwarded-For", "198.51.100.9") // from an untrusted peer: ignored
			req.RemoteAddr = remote
			r := a.serve(req)
			var out tokenResponse
			r.json(t, &out)
			if r.Code != 200 {
				t.Fatalf("login: %d %s", r.Code, r.Body)
			}
			return out
		}
		laptop := login("203.0.113.77:51000", "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
		signedIn := a.clock.Now()
		a.clock.Advance(time.Minute)
		long := "\xff" + strings.Repeat("日", 300)
		phone := login("[2001:db8:abcd:12::1]:443", long)

		list := func(access string) map[string]sessionResponse {
			r := a.do("GET", "/v1/me/sessions", access, nil)
			for _, leak := range []string{"203.0.113.77", "2001:db8:abcd:12", "198.51.100"} {
				if strings.Contains(r.Body.String(), leak) {
					t.Errorf("the sessions list shows %q: %s", leak, r.Body)
				}
			}
			var out listPage[sessionResponse]
			r.json(t, &out)
			byDevice := map[string]sessionResponse{}
			for _, s := range out.Items {
				if strings.HasPrefix(s.UserAgent, "Mozilla") {
					byDevice["laptop"] = s
				} else {
					byDevice["phone"] = s
				}
			}
			return byDevice
		}
		got := list(phone.AccessToken)
		l, p := got["laptop"], got["phone"]
		if l.ClientAddress != "203.0.113.0/24" || l.Current || !l.CreatedAt.Equal(rampart.Timestamp(signedIn)) || !l.LastUsedAt.Equal(l.CreatedAt) {
			t.Errorf("laptop session %+v", l)
		}
		if p.ClientAddress != "2001:db8:abcd::/48" || !p.Current || p.UserAgent != "\uFFFD"+strings.Repeat("日", 199) {
			t.Errorf("phone session %+v", p)
		}

		// Requests do not touch a session; obtaining tokens does.
		a.clock.Advance(time.Minute)
		a.do("GET", "/v1/me", laptop.AccessToken, nil)
		if got := list(laptop.AccessToken)["laptop"]; !got.LastUsedAt.Equal(l.LastUsedAt) || !got.Current {
			t.Errorf("after a request: %+v", got)
		}
		req := httptest.NewRequest("POST", "/v1/auth/refresh", strings.NewReader(`{"refreshToken":"`+laptop.RefreshToken+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/134.0")
		req.RemoteAddr = "192.0.2.200:40000"
		if r := a.serve(req); r.Code != 200 {
			t.Fatalf("refresh: %d %s", r.Code, r.Body)
		}
		after := list(phone.AccessToken)["laptop"]
		if !after.LastUsedAt.Equal(rampart.Timestamp(a.clock.Now())) || after.ClientAddress != "192.0.2.0/24" ||
			!strings.HasSuffix(after.UserAgent, "Firefox/134.0") || !after.CreatedAt.Equal(l.CreatedAt) {
			t.Errorf("after a refresh: %+v", after)
		}
	})
}
