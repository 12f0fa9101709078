package main

import (
	"context"
	"encoding/json/v2"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ordinaryDuration is how long the ordinary traffic runs: the 60 s.
// This is the one long test of the package; it runs on its own (no
// t.Parallel).
const ordinaryDuration = 60 * time.Second

// TestOrdinaryTrafficRaisesNoAlert: 60 s of ordinary traffic from 200
// simulated users (10 tenants of 20, each user behind an address of its
// own, named through the trusted proxy) against three replicas of the
// binary sharing PostgreSQL and Redis, with the DEFAULT detection
// thresholds and automatic blocking on, raises no alert: the webhook
// receiver gets nothing, rampart_alerts_total stays 0 on every replica,
// and no source is blocked. Each user, every 1.5 to 3.5 s: reads (list,
// one order, itself), writes (a new order, a note), refreshes its tokens,
// signs in again; one sign-in in four starts with a wrong password.
//
// The traffic does reach detection (auth_failure events are counted and
// none is dropped), so a detector that ignored everything would not pass
// for a quiet one; TestAttackReplaysAgainstThreeReplicas shows the same
// binaries alerting.
func TestOrdinaryTrafficRaisesNoAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("60 s of traffic against three replicas of the binary; skipped with -short")
	}
	receiver := newAlertReceiver(t, "the ordinary traffic's webhook secret")
	c := startCluster(t, receiver) // default thresholds and limits

	const tenants, perTenant = 10, 20
	users := setUpOrdinaryUsers(t, c, tenants, perTenant)

	var (
		requests, wrong atomic.Int64
		mu              sync.Mutex
		statuses        = map[string]int{} // "METHOD route status" of the unexpected answers
		failures        []string
	)
	unexpected := func(what string, r response) {
		mu.Lock()
		defer mu.Unlock()
		statuses[fmt.Sprintf("%s %d", what, r.code)]++
	}
	ctx, cancel := context.WithTimeout(t.Context(), ordinaryDuration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range users {
		u := &users[i]
		wg.Go(func() {
			if err := u.live(ctx, c, &requests, &wrong, unexpected); err != nil && ctx.Err() == nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d users stopped on an error, first: %s", len(failures), failures[0])
	}
	n := requests.Load()
	t.Logf("%d requests from %d users in %v (%.0f/s), %d wrong passwords; unexpected answers: %v",
		n, len(users), ordinaryDuration, float64(n)/ordinaryDuration.Seconds(), wrong.Load(), statuses)
	bad := 0
	for _, k := range statuses {
		bad += k
	}
	if n < 3000 || bad > int(n)/100 {
		t.Fatalf("the traffic did not run as ordinary traffic: %d requests, %d unexpected answers %v", n, bad, statuses)
	}

	time.Sleep(300 * time.Millisecond) // detection runs off a queue; deliveries take milliseconds
	if got := receiver.all(); len(got) != 0 {
		t.Errorf("ordinary traffic raised %d alerts at the webhook: %s", len(got), receiver.summary())
	}
	if n := c.metricPrefixSum(t, "rampart_alerts_total{"); n != 0 {
		t.Errorf("rampart_alerts_total summed over rules and replicas = %v, want 0", n)
	}
	if n := c.metricSum(t, `rampart_source_blocks_total{result="placed"}`); n != 0 {
		t.Errorf("%v sources blocked", n)
	}
	// It reached detection: every wrong password is an auth_failure event,
	// and none was dropped on the way to the detector.
	if n := c.metricSum(t, `rampart_security_events_total{type="auth_failure"}`); n < float64(wrong.Load()) || n == 0 {
		t.Errorf("auth_failure events %v, want at least the %d wrong passwords", n, wrong.Load())
	}
	if n := c.metricSum(t, "rampart_security_events_dropped_total"); n != 0 {
		t.Errorf("%v security events dropped before detection", n)
	}
}

// ordinaryUser is one simulated user: its address, credentials and orders.
type ordinaryUser struct {
	member
	src    string
	orders []string
	rng    *rand.Rand
}

// setUpOrdinaryUsers signs up the tenants' admins, adds their members and
// signs everyone in, each from the user's own address, a few at a time
// (each costs a password hash).
func setUpOrdinaryUsers(t *testing.T, c *cluster, tenants, perTenant int) []ordinaryUser {
	t.Helper()
	users := make([]ordinaryUser, tenants*perTenant)
	for i := range users {
		users[i].src = fmt.Sprintf("100.64.%d.%d", i/perTenant, 10+i%perTenant)
		users[i].rng = rand.New(rand.NewPCG(uint64(i), 42))
	}
	for tn := range tenants {
		admin := &users[tn*perTenant]
		admin.member = c.signUp(t, admin.src)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	errs := make(chan error, len(users))
	for i := range users {
		if i%perTenant == 0 {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			admin := users[i-i%perTenant]
			// From the member's own address: accepting an invitation is
			// in the AUTH class, 10 a minute per address.
			m, err := c.tryAddMember(t.Context(), users[i].src, admin.member)
			if err == nil {
				err = c.trySignIn(t.Context(), users[i].src, &m)
			}
			users[i].member = m
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("setting up the users: %v", err)
		}
	}
	return users
}

// live acts as u until ctx ends: one action every 1.5 to 3.5 s.
func (u *ordinaryUser) live(ctx context.Context, c *cluster, requests, wrong *atomic.Int64, unexpected func(string, response)) error {
	do := func(method, path, bearer string, body any, want int) (response, error) {
		r, err := send(ctx, c.base(), u.src, method, path, bearer, body)
		if err != nil {
			return r, err
		}
		requests.Add(1)
		if r.code != want {
			unexpected(method+" "+path[:min(len(path), len("/v1/orders/"))], r)
		}
		return r, nil
	}
	signIn := func() error {
		r, err := do("POST", "/v1/auth/login", "", map[string]string{"email": u.email, "password": testPassphrase}, 200)
		if err != nil || r.code != 200 {
			return err
		}
		return u.takeTokens(r)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(1500*time.Millisecond + time.Duration(u.rng.Int64N(int64(2*time.Second)))):
		}
		var err error
		switch x := u.rng.IntN(100); {
		case x < 35:
			_, err = do("GET", "/v1/orders", u.access, nil, 200)
		case x < 55 && len(u.orders) > 0:
			_, err = do("GET", "/v1/orders/"+u.orders[u.rng.IntN(len(u.orders))], u.access, nil, 200)
		case x < 65:
			_, err = do("GET", "/v1/me", u.access, nil, 200)
		case x < 80 || len(u.orders) == 0:
			var r response
			r, err = do("POST", "/v1/orders", u.access, map[string]any{"items": []map[string]any{{"sku": "SKU-1", "quantity": 1 + u.rng.IntN(3)}}}, 201)
			if err == nil && r.code == 201 {
				var o struct {
					ID string `json:"id"`
				}
				if err = json.Unmarshal([]byte(r.body), &o); err == nil {
					u.orders = append(u.orders, o.ID)
				}
			}
		case x < 88:
			_, err = do("PATCH", "/v1/orders/"+u.orders[u.rng.IntN(len(u.orders))], u.access, map[string]string{"note": "please ring twice"}, 200)
		case x < 96:
			var r response
			r, err = do("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": u.refresh}, 200)
			if err == nil && r.code == 200 {
				err = u.takeTokens(r)
			}
		default: // sign in again; one time in four, first with a mistyped password
			if u.rng.IntN(4) == 0 {
				if _, err = do("POST", "/v1/auth/login", "", map[string]string{"email": u.email, "password": strings.ToUpper(testPassphrase)}, 401); err != nil {
					return err
				}
				wrong.Add(1)
			}
			err = signIn()
		}
		if err != nil {
			return err
		}
	}
}

func (u *ordinaryUser) takeTokens(r response) error {
	var tok struct {
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
	}
	if err := json.Unmarshal([]byte(r.body), &tok); err != nil {
		return err
	}
	u.access, u.refresh = tok.AccessToken, tok.RefreshToken
	return nil
}

// metricPrefixSum adds every series whose line starts with prefix over the
// replicas' /metrics pages.
func (c *cluster) metricPrefixSum(t *testing.T, prefix string) float64 {
	t.Helper()
	var n float64
	for _, a := range c.admins {
		code, body := get(t, a+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("%s/metrics: %d", a, code)
		}
		for line := range strings.Lines(body) {
			if !strings.HasPrefix(line, prefix) {
				continue
			}
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			n += v
		}
	}
	return n
}
