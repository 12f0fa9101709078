package throttle

import (
	"context"
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestContractDelays(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	m := NewMemory(DefaultPolicy, 100, c.now)
	const acct = "victim@example.com"

	for i := 1; i <= 4; i++ {
		if wait, _ := m.Allow(ctx, acct, "192.0.2.1"); wait != 0 {
			t.Fatalf("attempt %d delayed %v before the 5th failure", i, wait)
		}
		_ = m.Fail(ctx, acct)
	}
	// The 5th failure starts the delays: 30 s, then doubling to 1 h.
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, d := range want {
		if wait, _ := m.Allow(ctx, acct, "192.0.2.1"); wait != 0 {
			t.Fatalf("step %d: still delayed %v after waiting", i, wait)
		}
		_ = m.Fail(ctx, acct)
		wait, _ := m.Allow(ctx, acct, "198.51.100.7") // another address: the account counts, not the IP
		if wait != d {
			t.Fatalf("failure %d: wait %v, want %v", i+5, wait, d)
		}
		c.t = c.t.Add(d)
	}
	_ = m.Reset(ctx, acct)
	_ = m.Fail(ctx, acct)
	if wait, _ := m.Allow(ctx, acct, ""); wait != 0 {
		t.Fatalf("a success did not reset the count: wait %v", wait)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	m := NewMemory(DefaultPolicy, 1000, c.now)
	locked := "locked@example.com"
	for range 5 {
		_ = m.Fail(ctx, locked)
	}
	for i := range 100_000 {
		_ = m.Fail(ctx, fmt.Sprintf("flood-%d@example.com", i))
	}
	if n := m.Len(); n > 1000 {
		t.Fatalf("tracks %d accounts, limit 1000", n)
	}
	if wait, _ := m.Allow(ctx, locked, ""); wait == 0 {
		t.Fatal("a flood of new accounts evicted a pending delay")
	}
}
