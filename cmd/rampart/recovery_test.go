package main

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	netmail "net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/smtptest"
)

// Password reset against the real binary: the mail outlives a SIGKILL, and
// the reset ends the account's sessions on every replica at once.

var resetLinkRE = regexp.MustCompile(`#token=(rpl_[A-Za-z0-9_-]{49})`)

// linkIn returns the link token of a received message whose subject
// contains subject, or "".
func linkIn(t *testing.T, r smtptest.Received, subject string) string {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(r.Data)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Header.Get("Subject"), subject) {
		return ""
	}
	b, err := mailBody(r.Data)
	if err != nil {
		t.Fatal(err)
	}
	m := resetLinkRE.FindStringSubmatch(b)
	if m == nil {
		t.Fatalf("no link token in %q:\n%s", subject, b)
	}
	return string(m[1])
}

// waitLink waits for a message with subject and returns its link token.
func waitLink(t *testing.T, srv *smtptest.Server, subject string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range srv.Messages() {
			if tok := linkIn(t, r, subject); tok != "" {
				return tok
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no message %q arrived", subject)
	return ""
}

type pair struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

func loginPair(t *testing.T, base, email, password string) pair {
	t.Helper()
	r := do(t, http.MethodPost, base+"/v1/auth/login", map[string]string{"email": email, "password": password}, "")
	var p pair
	if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &p) != nil {
		t.Fatalf("login at %s: %d %s", base, r.code, r.body)
	}
	return p
}

// TestPasswordResetMailSurvivesSIGKILL: a reset requested over HTTP is
// committed with its message; the binary is killed (SIGKILL) while the
// SMTP server holds the delivery, and the restarted binary delivers it;
// the link then sets the password. No log line of either process carries
// the link token or the address.
func TestPasswordResetMailSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	srv := smtptest.Start(t, smtptest.Options{})
	env := testEnviron(t, "RAMPART_SMTP_URL=smtp://"+srv.Addr, "RAMPART_MAIL_FROM=Rampart <no-reply@rampart.example>")
	dbPath := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "RAMPART_DATABASE_URL=sqlite:"); ok {
			dbPath = v
		}
	}
	email := uniqueEmail("grace")
	la, outA, cmd, exited := startBinary(t, env)
	baseA := "http://" + la.Addr
	if r := do(t, http.MethodPost, baseA+"/v1/signup", signupBody(email), ""); r.code != http.StatusCreated {
		t.Fatalf("signup: %d %s", r.code, r.body)
	}
	waitLink(t, srv, "Verify your email") // open mode with SMTP mails a verification link
	srv.Stall()
	if r := do(t, http.MethodPost, baseA+"/v1/auth/password-reset", map[string]string{"email": email}, ""); r.code != http.StatusAccepted {
		t.Fatalf("reset: %d %s", r.code, r.body)
	}
	select {
	case <-srv.InData():
	case <-time.After(20 * time.Second):
		t.Fatalf("the binary did not start delivering the reset\n%s", outA)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d messages delivered before the kill, want only the verification", n)
	}
	// The dead process's lease would hold the message for 90 s; end it.
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), "UPDATE mail_outbox SET claimed_until = ? WHERE sent_at IS NULL AND failed_at IS NULL",
		time.Now().Add(-time.Second).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	srv.Release()

	lb, outB, _, _ := startBinary(t, env)
	baseB := "http://" + lb.Addr
	token := waitLink(t, srv, "Reset your password")
	newPw := "a brand new long passphrase 61"
	if r := do(t, http.MethodPost, baseB+"/v1/auth/password-reset/confirm", map[string]string{"token": token, "newPassword": newPw}, ""); r.code != http.StatusNoContent {
		t.Fatalf("confirm: %d %s", r.code, r.body)
	}
	loginPair(t, baseB, email, newPw)
	for name, out := range map[string]string{"first process": outA.String(), "second process": outB.String()} {
		for _, secret := range []string{token, token[4:20], email} {
			if strings.Contains(out, secret) {
				t.Errorf("the %s's log carries %q", name, secret)
			}
		}
	}
}

// TestResetRevokesSessionsOnEveryReplica: two replicas of the binary over
// one PostgreSQL database and one Redis; sessions signed in on each, read
// through each replica's session cache; a reset confirmed on one replica
// makes both sessions' access tokens refused on the other within half a
// second (the cache alone would keep them for up to 1 s: the revocation
// travels through Redis), and their refresh tokens too.
func TestResetRevokesSessionsOnEveryReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	pgURL := testutil.PostgresURL(t)
	redisClient, prefix := testutil.Redis(t)
	srv := smtptest.Start(t, smtptest.Options{})
	env := []string{
		"RAMPART_ENV=test",
		"RAMPART_ADDR=127.0.0.1:0",
		"RAMPART_ADMIN_ADDR=127.0.0.1:0",
		"RAMPART_DATA_DIR=" + t.TempDir(),
		"RAMPART_DATABASE_URL=" + pgURL,
		"RAMPART_REDIS_URL=redis://" + redisClient.Options().Addr + "/0",
		"RAMPART_REDIS_PREFIX=" + prefix,
		"RAMPART_MASTER_KEY=" + base64.StdEncoding.EncodeToString(randomBytes(t, 32)),
		"RAMPART_SMTP_URL=smtp://" + srv.Addr,
		"RAMPART_MAIL_FROM=no-reply@rampart.example",
		"RAMPART_RATE_AUTH=1000/1m",
		"RAMPART_RATE_SIGNUP=1000/1m",
	}
	la, _, _, _ := startBinary(t, env)
	lb, _, _, _ := startBinary(t, env)
	a, b := "http://"+la.Addr, "http://"+lb.Addr
	email := uniqueEmail("replica")
	if r := do(t, http.MethodPost, a+"/v1/signup", signupBody(email), ""); r.code != http.StatusCreated {
		t.Fatalf("signup: %d %s", r.code, r.body)
	}
	onA, onB := loginPair(t, a, email, testPassphrase), loginPair(t, b, email, testPassphrase)
	for _, base := range []string{a, b} {
		for _, p := range []pair{onA, onB} {
			if r := do(t, http.MethodGet, base+"/v1/me", nil, p.AccessToken); r.code != http.StatusOK {
				t.Fatalf("before: %d %s", r.code, r.body)
			}
		}
	}
	if r := do(t, http.MethodPost, b+"/v1/auth/password-reset", map[string]string{"email": email}, ""); r.code != http.StatusAccepted {
		t.Fatalf("reset: %d %s", r.code, r.body)
	}
	token := waitLink(t, srv, "Reset your password")
	// Warm replica A's cache with both sessions just before the reset.
	for _, p := range []pair{onA, onB} {
		if r := do(t, http.MethodGet, a+"/v1/me", nil, p.AccessToken); r.code != http.StatusOK {
			t.Fatalf("before: %d", r.code)
		}
	}
	if r := do(t, http.MethodPost, b+"/v1/auth/password-reset/confirm", map[string]string{"token": token, "newPassword": "a brand new long passphrase 61"}, ""); r.code != http.StatusNoContent {
		t.Fatalf("confirm on B: %d %s", r.code, r.body)
	}
	confirmed := time.Now()
	for name, p := range map[string]pair{"session from A": onA, "session from B": onB} {
		for {
			r := do(t, http.MethodGet, a+"/v1/me", nil, p.AccessToken)
			if r.code == http.StatusUnauthorized {
				break
			}
			if time.Since(confirmed) > 500*time.Millisecond {
				t.Fatalf("%s still served by replica A %v after the reset on B: %d", name, time.Since(confirmed), r.code)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("replica A refused both sessions %v after the reset on B", time.Since(confirmed))
	for name, p := range map[string]pair{"session from A": onA, "session from B": onB} {
		for _, base := range []string{a, b} {
			if r := do(t, http.MethodPost, base+"/v1/auth/refresh", map[string]string{"refreshToken": p.RefreshToken}, ""); r.code != http.StatusUnauthorized {
				t.Errorf("%s: refresh at %s after the reset: %d", name, base, r.code)
			}
		}
	}
}
