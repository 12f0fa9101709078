package throttle

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/tcpproxy"
)

func TestRedisSharedDelays(t *testing.T) {
	client, prefix := testutil.Redis(t)
	ctx := context.Background()
	replica1, replica2 := NewRedis(client, prefix, DefaultPolicy), NewRedis(client, prefix, DefaultPolicy)
	const acct = "victim@example.com"
	for i := range 5 {
		r := replica1
		if i%2 == 1 {
			r = replica2 // failures on two replicas add up
		}
		if wait, err := r.Allow(ctx, acct, ""); err != nil || wait != 0 {
			t.Fatalf("attempt %d: wait %v %v", i+1, wait, err)
		}
		if err := r.Fail(ctx, acct); err != nil {
			t.Fatal(err)
		}
	}
	wait, err := replica2.Allow(ctx, acct, "")
	if err != nil || wait < 29*time.Second || wait > 30*time.Second {
		t.Fatalf("after 5 failures: wait %v %v, want 30 s", wait, err)
	}
	_ = replica1.Fail(ctx, acct)
	if wait, _ := replica2.Allow(ctx, acct, ""); wait < 59*time.Second || wait > time.Minute {
		t.Fatalf("after 6 failures: wait %v, want 60 s", wait)
	}
	_ = replica2.Reset(ctx, acct)
	if wait, _ := replica1.Allow(ctx, acct, ""); wait != 0 {
		t.Fatalf("after reset: wait %v", wait)
	}
}

func TestRedisCountsParallelFailuresExactly(t *testing.T) {
	client, prefix := testutil.Redis(t)
	r := NewRedis(client, prefix, DefaultPolicy)
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() { _ = r.Fail(context.Background(), "a@example.com") })
	}
	wg.Wait()
	n, err := client.Get(t.Context(), prefix+"fail:a@example.com").Result()
	if err != nil || n != strconv.Itoa(40) {
		t.Fatalf("count %q %v, want 40", n, err)
	}
}

func TestFailoverKeepsThrottlingWithoutRedis(t *testing.T) {
	client, prefix := testutil.Redis(t)
	proxy := tcpproxy.Start(t, client.Options().Addr)
	viaProxy := redis.NewClient(&redis.Options{Addr: proxy.Addr(), DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { viaProxy.Close() })
	f := NewFailover(NewRedis(viaProxy, prefix, DefaultPolicy), NewMemory(DefaultPolicy, 100, nil),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	proxy.Cut()
	for range 5 {
		if err := f.Fail(ctx, "x@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if wait, err := f.Allow(ctx, "x@example.com", ""); err != nil || wait == 0 {
		t.Fatalf("Redis down: wait %v %v, want a local delay", wait, err)
	}
	proxy.Restore()
	if err := f.Fail(ctx, "y@example.com"); err != nil {
		t.Fatal(err)
	}
	if n, _ := client.Get(ctx, prefix+"fail:y@example.com").Result(); n != "1" {
		t.Errorf("after Redis came back the failure was not shared: %q", n)
	}
}
