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
