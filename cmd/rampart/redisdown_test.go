package main

import (
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// unreachable returns a loopback address where a TCP connect neither
// succeeds nor fails: a listener that never accepts, with its accept queue
// full, so the kernel drops further SYNs (as with a firewalled or vanished
// host).
func unreachable(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	for range 8 { // fill the queue until a connect hangs
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("cannot make an unreachable address here: the accept queue never filled")
	return ""
}

// TestUnreachableRedisCostsMilliseconds: with Redis configured but not
// reachable, every Redis caller on the request path (rate limiter, login
// throttle, revocation broadcast) gives up quickly and the replica carries
// on alone, instead of holding each request for a dial timeout or more.
func TestUnreachableRedisCostsMilliseconds(t *testing.T) {
	env := testEnviron(t, append(generousRates, "RAMPART_REDIS_URL=redis://"+unreachable(t)+"/0")...)
	l, out, stop := startRun(t, env)
	defer stop()
	base := "http://" + l.Addr

	email := uniqueEmail("redisdown")
	timed := func(what string, f func() response, want int) response {
		t.Helper()
		start := time.Now()
		r := f()
		if took := time.Since(start); took > 750*time.Millisecond {
			t.Errorf("%s with Redis unreachable took %v", what, took.Round(time.Millisecond))
		}
		if r.code != want {
			t.Fatalf("%s: %d %s\n%s", what, r.code, r.body, out)
		}
		return r
	}
	timed("signup", func() response { return do(t, http.MethodPost, base+"/v1/signup", signupBody(email), "") }, http.StatusCreated)
	timed("failed login", func() response {
		return do(t, http.MethodPost, base+"/v1/auth/login", map[string]string{"email": email, "password": "not the right passphrase"}, "")
	}, http.StatusUnauthorized)
	var token string
	timed("login", func() response {
		var r response
		token, r = login(t, base, email)
		return r
	}, http.StatusOK)
	timed("logout", func() response { return do(t, http.MethodPost, base+"/v1/auth/logout", nil, token) }, http.StatusNoContent)
	timed("me after logout", func() response { return do(t, http.MethodGet, base+"/v1/me", nil, token) }, http.StatusUnauthorized)
}
