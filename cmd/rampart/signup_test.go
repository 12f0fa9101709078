package main

import "testing"

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
