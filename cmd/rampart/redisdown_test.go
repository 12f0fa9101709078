package main

import (
	"context"
	"encoding/json/jsontext"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/logging"
	"example.com/rampart/internal/testutil"
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

// redisCalls is a Redis hook that counts what requests ask of Redis.
// Installed inside callDeadline, it sees the deadline each call runs under.
type redisCalls struct {
	mu        sync.Mutex
	calls     int      // commands and pipelines issued while serving a request
	unbounded []string // calls whose deadline is missing or further than redisCallTimeout
}

// servingRequest reports whether ctx descends from an HTTP request (as
// opposed to a background probe or the revocation listener).
func servingRequest(ctx context.Context) bool { return ctx.Value(http.ServerContextKey) != nil }

func (c *redisCalls) record(ctx context.Context, what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !servingRequest(ctx) {
		return
	}
	c.calls++
	// The time left can only shrink after the hook set it, so this is not
	// a race with the clock: a deadline set to redisCallTimeout is seen as
	// at most that.
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > redisCallTimeout {
		c.unbounded = append(c.unbounded, what)
	}
}

func (c *redisCalls) counts() (calls int, unbounded []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, slices.Clone(c.unbounded)
}

// DialHook observes nothing: go-redis dials in a goroutine of its own
// (under DialTimeout), and the request waits for it only as long as its
// call's deadline allows.
func (c *redisCalls) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *redisCalls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.record(ctx, cmd.Name())
		return next(ctx, cmd)
	}
}

func (c *redisCalls) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.record(ctx, "pipeline")
		return next(ctx, cmds)
	}
}

// maxRedisCallsPerRequest is what one request may ask of Redis: the rate
// limiter, the login throttle's check and its count, the revocation
// broadcast.
const maxRedisCallsPerRequest = 3

// TestUnreachableRedisCostsMilliseconds: with Redis configured but not
// reachable, every Redis caller on the request path (rate limiter, login
// throttle, revocation broadcast) gives up quickly and the replica carries
// on alone, instead of holding each request for a dial timeout or more.
//
// It counts instead of timing (a timed bound failed on a busy CI machine):
// every call a request makes runs under a deadline of at most
// redisCallTimeout (waiting for a connection included), and a request makes
// at most maxRedisCallsPerRequest of them. So the most Redis can cost a
// request is their product, however slow the machine.
func TestUnreachableRedisCostsMilliseconds(t *testing.T) {
	observed := &redisCalls{}
	redisObserver = observed
	t.Cleanup(func() { redisObserver = nil })
	env := testEnviron(t, append(generousRates, "RAMPART_REDIS_URL=redis://"+unreachable(t)+"/0")...)
	l, out, stop := startRun(t, env)
	defer stop()
	base := "http://" + l.Addr

	email := uniqueEmail("redisdown")
	var total int
	counted := func(what string, f func() response, want int) response {
		t.Helper()
		calls0, _ := observed.counts()
		r := f()
		if r.code != want {
			t.Fatalf("%s: %d %s\n%s", what, r.code, r.body, out)
		}
		calls, unbounded := observed.counts()
		calls -= calls0
		t.Logf("%s: %d Redis calls", what, calls)
		if calls > maxRedisCallsPerRequest {
			t.Errorf("%s made %d Redis calls, want at most %d", what, calls, maxRedisCallsPerRequest)
		}
		if len(unbounded) > 0 {
			t.Fatalf("Redis calls on the request path without a deadline of at most %v: %v", redisCallTimeout, unbounded)
		}
		total += calls
		return r
	}
	counted("signup", func() response { return do(t, http.MethodPost, base+"/v1/signup", signupBody(email), "") }, http.StatusCreated)
	counted("failed login", func() response {
		return do(t, http.MethodPost, base+"/v1/auth/login", map[string]string{"email": email, "password": "not the right passphrase"}, "")
	}, http.StatusUnauthorized)
	var token string
	counted("login", func() response {
		var r response
		token, r = login(t, base, email)
		return r
	}, http.StatusOK)
	counted("logout", func() response { return do(t, http.MethodPost, base+"/v1/auth/logout", nil, token) }, http.StatusNoContent)
	counted("me after logout", func() response { return do(t, http.MethodGet, base+"/v1/me", nil, token) }, http.StatusUnauthorized)
	if total == 0 {
		t.Fatal("no Redis call was seen on the request path: the observer is not installed")
	}
}

// TestRedisClientLogsAreJSON: go-redis's own lines (here: a refused dial)
// arrive in the server's JSON log, through its redaction, not as free text
// on stderr. The Redis password in the URL does not appear.
func TestRedisClientLogsAreJSON(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now: dials are refused at once
	const password = "CANARY-redis-pw-5d1e"
	var buf testutil.SyncBuffer
	lim, err := buildLimits(Config{RedisURL: Secret("redis://:" + password + "@" + closed + "/0"), RedisPrefix: "t:"}, logging.New(&buf, slog.LevelInfo))
	if err != nil {
		t.Fatal(err)
	}
	defer lim.close()
	t.Cleanup(func() {
		redis.SetLogger(logging.PrintfLogger{Logger: slog.New(slog.DiscardHandler), Level: slog.LevelWarn})
	})
	if err := lim.redis.Ping(t.Context()).Err(); err == nil {
		t.Fatal("ping to a closed port succeeded")
	}
	out := buf.String()
	if !strings.Contains(out, `"msg":"redis client"`) || !strings.Contains(out, "failed to dial") {
		t.Errorf("go-redis's dial failure is not in the JSON log:\n%s", out)
	}
	for line := range strings.Lines(out) {
		if !jsontext.Value(line).IsValid() {
			t.Errorf("not a JSON line: %q", line)
		}
	}
	if strings.Contains(out, password) {
		t.Errorf("the log shows the Redis password:\n%s", out)
	}
}
