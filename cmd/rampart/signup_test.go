package main

import (
	"strings"
	"testing"

	"example.com/rampart/internal/rampart"
)

// TestNewcomerRefusedPasswordsDoNotLockSignup: outside production, a
// newcomer whose first passwords the policy refuses (each counts against
// the signup limit) can still sign up, and a few more times: more than
// production's 5 an hour in all.
func TestNewcomerRefusedPasswordsDoNotLockSignup(t *testing.T) {
	l, _, _ := startRun(t, testEnviron(t)) // the default rates of RAMPART_ENV=test
	base := "http://" + l.Addr
	for _, pw := range []string{"password", "password123456", "aaaaaaaaaaaaaaaaaaaa"} {
		body := map[string]string{"email": uniqueEmail("newcomer"), "password": pw, "displayName": "New", "organization": "Newcomers"}
		if r := do(t, "POST", base+"/v1/signup", body, ""); r.code != 422 {
			t.Fatalf("password %q: %d %s, want 422", pw, r.code, r.body)
		}
	}
	for i := range 3 {
		if r := do(t, "POST", base+"/v1/signup", signupBody(uniqueEmail("newcomer")), ""); r.code != 201 {
			t.Fatalf("signup %d after three refused passwords: %d %s", i+1, r.code, r.body)
		}
	}
}

// TestSignupVerifyNeedsMail: production defaults to verify, and refuses to
// start with it while there is no mail transport, naming the variable;
// with SMTP it starts, and config check shows the mode.
func TestSignupVerifyNeedsMail(t *testing.T) {
	env := safeProduction()
	delete(env, "RAMPART_SIGNUP")
	_, err := loadConfig(environ(env))
	if err == nil || !strings.Contains(err.Error(), "RAMPART_SIGNUP: verify needs RAMPART_SMTP_URL") ||
		!strings.Contains(err.Error(), "production rule signup_mail") {
		t.Fatalf("production with verify and no mail: %v", err)
	}
	env["RAMPART_SMTP_URL"] = "smtps://mail.example.com"
	env["RAMPART_MAIL_FROM"] = "id@example.com"
	env["RAMPART_PUBLIC_URL"] = "https://id.example.com"
	c, err := loadConfig(environ(env))
	if err != nil {
		t.Fatalf("production with verify and SMTP: %v", err)
	}
	if c.Signup != rampart.SignupVerify {
		t.Errorf("production default signup = %q, want verify", c.Signup)
	}
	var out, errOut strings.Builder
	if err := configCheck(environ(env), &out, &errOut); err != nil {
		t.Fatalf("config check: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"RAMPART_SIGNUP=verify\n", "signup: verify\n", "PASS signup_mail"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("config check lacks %q:\n%s", want, out.String())
		}
	}
	dev, err := loadConfig([]string{"HOME=/home/u"})
	if err != nil || dev.Signup != rampart.SignupOpen {
		t.Errorf("development signup = %q (%v), want open", dev.Signup, err)
	}
	if _, err := loadConfig([]string{"HOME=/home/u", "RAMPART_SIGNUP=maybe"}); err == nil ||
		!strings.Contains(err.Error(), "RAMPART_SIGNUP: must be open, verify or closed") {
		t.Errorf("a bad mode: %v", err)
	}
}
