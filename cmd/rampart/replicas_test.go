package main

import (
	"encoding/base64"
	"encoding/json/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/tcpproxy"
)

// TestThreeReplicasActAsOne starts three replicas of the real binary on one
// PostgreSQL database and one Redis (reached through a proxy of the test's
// own), as the documented multi-replica topology does, and shows that they
// hold one rate-limit budget together, that a session revoked through one
// is refused by the others at once, and that losing Redis leaves every
// replica limiting locally (never unlimited) until Redis returns.
func TestThreeReplicasActAsOne(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	pgURL := testutil.PostgresURL(t)
	redisClient, prefix := testutil.Redis(t)
	proxy := tcpproxy.Start(t, redisClient.Options().Addr)

	const publicBudget = 30
	env := []string{
		"RAMPART_ENV=test",
		"RAMPART_ADDR=127.0.0.1:0",
		"RAMPART_ADMIN_ADDR=127.0.0.1:0",
		"RAMPART_DATA_DIR=" + t.TempDir(),
		"RAMPART_DATABASE_URL=" + pgURL,
		"RAMPART_REDIS_URL=redis://" + proxy.Addr() + "/0",
		"RAMPART_REDIS_PREFIX=" + prefix,
		"RAMPART_MASTER_KEY=" + base64.StdEncoding.EncodeToString(randomBytes(t, 32)),
		"RAMPART_RATE_PUBLIC=30/1m",
		"RAMPART_RATE_AUTH=1000/1m",
		"RAMPART_RATE_SIGNUP=1000/1m",
		"RAMPART_ALERT_UNAUTHORIZED_SPIKE=6/1m",
	}
	// One after the other: the first migrates the schema and creates the
	// signing key the others then load.
	var bases, admins []string
	for range 3 {
		l, _, _, _ := startBinary(t, env)
		bases = append(bases, "http://"+l.Addr)
		admins = append(admins, l.AdminAddr)
	}

	t.Run("one budget across replicas", func(t *testing.T) {
		ok := 0
		for i := range 3 * publicBudget {
			if code, _ := get(t, bases[i%3]+"/v1/openapi.json"); code == http.StatusOK {
				ok++
			}
		}
		// GCRA refills one request every 2 s, so a run of a few seconds may
		// admit one or two more than the burst: ±10%.
		if ok < publicBudget*9/10 || ok > publicBudget*11/10 {
			t.Fatalf("%d requests admitted across 3 replicas, budget %d", ok, publicBudget)
		}
	})

	// The real binary's PostgreSQL and Redis connections went through the
	// egress dialer, counted under the entries the configuration derived.
	t.Run("outbound connections counted per allowlist entry", func(t *testing.T) {
		u, err := url.Parse(pgURL)
		if err != nil {
			t.Fatal(err)
		}
		_, metrics := get(t, "http://"+admins[0]+"/metrics")
		for _, dest := range []string{u.Host, proxy.Addr()} {
			line := `rampart_egress_connections_total{destination="` + dest + `"} `
			if !strings.Contains(metrics, line) || strings.Contains(metrics, line+"0\n") {
				t.Errorf("no connection counted for %s:\n%s", dest, metrics)
			}
		}
		if !strings.Contains(metrics, "rampart_egress_refused_total 0\n") {
			t.Errorf("refusals counted or not exported")
		}
	})

	t.Run("revocation reaches every replica", func(t *testing.T) {
		const signup = `{"email":"replica@example.com","password":"a long and unusual passphrase 42","displayName":"Rep","organization":"Replicated"}`
		if code, body := postJSON(t, bases[0]+"/v1/signup", "", signup); code != 201 {
			t.Fatalf("signup: %d %s", code, body)
		}
		code, body := postJSON(t, bases[0]+"/v1/auth/login", "", `{"email":"replica@example.com","password":"a long and unusual passphrase 42"}`)
		var tok struct {
			AccessToken string `json:"accessToken"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &tok) != nil {
			t.Fatalf("login: %d %s", code, body)
		}
		for _, base := range bases[1:] {
			if code, _ := get(t, base+"/v1/me", "Authorization", "Bearer "+tok.AccessToken); code != 200 {
				t.Fatalf("before logout: %d", code)
			}
		}
		var before []int64
		for _, a := range admins {
			before = append(before, revocationsReceived(t, "http://"+a+"/metrics"))
		}
		if code, body := postJSON(t, bases[0]+"/v1/auth/logout", tok.AccessToken, ""); code != 204 {
			t.Fatalf("logout: %d %s", code, body)
		}
		// The other replicas cached the session moments ago. The broadcast
		// is asynchronous: wait until each replica says it applied one more
		// revocation (the deadline only stops a hang), then its very next
		// read must refuse the token, well inside the cache's 1s TTL.
		for i, base := range bases[1:] {
			admin := "http://" + admins[i+1] + "/metrics"
			for deadline := time.Now().Add(10 * time.Second); revocationsReceived(t, admin) <= before[i+1]; {
				if time.Now().After(deadline) {
					t.Fatalf("%s never applied the revocation broadcast", base)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if code, _ := get(t, base+"/v1/me", "Authorization", "Bearer "+tok.AccessToken); code != 401 {
				t.Errorf("%s after logout on replica 1: %d, want 401", base, code)
			}
		}
	})

	// Forged tokens dealt round-robin, two to each replica: none sees the
	// threshold of 6 alone; through Redis they count one attack, and the
	// one replica that takes the cool-down raises it, once.
	forged := "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	t.Run("one attack seen across replicas, alerted once", func(t *testing.T) {
		for i := range 6 {
			if code, _ := get(t, bases[i%3]+"/v1/me", "Authorization", "Bearer "+forged); code != http.StatusUnauthorized {
				t.Fatalf("forged token: %d", code)
			}
		}
		total := func() (n float64) {
			for _, a := range admins {
				n += max(metricValue(t, "http://"+a+"/metrics", `rampart_alerts_total{rule="unauthorized_spike"}`), 0)
			}
			return n
		}
		// Detection runs off a queue: wait for it (the deadline only stops a hang).
		for deadline := time.Now().Add(10 * time.Second); total() < 1 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // time for a wrong second alert to show
		if n := total(); n != 1 {
			t.Fatalf("unauthorized_spike raised %v times across the replicas, want 1", n)
		}
		for _, a := range admins {
			if got := metricValue(t, "http://"+a+"/metrics", "rampart_alert_store_local_total"); got != 0 {
				t.Errorf("%s: rampart_alert_store_local_total = %v with Redis up", a, got)
			}
		}
	})

	t.Run("Redis outage: local limits, then shared again", func(t *testing.T) {
		proxy.Cut()
		waitReady(t, bases, "degraded")
		// Detection goes on in the replica's memory, and says so.
		get(t, bases[1]+"/v1/me", "Authorization", "Bearer "+forged)
		for deadline := time.Now().Add(10 * time.Second); metricValue(t, "http://"+admins[1]+"/metrics", "rampart_alert_store_local_total") < 1; {
			if time.Now().After(deadline) {
				t.Fatal("rampart_alert_store_local_total did not count the outage")
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Each replica now limits with its own budget of 30: not unlimited.
		ok := 0
		for range 2 * publicBudget {
			if code, _ := get(t, bases[1]+"/v1/openapi.json"); code == http.StatusOK {
				ok++
			}
		}
		if ok < publicBudget*9/10 || ok > publicBudget*11/10 {
			t.Fatalf("replica 2 admitted %d of %d during the outage, want its local budget of %d", ok, 2*publicBudget, publicBudget)
		}
		proxy.Restore()
		waitReady(t, bases, "ok")
	})
}

// waitReady polls every replica's /readyz until its status is want.
func waitReady(t *testing.T, bases []string, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, base := range bases {
		for {
			code, body := get(t, base+"/readyz")
			if code == 200 && strings.Contains(body, `"status":"`+want+`"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s/readyz: %d %s, want status %q", base, code, body, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// revocationsReceived reads rampart_session_revocations_received_total from
// a replica's metrics.
func revocationsReceived(t *testing.T, metricsURL string) int64 {
	t.Helper()
	code, body := get(t, metricsURL)
	if code != 200 {
		t.Fatalf("%s: %d", metricsURL, code)
	}
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(line, "rampart_session_revocations_received_total "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %q", metricsURL, line)
			}
			return int64(n)
		}
	}
	t.Fatalf("%s has no rampart_session_revocations_received_total", metricsURL)
	return 0
}
