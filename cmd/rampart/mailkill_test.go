package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/seal"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/smtptest"
)

// TestOutboxSurvivesSIGKILL: mail committed to the outbox reaches the SMTP
// server even though the server process is killed (SIGKILL: no shutdown,
// no deferred anything) in the middle of delivering it, and a second
// message committed just before the kill goes out too, from the restarted
// binary on the same database. The links are read back from what the SMTP
// server received; no log line of either process carries one.
func TestOutboxSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	srv := smtptest.Start(t, smtptest.Options{})
	srv.Stall() // the first delivery hangs in DATA until the process is gone
	env := testEnviron(t, "RAMPART_SMTP_URL=smtp://"+srv.Addr, "RAMPART_MAIL_FROM=Rampart <no-reply@rampart.example>")
	dbPath, key := "", []byte(nil)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "RAMPART_DATABASE_URL=sqlite:"); ok {
			dbPath = v
		}
		if v, ok := strings.CutPrefix(kv, "RAMPART_MASTER_KEY="); ok {
			key, _ = base64.StdEncoding.DecodeString(v)
		}
	}
	ctx := t.Context()
	st, err := sqlite.Open(ctx, dbPath)
	st = testutil.Migrated(t, st, err)
	box, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	outbox := rampart.NewOutbox(box, nil, nil)
	tokens := []string{"tok" + rampart.NewID()[:8] + "first", "tok" + rampart.NewID()[:8] + "second"}
	enqueue := func(token string) string {
		t.Helper()
		var id string
		err := st.Atomically(ctx, func(tx rampart.Store) error {
			var err error
			id, err = outbox.Enqueue(ctx, tx, rampart.Mail{Kind: rampart.MailPasswordReset, To: "grace@example.com",
				Subject: "Reset", Body: "Reset here: https://rampart.example/reset?token=" + token + "\n"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := enqueue(tokens[0])

	_, outA, cmd, exited := startBinary(t, env)
	select {
	case <-srv.InData():
	case <-time.After(20 * time.Second):
		t.Fatalf("the binary did not start delivering\n%s", outA)
	}
	second := enqueue(tokens[1]) // committed; the dying process never gets to it
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages delivered before the kill", n)
	}
	m, err := st.GetMail(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if m.Attempts != 1 || m.ClaimedUntil.IsZero() || m.Sealed == nil {
		t.Fatalf("after the kill the first message is %+v, want claimed once and still sealed", m)
	}
	// The dead process's lease would keep the first message for up to
	// 90 s; the test ends it instead of waiting.
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "UPDATE mail_outbox SET claimed_until = ? WHERE id = ?",
		time.Now().Add(-time.Second).UnixMicro(), first); err != nil {
		t.Fatal(err)
	}
	srv.Release()

	_, outB, _, _ := startBinary(t, env)
	got := srv.Wait(t, 2, 20*time.Second)
	seen := map[string]bool{}
	for _, r := range got {
		seen[readToken(t, r.Data)] = true
	}
	for _, tok := range tokens {
		if !seen[tok] {
			t.Errorf("the link with %s never arrived; got %v", tok, seen)
		}
	}
	waitSent(t, st, first, second)
	m, _ = st.GetMail(ctx, first)
	if m.Attempts != 2 {
		t.Errorf("the first message took %d attempts, want 2 (the killed one counts)", m.Attempts)
	}
	for name, out := range map[string]string{"first process": outA.String(), "second process": outB.String()} {
		for _, secret := range append(tokens, "grace@example.com") {
			if strings.Contains(out, secret) {
				t.Errorf("the %s's log carries %q", name, secret)
			}
		}
	}
	if !strings.Contains(outB.String(), `"msg":"mail sent"`) {
		t.Errorf("the second process logged no delivery:\n%s", outB)
	}
}

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9-]+)`)

func readToken(t *testing.T, raw []byte) string {
	t.Helper()
	b, err := mailBody(raw)
	if err != nil {
		t.Fatal(err)
	}
	m := tokenRE.FindStringSubmatch(b)
	if m == nil {
		t.Fatalf("no link in:\n%s", b)
	}
	return string(m[1])
}

// waitSent waits until the outbox records each message as sent (the SMTP
// server may have answered a moment before the store was updated).
func waitSent(t *testing.T, st rampart.Store, ids ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, id := range ids {
		for {
			m, err := st.GetMail(ctx, id)
			if err == nil && !m.SentAt.IsZero() {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("message %s not recorded as sent: %+v %v", id, m, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
