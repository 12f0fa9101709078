package signals

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/logging"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/testutil"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

type harness struct {
	d      *Detector
	clock  *testutil.Clock
	alerts []Alert
	gaveUp []Alert
	logs   *bytes.Buffer
	reg    *prometheus.Registry
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{clock: testutil.NewClock(t0), logs: &bytes.Buffer{}, reg: prometheus.NewRegistry()}
	cfg.Now, cfg.Registry = h.clock.Now, h.reg
	cfg.Logger = logging.New(h.logs, slog.LevelInfo)
	cfg.OnAlert = func(a Alert) { h.alerts = append(h.alerts, a) }
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.d = d
	return h
}

// observe stamps e with the clock, which then moves a second.
func (h *harness) observe(e rampart.SecurityEvent) {
	e.Time = h.clock.Now()
	h.d.Observe(e)
	h.clock.Advance(time.Second)
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// spread is the i-th address of a botnet: a different source each time.
func spread(i int) netip.Addr { return ip(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)) }

// attack returns the i-th event of a run that rule name counts, all aimed
// at one subject, each of them counted by no other rule beyond one.
func attack(name string, i int) rampart.SecurityEvent {
	src := ip("203.0.113.7")
	switch name {
	case "credential_stuffing":
		return rampart.SecurityEvent{Type: rampart.EventAuthFailure, Source: src, AccountID: fmt.Sprintf("acct-%d", i), Status: 401}
	case "password_spraying":
		return rampart.SecurityEvent{Type: rampart.EventAuthFailure, Source: ip(fmt.Sprintf("198.51.100.%d", i+1)), AccountID: "victim", Status: 401}
	case "unauthorized_spike":
		return rampart.SecurityEvent{Type: rampart.EventStepUpRefused, Source: src, AccountID: "a1", Status: 401}
	case "forbidden_spike":
		if i%2 == 0 {
			return rampart.SecurityEvent{Type: rampart.EventForbidden, Source: src, Status: 403}
		}
		return rampart.SecurityEvent{Type: rampart.EventNotFoundTenant, Source: src, Status: 404}
	case "validation_burst":
		return rampart.SecurityEvent{Type: rampart.EventValidation, Source: src, Status: 422}
	case "refresh_failures":
		return rampart.SecurityEvent{Type: rampart.EventRefreshFailure, Source: src, Status: 401}
	case "refresh_reuse":
		return rampart.SecurityEvent{Type: rampart.EventRefreshReuse, Source: src, AccountID: "a1", Status: 401}
	case "lockout_storm":
		return rampart.SecurityEvent{Type: rampart.EventLockout, Source: ip(fmt.Sprintf("192.0.2.%d", i+1)), AccountID: fmt.Sprintf("acct-%d", i)}
	case "egress_refused":
		return rampart.SecurityEvent{Type: rampart.EventEgressRefused, Detail: "unlisted destination"}
	case "tenant_sign_in_failures": // each account from an address of its own: no source sees stuffing
		return rampart.SecurityEvent{Type: rampart.EventAuthFailure, Source: spread(i), AccountID: fmt.Sprintf("acct-%d", i), TenantID: "t1", Status: 401}
	case "tenant_forbidden_sweep":
		return rampart.SecurityEvent{Type: rampart.EventForbidden, Source: spread(i), AccountID: fmt.Sprintf("acct-%d", i%7), TenantID: "t1", Status: 403}
	case "unauthorized_surge": // a distributed run: no source reaches its own spike
		return rampart.SecurityEvent{Type: rampart.EventStepUpRefused, Source: spread(i), AccountID: "a1", Status: 401}
	case "forbidden_surge":
		return rampart.SecurityEvent{Type: rampart.EventForbidden, Source: spread(i), Status: 403}
	}
	panic("no attack for rule " + name)
}

func TestEachRuleFiresWhenItsThresholdIsCrossedAndNotBefore(t *testing.T) {
	for _, r := range DefaultRules() {
		t.Run(r.Name, func(t *testing.T) {
			h := newHarness(t, Config{})
			observe := h.observe
			if r.Surge { // a surge's floor in one burst: the clock stands still
				observe = func(e rampart.SecurityEvent) { e.Time = h.clock.Now(); h.d.Observe(e) }
			}
			for i := range r.Threshold - 1 {
				observe(attack(r.Name, i))
			}
			if len(h.alerts) != 0 {
				t.Fatalf("%d of %d events raised %+v", r.Threshold-1, r.Threshold, h.alerts)
			}
			observe(attack(r.Name, r.Threshold-1))
			if len(h.alerts) != 1 || h.alerts[0].Rule != r.Name || h.alerts[0].Count != r.Threshold {
				t.Fatalf("at the threshold: alerts %+v, want one %s", h.alerts, r.Name)
			}
			if got := counter(t, h.reg, "rampart_alerts_total", "rule", r.Name); got != 1 {
				t.Fatalf("rampart_alerts_total{rule=%q} = %v", r.Name, got)
			}
		})
	}
}

func TestConfiguredThresholdAndOffAreObeyed(t *testing.T) {
	rules := DefaultRules()
	for i := range rules {
		switch rules[i].Name {
		case "refresh_failures":
			rules[i] = rules[i].WithSettings(Rule{Threshold: 3, Window: time.Minute})
		case "refresh_reuse":
			rules[i] = rules[i].WithSettings(Rule{Off: true})
		}
	}
	h := newHarness(t, Config{Rules: rules})
	for i := range 5 {
		h.observe(attack("refresh_reuse", i))
	}
	h.observe(attack("refresh_failures", 0))
	h.observe(attack("refresh_failures", 1))
	if len(h.alerts) != 0 {
		t.Fatalf("off rule or early threshold fired: %+v", h.alerts)
	}
	h.observe(attack("refresh_failures", 2))
	if len(h.alerts) != 1 || h.alerts[0].Rule != "refresh_failures" {
		t.Fatalf("alerts %+v, want refresh_failures at 3", h.alerts)
	}
}

// A run slow enough that the window never holds the threshold is not an
// alert; the same number of events inside the window is.
func TestWindowSlides(t *testing.T) {
	h := newHarness(t, Config{})
	r := DefaultRules()[5] // refresh_failures, 10/5m
	if r.Name != "refresh_failures" {
		t.Fatal("table order changed")
	}
	for i := range 3 * r.Threshold {
		h.observe(attack(r.Name, i))
		h.clock.Advance(r.Window / time.Duration(r.Threshold-1)) // one fewer than the threshold per window
	}
	if len(h.alerts) != 0 {
		t.Fatalf("a slow run fired: %+v", h.alerts)
	}
	for i := range r.Threshold {
		h.observe(attack(r.Name, i))
	}
	if len(h.alerts) != 1 {
		t.Fatalf("a fast run: alerts %+v, want 1", h.alerts)
	}
}

func TestCoolDownSuppressesRepeatsPerRuleAndSubject(t *testing.T) {
	rules := DefaultRules()[:1] // credential_stuffing alone: the run is a 401 spike too
	h := newHarness(t, Config{CoolDown: 10 * time.Minute, Rules: rules})
	for i := range 200 { // 200 distinct accounts in 200 s: one alert, not 191
		h.observe(attack("credential_stuffing", i))
	}
	if len(h.alerts) != 1 {
		t.Fatalf("%d alerts during one cool-down, want 1", len(h.alerts))
	}
	// Another source is another subject: its own alert at once.
	for i := range 10 {
		e := attack("credential_stuffing", i)
		e.Source = ip("203.0.113.8")
		h.observe(e)
	}
	if len(h.alerts) != 2 || h.alerts[1].Subject != "203.0.113.8" {
		t.Fatalf("second source: alerts %+v", h.alerts)
	}
	// When the cool-down is over, an attack still going alerts again.
	h.clock.Advance(10 * time.Minute)
	for i := range 10 {
		h.observe(attack("credential_stuffing", 1000+i))
	}
	if len(h.alerts) != 3 || h.alerts[2].Subject != "203.0.113.7" {
		t.Fatalf("after the cool-down: alerts %+v", h.alerts)
	}
}

// The distinct rules count members, not events: one user hammering one
// account from one address is not stuffing, and is not spraying.
func TestDistinctRulesCountDistinctMembers(t *testing.T) {
	h := newHarness(t, Config{})
	for range 25 { // under unauthorized_spike's 30
		h.observe(rampart.SecurityEvent{Type: rampart.EventAuthFailure, Source: ip("192.0.2.1"), AccountID: "a1", Status: 401})
	}
	if len(h.alerts) != 0 {
		t.Fatalf("one account from one source raised %+v", h.alerts)
	}
}

// An IPv6 attacker owns a /64 and rotates through it: the /64 is the
// source, so rotation neither hides stuffing nor fakes a spray.
func TestIPv6SourceIsItsSlash64(t *testing.T) {
	h := newHarness(t, Config{})
	for i := range 10 {
		h.observe(rampart.SecurityEvent{Type: rampart.EventAuthFailure, Status: 401,
			Source: ip(fmt.Sprintf("2001:db8:1:2::%x", i+1)), AccountID: "victim"})
	}
	if len(h.alerts) != 0 {
		t.Fatalf("one /64 counted as many sources: %+v", h.alerts)
	}
	for i := range 10 {
		h.observe(rampart.SecurityEvent{Type: rampart.EventAuthFailure, Status: 401,
			Source: ip(fmt.Sprintf("2001:db8:9:9:%x::1", i+1)), AccountID: fmt.Sprintf("acct-%d", i)})
	}
	if len(h.alerts) != 1 || h.alerts[0].Rule != "credential_stuffing" || h.alerts[0].Subject != "2001:db8:9:9::/64" {
		t.Fatalf("rotation inside a /64: alerts %+v", h.alerts)
	}
	if k, _ := SourceKey(ip("::ffff:192.0.2.1")); k != "192.0.2.1" {
		t.Fatalf("IPv4-mapped source keyed as %q", k)
	}
}

func TestAlertLogLevelAndFields(t *testing.T) {
	h := newHarness(t, Config{})
	for i := range 10 {
		h.observe(attack("credential_stuffing", i))
	}
	h.observe(attack("refresh_reuse", 0))
	var levels []string
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["msg"] == "security alert" {
			levels = append(levels, fmt.Sprint(m["level"], " ", m["rule"], " ", m["subject"]))
		}
	}
	want := []string{"WARN credential_stuffing 203.0.113.7", "ERROR refresh_reuse 203.0.113.7"}
	if fmt.Sprint(levels) != fmt.Sprint(want) {
		t.Fatalf("alert log lines %q, want %q", levels, want)
	}
}

// However many subjects fire, rampart_alerts_total has one series per
// rule: a client cannot mint series.
func TestAlertMetricLabelsAreBounded(t *testing.T) {
	h := newHarness(t, Config{})
	for i := range 300 {
		e := attack("refresh_reuse", 0)
		e.Source = ip(fmt.Sprintf("10.0.%d.%d", i/250, i%250))
		h.observe(e)
	}
	if len(h.alerts) != 300 {
		t.Fatalf("%d alerts, want 300", len(h.alerts))
	}
	if n := series(t, h.reg, "rampart_alerts_total"); n != len(DefaultRules()) {
		t.Fatalf("%d series, want one per rule (%d)", n, len(DefaultRules()))
	}
}

// ordinaryTraffic is an hour of 200 users: 180 on their own address and 20
// behind one office NAT, each signing in a few times with the odd wrong
// password, refreshing, reading and writing, with an expired refresh token
// after a sleep, an invalid form and a stale link now and then.
func ordinaryTraffic(h *harness) {
	rng := rand.New(rand.NewPCG(1, 2))
	type user struct {
		id  string
		src netip.Addr
	}
	users := make([]user, 200)
	for i := range users {
		src := ip(fmt.Sprintf("100.64.%d.%d", i/200, i%200+1))
		if i >= 180 {
			src = ip("100.65.0.1") // the office NAT
		}
		users[i] = user{fmt.Sprintf("user-%d", i), src}
	}
	const steps = 3600 // one step a second
	for range steps {
		for range 3 { // three user actions a second
			u := users[rng.IntN(len(users))]
			e := rampart.SecurityEvent{Source: u.src, AccountID: u.id, TenantID: "t1"}
			switch x := rng.IntN(100); {
			case x < 3:
				e.Type, e.Status = rampart.EventAuthFailure, 401 // a wrong password
			case x < 5:
				e.Type, e.Status = rampart.EventRefreshFailure, 401 // expired after a sleep
			case x < 8:
				e.Type, e.Status = rampart.EventValidation, 422
			case x < 10:
				e.Type, e.Status = rampart.EventNotFoundTenant, 404
			default:
				continue // the ordinary request raises no security event
			}
			e.Time = h.clock.Now()
			h.d.Observe(e)
		}
		h.clock.Advance(time.Second)
	}
}

func TestOrdinaryTrafficFromTwoHundredUsersRaisesNothing(t *testing.T) {
	h := newHarness(t, Config{})
	ordinaryTraffic(h)
	if len(h.alerts) != 0 {
		t.Fatalf("ordinary traffic raised %d alerts, first %+v", len(h.alerts), h.alerts[0])
	}
	// The same stream does reach the rules: at a threshold of 3 they fire.
	// (Without this, a detector that ignored everything would pass.)
	rules := DefaultRules()
	for i := range rules {
		rules[i] = rules[i].WithSettings(Rule{Threshold: 3, Window: rules[i].Window})
	}
	tight := newHarness(t, Config{Rules: rules})
	ordinaryTraffic(tight)
	fired := map[string]bool{}
	for _, a := range tight.alerts {
		fired[a.Rule] = true
	}
	for _, name := range []string{"credential_stuffing", "refresh_failures", "validation_burst", "forbidden_spike"} {
		if !fired[name] {
			t.Errorf("at 3 the stream never fired %s: it does not exercise the rule", name)
		}
	}
}

// Stuffing lists are mostly addresses with no account here: those failures
// carry no account id, and each counts as another account.
func TestCredentialStuffingAgainstUnknownAccounts(t *testing.T) {
	h := newHarness(t, Config{Rules: DefaultRules()[:1]})
	for i := range 10 {
		e := attack("credential_stuffing", i)
		e.AccountID, e.Status = "", 0 // as the domain records a sign-in failure for an unknown account
		h.observe(e)
	}
	if len(h.alerts) != 1 || h.alerts[0].Rule != "credential_stuffing" {
		t.Fatalf("alerts %+v, want credential_stuffing at 10 unknown accounts", h.alerts)
	}
}

// A bearer token refused at the edge (missing, forged, expired: status
// 401, no account) is no failed sign-in: ten of them from one source are
// an unauthorized_spike at 10, never credential_stuffing (found by the
// replay against the binary, where forged tokens blocked their source as
// stuffing), while ten failed sign-ins for unknown accounts (the domain's
// events, status 0) are.
func TestRefusedBearerTokensAreNoCredentialStuffing(t *testing.T) {
	rules := DefaultRules()[:3]
	rules[2] = rules[2].WithSettings(Rule{Threshold: 10, Window: time.Minute}) // unauthorized_spike
	h := newHarness(t, Config{Rules: rules})
	for range 10 {
		h.observe(rampart.SecurityEvent{Type: rampart.EventAuthFailure, Source: ip("203.0.113.9"), Status: 401, Route: "GET /v1/me"})
	}
	if len(h.alerts) != 1 || h.alerts[0].Rule != "unauthorized_spike" {
		t.Fatalf("alerts %+v, want unauthorized_spike alone", h.alerts)
	}
	for range 10 {
		h.observe(rampart.SecurityEvent{Type: rampart.EventAuthFailure, Source: ip("203.0.113.10"), Route: "POST /v1/auth/login"})
	}
	if len(h.alerts) != 3 || h.alerts[1].Rule != "credential_stuffing" {
		t.Fatalf("alerts %+v, want credential_stuffing (and unauthorized_spike) for the sign-in failures", h.alerts)
	}
}

// Replicas sharing one store number unknown accounts each on their own:
// a stuffing run dealt over two of them must still count ten accounts, not
// the five each replica numbered ?1 to ?5 (found by the replay against
// three replicas of the binary, cmd/rampart TestAttackReplaysAgainstThreeReplicas).
func TestUnknownAccountsAddUpAcrossReplicas(t *testing.T) {
	shared := NewMemoryStore(100)
	var alerts []Alert
	var replicas []*Detector
	for range 2 {
		d, err := New(Config{Rules: DefaultRules()[:1], Store: shared, Logger: slog.New(slog.DiscardHandler),
			OnAlert: func(a Alert) { alerts = append(alerts, a) }})
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, d)
	}
	for i := range 10 {
		e := attack("credential_stuffing", i)
		e.AccountID, e.Status = "", 0 // as the domain records a sign-in failure for an unknown account
		replicas[i%2].Observe(e)
	}
	if len(alerts) != 1 || alerts[0].Rule != "credential_stuffing" || alerts[0].Count != 10 {
		t.Fatalf("alerts %+v, want credential_stuffing at 10 unknown accounts over two replicas", alerts)
	}
}

// A tenant rule counts per tenant: failures spread over two tenants do not
// add up, and the same number in one tenant fires, for that tenant, where
// no per-source or per-account rule sees anything (each account fails once,
// each from an address of its own).
func TestTenantRulesCountPerTenant(t *testing.T) {
	h := newHarness(t, Config{})
	for i := range 120 {
		e := attack("tenant_sign_in_failures", i)
		e.TenantID = []string{"t1", "t2"}[i%2]
		h.observe(e)
	}
	if len(h.alerts) != 0 {
		t.Fatalf("60 failing accounts in each of two tenants raised %+v", h.alerts[0])
	}
	for i := 120; i < 160; i++ {
		e := attack("tenant_sign_in_failures", i)
		e.TenantID = "t1"
		h.observe(e)
	}
	if len(h.alerts) != 1 || h.alerts[0].Rule != "tenant_sign_in_failures" || h.alerts[0].Scope != ScopeTenant || h.alerts[0].Subject != "t1" {
		t.Fatalf("alerts %+v, want tenant_sign_in_failures for t1", h.alerts)
	}
}
