package main

import (
	"bytes"
	"cmp"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/blocklist"
	"example.com/rampart/internal/testutil"
)

func redisEnv(prefix string) []string {
	return []string{"RAMPART_REDIS_URL=" + cmp.Or(os.Getenv("RAMPART_TEST_REDIS_URL"), testutil.DefaultRedisURL),
		"RAMPART_REDIS_PREFIX=" + prefix}
}

// The attack against the binary: with RAMPART_AUTO_BLOCK=true, a
// credential-stuffing run from one address trips the rule and the server
// answers that address 429 /source-blocked from then on; `rampart blocks
// list` shows the block, `rampart blocks remove` lifts it (an admin_action
// event), and the address is served again.
func TestServeBlocksACredentialStuffingSource(t *testing.T) {
	_, prefix := testutil.Redis(t)
	env := testEnviron(t, append(append(generousRates, redisEnv(prefix)...), "RAMPART_AUTO_BLOCK=true")...)
	l, log, _ := startRun(t, env)
	base := "http://" + l.Addr
	attempt := func() response {
		return do(t, "POST", base+"/v1/auth/login", map[string]string{"email": uniqueEmail("victim"), "password": "not the password at all"}, "")
	}
	for i := range 10 {
		if r := attempt(); r.code != http.StatusUnauthorized {
			t.Fatalf("attempt %d before the rule fired: %d %s", i+1, r.code, r.body)
		}
	}
	var r response
	for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		if r = attempt(); r.code == http.StatusTooManyRequests || time.Now().After(deadline) {
			break
		}
	}
	if r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "/problems/source-blocked") || r.header.Get("Retry-After") != "900" {
		t.Fatalf("after the rule fired: %d Retry-After %q %s", r.code, r.header.Get("Retry-After"), r.body)
	}
	waitFor(t, log, nil, `"type":"source_blocked"`)
	waitFor(t, log, nil, `"rule":"source_blocked"`)

	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"rampart", "blocks", "list"}, env, &out, &errOut); err != nil {
		t.Fatalf("blocks list: %v\n%s%s", err, &out, &errOut)
	}
	if !strings.Contains(out.String(), "127.0.0.1") || !strings.Contains(out.String(), "credential_stuffing") {
		t.Fatalf("blocks list does not show the block:\n%s", &out)
	}
	out.Reset()
	if err := run(t.Context(), []string{"rampart", "blocks", "remove", "127.0.0.1"}, env, &out, &errOut); err != nil {
		t.Fatalf("blocks remove: %v\n%s%s", err, &out, &errOut)
	}
	if !strings.Contains(out.String(), "removed the block of 127.0.0.1") ||
		!strings.Contains(errOut.String(), `"type":"admin_action"`) || !strings.Contains(errOut.String(), `"source":"127.0.0.1"`) {
		t.Fatalf("blocks remove printed:\n%s\nstderr:\n%s", &out, &errOut)
	}
	for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		if r = do(t, "GET", base+"/v1/orders", nil, ""); r.code == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused a second after the block was removed: %d", r.code)
		}
	}
	out.Reset()
	if err := run(t.Context(), []string{"rampart", "blocks", "list"}, env, &out, &errOut); err != nil || !strings.Contains(out.String(), "no source is blocked") {
		t.Fatalf("blocks list after remove: %v\n%s", err, &out)
	}
	if err := run(t.Context(), []string{"rampart", "blocks", "remove", "127.0.0.1"}, env, &out, &errOut); !errors.Is(err, errReported) {
		t.Fatalf("removing a block that is not there: %v", err)
	}
}

// Without Redis there is no list a command could reach: it says so and fails.
func TestBlocksCommandNeedsRedis(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"rampart", "blocks", "list"}, testEnviron(t, "RAMPART_AUTO_BLOCK=true"), &out, &errOut)
	if !errors.Is(err, errReported) || !strings.Contains(errOut.String(), "RAMPART_REDIS_URL is not set") ||
		!strings.Contains(errOut.String(), "cannot see") {
		t.Fatalf("blocks list without Redis: %v\n%s%s", err, &out, &errOut)
	}
	if err := run(t.Context(), []string{"rampart", "blocks", "remove"}, testEnviron(t), &out, &errOut); !errors.Is(err, errUsage) {
		t.Fatalf("blocks remove without a source: %v", err)
	}
}

// The blocker serve builds never blocks an exempt address nor a trusted
// proxy's, and an IPv6 source is its /64.
func TestServeBlockerExemptions(t *testing.T) {
	cfg, err := loadConfig(testEnviron(t, "RAMPART_AUTO_BLOCK=true", "RAMPART_TRUSTED_PROXIES=10.0.0.0/8,fd00::1",
		"RAMPART_BLOCK_EXEMPT=198.51.100.0/24,2001:db8:aa::/48", "RAMPART_BLOCK_DURATION=2m"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBlocker(cfg, nil, nil, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"10.9.8.7", "fd00::1", "198.51.100.200", "2001:db8:aa:1::9"} {
		if _, _, err := b.Place(t.Context(), s, "credential_stuffing"); !errors.Is(err, blocklist.ErrExempt) {
			t.Errorf("Place(%s) = %v, want ErrExempt", s, err)
		}
	}
	blk, placed, err := b.Place(t.Context(), "203.0.113.1", "credential_stuffing")
	if err != nil || !placed || time.Until(blk.Until) > 2*time.Minute || time.Until(blk.Until) < time.Minute {
		t.Fatalf("Place(203.0.113.1) = %+v %v %v; want a 2m block", blk, placed, err)
	}
}

func TestBlockExemptRefusesEverything(t *testing.T) {
	_, err := loadConfig(testEnviron(t, "RAMPART_BLOCK_EXEMPT=10.0.0.0/8,0.0.0.0/0"))
	if err == nil || !strings.Contains(err.Error(), "RAMPART_BLOCK_EXEMPT: entry 2: must not exempt every address") {
		t.Fatalf("RAMPART_BLOCK_EXEMPT=0.0.0.0/0: %v", err)
	}
	for _, v := range []string{"RAMPART_BLOCK_DURATION=30s", "RAMPART_BLOCK_DURATION=25h", "RAMPART_AUTO_BLOCK=yes please"} {
		if _, err := loadConfig(testEnviron(t, v)); err == nil {
			t.Errorf("%s accepted", v)
		}
	}
}

// `config check` says which mode runs: off, per replica, or shared; the
// durations; and what is never blocked.
func TestConfigCheckNamesTheBlockingMode(t *testing.T) {
	check := func(extra ...string) string {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), []string{"rampart", "config", "check"}, testEnviron(t, extra...), &out, &errOut); err != nil {
			t.Fatalf("config check: %v\n%s", err, &errOut)
		}
		return out.String()
	}
	if out := check(); !strings.Contains(out, "automatic blocking: off") || !strings.Contains(out, "RAMPART_AUTO_BLOCK=false\n") {
		t.Errorf("default:\n%s", out)
	}
	if out := check("RAMPART_AUTO_BLOCK=true"); !strings.Contains(out, "automatic blocking: on, per replica") {
		t.Errorf("without Redis:\n%s", out)
	}
	out := check("RAMPART_AUTO_BLOCK=true", "RAMPART_REDIS_URL=redis://127.0.0.1:6379/0", "RAMPART_TRUSTED_PROXIES=10.0.0.0/8",
		"RAMPART_BLOCK_EXEMPT=198.51.100.0/24")
	for _, want := range []string{"automatic blocking: on, shared", "block durations: 15m, 1h, 4h, 16h, 24h",
		"never blocked: RAMPART_BLOCK_EXEMPT=198.51.100.0/24, trusted proxies 10.0.0.0/8"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check lacks %q:\n%s", want, out)
		}
	}
}
