package rampart_test

import (
	"testing"

	"example.com/rampart/internal/rampart"
)

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
