package rampart_test

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// A refresh spends the token; presenting a spent one means two parties hold
// the family, so the whole session ends: its newest refresh token and its
// access tokens stop working at once.
func TestRefreshRotatesAndReuseRevokes(t *testing.T) {
	w := newWorld(t, nil)
	u := w.signup("rotate@example.com")
	first, _ := w.login("rotate@example.com", testPassword, "")
	second, err := w.id.Refresh(w.ctx, meta, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.SessionID != first.SessionID {
		t.Fatalf("not a rotation in the same session: %+v then %+v", first, second)
	}
	w.principal(second.AccessToken)
	_, err = w.id.Refresh(w.ctx, meta, first.RefreshToken)
	wantCode(t, "reused token", err, rampart.KindUnauthenticated, rampart.CodeTokenReused)
	_, err = w.id.Refresh(w.ctx, meta, second.RefreshToken)
	wantCode(t, "newest token after reuse", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)
	_, err = w.auth.Authenticate(w.ctx, second.AccessToken)
	wantCode(t, "access token after reuse", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)
	if n := w.events(u.TenantID, "session.refresh_reuse"); n != 1 {
		t.Errorf("%d refresh_reuse events, want 1", n)
	}
}

// With a grace window, the token just replaced is refused without ending
// the session (a racing browser tab); once the window has passed, it
// revokes like any other reuse.
func TestRefreshGraceSparesARacingTab(t *testing.T) {
	w := newWorld(t, func(c *rampart.IdentityConfig) { c.RefreshGrace = 10 * time.Second })
	w.signup("tabs@example.com")
	first, _ := w.login("tabs@example.com", testPassword, "")
	second, err := w.id.Refresh(w.ctx, meta, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.id.Refresh(w.ctx, meta, first.RefreshToken)
	wantCode(t, "previous token within grace", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)
	third, err := w.id.Refresh(w.ctx, meta, second.RefreshToken)
	if err != nil {
		t.Fatalf("the session must live on: %v", err)
	}
	w.clock.Advance(11 * time.Second)
	_, err = w.id.Refresh(w.ctx, meta, second.RefreshToken)
	wantCode(t, "previous token after grace", err, rampart.KindUnauthenticated, rampart.CodeTokenReused)
	_, err = w.id.Refresh(w.ctx, meta, third.RefreshToken)
	wantCode(t, "newest token after reuse", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)
}

// Logout and the revocation of one of one's sessions end it for the next
// request; another user's session cannot be revoked (not found).
func TestLogoutAndRevocation(t *testing.T) {
	w := newWorld(t, nil)
	w.signup("leaving@example.com")
	w.signup("other@example.com")
	tok, p := w.login("leaving@example.com", testPassword, "")
	if err := w.id.Logout(w.ctx, meta, p); err != nil {
		t.Fatal(err)
	}
	_, err := w.auth.Authenticate(w.ctx, tok.AccessToken)
	wantCode(t, "access token after logout", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)
	_, err = w.id.Refresh(w.ctx, meta, tok.RefreshToken)
	wantCode(t, "refresh after logout", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)

	_, mine := w.login("leaving@example.com", testPassword, "")
	theirs, _ := w.login("other@example.com", testPassword, "")
	err = w.id.RevokeSession(w.ctx, meta, mine, theirs.SessionID)
	wantCode(t, "revoking another user's session", err, rampart.KindNotFound, "")
	w.principal(theirs.AccessToken)
	live, _, err := w.id.Sessions(w.ctx, mine, rampart.Page{Limit: 10})
	if err != nil || len(live) != 1 || live[0].ID != mine.SessionID {
		t.Fatalf("live sessions: %v %v, want only %s", live, err, mine.SessionID)
	}
}

// A sensitive change needs a password proof within StepUpMaxAge;
// Reauthenticate renews it for the same session (with a wrong password it
// is invalid credentials), and an API key can never pass.
func TestStepUp(t *testing.T) {
	w := newWorld(t, nil)
	w.signup("stepup@example.com")
	tok, p := w.login("stepup@example.com", testPassword, "")
	if err := w.auth.RequireStepUp(p); err != nil {
		t.Fatalf("just signed in: %v", err)
	}
	w.clock.Advance(rampart.DefaultIdentityConfig.StepUpMaxAge + time.Minute)
	// The access token has expired by now too: refresh it, which hands on
	// the old auth_time.
	refreshed, err := w.id.Refresh(w.ctx, meta, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	p = w.principal(refreshed.AccessToken)
	err = w.auth.RequireStepUp(p)
	wantCode(t, "stale proof", err, rampart.KindUnauthenticated, rampart.CodeStepUpRequired)
	if rampart.ErrorOf(err).MaxAge != rampart.DefaultIdentityConfig.StepUpMaxAge {
		t.Errorf("max age %v", rampart.ErrorOf(err).MaxAge)
	}
	_, err = w.id.Reauthenticate(w.ctx, meta, p, "not the password at all", "")
	wantCode(t, "wrong password", err, rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
	fresh, err := w.id.Reauthenticate(w.ctx, meta, p, testPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if fresh.SessionID != p.SessionID {
		t.Errorf("reauthentication moved to session %s from %s", fresh.SessionID, p.SessionID)
	}
	if err := w.auth.RequireStepUp(w.principal(fresh.AccessToken)); err != nil {
		t.Errorf("after reauthentication: %v", err)
	}
	key := rampart.Principal{TenantID: p.TenantID, APIKeyID: "k", AuthTime: w.clock.Now()}
	wantCode(t, "API key", w.auth.RequireStepUp(key), rampart.KindForbidden, "")
	_, err = w.id.Reauthenticate(w.ctx, meta, key, testPassword, "")
	wantCode(t, "API key reauthenticating", err, rampart.KindForbidden, "")
}

// Changing the password needs the current one, ends every other session
// and keeps the one that made the change.
func TestChangePasswordRevokesOtherSessions(t *testing.T) {
	w := newWorld(t, nil)
	u := w.signup("change@example.com")
	hereTok, here := w.login("change@example.com", testPassword, "")
	elsewhere, _ := w.login("change@example.com", testPassword, "")
	const next = "an entirely new passphrase 2026"
	err := w.id.ChangePassword(w.ctx, meta, here, "not the password at all", next)
	wantCode(t, "wrong current password", err, rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
	w.principal(elsewhere.AccessToken) // nothing changed yet
	if err := w.id.ChangePassword(w.ctx, meta, here, testPassword, next); err != nil {
		t.Fatal(err)
	}
	_, err = w.auth.Authenticate(w.ctx, elsewhere.AccessToken)
	wantCode(t, "other session", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)
	if _, err := w.auth.Authenticate(w.ctx, hereTok.AccessToken); err != nil {
		t.Errorf("the session that changed it: %v", err)
	}
	_, err = w.id.Login(w.ctx, meta, rampart.LoginInput{Email: "change@example.com", Password: testPassword})
	wantCode(t, "old password", err, rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
	w.login("change@example.com", next, "")
	if n := w.events(u.TenantID, "user.password_changed"); n != 1 {
		t.Errorf("%d password_changed events, want 1", n)
	}
}
