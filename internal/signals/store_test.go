package signals

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/logging"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/testutil"
)

// strictRedis is a RedisStore as a WindowStore that fails the test on any
// Redis error, so the conformance table sees Redis's own answers (a
// FailoverStore would quietly answer from memory).
type strictRedis struct {
	t testing.TB
	r *RedisStore
}

func (s strictRedis) Add(key, member string, at time.Time, window time.Duration, limit int) int {
	n, err := s.r.Add(s.t.Context(), key, member, at, window, limit)
	if err != nil {
		s.t.Fatalf("redis add: %v", err)
	}
	return n
}

func (s strictRedis) Claim(key string, at time.Time, ttl time.Duration) bool {
	ok, err := s.r.Claim(s.t.Context(), key, at, ttl)
	if err != nil {
		s.t.Fatalf("redis claim: %v", err)
	}
	return ok
}

func (s strictRedis) Tally(key string, _ time.Time, ttl time.Duration, others []string) (int, []int) {
	n, counts, err := s.r.Tally(s.t.Context(), key, ttl, others)
	if err != nil {
		s.t.Fatalf("redis tally: %v", err)
	}
	return n, counts
}

// windowStores are the WindowStore implementations the conformance table
// runs against: each test gets a fresh one (a Redis one under a throwaway
// prefix).
func windowStores() map[string]func(t *testing.T) WindowStore {
	return map[string]func(t *testing.T) WindowStore{
		"memory": func(*testing.T) WindowStore { return NewMemoryStore(1000) },
		"redis": func(t *testing.T) WindowStore {
			client, prefix := testutil.Redis(t)
			return strictRedis{t, NewRedisStore(client, prefix)}
		},
	}
}

// TestWindowStoreConformance holds the memory and the Redis store to one
// behaviour, so that the detector fires on the same events whichever it
// runs on.
func TestWindowStoreConformance(t *testing.T) {
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	cases := []struct {
		name string
		run  func(t *testing.T, s WindowStore)
	}{
		{"occurrences each count", func(t *testing.T, s WindowStore) {
			for i := range 5 {
				if n := s.Add("k", "", sec(0), time.Minute, 10); n != i+1 {
					t.Fatalf("occurrence %d: count %d", i+1, n)
				}
			}
		}},
		{"a member counts once", func(t *testing.T, s WindowStore) {
			s.Add("k", "x", sec(0), time.Minute, 10)
			s.Add("k", "y", sec(1), time.Minute, 10)
			if n := s.Add("k", "x", sec(2), time.Minute, 10); n != 2 {
				t.Fatalf("x, y, x counted %d", n)
			}
		}},
		{"the window slides", func(t *testing.T, s WindowStore) {
			s.Add("k", "", sec(0), time.Minute, 10)
			s.Add("k", "", sec(30), time.Minute, 10)
			if n := s.Add("k", "", sec(59), time.Minute, 10); n != 3 {
				t.Fatalf("three inside a minute counted %d", n)
			}
			if n := s.Add("k", "", sec(60), time.Minute, 10); n != 3 { // the one at 0 is exactly a window old
				t.Fatalf("at the window's edge: %d", n)
			}
			if n := s.Add("k", "", sec(200), time.Minute, 10); n != 1 {
				t.Fatalf("after a quiet window: %d", n)
			}
		}},
		{"a member seen again stays in the window", func(t *testing.T, s WindowStore) {
			s.Add("k", "x", sec(0), time.Minute, 10)
			s.Add("k", "x", sec(50), time.Minute, 10)
			if n := s.Add("k", "y", sec(100), time.Minute, 10); n != 2 {
				t.Fatalf("x refreshed at 50 forgotten at 100: %d", n)
			}
		}},
		{"limit caps the count and keeps the newest", func(t *testing.T, s WindowStore) {
			for i := range 20 {
				if n := s.Add("k", fmt.Sprint("m", i), sec(i), 30*time.Second, 5); n != min(i+1, 5) {
					t.Fatalf("after %d members: %d", i+1, n)
				}
			}
			// Kept: the members of 15..19 s. At 46 s the cut-off is 16 s.
			if n := s.Add("k", "late", sec(46), 30*time.Second, 5); n != 4 {
				t.Fatalf("the newest were not the ones kept: %d", n)
			}
		}},
		{"keys are separate", func(t *testing.T, s WindowStore) {
			s.Add("a", "", sec(0), time.Minute, 10)
			s.Add("a", "", sec(0), time.Minute, 10)
			if n := s.Add("b", "", sec(0), time.Minute, 10); n != 1 {
				t.Fatalf("b counted a's: %d", n)
			}
		}},
		{"a claim holds for exactly its ttl", func(t *testing.T, s WindowStore) {
			if !s.Claim("c", sec(0), time.Minute) {
				t.Fatal("first claim refused")
			}
			if s.Claim("c", sec(59), time.Minute) {
				t.Fatal("claimed twice within the ttl")
			}
			if !s.Claim("d", sec(59), time.Minute) {
				t.Fatal("another key was held")
			}
			if !s.Claim("c", sec(60), time.Minute) {
				t.Fatal("not claimable when the ttl was over")
			}
			if s.Claim("c", sec(119), time.Minute) {
				t.Fatal("the second claim did not hold")
			}
		}},
		{"tally counts and reads the others", func(t *testing.T, s WindowStore) {
			for range 3 {
				s.Tally("t1", sec(0), time.Hour, nil)
			}
			s.Tally("t2", sec(1), time.Hour, nil)
			n, counts := s.Tally("t3", sec(2), time.Hour, []string{"t1", "t2", "never"})
			if n != 1 || fmt.Sprint(counts) != "[3 1 0]" {
				t.Fatalf("tally %d %v, want 1 [3 1 0]", n, counts)
			}
			if n, _ := s.Tally("t1", sec(3), time.Hour, nil); n != 4 {
				t.Fatalf("t1 again: %d", n)
			}
		}},
	}
	for name, open := range windowStores() {
		t.Run(name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
			}
		})
	}
}

// Three replicas over one Redis see one attack: a credential-stuffing run
// dealt round-robin, each replica seeing 4 of the 12 accounts (under the
// threshold of 10 on its own), fires once between them, at the 10th
// account, within the window; the rest of the run is inside the cool-down.
func TestReplicasShareOneViewThroughRedis(t *testing.T) {
	client, prefix := testutil.Redis(t)
	clock := testutil.NewClock(t0)
	var mu sync.Mutex
	var alerts []Alert
	var replicas []*Detector
	for range 3 {
		d, err := New(Config{Rules: DefaultRules()[:1], Now: clock.Now, Logger: slog.New(slog.DiscardHandler),
			Store:   NewFailoverStore(NewRedisStore(client, prefix), NewMemoryStore(100), nil, time.Second, time.Second),
			OnAlert: func(a Alert) { mu.Lock(); alerts = append(alerts, a); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, d)
	}
	var wg sync.WaitGroup
	for r, d := range replicas {
		wg.Add(1)
		go func() { // the replicas observe at once, as they would
			defer wg.Done()
			for i := r; i < 12; i += 3 {
				d.Observe(rampart.SecurityEvent{Type: rampart.EventAuthFailure, Status: 401, Source: ip("203.0.113.7"),
					AccountID: fmt.Sprintf("acct-%d", i), Time: t0.Add(time.Duration(i) * time.Second)})
			}
		}()
	}
	wg.Wait()
	if len(alerts) != 1 || alerts[0].Rule != "credential_stuffing" || alerts[0].Subject != "203.0.113.7" || alerts[0].Count < 10 {
		t.Fatalf("alerts %+v, want one credential_stuffing for 203.0.113.7", alerts)
	}
	// The same split without Redis: no replica sees enough.
	alone := 0
	for r := range 3 {
		d, _ := New(Config{Rules: DefaultRules()[:1], Now: clock.Now, Logger: slog.New(slog.DiscardHandler),
			OnAlert: func(Alert) { alone++ }})
		for i := r; i < 12; i += 3 {
			d.Observe(rampart.SecurityEvent{Type: rampart.EventAuthFailure, Status: 401, Source: ip("203.0.113.7"),
				AccountID: fmt.Sprintf("acct-%d", i), Time: t0.Add(time.Duration(i) * time.Second)})
		}
	}
	if alone != 0 {
		t.Fatalf("per-replica memory fired %d alerts: the test does not need Redis to pass", alone)
	}
}

// When Redis does not answer, detection goes on in memory (per replica),
// counted and logged once; when it answers again, the windows are shared
// again.
func TestFailoverStoreFallsBackToMemoryWhenRedisIsDown(t *testing.T) {
	client, prefix := testutil.Redis(t)
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { down.Close() })
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	clock := testutil.NewClock(t0)
	// Calls go to the broken client until swapped.
	store := NewFailoverStore(NewRedisStore(down, prefix), NewMemoryStore(100), logging.New(&logs, slog.LevelInfo), time.Second, time.Minute)
	store.now = clock.Now
	var alerts []Alert
	d, err := New(Config{Rules: DefaultRules()[:1], Store: store, Now: clock.Now, Registry: reg,
		Logger: slog.New(slog.DiscardHandler), OnAlert: func(a Alert) { alerts = append(alerts, a) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		d.Observe(attackAt("credential_stuffing", i, clock.Now()))
	}
	if len(alerts) != 1 {
		t.Fatalf("with Redis down: %d alerts, want the local one", len(alerts))
	}
	if store.Healthy() {
		t.Fatal("store reports healthy with Redis down")
	}
	if got := counter(t, reg, "rampart_alert_store_local_total", "", ""); got < 10 {
		t.Fatalf("rampart_alert_store_local_total = %v, want every operation (≥ 10)", got)
	}
	if n := strings.Count(logs.String(), "Redis does not answer"); n != 1 {
		t.Fatalf("the outage logged %d times, want once:\n%s", n, logs.String())
	}
	// Redis back: after retryEvery the next call probes it and sharing resumes.
	store.shared = NewRedisStore(client, prefix)
	clock.Advance(time.Minute + time.Second)
	store.Add("k", "", clock.Now(), time.Minute, 10)
	if !store.Healthy() || !strings.Contains(logs.String(), "Redis answers again") {
		t.Fatalf("not healthy again after Redis answered; log:\n%s", logs.String())
	}
	if n, err := store.shared.Add(context.Background(), "k", "", clock.Now(), time.Minute, 10); err != nil || n != 2 {
		t.Fatalf("after recovery the Add went to Redis? count %d, %v; want 2", n, err)
	}
}

func attackAt(name string, i int, at time.Time) rampart.SecurityEvent {
	e := attack(name, i)
	e.Time = at
	return e
}
