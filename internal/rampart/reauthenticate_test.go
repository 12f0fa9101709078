package rampart_test

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

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
