package main

import (
	"encoding/json/v2"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"example.com/rampart/internal/testutil"
)

// startBinary starts the compiled binary with environ and waits until it
// listens. exited is closed when the process has ended; the process is
// killed at cleanup if it still runs.
func startBinary(t *testing.T, environ []string) (l listening, out *testutil.SyncBuffer, cmd *exec.Cmd, exited <-chan struct{}) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	out = &testutil.SyncBuffer{}
	cmd = exec.Command(bin)
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1) // for waitListening
	ended := make(chan struct{})
	go func() {
		done <- cmd.Wait()
		close(ended)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Errorf("the server did not exit after SIGKILL")
		}
	})
	return waitListening(t, out, done), out, cmd, ended
}

// TestSignupsSurviveSIGKILL shows that a 201 from signup means the record
// is committed: the real binary on SQLite is killed with SIGKILL (no
// graceful shutdown, no deferred Close), restarted on the same data
// directory and database, and every account that was acknowledged can
// sign in and read itself.
func TestSignupsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	const n = 20
	env := testEnviron(t, generousRates...)

	start := time.Now()
	l, out, cmd, exited := startBinary(t, env)
	t.Logf("build and start: %v", time.Since(start))
	start = time.Now()
	base := "http://" + l.Addr
	type account struct{ email, userID, tenantID string }
	accounts := make([]account, 0, n)
	for i := range n {
		email := uniqueEmail("durable")
		r := do(t, http.MethodPost, base+"/v1/signup", signupBody(email), "")
		if r.code != http.StatusCreated {
			t.Fatalf("signup %d: %d %s\n%s", i, r.code, r.body, out)
		}
		var created struct {
			User struct {
				ID       string `json:"id"`
				TenantID string `json:"tenantId"`
			} `json:"user"`
		}
		if err := json.Unmarshal([]byte(r.body), &created); err != nil || created.User.ID == "" {
			t.Fatalf("signup %d: %v %s", i, err, r.body)
		}
		accounts = append(accounts, account{email, created.User.ID, created.User.TenantID})
	}

	t.Logf("%d signups: %v", n, time.Since(start))
	// The last 201 has been read; kill at once, with no chance to flush.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the first server did not die of SIGKILL: %v", cmd.ProcessState)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first server did not die")
	}

	start = time.Now()
	l2, out2, _, _ := startBinary(t, env)
	base = "http://" + l2.Addr
	for i, a := range accounts {
		token, r := login(t, base, a.email)
		if token == "" {
			t.Errorf("account %d (%s) after the restart: login %d %s", i, a.email, r.code, r.body)
			continue
		}
		r = do(t, http.MethodGet, base+"/v1/me", nil, token)
		var me struct {
			ID       string `json:"id"`
			Email    string `json:"email"`
			TenantID string `json:"tenantId"`
		}
		if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &me) != nil {
			t.Errorf("account %d after the restart: me %d %s", i, r.code, r.body)
			continue
		}
		if me.ID != a.userID || me.Email != a.email || me.TenantID != a.tenantID {
			t.Errorf("account %d after the restart: got %+v, want %+v", i, me, a)
		}
	}
	t.Logf("restart and %d logins: %v", n, time.Since(start))
	if t.Failed() {
		t.Logf("second server log:\n%s", out2)
	}
}
