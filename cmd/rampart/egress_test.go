package main

import (
	"cmp"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/egress"
	"example.com/rampart/internal/testutil"
)

// egressCount is rampart_egress_connections_total{destination} in reg, or -1.
func egressCount(t *testing.T, reg *prometheus.Registry, destination string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "rampart_egress_connections_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == destination {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

// The database and Redis of the configuration are allowed without being
// listed, their connections go through the egress dialer (counted under
// their entries), and with an allowlist that lacks them they are refused:
// the stores and the Redis client have no way out but the dialer.
func TestStoreAndRedisThroughEgress(t *testing.T) {
	testutil.Redis(t) // skips, or fails in CI, without a Redis
	pgURL := testutil.PostgresURL(t)
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	// By name: pgx must hand the dialer the name, not addresses it resolved.
	u.Host = "localhost:" + cmp.Or(u.Port(), "5432")
	redisURL := cmp.Or(os.Getenv("RAMPART_TEST_REDIS_URL"), testutil.DefaultRedisURL)
	redisOpts, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DatabaseURL: Secret(u.String()), RedisURL: Secret(redisURL), RedisPrefix: "t:"}

	reg := prometheus.NewRegistry()
	if cfg.dialer, err = newEgress(cfg, reg); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(t.Context()); err != nil {
		t.Fatalf("PostgreSQL through the dialer: %v", err)
	}
	if got := egressCount(t, reg, u.Host); got < 1 {
		t.Errorf("connections{destination=%q} = %v, want at least 1", u.Host, got)
	}
	client, err := newRedisClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// The request path's client gives each call 50 ms; under -race on a
	// busy machine one call can miss that, so a refusal must repeat.
	if err := pingRedis(t, client); err != nil {
		t.Fatalf("Redis through the dialer: %v", err)
	}
	if got := egressCount(t, reg, redisOpts.Host); got < 1 {
		t.Errorf("connections{destination=%q} = %v, want at least 1", redisOpts.Host, got)
	}

	// The same configuration, but a dialer that allows something else.
	other, err := egress.ParseRule("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.dialer, err = egress.New(egress.Config{Rules: []egress.Rule{other}}); err != nil {
		t.Fatal(err)
	}
	refusedStore, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer refusedStore.Close()
	if err := refusedStore.Ping(t.Context()); !errors.Is(err, egress.ErrRefused) {
		t.Errorf("PostgreSQL with an allowlist without it: %v, want ErrRefused", err)
	}
	refusedClient, err := newRedisClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer refusedClient.Close()
	if err := refusedClient.Ping(t.Context()).Err(); err == nil || !strings.Contains(err.Error(), egress.ErrRefused.Error()) {
		t.Errorf("Redis with an allowlist without it: %v, want ErrRefused", err)
	}
}

// The allowlist is what the configuration names plus RAMPART_EGRESS_ALLOW,
// and `config check` shows the variable; a bad entry is refused by number,
// without repeating it.
func TestEgressAllowConfig(t *testing.T) {
	cfg, err := loadConfig([]string{
		"RAMPART_DATABASE_URL=postgres://u:pw@db.internal:6432/rampart",
		"RAMPART_REDIS_URL=rediss://:pw@10.0.0.5:6380/0",
		"RAMPART_EGRESS_ALLOW=hooks.example:443, 10.0.8.0/24:587",
		"HOME=/nonexistent",
	})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := egressRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := joinRules(rules), "db.internal:6432,10.0.0.5:6380,hooks.example:443,10.0.8.0/24:587"; got != want {
		t.Errorf("allowlist %q, want %q", got, want)
	}
	for _, v := range variables {
		if v.Name == "RAMPART_EGRESS_ALLOW" {
			if got := v.show(cfg); got != "hooks.example:443,10.0.8.0/24:587" {
				t.Errorf("config check shows %q", got)
			}
		}
	}
	_, err = loadConfig([]string{"RAMPART_EGRESS_ALLOW=hooks.example:443,https://user:s3cret@evil:1", "HOME=/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "RAMPART_EGRESS_ALLOW: entry 2") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad entry: %v", err)
	}
	// A database on a socket directory is allowed as that directory.
	sock, err := egressRules(Config{DatabaseURL: Secret("postgres:///rampart?host=/run/postgresql")})
	if err != nil || len(sock) != 1 || sock[0].String() != "unix:/run/postgresql" {
		t.Errorf("socket database: %v, %v", sock, err)
	}
}

// pingRedis pings up to three times and returns the last error.
func pingRedis(t *testing.T, client *redis.Client) (err error) {
	for range 3 {
		if err = client.Ping(t.Context()).Err(); err == nil {
			return nil
		}
	}
	return err
}
