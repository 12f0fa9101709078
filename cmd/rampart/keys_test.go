package main

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/token"
)

// TestRunningReplicaPicksUpRotation: `rampart keys rotate` names the new
// key and says by when replicas sign with it; a running server then signs
// with it without a restart: told through Redis when Redis is configured
// (with the poll made too slow to be the reason), by its poll otherwise.
func TestRunningReplicaPicksUpRotation(t *testing.T) {
	if keyReloadEvery != token.RefreshEvery || token.RefreshEvery > 5*time.Second {
		t.Fatalf("replicas reload keys every %v (token.RefreshEvery %v): the promise is within 5s", keyReloadEvery, token.RefreshEvery)
	}
	t.Cleanup(func() { keyReloadEvery = token.RefreshEvery })

	t.Run("Redis notification", func(t *testing.T) {
		_, prefix := testutil.Redis(t)
		keyReloadEvery = time.Hour // only the notification can do it within the test
		env := testEnviron(t, append(generousRates,
			"RAMPART_REDIS_URL="+cmp.Or(os.Getenv("RAMPART_TEST_REDIS_URL"), testutil.DefaultRedisURL),
			"RAMPART_REDIS_PREFIX="+prefix)...)
		out := rotateWhileRunning(t, env, "signing keys: following rotations through Redis")
		if !strings.Contains(out, "those reached through Redis, now") {
			t.Errorf("keys rotate does not say Redis told the replicas:\n%s", out)
		}
	})
	t.Run("poll", func(t *testing.T) {
		keyReloadEvery = 20 * time.Millisecond
		rotateWhileRunning(t, testEnviron(t, generousRates...), "")
	})
}

// rotateWhileRunning starts a server, waits for ready (its log line),
// rotates the keys with `rampart keys rotate` and waits until the server's
// new tokens carry the new key id. It returns what the command printed.
func rotateWhileRunning(t *testing.T, env []string, ready string) string {
	t.Helper()
	l, log, _ := startRun(t, env)
	base := "http://" + l.Addr
	if ready != "" {
		waitFor(t, log, nil, ready)
	}
	email := uniqueEmail("rotate")
	if r := do(t, "POST", base+"/v1/signup", signupBody(email), ""); r.code != 201 {
		t.Fatalf("signup: %d %s", r.code, r.body)
	}
	kid := func() string {
		tok, r := login(t, base, email)
		if tok == "" {
			t.Fatalf("login: %d %s", r.code, r.body)
		}
		return kidOf(t, tok)
	}
	old := kid()

	var out bytes.Buffer
	if err := run(t.Context(), []string{"rampart", "keys", "rotate"}, env, &out, &out); err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, &out)
	}
	var fresh string
	first, _, _ := strings.Cut(out.String(), "\n")
	if _, err := fmt.Sscanf(first, "new signing key %s", &fresh); err != nil || fresh == old {
		t.Fatalf("keys rotate does not name a new key id (old %s):\n%s", old, &out)
	}
	if !strings.Contains(out.String(), "running replicas sign with it by ") {
		t.Errorf("keys rotate does not say when replicas sign with the new key:\n%s", &out)
	}
	// A hang guard, not a time bound: the poll in the Redis case is an hour.
	for deadline := time.Now().Add(30 * time.Second); kid() != fresh; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the running server still signs with %s, not %s\n%s", old, fresh, log)
		}
	}
	// The rotation is a key_rotation security event where it was made and
	// on the replica that picked it up.
	if !strings.Contains(out.String(), `"msg":"security event","type":"key_rotation"`) {
		t.Errorf("keys rotate recorded no key_rotation event:\n%s", &out)
	}
	waitFor(t, log, nil, `"type":"key_rotation"`)
	return out.String()
}
