package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// TestOperatorUserCommands: `rampart users reset-mfa EMAIL` turns off a
// lost second factor and ends every session of the account, in every
// tenant; `rampart users revoke-sessions EMAIL` ends every session; both
// are audited with the actor "operator" and print no secret; an unknown
// email fails.
func TestOperatorUserCommands(t *testing.T) {
	env := testEnviron(t, generousRates...)
	l, _, _ := startRun(t, env)
	base := "http://" + l.Addr
	email := uniqueEmail("operator")
	if r := do(t, "POST", base+"/v1/signup", signupBody(email), ""); r.code != 201 {
		t.Fatalf("signup: %d %s", r.code, r.body)
	}
	other := uniqueEmail("bystander")
	if r := do(t, "POST", base+"/v1/signup", signupBody(other), ""); r.code != 201 {
		t.Fatalf("signup: %d %s", r.code, r.body)
	}
	first, _ := login(t, base, email)
	bystander, _ := login(t, base, other)

	// A second factor as enrolment leaves it, written straight to the
	// store (a TOTP code would need the sealed secret); with a canary.
	cfg, err := loadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.FindAccountByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	const canary = "CANARY-recovery-hash"
	_, err = st.UpdateAccount(t.Context(), acct.ID, func(a *rampart.Account) error {
		a.MFA = rampart.MFA{Enabled: true, TOTPSecret: []byte(canary), RecoveryCodeHashes: []string{canary}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, r := login(t, base, email); r.code != http.StatusUnauthorized || !strings.Contains(r.body, "mfa-required") {
		t.Fatalf("login with MFA on and no code: %d %s", r.code, r.body)
	}

	var out bytes.Buffer
	if err := run(t.Context(), []string{"rampart", "users", "reset-mfa", strings.ToUpper(email)}, env, &out, &out); err != nil {
		t.Fatalf("users reset-mfa: %v\n%s", err, &out)
	}
	if !strings.Contains(out.String(), "account "+acct.ID+": second factor turned off") ||
		!strings.Contains(out.String(), "every session revoked, in 1 tenants") || strings.Contains(out.String(), canary) {
		t.Errorf("users reset-mfa printed:\n%s", &out)
	}
	waitStatus(t, base, first, http.StatusUnauthorized, "the account's session after reset-mfa")
	waitStatus(t, base, bystander, http.StatusOK, "another account's session after reset-mfa")
	second, r := login(t, base, email)
	if second == "" {
		t.Fatalf("login after reset-mfa, without a code: %d %s", r.code, r.body)
	}
	if got, _ := st.GetAccount(t.Context(), acct.ID); got.MFA.Enabled || got.MFA.TOTPSecret != nil || len(got.MFA.RecoveryCodeHashes) != 0 {
		t.Errorf("second factor after reset-mfa: %+v", got.MFA)
	}

	out.Reset()
	if err := run(t.Context(), []string{"rampart", "users", "revoke-sessions", email}, env, &out, &out); err != nil {
		t.Fatalf("users revoke-sessions: %v\n%s", err, &out)
	}
	if !strings.Contains(out.String(), "account "+acct.ID+": every session revoked") {
		t.Errorf("users revoke-sessions printed:\n%s", &out)
	}
	waitStatus(t, base, second, http.StatusUnauthorized, "the account's session after revoke-sessions")

	third, _ := login(t, base, email)
	ar := do(t, "GET", base+"/v1/audit-events", nil, third)
	var events struct {
		Items []struct {
			Type    string `json:"type"`
			ActorID string `json:"actorId"`
			Target  string `json:"target"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(ar.body), &events); err != nil {
		t.Fatalf("audit events: %d %s", ar.code, ar.body)
	}
	found := map[string]bool{}
	for _, e := range events.Items {
		if e.ActorID == rampart.OperatorActor && e.Target == acct.ID {
			found[e.Type] = true
		}
	}
	if !found["user.mfa_reset"] || !found["session.revoked_all"] {
		t.Errorf("operator events in the tenant's audit log: %v\n%s", found, ar.body)
	}

	out.Reset()
	err = run(t.Context(), []string{"rampart", "users", "reset-mfa", "nobody@example.com"}, env, &out, &out)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "no account") {
		t.Errorf("reset-mfa of an unknown email: %v (exit %d)", err, exitCode(err))
	}
	if err := run(t.Context(), []string{"rampart", "users", "reset-mfa"}, env, &out, &out); exitCode(err) != 2 {
		t.Errorf("users reset-mfa without an email: %v, want a usage error", err)
	}
}

// waitStatus polls GET /v1/me until it answers want: running replicas
// re-read a session within the session cache's TTL.
func waitStatus(t *testing.T, base, access string, want int, what string) {
	t.Helper()
	var r response
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if r = do(t, "GET", base+"/v1/me", nil, access); r.code == want {
			return
		}
	}
	t.Errorf("%s: %d, want %d", what, r.code, want)
}
