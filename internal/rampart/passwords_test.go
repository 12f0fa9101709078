package rampart_test

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/totp"
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

// One password serves every tenant of the account, so changing it from one
// tenant ends the sessions signed in to the others too (PWD-07): a thief
// signed in to tenant B keeps nothing when the owner changes it from A.
func TestChangePasswordRevokesSessionsInEveryTenant(t *testing.T) {
	w := newWorld(t, nil)
	u := w.signup("two-tenants@example.com")
	other := w.signup("owner-of-b@example.com")
	now := w.clock.Now()
	if err := w.store.AddMembership(w.ctx, &rampart.Membership{TenantID: other.TenantID, AccountID: u.ID,
		Role: rampart.RoleMember, DisplayName: "Someone", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	_, inA := w.login("two-tenants@example.com", testPassword, "")
	tokB, err := w.id.Login(w.ctx, meta, rampart.LoginInput{Email: "two-tenants@example.com", Password: testPassword, TenantID: other.TenantID})
	if err != nil {
		t.Fatal(err)
	}
	if p := w.principal(tokB.AccessToken); p.TenantID != other.TenantID || inA.TenantID != u.TenantID {
		t.Fatalf("signed in to %s and %s, want %s and %s", inA.TenantID, p.TenantID, u.TenantID, other.TenantID)
	}
	if err := w.id.ChangePassword(w.ctx, meta, inA, testPassword, "an entirely new passphrase 2026"); err != nil {
		t.Fatal(err)
	}
	_, err = w.auth.Authenticate(w.ctx, tokB.AccessToken)
	wantCode(t, "tenant B's access token", err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)
	_, err = w.id.Refresh(w.ctx, meta, tokB.RefreshToken)
	wantCode(t, "tenant B's refresh token", err, rampart.KindUnauthenticated, "")
	s, err := w.store.GetSession(w.ctx, other.TenantID, tokB.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if s.RevokedAt.IsZero() {
		t.Errorf("tenant B's session is not revoked: %+v", s)
	}
}

// A wrong second-factor code on a reset link counts as a failed sign-in:
// whoever holds a stolen link cannot guess the code more freely than at the
// sign-in form. Once the throttle is reached, the link's next try and the
// account's sign-in are both refused, even with the right secrets.
func TestWrongResetCodesThrottleTheAccount(t *testing.T) {
	w := newWorld(t, nil)
	w.signup("reset-guess@example.com")
	_, p := w.login("reset-guess@example.com", testPassword, "")
	secret, _ := w.enableTOTP(p)
	w.clock.Advance(30 * time.Second) // the confirmation spent the current step
	if err := w.id.RequestPasswordReset(w.ctx, meta, "reset-guess@example.com"); err != nil {
		t.Fatal(err)
	}
	link := mailedLink(t, w.store, w.box, "reset-guess@example.com")
	confirm := func(code string) error {
		return w.id.ConfirmPasswordReset(w.ctx, meta, rampart.ResetInput{Token: link, NewPassword: "a whole new passphrase", TOTP: code})
	}
	for range 5 {
		wantCode(t, "a wrong code", confirm("000000"), rampart.KindInvalid, rampart.CodeInvalidCode)
	}
	wantCode(t, "the right code once throttled", confirm(totp.Code(secret, w.clock.Now())), rampart.KindRateLimited, rampart.CodeLoginThrottled)
	_, err := w.id.Login(w.ctx, meta, rampart.LoginInput{Email: "reset-guess@example.com", Password: testPassword,
		TOTP: totp.Code(secret, w.clock.Now())})
	wantCode(t, "sign-in once throttled", err, rampart.KindRateLimited, rampart.CodeLoginThrottled)
}
