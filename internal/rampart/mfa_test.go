package rampart_test

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/totp"
)

// TOTP is inactive until a first valid code confirms it, cannot be enrolled
// twice, and is disabled only with the password and a valid code.
func TestTOTPEnrolConfirmDisable(t *testing.T) {
	w := newWorld(t, nil)
	u := w.signup("totp@example.com")
	_, p := w.login("totp@example.com", testPassword, "")
	if _, err := w.id.EnrolTOTP(w.ctx, p); err != nil {
		t.Fatal(err)
	}
	w.login("totp@example.com", testPassword, "") // pending: no code needed yet
	_, err := w.id.ConfirmTOTP(w.ctx, meta, p, "000000")
	wantCode(t, "confirm with a wrong code", err, rampart.KindInvalid, "")

	secret, recovery := w.enableTOTP(p) // a new enrolment replaces the pending one
	if len(recovery) != rampart.RecoveryCodeCount {
		t.Errorf("%d recovery codes", len(recovery))
	}
	_, err = w.id.EnrolTOTP(w.ctx, p)
	wantCode(t, "enrol while enabled", err, rampart.KindConflict, "")
	if n := w.events(u.TenantID, "user.mfa_enabled"); n != 1 {
		t.Errorf("%d mfa_enabled events, want 1", n)
	}

	w.clock.Advance(30 * time.Second)
	err = w.id.DisableTOTP(w.ctx, meta, p, testPassword, "000000")
	wantCode(t, "disable with a wrong code", err, rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
	err = w.id.DisableTOTP(w.ctx, meta, p, "not the password at all", totp.Code(secret, w.clock.Now()))
	wantCode(t, "disable with a wrong password", err, rampart.KindUnauthenticated, rampart.CodeInvalidCredentials)
	if err := w.id.DisableTOTP(w.ctx, meta, p, testPassword, totp.Code(secret, w.clock.Now())); err != nil {
		t.Fatal(err)
	}
	w.login("totp@example.com", testPassword, "") // no second factor any more
	err = w.id.DisableTOTP(w.ctx, meta, p, testPassword, "")
	wantCode(t, "disable when not enabled", err, rampart.KindConflict, "")
}
