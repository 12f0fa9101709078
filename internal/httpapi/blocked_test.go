package httpapi

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/blocklist"
	"example.com/rampart/internal/secevents"
	"example.com/rampart/internal/signals"
	"example.com/rampart/internal/testutil"
)

// replica is one in-process server with automatic blocking on, wired as
// `rampart serve` wires it: the detector watches the event stream, its
// alerts go to the blocker, and each block placed is a source_blocked event
// and alert.
type replica struct {
	*testApp
	blocker  *blocklist.Blocker
	detector *signals.Detector
	reg      *prometheus.Registry // the blocker's metrics
	alerts   *testutil.SyncBuffer // the detector's and the blocker's log
}

type replicaConfig struct {
	store   blocklist.Store // nil: memory
	exempt  []netip.Prefix
	trusted []netip.Prefix
	policy  blocklist.Policy
}

func newReplica(t *testing.T, rc replicaConfig) *replica {
	t.Helper()
	r := &replica{reg: prometheus.NewRegistry(), alerts: &testutil.SyncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(r.alerts, nil))
	var err error
	r.blocker, err = blocklist.New(blocklist.Config{Store: rc.store, Policy: rc.policy, Logger: logger,
		Exempt: append(append([]netip.Prefix(nil), rc.exempt...), rc.trusted...), Registry: r.reg,
		OnPlaced: func(b blocklist.Block) { blocklist.Announce(r.events, r.detector.Raise, time.Now)(b) }})
	if err != nil {
		t.Fatal(err)
	}
	r.detector, err = signals.New(signals.Config{OnAlert: r.blocker.OnAlert, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	r.testApp = newTestAppWith(t, appConfig{observers: []secevents.Observer{r.detector}, blocks: r.blocker, trusted: rc.trusted})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go r.blocker.Run(ctx)
	return r
}

// from sends a request as if from client (via proxy when proxy is set: the
// proxy is the peer and names client in X-Forwarded-For; client "" sends
// no X-Forwarded-For).
func (r *replica) from(proxy, client, method, path, body string) response {
	r.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if proxy != "" {
		req.RemoteAddr = proxy + ":40000"
		if client != "" {
			req.Header.Set("X-Forwarded-For", client)
		}
	} else {
		req.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(client), 40000).String()
	}
	rr := httptest.NewRecorder()
	r.handler.ServeHTTP(rr, req)
	return response{rr}
}

// stuff replays a credential-stuffing run: failed sign-ins for n distinct
// (unknown) accounts, returning the answers' statuses.
func (r *replica) stuff(proxy, client string, n int) []int {
	r.t.Helper()
	var codes []int
	for range n {
		email := strings.ToLower(rand.Text()[:10]) + "@victims.example"
		codes = append(codes, r.from(proxy, client, "POST", "/v1/auth/login", `{"email":"`+email+`","password":"not the password at all"}`).Code)
	}
	return codes
}

func waitUntil(t *testing.T, d time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func (r *replica) result(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rampart_source_blocks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == name {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

// The attack, over HTTP against two replicas sharing one Redis: a
// credential-stuffing run from one source on replica one trips the rule;
// from then on both replicas answer that source 429 /source-blocked with
// the block's seconds in Retry-After, before reading its body (no event per
// refusal), within a second; other sources and the health probes pass; the
// block is one source_blocked event and one source_blocked alert.
func TestCredentialStuffingBlocksTheSourceOnEveryReplica(t *testing.T) {
	client, prefix := testutil.Redis(t)
	one := newReplica(t, replicaConfig{store: blocklist.NewRedis(client, prefix, 0)})
	two := newReplica(t, replicaConfig{store: blocklist.NewRedis(client, prefix, 0)})
	time.Sleep(100 * time.Millisecond) // both follow the shared list
	const attacker = "203.0.113.50"

	for i, code := range one.stuff("", attacker, 10) {
		if code != http.StatusUnauthorized {
			t.Fatalf("sign-in %d answered %d before the rule fired", i+1, code)
		}
	}
	fired := time.Now()
	blockedOn := func(r *replica) func() bool {
		return func() bool {
			// (a 429 of the login throttle, which this repeated account
			// would soon get, does not count)
			return r.from("", attacker, "POST", "/v1/auth/login", `{"email":"x@victims.example","password":"not the password at all"}`).problemType() == "source-blocked"
		}
	}
	waitUntil(t, time.Second, "replica one refuses the source", blockedOn(one))
	d := waitUntil(t, time.Second, "replica two refuses the source", blockedOn(two))
	t.Logf("replica two refuses the source %v after the rule fired (%v after replica one)", time.Since(fired), d)

	res := two.from("", attacker, "GET", "/v1/orders", "")
	if res.Code != http.StatusTooManyRequests || res.problemType() != "source-blocked" ||
		res.Header().Get("Content-Type") != "application/problem+json" || res.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("blocked answer: %d %s %v", res.Code, res.Body, res.Header())
	}
	if ra, _ := strconv.Atoi(res.Header().Get("Retry-After")); ra < 899 || ra > 900 {
		t.Errorf("Retry-After %q, want the 15 minutes of a first block (900 s)", res.Header().Get("Retry-After"))
	}
	// Before any other work: a body the edge would refuse (415) is not looked at.
	if res := two.from("", attacker, "POST", "/v1/orders", ""); res.problemType() != "source-blocked" {
		t.Errorf("blocked source's POST: %d %s", res.Code, res.problemType())
	}
	req := httptest.NewRequest("POST", "/v1/signup", strings.NewReader(strings.Repeat("x", 200<<10)))
	req.RemoteAddr = attacker + ":1"
	rr := httptest.NewRecorder()
	two.handler.ServeHTTP(rr, req)
	if (response{rr}).problemType() != "source-blocked" {
		t.Errorf("blocked source's oversized body: %d %s", rr.Code, rr.Body)
	}
	// Another source, and the blocked one's health probes, pass.
	if res := two.from("", "203.0.113.51", "GET", "/v1/orders", ""); res.Code != http.StatusUnauthorized {
		t.Errorf("another source: %d", res.Code)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if res := two.from("", attacker, "GET", path, ""); res.Code != http.StatusOK {
			t.Errorf("%s from the blocked source: %d", path, res.Code)
		}
	}

	// One block: one event and one alert, on the replica that placed it;
	// the refusals added no security event.
	time.Sleep(50 * time.Millisecond)
	logs := one.logs.String()
	if n := strings.Count(logs, `"type":"source_blocked"`); n != 1 {
		t.Errorf("%d source_blocked events, want 1", n)
	}
	if !strings.Contains(logs, `"detail":"blocked after credential_stuffing"`) ||
		!strings.Contains(logs, `"source":"`+attacker+`"`) {
		t.Errorf("the source_blocked event lacks its source or cause:\n%s", logs)
	}
	if n := strings.Count(logs, `"msg":"security event","type":"rate_limited"`) + strings.Count(two.logs.String(), `"type":"rate_limited"`); n != 0 {
		t.Errorf("%d refusals of the blocked source were recorded as events", n)
	}
	alerts := one.alerts.String()
	if !strings.Contains(alerts, `"msg":"security alert","rule":"source_blocked","scope":"source","subject":"`+attacker+`","count":1,"threshold":1,"window":"15m0s"`) ||
		!strings.Contains(alerts, `"cause":"credential_stuffing"`) {
		t.Errorf("no source_blocked alert in the log:\n%s", alerts)
	}
	if n := one.result(t, "placed") + two.result(t, "placed"); n != 1 {
		t.Errorf("%v blocks placed, want 1", n)
	}
}

// A block's alert goes through the detector's outputs (OnAlert is the last
// of them), naming the rule that caused it, the repeat and the duration.
func TestABlockRaisesASourceBlockedAlert(t *testing.T) {
	got := make(chan signals.Alert, 8)
	var blocker *blocklist.Blocker
	quiet := slog.New(slog.DiscardHandler)
	det, err := signals.New(signals.Config{Logger: quiet, OnAlert: func(a signals.Alert) { got <- a; blocker.OnAlert(a) }})
	if err != nil {
		t.Fatal(err)
	}
	blocker, err = blocklist.New(blocklist.Config{Logger: quiet, OnPlaced: blocklist.Announce(nil, det.Raise, time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go blocker.Run(ctx)
	blocker.OnAlert(signals.Alert{Rule: "validation_burst", Scope: signals.ScopeSource, Subject: "2001:db8:5:6::/64"})
	select {
	case a := <-got:
		if a.Rule != "source_blocked" || a.Subject != "2001:db8:5:6::/64" || a.Cause != "validation_burst" ||
			a.Count != 1 || a.Window != "15m0s" {
			t.Fatalf("alert %+v", a)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no source_blocked alert")
	}
	// Only the blocking rules block: refresh_reuse and account-scoped alerts do not.
	blocker.OnAlert(signals.Alert{Rule: "refresh_reuse", Scope: signals.ScopeSource, Subject: "192.0.2.9"})
	blocker.OnAlert(signals.Alert{Rule: "password_spraying", Scope: signals.ScopeAccount, Subject: "acct"})
	time.Sleep(50 * time.Millisecond)
	if _, blocked := blocker.Check(netip.MustParseAddr("192.0.2.9")); blocked {
		t.Fatal("a refresh_reuse alert blocked its source")
	}
}

// An exempt source is never blocked, even when its rule fires; nor is a
// trusted proxy's own address, while a client behind it is.
func TestExemptSourcesAndTrustedProxiesAreNeverBlocked(t *testing.T) {
	r := newReplica(t, replicaConfig{exempt: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")},
		trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})

	// Exempt: the rule fires, no block; sign-ins keep being answered.
	codes := r.stuff("", "198.51.100.7", 14)
	time.Sleep(100 * time.Millisecond)
	codes = append(codes, r.stuff("", "198.51.100.7", 2)...)
	for i, c := range codes {
		if c != http.StatusUnauthorized {
			t.Fatalf("exempt source: sign-in %d answered %d", i+1, c)
		}
	}
	if n := r.result(t, "exempt"); n != 1 {
		t.Fatalf("exempt refusals %v, want 1 (the rule fired once)", n)
	}

	// A client behind the proxy is blocked; the proxy's other clients pass.
	r.stuff("10.0.0.2", "203.0.113.60", 10)
	waitUntil(t, time.Second, "the client behind the proxy is refused", func() bool {
		return r.from("10.0.0.2", "203.0.113.60", "GET", "/v1/orders", "").problemType() == "source-blocked"
	})
	if res := r.from("10.0.0.2", "203.0.113.61", "GET", "/v1/orders", ""); res.Code != http.StatusUnauthorized {
		t.Fatalf("another client behind the same proxy: %d", res.Code)
	}
	// Spoofing the header from outside does not move a block onto someone else.
	if res := r.from("", "192.0.2.200", "GET", "/v1/orders", ""); res.Code != http.StatusUnauthorized {
		t.Fatalf("an untrusted peer: %d", res.Code)
	}

	// The proxy's own address (no forwarded client): its rule fires, it is
	// not blocked, and everyone behind it keeps being served.
	codes = r.stuff("10.0.0.3", "", 14)
	time.Sleep(100 * time.Millisecond)
	codes = append(codes, r.stuff("10.0.0.3", "", 2)...)
	for i, c := range codes {
		if c != http.StatusUnauthorized {
			t.Fatalf("trusted proxy's own address: sign-in %d answered %d", i+1, c)
		}
	}
	if n := r.result(t, "exempt"); n != 2 {
		t.Fatalf("exempt refusals %v, want 2", n)
	}
	// Even a block that reached the list some other way (another replica
	// with other settings) is not enforced on an exempt address.
	if _, blocked := r.blocker.Check(netip.MustParseAddr("10.0.0.3")); blocked {
		t.Fatal("the proxy's address is refused")
	}
}

// A block ends when its time is up, Retry-After counts it down, and the
// next block of the same source lasts Factor times longer.
func TestBlockEndsAndGrowsOnRepeat(t *testing.T) {
	client, prefix := testutil.Redis(t)
	r := newReplica(t, replicaConfig{store: blocklist.NewRedis(client, prefix, 0),
		policy: blocklist.Policy{Base: time.Second, Factor: 3, Max: time.Hour, Memory: time.Minute}})
	const src = "2001:db8:77:1::5"
	ctx := t.Context()
	if _, _, err := r.blocker.Place(ctx, src, "forbidden_spike"); err != nil {
		t.Fatal(err)
	}
	// The whole /64 is refused; Retry-After is the one second left.
	res := r.from("", "2001:db8:77:1:abcd::1", "GET", "/v1/orders", "")
	if res.Code != http.StatusTooManyRequests || res.Header().Get("Retry-After") != "1" {
		t.Fatalf("blocked: %d Retry-After %q", res.Code, res.Header().Get("Retry-After"))
	}
	waitUntil(t, 2*time.Second, "the 1 s block ends", func() bool {
		return r.from("", src, "GET", "/v1/orders", "").Code == http.StatusUnauthorized
	})
	// The edge's copy ends the block up to one Redis round trip before
	// Redis expires it (its end is computed from the time before the call),
	// so on a loaded machine a Place right after may still find it in force.
	var blk blocklist.Block
	waitUntil(t, time.Second, "a second block can be placed", func() bool {
		b, placed, err := r.blocker.Place(ctx, src, "forbidden_spike")
		if err != nil {
			t.Fatal(err)
		}
		blk = b
		return placed
	})
	if blk.Repeat != 2 {
		t.Fatalf("second block: %+v, want repeat 2", blk)
	}
	res = r.from("", src, "GET", "/v1/orders", "")
	if ra := res.Header().Get("Retry-After"); res.Code != http.StatusTooManyRequests || ra != "3" {
		t.Fatalf("second block: %d Retry-After %q, want 3", res.Code, ra)
	}
}

// Redis down: the rule fires, no block is placed (the failure is counted),
// and the source keeps being answered: never fail closed.
func TestRedisDownBlocksNothing(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	r := newReplica(t, replicaConfig{store: blocklist.NewRedis(down, "rampart-test:down:", 0)})
	codes := r.stuff("", "203.0.113.70", 10)
	waitUntil(t, 2*time.Second, "the failed placement is counted", func() bool { return r.result(t, "error") == 1 })
	codes = append(codes, r.stuff("", "203.0.113.70", 2)...)
	for i, c := range codes {
		if c != http.StatusUnauthorized {
			t.Fatalf("sign-in %d answered %d with Redis down", i+1, c)
		}
	}
}

// blockAll says every address is blocked for left.
type blockAll struct{ left time.Duration }

func (b blockAll) Check(netip.Addr) (time.Duration, bool) { return b.left, true }

// The edge on its own, whatever the block list says: a trusted proxy's own
// address and the health probes pass; anyone else gets 429 with the seconds
// left rounded up.
func TestEdgeNeverRefusesProxiesOrProbes(t *testing.T) {
	resolver := clientIPResolver{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	h := observe(slog.New(slog.DiscardHandler), mustMetrics(t), resolver, nil)(
		refuseBlocked(blockAll{1200 * time.Millisecond}, resolver)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})))
	send := func(peer, xff, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = peer + ":1"
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		return rr
	}
	if rr := send("10.0.0.2", "", "/v1/orders"); rr.Code != http.StatusNoContent {
		t.Errorf("the trusted proxy's own address: %d", rr.Code)
	}
	if rr := send("10.0.0.2", "203.0.113.1", "/v1/orders"); rr.Code != http.StatusTooManyRequests || rr.Header().Get("Retry-After") != "2" {
		t.Errorf("the client behind the proxy: %d Retry-After %q, want 429 and 2", rr.Code, rr.Header().Get("Retry-After"))
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if rr := send("203.0.113.1", "", path); rr.Code != http.StatusNoContent {
			t.Errorf("%s: %d", path, rr.Code)
		}
	}
}

func mustMetrics(t *testing.T) *metrics {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return m
}
