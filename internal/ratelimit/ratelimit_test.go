package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/tcpproxy"
)

// contract is what every Limiter must do. It runs in real time, because the
// Redis limiter reads the Redis server's clock.
func contract(t *testing.T, newLimiter func(t *testing.T) Limiter) {
	ctx := context.Background()
	t.Run("burst then refusal", func(t *testing.T) {
		l := newLimiter(t)
		lim := Limit{N: 5, Per: time.Second}
		for i := range 5 {
			d, err := l.Allow(ctx, "burst", lim)
			if err != nil || !d.Allowed || d.Remaining != 4-i {
				t.Fatalf("request %d: %+v %v", i+1, d, err)
			}
		}
		d, err := l.Allow(ctx, "burst", lim)
		if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 200*time.Millisecond || d.Reset <= 0 {
			t.Fatalf("6th request: %+v %v", d, err)
		}
		time.Sleep(d.RetryAfter + 10*time.Millisecond)
		if d, _ := l.Allow(ctx, "burst", lim); !d.Allowed {
			t.Fatalf("after waiting RetryAfter: %+v", d)
		}
	})
	t.Run("keys are independent", func(t *testing.T) {
		l := newLimiter(t)
		lim := Limit{N: 1, Per: time.Hour}
		if d, _ := l.Allow(ctx, "a", lim); !d.Allowed {
			t.Fatal("a refused")
		}
		if d, _ := l.Allow(ctx, "a", lim); d.Allowed {
			t.Fatal("a allowed twice")
		}
		if d, _ := l.Allow(ctx, "b", lim); !d.Allowed {
			t.Fatal("b refused because of a")
		}
	})
	t.Run("concurrent requests never exceed the budget", func(t *testing.T) {
		l := newLimiter(t)
		lim := Limit{N: 50, Per: time.Hour}
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				if d, err := l.Allow(ctx, "shared", lim); err == nil && d.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := allowed.Load(); n != 50 {
			t.Fatalf("%d of 200 allowed, budget 50", n)
		}
	})
}

func TestMemoryContract(t *testing.T) {
	contract(t, func(*testing.T) Limiter { return NewMemory(10_000, nil) })
}

func TestRedisContract(t *testing.T) {
	contract(t, func(t *testing.T) Limiter {
		client, prefix := testutil.Redis(t)
		return NewRedis(client, prefix)
	})
}

func TestRedisStateExpires(t *testing.T) {
	client, prefix := testutil.Redis(t)
	l := NewRedis(client, prefix)
	if _, err := l.Allow(t.Context(), "k", Limit{N: 10, Per: time.Minute}); err != nil {
		t.Fatal(err)
	}
	ttl, err := client.PTTL(t.Context(), prefix+"k").Result()
	if err != nil || ttl <= 0 || ttl > 6*time.Second+time.Millisecond {
		t.Fatalf("TTL %v %v: the state should expire once the budget is whole (6 s)", ttl, err)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	m := NewMemory(3200, nil)
	lim := Limit{N: 10, Per: time.Hour}
	for i := range 100_000 {
		m.Allow(t.Context(), fmt.Sprintf("flood-%d", i), lim)
	}
	if n := m.Len(); n > 3200 {
		t.Fatalf("tracks %d keys, limit 3200", n)
	}
}

func TestFailoverLimitsLocallyAndRecovers(t *testing.T) {
	client, prefix := testutil.Redis(t)
	proxy := tcpproxy.Start(t, client.Options().Addr)
	viaProxy := redis.NewClient(&redis.Options{Addr: proxy.Addr(), DB: client.Options().DB,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { viaProxy.Close() })
	var logs strings.Builder
	f := NewFailover(NewRedis(viaProxy, prefix), NewMemory(1000, nil),
		slog.New(slog.NewTextHandler(&logs, nil)), 100*time.Millisecond, 50*time.Millisecond)
	lim := Limit{N: 3, Per: time.Hour}

	if d, err := f.Allow(t.Context(), "k", lim); err != nil || !d.Allowed || !f.Healthy() {
		t.Fatalf("through Redis: %+v %v healthy=%v", d, err, f.Healthy())
	}
	proxy.Cut()
	allowed := 0
	for range 10 {
		if d, err := f.Allow(t.Context(), "k", lim); err == nil && d.Allowed {
			allowed++
		}
	}
	if allowed != 3 || f.Healthy() {
		t.Fatalf("Redis cut: %d of 10 allowed (want the local budget of 3), healthy=%v", allowed, f.Healthy())
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("no error-level event when Redis went away: %s", logs.String())
	}
	proxy.Restore()
	deadline := time.Now().Add(5 * time.Second)
	for !f.Healthy() && time.Now().Before(deadline) {
		f.Allow(t.Context(), "other", lim)
		time.Sleep(20 * time.Millisecond)
	}
	if !f.Healthy() {
		t.Fatal("did not switch back to Redis")
	}
	// Redis kept its own count of "k" (one request) through the outage.
	if d, _ := f.Allow(t.Context(), "k", lim); !d.Allowed || d.Remaining != 1 {
		t.Errorf("after recovery: %+v, want the shared budget again", d)
	}
}

func BenchmarkMemory(b *testing.B) {
	lim := Limit{N: 1_000_000, Per: time.Second}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("203.0.113.%d/%d", i%256, i)
	}
	b.Run("single", func(b *testing.B) {
		m := NewMemory(1<<20, nil)
		i := 0
		for b.Loop() {
			m.Allow(context.Background(), keys[i%len(keys)], lim)
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		m := NewMemory(1<<20, nil)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				m.Allow(context.Background(), keys[i%len(keys)], lim)
				i++
			}
		})
	})
}

// BenchmarkMemoryPerKey reports the heap bytes one tracked key costs.
func BenchmarkMemoryPerKey(b *testing.B) {
	const n = 100_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("2001:db8:%x:%x::/64", i>>16, i&0xffff)
	}
	lim := Limit{N: 10, Per: time.Hour}
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := NewMemory(2*n, nil)
		for _, k := range keys {
			m.Allow(context.Background(), k, lim)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/key")
		runtime.KeepAlive(m)
	}
}

func BenchmarkRedis(b *testing.B) {
	client, prefix := testutil.Redis(b)
	r := NewRedis(client, prefix)
	lim := Limit{N: 1_000_000, Per: time.Second}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := r.Allow(context.Background(), fmt.Sprint(i%1024), lim); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
