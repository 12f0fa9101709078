package main

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/tcpproxy"
)

// TestStartupWaitsForTheDatabase: PostgreSQL cannot be reached when the
// server starts. It keeps retrying, alive (/healthz 200) but not ready
// (/readyz and the API 503), and serves once the database answers, without
// a restart.
func TestStartupWaitsForTheDatabase(t *testing.T) {
	u, err := url.Parse(testutil.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := tcpproxy.Start(t, u.Host)
	proxy.Cut()
	u.Host = proxy.Addr()
	env := setEnv(testEnviron(t, generousRates...), "RAMPART_DATABASE_URL="+u.String())
	env = setEnv(env, "RAMPART_STARTUP_TIMEOUT=1h") // longer than the test: it must not give up here

	out, done := serveInBackground(t, env)
	l := waitLogged(t, out, done, "starting")
	base := "http://" + l.Addr
	waitFor(t, out, done, "database not reachable yet; retrying")

	if r := do(t, http.MethodGet, base+"/healthz", nil, ""); r.code != http.StatusOK {
		t.Errorf("healthz while waiting for the database: %d %s", r.code, r.body)
	}
	assertUnavailable(t, "GET /readyz while starting", do(t, http.MethodGet, base+"/readyz", nil, ""), proxy.Addr())
	assertUnavailable(t, "POST /v1/signup while starting", do(t, http.MethodPost, base+"/v1/signup", signupBody(uniqueEmail("early")), ""), proxy.Addr())

	proxy.Restore()
	if ready := waitLogged(t, out, done, "listening"); ready.Addr != l.Addr {
		t.Errorf("ready on %s, but started on %s", ready.Addr, l.Addr)
	}
	if r := do(t, http.MethodGet, base+"/readyz", nil, ""); r.code != http.StatusOK {
		t.Errorf("readyz once the database answers: %d %s", r.code, r.body)
	}
	if r := do(t, http.MethodPost, base+"/v1/signup", signupBody(uniqueEmail("late")), ""); r.code != http.StatusCreated {
		t.Errorf("signup once the database answers: %d %s", r.code, r.body)
	}
}

// TestStartupGivesUpWithTheReason: a database that never answers ends the
// process after RAMPART_STARTUP_TIMEOUT with a non-zero exit and the reason,
// having retried more than once.
func TestStartupGivesUpWithTheReason(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there: every connect is refused
	env := setEnv(testEnviron(t), "RAMPART_DATABASE_URL=postgres://rampart@"+closed+"/rampart?sslmode=disable")
	env = setEnv(env, "RAMPART_STARTUP_TIMEOUT=1s")

	out := &testutil.SyncBuffer{}
	err = run(t.Context(), []string{"rampart", "serve"}, env, out, out)
	if err == nil || exitCode(err) == 0 {
		t.Fatalf("run returned %v, want a non-zero exit", err)
	}
	log := out.String()
	for _, want := range []string{`"msg":"starting"`, "database not reachable yet; retrying",
		"the database did not answer within RAMPART_STARTUP_TIMEOUT=1s"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, log)
		}
	}
	if strings.Count(log, "database not reachable yet; retrying") < 1 || strings.Contains(log, `"msg":"listening"`) {
		t.Errorf("want at least one retry and no ready server:\n%s", log)
	}
}

// serveInBackground runs the server with env until the test ends, without
// waiting for it to be ready: the test watches out and done itself.
func serveInBackground(t *testing.T, env []string) (*testutil.SyncBuffer, <-chan error) {
	t.Helper()
	out := &testutil.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(t.Context(), []string{"rampart", "serve"}, env, out, out) }()
	t.Cleanup(func() { // t.Context() is cancelled by now: wait for the shutdown
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("server did not stop")
		}
	})
	return out, done
}

// waitFor polls the server's log until it contains s. The deadline only
// keeps a broken server from hanging the test; nothing is timed.
func waitFor(t *testing.T, out interface{ String() string }, done <-chan error, s string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), s); {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q:\n%s", s, out)
		}
		select {
		case err := <-done:
			t.Fatalf("server stopped: %v\n%s", err, out)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
