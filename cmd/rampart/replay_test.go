package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json/v2"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/rampart/internal/blocklist"
	"example.com/rampart/internal/signals"
	"example.com/rampart/internal/testutil"
)

// Bounds the issue sets on the answer to an attack (issue 13, "Show").
const (
	maxAlertLatency = 5 * time.Second // from the request that crossed the threshold to the webhook
	maxBlockSpread  = time.Second     // from the alert to a refusal on every replica
)

// receivedAlert is one alert the test's webhook receiver accepted, with
// when it arrived.
type receivedAlert struct {
	signals.Alert
	at time.Time
}

// alertReceiver is the webhook receiver of a test: it verifies every
// delivery's signature (signals.VerifySignature), refuses and reports one
// that does not verify, and keeps the alerts that do.
type alertReceiver struct {
	t      *testing.T
	url    string
	secret []byte
	mu     sync.Mutex
	alerts []receivedAlert
	bad    int
}

func newAlertReceiver(t *testing.T, secret string) *alertReceiver {
	t.Helper()
	r := &alertReceiver{t: t, secret: []byte(secret)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		at := time.Now()
		if err := signals.VerifySignature(r.secret, req.Header.Get(signals.SignatureHeader), body, at, 5*time.Minute); err != nil {
			r.mu.Lock()
			r.bad++
			r.mu.Unlock()
			t.Errorf("an alert's signature does not verify: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var a signals.Alert
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("alert body %s: %v", body, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.alerts = append(r.alerts, receivedAlert{a, at})
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/alerts"
	return r
}

// all returns the alerts received so far.
func (r *alertReceiver) all() []receivedAlert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.alerts)
}

// wait returns the first alert of rule about subject, waiting up to limit
// (only against a hang: the latency is checked by the caller).
func (r *alertReceiver) wait(t *testing.T, rule, subject string, limit time.Duration) receivedAlert {
	t.Helper()
	a, ok := r.lookup(rule, subject, limit)
	if !ok {
		t.Fatalf("no %s alert about %s reached the webhook within %v; received %s", rule, subject, limit, r.summary())
	}
	return a
}

// lookup is wait that reports a miss instead of failing.
func (r *alertReceiver) lookup(rule, subject string, limit time.Duration) (receivedAlert, bool) {
	for deadline := time.Now().Add(limit); ; time.Sleep(2 * time.Millisecond) {
		for _, a := range r.all() {
			if a.Rule == rule && a.Subject == subject {
				return a, true
			}
		}
		if time.Now().After(deadline) {
			return receivedAlert{}, false
		}
	}
}

func (r *alertReceiver) summary() string {
	var s []string
	for _, a := range r.all() {
		s = append(s, a.Rule+"("+a.Subject+")")
	}
	return "[" + strings.Join(s, " ") + "]"
}

// cluster is replicas of the binary behind the test's client, which plays
// a trusted proxy (127.0.0.1) naming any client address in X-Forwarded-For.
type cluster struct {
	bases, admins []string
	dataDir       string // shared by the replicas: development's mail lands in its mail/
	next          int    // round-robin over the replicas
	mu            sync.Mutex
}

// base is the next replica in turn: an attack is spread over all of them.
func (c *cluster) base() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return c.bases[c.next%len(c.bases)]
}

// from sends one request as client src (through the trusted proxy), with
// an optional bearer token and JSON body.
func from(t *testing.T, base, src, method, path, bearer string, body any) response {
	t.Helper()
	r, err := send(t.Context(), base, src, method, path, bearer, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is from for goroutines: it returns the error.
func send(ctx context.Context, base, src, method, path, bearer string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("X-Forwarded-For", src)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := replayClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}, err
}

// replayClient keeps a connection per simulated client alive, and bounds
// every request.
var replayClient = &http.Client{Timeout: 15 * time.Second,
	Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}}

func (r response) sourceBlocked() bool {
	return r.code == http.StatusTooManyRequests && strings.Contains(r.body, "/source-blocked")
}

// member is a signed-in user of a tenant.
type member struct {
	email, id, tenant, access, refresh string
}

func decodeInto(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("%d %s: %v", r.code, r.body, err)
	}
}

// signUp creates a tenant and its admin from src and signs the admin in.
func (c *cluster) signUp(t *testing.T, src string) member {
	t.Helper()
	email := uniqueEmail("admin")
	r := from(t, c.base(), src, "POST", "/v1/signup", "", signupBody(email))
	if r.code != http.StatusCreated {
		t.Fatalf("signup: %d %s", r.code, r.body)
	}
	var s struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	}
	decodeInto(t, r, &s)
	m := member{email: email, id: s.User.ID, tenant: s.Tenant.ID}
	c.signIn(t, src, &m)
	return m
}

// signIn signs m in from src with the right password.
func (c *cluster) signIn(t *testing.T, src string, m *member) {
	t.Helper()
	if err := c.trySignIn(t.Context(), src, m); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) trySignIn(ctx context.Context, src string, m *member) error {
	r, err := send(ctx, c.base(), src, "POST", "/v1/auth/login", "", map[string]string{"email": m.email, "password": testPassphrase})
	if err != nil {
		return err
	}
	if r.code != http.StatusOK {
		return fmt.Errorf("login of %s: %d %s", m.email, r.code, r.body)
	}
	var tok struct {
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
	}
	if err := json.Unmarshal([]byte(r.body), &tok); err != nil {
		return fmt.Errorf("login: %s: %w", r.body, err)
	}
	m.access, m.refresh = tok.AccessToken, tok.RefreshToken
	return nil
}

// addMember adds a member to admin's tenant (the admin signed in moments
// ago: the step-up is fresh).
func (c *cluster) addMember(t *testing.T, src string, admin member) member {
	t.Helper()
	m, err := c.tryAddMember(t.Context(), src, admin)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (c *cluster) tryAddMember(ctx context.Context, src string, admin member) (member, error) {
	email := uniqueEmail("member")
	r, err := send(ctx, c.base(), src, "POST", "/v1/users", admin.access,
		map[string]string{"email": email, "displayName": "Member", "role": "member"})
	if err != nil {
		return member{}, err
	}
	if r.code != http.StatusAccepted {
		return member{}, fmt.Errorf("invite member: %d %s", r.code, r.body)
	}
	// The replicas share one data directory: whichever delivers the
	// invitation writes it there.
	token, err := invitationToken(filepath.Join(c.dataDir, "mail"), email, 10*time.Second)
	if err != nil {
		return member{}, err
	}
	r, err = send(ctx, c.base(), src, "POST", "/v1/invitations/accept", "",
		map[string]string{"token": token, "password": testPassphrase})
	if err != nil {
		return member{}, err
	}
	if r.code != http.StatusCreated {
		return member{}, fmt.Errorf("accept invitation: %d %s", r.code, r.body)
	}
	var u struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal([]byte(r.body), &u); err != nil {
		return member{}, fmt.Errorf("accept invitation: %s: %w", r.body, err)
	}
	return member{email: email, id: u.User.ID, tenant: admin.tenant}, nil
}

// absentOrder is an order id of the right form that no tenant has.
func absentOrder(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// forgedToken is a bearer token no replica signed.
const forgedToken = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

// replay is one attack: it sends a rule's attack from src, spread over
// the replicas, and returns the alert subject the rule must name and when
// the request that crossed the threshold was sent (the attack stops there).
type replay func(t *testing.T, c *cluster, src string) (subject string, crossed time.Time)

// repeat sends n requests made by req(i) and returns when the last was sent,
// checking each answer's status.
func repeat(t *testing.T, n, want int, req func(i int) response) time.Time {
	t.Helper()
	var sent time.Time
	for i := range n {
		sent = time.Now()
		if r := req(i); r.code != want {
			t.Fatalf("attack request %d of %d: %d %s, want %d", i+1, n, r.code, r.body, want)
		}
	}
	return sent
}

// sources are n distinct client addresses of one attack: src and the
// addresses after it (src's last octet + 1, + 2...; attackers are spaced
// 30 apart).
func sources(src string, n int) []string {
	dot := strings.LastIndexByte(src, '.')
	first, err := strconv.Atoi(src[dot+1:])
	if err != nil || first+n > 255 {
		panic("sources: " + src)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = src[:dot+1] + strconv.Itoa(first+i)
	}
	return out
}

// Thresholds of the replay: small, and set so that the rule a case attacks
// is the first blocking rule its traffic crosses (the other rules that the
// same requests feed stay below theirs).
var replayThresholds = map[string]int{
	"credential_stuffing":     5,
	"password_spraying":       4,
	"unauthorized_spike":      8,
	"forbidden_spike":         5,
	"validation_burst":        5,
	"refresh_failures":        5,
	"refresh_reuse":           1,
	"lockout_storm":           3,
	"tenant_sign_in_failures": 3,
	"tenant_forbidden_sweep":  6,
	"unauthorized_surge":      12,
	"forbidden_surge":         12,
}

// replays are the attacks, one per rule, in the order they run: the
// global surge rules first (their traffic must be the first of its kind,
// as a global rule alerts once per cool-down), then the others, each from
// sources and tenants of its own.
type replayCase struct {
	rule   string
	blocks bool // the source is blocked (the source-scoped rules an automated client trips)
	attack replay
}

var replays = []replayCase{
	{"unauthorized_surge", false, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		// Forged tokens from 12 addresses, one each: no source-scoped rule
		// sees more than one.
		n := replayThresholds["unauthorized_surge"]
		srcs := sources(src, n)
		return "global", repeat(t, n, 401, func(i int) response {
			return from(t, c.base(), srcs[i], "GET", "/v1/me", forgedToken, nil)
		})
	}},
	{"forbidden_surge", false, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		n := replayThresholds["forbidden_surge"]
		srcs := sources(src, n)
		m := c.signUp(t, srcs[0])
		return "global", repeat(t, n, 404, func(i int) response {
			return from(t, c.base(), srcs[i], "GET", "/v1/orders/"+absentOrder(i), m.access, nil)
		})
	}},
	{"lockout_storm", false, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		// Five wrong passwords engage the account's sign-in throttle; every
		// attempt after them is a lockout answer (429 login-throttled).
		m := c.signUp(t, src)
		wrong := map[string]string{"email": m.email, "password": "not the password at all"}
		repeat(t, 5, 401, func(int) response { return from(t, c.base(), src, "POST", "/v1/auth/login", "", wrong) })
		return "global", repeat(t, replayThresholds["lockout_storm"], 429, func(int) response {
			return from(t, c.base(), src, "POST", "/v1/auth/login", "", wrong)
		})
	}},
	{"credential_stuffing", true, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		return src, repeat(t, replayThresholds["credential_stuffing"], 401, func(int) response {
			return from(t, c.base(), src, "POST", "/v1/auth/login", "",
				map[string]string{"email": uniqueEmail("victim"), "password": "not the password at all"})
		})
	}},
	{"password_spraying", false, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		m := c.signUp(t, src)
		n := replayThresholds["password_spraying"]
		srcs := sources(src, n)
		return m.id, repeat(t, n, 401, func(i int) response {
			return from(t, c.base(), srcs[i], "POST", "/v1/auth/login", "",
				map[string]string{"email": m.email, "password": fmt.Sprintf("Spring2026!%d", i)})
		})
	}},
	{"unauthorized_spike", true, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		return src, repeat(t, replayThresholds["unauthorized_spike"], 401, func(int) response {
			return from(t, c.base(), src, "GET", "/v1/orders", forgedToken, nil)
		})
	}},
	{"forbidden_spike", true, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		// Walking order ids with a valid token: 404s on object ids.
		m := c.signUp(t, src)
		return src, repeat(t, replayThresholds["forbidden_spike"], 404, func(i int) response {
			return from(t, c.base(), src, "GET", "/v1/orders/"+absentOrder(1000+i), m.access, nil)
		})
	}},
	{"validation_burst", true, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		return src, repeat(t, replayThresholds["validation_burst"], 422, func(i int) response {
			return from(t, c.base(), src, "POST", "/v1/signup", "",
				map[string]string{"email": fmt.Sprintf("not-an-address-%d", i), "password": "x", "displayName": "", "organization": ""})
		})
	}},
	{"refresh_failures", true, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		return src, repeat(t, replayThresholds["refresh_failures"], 401, func(i int) response {
			return from(t, c.base(), src, "POST", "/v1/auth/refresh", "",
				map[string]string{"refreshToken": fmt.Sprintf("guessed-refresh-token-%d", i)})
		})
	}},
	{"refresh_reuse", false, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		// A stolen refresh token: its owner rotated it, the thief presents it.
		m := c.signUp(t, src)
		if r := from(t, c.base(), src, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": m.refresh}); r.code != 200 {
			t.Fatalf("refresh: %d %s", r.code, r.body)
		}
		return src, repeat(t, 1, 401, func(int) response {
			return from(t, c.base(), src, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": m.refresh})
		})
	}},
	{"tenant_sign_in_failures", false, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		// One wrong password for each of the tenant's three accounts, each
		// from an address of its own.
		admin := c.signUp(t, src)
		accounts := []member{admin, c.addMember(t, src, admin), c.addMember(t, src, admin)}
		srcs := sources(src, len(accounts))
		return admin.tenant, repeat(t, len(accounts), 401, func(i int) response {
			return from(t, c.base(), srcs[i], "POST", "/v1/auth/login", "",
				map[string]string{"email": accounts[i].email, "password": "not the password at all"})
		})
	}},
	{"tenant_forbidden_sweep", false, func(t *testing.T, c *cluster, src string) (string, time.Time) {
		// The tenant's token walks order ids from three addresses, two each:
		// no source reaches forbidden_spike.
		m := c.signUp(t, src)
		n := replayThresholds["tenant_forbidden_sweep"]
		srcs := sources(src, 3)
		return m.tenant, repeat(t, n, 404, func(i int) response {
			return from(t, c.base(), srcs[i%3], "GET", "/v1/orders/"+absentOrder(2000+i), m.access, nil)
		})
	}},
}

// TestAttackReplaysAgainstThreeReplicas replays one attack per detection
// rule against three replicas of the real binary on PostgreSQL and Redis,
// each attack's requests dealt round-robin over the replicas, with
// automatic blocking on. For every rule: the alert reaches the test's
// webhook receiver, signed, within 5 s of the request that crossed the
// threshold, once across the replicas. For the blocking rules: the source
// is refused (429 /source-blocked) by all three replicas within 1 s of the
// alert, and the same attack from an address in RAMPART_BLOCK_EXEMPT
// raises its alert but is never refused. refresh_reuse blocks nothing.
//
// egress_refused has no replay here: no request can make the server dial
// a destination of its choosing (the webhook client follows no redirect,
// and the database, Redis and webhook are fixed by configuration); the
// dialer's refusals are tested in internal/egress and cmd/rampart's
// egress tests.
func TestAttackReplaysAgainstThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts three replicas; skipped with -short")
	}
	const secret = "the replay's webhook secret, long enough"
	receiver := newAlertReceiver(t, secret)
	// Per-IP limits out of the way: setting up and probing take requests.
	thresholds := []string{"RAMPART_RATE_AUTH=10000/1m", "RAMPART_RATE_SIGNUP=10000/1m",
		"RAMPART_RATE_API=10000/1m", "RAMPART_RATE_PUBLIC=10000/1m"}
	for rule, n := range replayThresholds {
		thresholds = append(thresholds, fmt.Sprintf("%s=%d/1m", signals.EnvName(rule), n))
	}
	c := startCluster(t, receiver, thresholds...)
	// Every rule but egress_refused has a replay.
	var missing []string
	for _, r := range signals.DefaultRules() {
		if r.Name != "egress_refused" && !slices.ContainsFunc(replays, func(p replayCase) bool { return p.rule == r.Name }) {
			missing = append(missing, r.Name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("rules without a replay: %v", missing)
	}

	// When Redis does not answer within the request path's deadline (an
	// overloaded CI machine), each replica counts alone, as documented, and
	// an attack dealt over three may stay under each one's threshold, or a
	// block may not be placed. The replicas count that; an attempt during
	// which they did is void and runs again with new sources (twice at most).
	degraded := func() float64 {
		return c.metricSum(t, "rampart_alert_store_local_total") + c.metricSum(t, `rampart_source_blocks_total{result="error"}`)
	}
	var blockedSources, voided []string
	for i, tc := range replays {
		t.Run(tc.rule, func(t *testing.T) {
			for attempt := 0; ; attempt++ {
				before := degraded()
				r := replayOnce(t, c, receiver, tc, i, attempt)
				if r.miss == "" {
					blockedSources = append(blockedSources, r.blocked...)
					return
				}
				if degraded() == before || attempt == 2 {
					t.Fatal(r.miss)
				}
				t.Logf("attempt %d void: Redis did not answer in time, the replicas counted alone (%s); again with new sources", attempt+1, r.miss)
				voided = append(voided, r.subjects...)
			}
		})
	}

	// Across all replays: every delivery verified; each rule alerted once
	// per subject across the three replicas (the shared cool-down); the
	// only sources blocked are the attackers of the blocking rules.
	if t.Failed() {
		return
	}
	time.Sleep(200 * time.Millisecond) // time for a wrong extra alert to arrive
	seen := map[string]int{}
	var blocked []string
	for _, a := range receiver.all() {
		if slices.Contains(voided, a.Subject) {
			continue
		}
		seen[a.Rule+" "+a.Subject]++
		if a.Rule == blocklist.AlertRule {
			blocked = append(blocked, a.Subject)
		}
	}
	for k, n := range seen {
		// While a replica counted alone, it may alert for an attack the
		// others alert for too (documented): once only when none did.
		if n != 1 && len(voided) == 0 {
			t.Errorf("%s alerted %d times across the replicas, want once", k, n)
		}
	}
	slices.Sort(blocked)
	slices.Sort(blockedSources)
	if !slices.Equal(blocked, blockedSources) {
		t.Errorf("sources blocked %v, want exactly the blocking rules' attackers %v", blocked, blockedSources)
	}
	receiver.mu.Lock()
	defer receiver.mu.Unlock()
	if receiver.bad != 0 {
		t.Errorf("%d deliveries failed verification", receiver.bad)
	}
}

// replayResult is one attempt of a replay: miss says what did not happen
// in time ("" when everything did), subjects what it alerted about, blocked
// the sources it blocked.
type replayResult struct {
	miss              string
	subjects, blocked []string
}

// replayOnce runs one attempt of tc's replay (the i-th) from sources of its
// own and checks the alert, the block and the exempt address.
func replayOnce(t *testing.T, c *cluster, receiver *alertReceiver, tc replayCase, i, attempt int) (res replayResult) {
	t.Helper()
	attacker := fmt.Sprintf("203.0.%d.%d", 113+i, 10+30*attempt)
	subject, crossed := tc.attack(t, c, attacker)
	res.subjects = []string{attacker, subject}
	a, ok := receiver.lookup(tc.rule, subject, maxAlertLatency+time.Second)
	if !ok {
		res.miss = fmt.Sprintf("no %s alert about %s reached the webhook within %v; received %s", tc.rule, subject, maxAlertLatency+time.Second, receiver.summary())
		return res
	}
	latency := a.at.Sub(crossed)
	t.Logf("%s: alert at the webhook %v after the crossing request (count %d, threshold %d)", tc.rule, latency.Round(time.Millisecond), a.Count, a.Threshold)
	if latency > maxAlertLatency {
		t.Errorf("the alert took %v, more than %v", latency, maxAlertLatency)
	}
	if a.Threshold != replayThresholds[tc.rule] || a.Count < a.Threshold {
		t.Errorf("alert %+v: threshold %d, want %d", a.Alert, a.Threshold, replayThresholds[tc.rule])
	}
	if tc.blocks != slices.Contains(blocklist.BlockingRules, tc.rule) {
		t.Errorf("blocklist.BlockingRules %v: %s blocking is %v, want %v", blocklist.BlockingRules, tc.rule, !tc.blocks, tc.blocks)
	}
	if !tc.blocks {
		if tc.rule == "refresh_reuse" {
			// Whoever presents a rotated token may be its owner: no block.
			c.neverBlocked(t, attacker, a.at)
		}
		return res
	}
	// From the alert as the replica raised it (its time is the crossing
	// event's; one machine, one clock), not from its arrival: the block
	// may be placed before the webhook arrives.
	spread, ok := c.waitBlockedEverywhere(t, attacker, a.Time)
	if !ok {
		res.miss = fmt.Sprintf("%s was not refused by every replica within 5 s of the alert", attacker)
		return res
	}
	t.Logf("%s: refused by all three replicas %v after the alert was raised", tc.rule, spread.Round(time.Millisecond))
	if spread > maxBlockSpread {
		t.Errorf("the block reached every replica %v after the alert, more than %v", spread, maxBlockSpread)
	}
	if b := receiver.wait(t, blocklist.AlertRule, attacker, 10*time.Second); b.Cause != tc.rule {
		t.Errorf("source_blocked alert %+v, want cause %s", b.Alert, tc.rule)
	}
	res.blocked = []string{attacker}

	// The same attack from an exempt address alerts, and the blocker
	// considers it and refuses to block it.
	exempt := fmt.Sprintf("198.51.100.%d", 10+i+30*attempt)
	before := c.metricSum(t, `rampart_source_blocks_total{result="exempt"}`)
	subject, _ = tc.attack(t, c, exempt)
	res.subjects = append(res.subjects, exempt, subject)
	ea, ok := receiver.lookup(tc.rule, subject, maxAlertLatency+time.Second)
	if !ok {
		res.miss = fmt.Sprintf("no %s alert about the exempt %s reached the webhook; received %s", tc.rule, exempt, receiver.summary())
		return res
	}
	for deadline := time.Now().Add(10 * time.Second); c.metricSum(t, `rampart_source_blocks_total{result="exempt"}`) <= before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no replica refused to block the exempt source")
		}
	}
	c.neverBlocked(t, exempt, ea.at)
	return res
}

// probe asks replica base for a page that raises no security event, as src.
func probe(t *testing.T, base, src string) response {
	return from(t, base, src, "GET", "/v1/openapi.json", "", nil)
}

// waitBlockedEverywhere probes every replica as src until each refuses it,
// and returns how long after alertAt the last one first did; ok is false
// when one still served it 5 s after the alert.
func (c *cluster) waitBlockedEverywhere(t *testing.T, src string, alertAt time.Time) (last time.Duration, ok bool) {
	t.Helper()
	for _, base := range c.bases {
		for {
			r := probe(t, base, src)
			if r.sourceBlocked() {
				last = max(last, time.Since(alertAt))
				break
			}
			if r.code != http.StatusOK {
				t.Fatalf("%s answers %s %d %s, %v after the alert", base, src, r.code, r.body, time.Since(alertAt))
			}
			if time.Since(alertAt) > 5*time.Second {
				return last, false
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return last, true
}

// neverBlocked probes every replica as src until well past the time a block
// takes to reach them all after the alert at alertAt: no refusal.
func (c *cluster) neverBlocked(t *testing.T, src string, alertAt time.Time) {
	t.Helper()
	for until := alertAt.Add(maxBlockSpread + 300*time.Millisecond); ; time.Sleep(20 * time.Millisecond) {
		for _, base := range c.bases {
			if r := probe(t, base, src); r.code != http.StatusOK {
				t.Fatalf("%s answers %s %d %s: it must never be blocked", base, src, r.code, r.body)
			}
		}
		if time.Now().After(until) {
			return
		}
	}
}

// metricSum adds one series over the replicas' /metrics pages.
func (c *cluster) metricSum(t *testing.T, series string) float64 {
	t.Helper()
	var n float64
	for _, a := range c.admins {
		n += max(metricValue(t, a+"/metrics", series), 0)
	}
	return n
}

// startCluster starts three replicas of the binary on a throwaway
// PostgreSQL database and Redis prefix, behind the test's client as their
// trusted proxy, with automatic blocking on (198.51.100.0/24 exempt) and
// alerts sent to receiver; extra adds settings.
func startCluster(t *testing.T, receiver *alertReceiver, extra ...string) *cluster {
	t.Helper()
	pgURL := testutil.PostgresURL(t)
	_, prefix := testutil.Redis(t)
	dataDir := t.TempDir()
	env := append([]string{
		"RAMPART_ENV=test",
		"RAMPART_ADDR=127.0.0.1:0",
		"RAMPART_ADMIN_ADDR=127.0.0.1:0",
		"RAMPART_DATA_DIR=" + dataDir,
		"RAMPART_DATABASE_URL=" + pgURL,
		"RAMPART_MASTER_KEY=" + base64.StdEncoding.EncodeToString(randomBytes(t, 32)),
		"RAMPART_TRUSTED_PROXIES=127.0.0.1/32",
		"RAMPART_AUTO_BLOCK=true",
		"RAMPART_BLOCK_EXEMPT=198.51.100.0/24",
		"RAMPART_ALERT_WEBHOOK_URL=" + receiver.url,
		"RAMPART_ALERT_WEBHOOK_SECRET=" + string(receiver.secret),
	}, redisEnv(prefix)...)
	env = append(env, extra...)
	// One after the other: the first migrates the schema and creates the
	// signing key the others then load.
	c := &cluster{dataDir: dataDir}
	for range 3 {
		l, _, _, _ := startBinary(t, env)
		c.bases = append(c.bases, "http://"+l.Addr)
		c.admins = append(c.admins, "http://"+l.AdminAddr)
	}
	return c
}
