package ratelimit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/rampart/internal/testutil"
)

// fakeLimiter answers every call, or fails it while broken, and counts the
// calls it gets.
type fakeLimiter struct {
	remaining int // in every decision, to tell the limiters apart
	broken    atomic.Bool
	calls     atomic.Int64
	deadline  atomic.Bool // set when a call came without a deadline
}

func (f *fakeLimiter) Allow(ctx context.Context, _ string, _ Limit) (Decision, error) {
	f.calls.Add(1)
	if _, ok := ctx.Deadline(); !ok {
		f.deadline.Store(true)
	}
	if f.broken.Load() {
		return Decision{}, errors.New("connection refused")
	}
	return Decision{Allowed: true, Remaining: f.remaining}, nil
}

// TestFailoverProbesOncePerInterval: while the shared limiter is down, the
// many concurrent requests of one interval send it one probe between them;
// each state change is logged once; every shared call has a deadline.
func TestFailoverProbesOncePerInterval(t *testing.T) {
	shared, local := &fakeLimiter{remaining: 42}, &fakeLimiter{remaining: 7}
	var logs testutil.SyncBuffer
	const retry = 200 * time.Millisecond
	f := NewFailover(shared, local, slog.New(slog.NewTextHandler(&logs, nil)), time.Second, retry)
	// A stepped clock: however slow the machine, 100 calls fall in one interval.
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	f.now = func() time.Time { return time.Unix(0, clock.Load()) }
	step := func(d time.Duration) { clock.Add(int64(d)) }
	lim := Limit{N: 1, Per: time.Second}
	ctx := context.Background()
	parallel := func(n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { f.Allow(ctx, "k", lim) })
		}
		wg.Wait()
	}

	// Healthy: every call goes to the shared limiter.
	parallel(100)
	if n := shared.calls.Load(); n != 100 || local.calls.Load() != 0 || !f.Healthy() {
		t.Fatalf("healthy: shared %d, local %d calls, healthy=%v", n, local.calls.Load(), f.Healthy())
	}
	if shared.deadline.Load() {
		t.Error("a shared call had no deadline")
	}

	// Down: the failing call and those after it go to the local limiter,
	// and no probe is sent before retry has passed.
	shared.broken.Store(true)
	if d, err := f.Allow(ctx, "k", lim); err != nil || d.Remaining == 42 || f.Healthy() {
		t.Fatalf("first failure: %+v %v healthy=%v", d, err, f.Healthy())
	}
	shared.calls.Store(0)
	parallel(100)
	if n := shared.calls.Load(); n != 0 {
		t.Fatalf("%d probes within the retry interval", n)
	}
	// After the interval, one probe for many concurrent calls.
	for range 3 {
		step(retry + time.Millisecond)
		shared.calls.Store(0)
		parallel(100)
		if n := shared.calls.Load(); n != 1 {
			t.Fatalf("%d probes in one retry interval, want 1", n)
		}
	}
	if f.Healthy() {
		t.Fatal("healthy while the shared limiter fails")
	}

	// Back: the next probe switches back, and everything is shared again.
	shared.broken.Store(false)
	step(retry + time.Millisecond)
	if d, err := f.Allow(ctx, "k", lim); err != nil || d.Remaining != 42 || !f.Healthy() {
		t.Fatalf("after recovery: %+v %v healthy=%v", d, err, f.Healthy())
	}
	shared.calls.Store(0)
	parallel(100)
	if n := shared.calls.Load(); n != 100 {
		t.Fatalf("recovered: %d of 100 calls shared", n)
	}

	out := logs.String()
	if n := strings.Count(out, "level=ERROR"); n != 1 {
		t.Errorf("%d error events for one outage, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "Redis answers again"); n != 1 {
		t.Errorf("%d recovery events for one recovery, want 1:\n%s", n, out)
	}
}

// TestFailoverConcurrentTransitions flips the shared limiter while many
// goroutines use the failover, for the race detector.
func TestFailoverConcurrentTransitions(t *testing.T) {
	shared, local := &fakeLimiter{remaining: 42}, &fakeLimiter{remaining: 7}
	f := NewFailover(shared, local, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Second, time.Millisecond)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := f.Allow(context.Background(), "k", Limit{N: 1000, Per: time.Second}); err != nil {
					t.Error(err)
					return
				}
				f.Healthy()
			}
		})
	}
	for i := range 50 {
		shared.broken.Store(i%2 == 0)
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
}
