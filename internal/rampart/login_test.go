package rampart_test

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/totp"
)

// A wrong password and an unknown email get the same answer; only the
// known account's failure is recorded in its tenant's audit log.
func TestLoginRefusesWrongPasswordAndUnknownEmailAlike(t *testing.T) {
	w := newWorld(t, nil)
	u := w.signup("known@example.com")
	_, errWrong := w.id.Login(w.ctx, meta, rampart.LoginInput{Email: "known@example.com", Password: "not the password at all"})
	wantCode(t, "wrong password", errWrong, rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
	_, errUnknown := w.id.Login(w.ctx, meta, rampart.LoginInput{Email: "nobody@example.com", Password: testPassword})
	wantCode(t, "unknown email", errUnknown, rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
	if errWrong.Error() != errUnknown.Error() {
		t.Errorf("the answers differ: %q and %q", errWrong, errUnknown)
	}
	if n := w.events(u.TenantID, "user.login_failed"); n != 1 {
		t.Errorf("%d login_failed events, want 1", n)
	}
	w.login("known@example.com", testPassword, "")
	if n := w.events(u.TenantID, "user.login"); n != 1 {
		t.Errorf("%d login events, want 1", n)
	}
}

// After the free failures the account is throttled: even the right
// password is refused until the delay has passed, so the throttle tells a
// guesser nothing.
func TestLoginThrottleRefusesEvenTheRightPassword(t *testing.T) {
	w := newWorld(t, nil)
	w.signup("guessed@example.com")
	for range 5 {
		_, err := w.id.Login(w.ctx, meta, rampart.LoginInput{Email: "guessed@example.com", Password: "a wrong guess here"})
		wantCode(t, "wrong guess", err, rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
	}
	_, err := w.id.Login(w.ctx, meta, rampart.LoginInput{Email: "guessed@example.com", Password: testPassword})
	wantCode(t, "right password while throttled", err, rampart.KindRateLimited, "")
	if rampart.ErrorOf(err).RetryAfter <= 0 {
		t.Errorf("no Retry-After: %+v", rampart.ErrorOf(err))
	}
	w.clock.Advance(rampart.ErrorOf(err).RetryAfter + time.Second)
	w.login("guessed@example.com", testPassword, "")
}

// With TOTP on, the password alone is not enough, a wrong or replayed code
// is invalid credentials, and a recovery code works once.
func TestLoginWithMFA(t *testing.T) {
	w := newWorld(t, nil)
	w.signup("mfa@example.com")
	_, p := w.login("mfa@example.com", testPassword, "")
	secret, recovery := w.enableTOTP(p)
	login := func(code string) error {
		_, err := w.id.Login(w.ctx, meta, rampart.LoginInput{Email: "mfa@example.com", Password: testPassword, TOTP: code})
		return err
	}
	wantCode(t, "no code", login(""), rampart.KindUnauthenticated, rampart.CodeMFARequired)
	wantCode(t, "wrong code", login("000000"), rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
	w.clock.Advance(30 * time.Second) // the confirmation spent the current step
	code := totp.Code(secret, w.clock.Now())
	if err := login(code); err != nil {
		t.Fatalf("right code: %v", err)
	}
	wantCode(t, "replayed code", login(code), rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
	if err := login(recovery[0]); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	wantCode(t, "spent recovery code", login(recovery[0]), rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
}
