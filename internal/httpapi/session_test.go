package httpapi

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/token"
	"example.com/rampart/internal/totp"
)

// accessFor issues an access token, at the test clock's now, for an
// existing session of u, as Login or Refresh would. Unlike a refresh it
// leaves the session's idle deadline alone.
func (a *testApp) accessFor(u *rampart.User, sessionID string) string {
	a.t.Helper()
	tok, err := a.tokens.Issue(rampart.AccessClaims{Subject: u.ID, TenantID: u.TenantID, Role: u.Role,
		SessionID: sessionID, ID: rampart.NewID(), IssuedAt: a.clock.Now()})
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

// currentSession returns the user and the id of the session that access
// belongs to.
func (a *testApp) currentSession(email, access string) (*rampart.User, string) {
	a.t.Helper()
	u, err := a.userByEmail(email)
	if err != nil {
		a.t.Fatal(err)
	}
	var list listPage[sessionResponse]
	r := a.do("GET", "/v1/me/sessions", access, nil)
	r.json(a.t, &list)
	for _, s := range list.Items {
		if s.Current {
			return u, s.ID
		}
	}
	a.t.Fatalf("no current session: %d %s", r.Code, r.Body)
	return nil, ""
}

func (a *testApp) refresh(rt string) response {
	a.t.Helper()
	return a.do("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": rt})
}

// TestAccessTokenExpiresOnTheServerClock: the edge checks an access token's
// expiry against the clock the identity service runs on (here the test
// clock), not the wall clock. Against the wall clock the token below would
// still be fresh.
func TestAccessTokenExpiresOnTheServerClock(t *testing.T) {
	a := newTestApp(t)
	a.signup("ttl@example.com")
	tok := a.login("ttl@example.com", testPassword)
	ttl := rampart.DefaultIdentityConfig.AccessTTL

	a.clock.Advance(ttl - time.Second)
	if r := a.do("GET", "/v1/me", tok.AccessToken, nil); r.Code != 200 {
		t.Fatalf("within its lifetime: %d %s", r.Code, r.Body)
	}
	a.clock.Advance(token.Leeway + 2*time.Second)
	r := a.do("GET", "/v1/me", tok.AccessToken, nil)
	if r.Code != 401 || !strings.Contains(r.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("past its lifetime and the leeway: %d %q %s", r.Code, r.Header().Get("WWW-Authenticate"), r.Body)
	}
	// Only the access token expired: the session lives on.
	var next tokenResponse
	r = a.refresh(tok.RefreshToken)
	r.json(t, &next)
	if r.Code != 200 {
		t.Fatalf("refresh: %d %s", r.Code, r.Body)
	}
	if r := a.do("GET", "/v1/me", next.AccessToken, nil); r.Code != 200 {
		t.Errorf("the refreshed access token: %d", r.Code)
	}
}

// TestSessionIdleExpiry: a session not used for SessionIdle ends — its
// refresh token and its still-valid access tokens are refused — while a
// session that is refreshed within the window lives past the first
// deadline.
func TestSessionIdleExpiry(t *testing.T) {
	a := newTestApp(t)
	a.signup("idle@example.com")
	idle := rampart.DefaultIdentityConfig.SessionIdle
	unused := a.login("idle@example.com", testPassword)
	used := a.login("idle@example.com", testPassword)
	user, unusedID := a.currentSession("idle@example.com", unused.AccessToken)

	a.clock.Advance(idle - time.Minute)
	if r := a.do("GET", "/v1/me", a.accessFor(user, unusedID), nil); r.Code != 200 {
		t.Fatalf("just before the idle deadline: %d %s", r.Code, r.Body)
	}
	r := a.refresh(used.RefreshToken)
	r.json(t, &used)
	if r.Code != 200 {
		t.Fatalf("refresh within the idle window: %d %s", r.Code, r.Body)
	}

	access := a.accessFor(user, unusedID) // valid for AccessTTL from now
	a.clock.Advance(2 * time.Minute)
	r = a.do("GET", "/v1/me", access, nil)
	if r.Code != 401 || r.problemType() != "invalid-token" {
		t.Errorf("access token of an idle-expired session: %d %s", r.Code, r.Body)
	}
	if r := a.refresh(unused.RefreshToken); r.Code != 401 || r.problemType() != "invalid-token" {
		t.Errorf("refresh after SessionIdle: %d %s, want 401 invalid-token", r.Code, r.Body)
	}

	// The refreshed session's window restarted at its refresh.
	if r := a.refresh(used.RefreshToken); r.Code != 200 {
		t.Errorf("refresh of the session used within its window: %d %s", r.Code, r.Body)
	}
}

// TestSessionAbsoluteExpiry: however often a session is refreshed, it ends
// SessionMax after sign-in, and a refresh never moves its idle deadline
// past that end.
func TestSessionAbsoluteExpiry(t *testing.T) {
	a := newTestApp(t)
	a.signup("max@example.com")
	cfg := rampart.DefaultIdentityConfig
	start := a.clock.Now()
	tok := a.login("max@example.com", testPassword)
	user, id := a.currentSession("max@example.com", tok.AccessToken)
	first, err := a.store.GetSession(t.Context(), user.TenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	end := first.ExpiresAt // as stored (the store keeps microseconds)
	if d := end.Sub(start.Add(cfg.SessionMax)).Abs(); d > time.Millisecond {
		t.Fatalf("the session ends at %v, want SessionMax after sign-in", end)
	}

	step := cfg.SessionIdle - time.Hour
	refreshed := 0
	for a.clock.Now().Add(step).Before(end) {
		a.clock.Advance(step)
		r := a.refresh(tok.RefreshToken)
		r.json(t, &tok)
		if r.Code != 200 {
			t.Fatalf("refresh %d at %v: %d %s", refreshed+1, a.clock.Now().Sub(start), r.Code, r.Body)
		}
		refreshed++
		sess, err := a.store.GetSession(t.Context(), user.TenantID, id)
		if err != nil {
			t.Fatal(err)
		}
		if !sess.ExpiresAt.Equal(end) {
			t.Fatalf("a refresh moved the session's end: %v, want %v", sess.ExpiresAt, end)
		}
		want := a.clock.Now().Add(cfg.SessionIdle)
		if want.After(end) {
			want = end
		}
		if sess.IdleExpiresAt.Sub(want).Abs() > time.Millisecond || sess.IdleExpiresAt.After(end) {
			t.Fatalf("idle deadline after refresh %d: %v, want %v (capped at the end)", refreshed, sess.IdleExpiresAt, want)
		}
	}
	if sess, _ := a.store.GetSession(t.Context(), user.TenantID, id); !sess.IdleExpiresAt.Equal(end) {
		t.Fatalf("the last refresh should have capped the idle deadline at the end: %v, want %v", sess.IdleExpiresAt, end)
	}

	// A minute before the end the session still works and refreshes.
	a.clock.Advance(end.Sub(a.clock.Now()) - time.Minute)
	r := a.refresh(tok.RefreshToken)
	r.json(t, &tok)
	if r.Code != 200 {
		t.Fatalf("refresh a minute before the end: %d %s", r.Code, r.Body)
	}
	a.clock.Advance(2 * time.Minute) // the access token is two minutes old
	if r := a.do("GET", "/v1/me", tok.AccessToken, nil); r.Code != 401 {
		t.Errorf("access token after SessionMax: %d, want 401", r.Code)
	}
	if r := a.refresh(tok.RefreshToken); r.Code != 401 || r.problemType() != "invalid-token" {
		t.Errorf("refresh after SessionMax: %d %s, want 401 invalid-token", r.Code, r.Body)
	}
}

// TestSessionEndIsCheckedApartFromTheIdleDeadline: a session whose idle
// deadline lies past its end (as one stored before the cap existed could)
// still ends at its end.
func TestSessionEndIsCheckedApartFromTheIdleDeadline(t *testing.T) {
	a := newTestApp(t)
	tenantID, _ := a.newTenant()
	u := a.newUser(tenantID, rampart.RoleMember)
	id, _, refresh := a.newSession(u)
	now := a.clock.Now()
	if _, err := a.store.UpdateSession(t.Context(), tenantID, id, func(s *rampart.Session) error {
		s.IdleExpiresAt, s.ExpiresAt = now.Add(7*24*time.Hour), now.Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a.clock.Advance(time.Hour - time.Minute)
	access := a.accessFor(u, id)
	if r := a.do("GET", "/v1/me", access, nil); r.Code != 200 {
		t.Fatalf("before the end: %d %s", r.Code, r.Body)
	}
	a.clock.Advance(2 * time.Minute)
	if r := a.do("GET", "/v1/me", access, nil); r.Code != 401 {
		t.Errorf("access token after the end: %d, want 401", r.Code)
	}
	if r := a.refresh(refresh); r.Code != 401 {
		t.Errorf("refresh after the end: %d, want 401", r.Code)
	}
}

// TestTokenForAnotherUsersSessionIsRefused: a validly signed access token
// whose subject is not the user of the session it names is refused — else
// a token naming any live session of the tenant would act as whoever its
// subject says.
func TestTokenForAnotherUsersSessionIsRefused(t *testing.T) {
	a := newTestApp(t)
	tenantID, admin := a.newTenant()
	member := a.newUser(tenantID, rampart.RoleMember)
	memberSession, _, _ := a.newSession(member)

	if r := a.do("GET", "/v1/me", a.accessFor(member, memberSession), nil); r.Code != 200 {
		t.Fatalf("the member's own token: %d %s", r.Code, r.Body)
	}
	forged := a.accessFor(admin, memberSession) // the admin as subject, the member's session
	for _, path := range []string{"/v1/me", "/v1/users"} {
		r := a.do("GET", path, forged, nil)
		if r.Code != 401 || !strings.Contains(r.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("GET %s with another user's session: %d %s, want 401", path, r.Code, r.Body)
		}
	}
}

// countingVerifier counts the access tokens that reach verification.
type countingVerifier struct {
	rampart.TokenVerifier
	calls int
}

func (c *countingVerifier) Verify(ctx context.Context, tok string, now time.Time) (rampart.AccessClaims, error) {
	c.calls++
	return c.TokenVerifier.Verify(ctx, tok, now)
}

// TestOversizedBearerIsRefusedAtTheEdge: a credential over 4096 bytes is
// answered 401 without being handed to verification; one of 4096 is.
func TestOversizedBearerIsRefusedAtTheEdge(t *testing.T) {
	a := newTestApp(t)
	counting := &countingVerifier{TokenVerifier: a.tokens}
	h, err := NewServer(Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: a.store, Services: a.rebuild(func(d *rampart.Deps) { d.Verifier = counting }),
		Tokens: a.tokens, CursorKey: make([]byte, 32), Registry: prometheus.NewRegistry(), MaxBodyBytes: 100 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.handler = h
	for _, n := range []int{4096, 4097, 64 << 10} {
		counting.calls = 0
		r := a.do("GET", "/v1/me", strings.Repeat("x", n), nil)
		if r.Code != 401 || r.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%d-byte credential: %d %q", n, r.Code, r.Header().Get("WWW-Authenticate"))
		}
		want := 0 // refused by the edge
		if n <= 4096 {
			want = 1 // handed to verification, which refuses it
		}
		if counting.calls != want {
			t.Errorf("%d-byte credential: verified %d times, want %d", n, counting.calls, want)
		}
	}
}

// TestPasswordChangeSharesTheLockout mirrors
// TestLockoutRefusesEvenTheRightPassword for the re-authentication of a
// password change: wrong current passwords count as failed sign-ins, and
// while the account is throttled even the right one is refused, here and
// at sign-in.
func TestPasswordChangeSharesTheLockout(t *testing.T) {
	a := newTestApp(t)
	a.signup("reauth@example.com")
	tok := a.login("reauth@example.com", testPassword)
	const next = "another long unusual passphrase 77"
	change := func(current string) response {
		return a.do("POST", "/v1/me/password", tok.AccessToken, map[string]string{"currentPassword": current, "newPassword": next})
	}
	for i := 1; i <= 5; i++ {
		if r := change("guess number " + string(rune('0'+i))); r.Code != 401 {
			t.Fatalf("guess %d: %d %s", i, r.Code, r.Body)
		}
	}
	r := change(testPassword)
	if r.Code != 429 || r.Header().Get("Retry-After") != "30" || r.problemType() != "login-throttled" {
		t.Fatalf("right current password while locked: %d Retry-After=%q %s", r.Code, r.Header().Get("Retry-After"), r.Body)
	}
	if r := a.do("POST", "/v1/auth/login", "", map[string]string{"email": "reauth@example.com", "password": testPassword}); r.Code != 429 {
		t.Errorf("sign-in after failed re-authentications: %d, want 429 (one lockout)", r.Code)
	}
	a.clock.Advance(30 * time.Second)
	if r := change(testPassword); r.Code != 204 {
		t.Errorf("after the delay: %d %s", r.Code, r.Body)
	}
}

// TestDisableTOTPSharesTheLockout: the same for turning off the second
// factor with a wrong password.
func TestDisableTOTPSharesTheLockout(t *testing.T) {
	a := newTestApp(t)
	a.signup("reauth-mfa@example.com")
	tok := a.login("reauth-mfa@example.com", testPassword)
	secret := a.enableTOTP(tok.AccessToken)
	disable := func(pw string) response {
		// Five seconds a call: by the sixth the confirmation code's time
		// step is over, so the code sent is one the server would accept,
		// while the 30-second delay after the fifth failure still runs.
		a.clock.Advance(5 * time.Second)
		return a.do("DELETE", "/v1/me/mfa/totp", tok.AccessToken, map[string]string{"password": pw, "code": totp.Code(secret, a.clock.Now())})
	}
	for i := 1; i <= 5; i++ {
		if r := disable("guess number " + string(rune('0'+i))); r.Code != 401 {
			t.Fatalf("guess %d: %d %s", i, r.Code, r.Body)
		}
	}
	r := disable(testPassword)
	if r.Code != 429 || r.Header().Get("Retry-After") == "" || r.problemType() != "login-throttled" {
		t.Fatalf("right password while locked: %d Retry-After=%q %s", r.Code, r.Header().Get("Retry-After"), r.Body)
	}
	if r := a.do("GET", "/v1/me", tok.AccessToken, nil); !strings.Contains(r.Body.String(), `"mfaEnabled":true`) {
		t.Errorf("TOTP was disabled while locked: %s", r.Body)
	}
}
