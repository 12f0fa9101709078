package blocklist_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/blocklist"
	rtest "example.com/rampart/internal/testutil"
)

func TestPolicyGrowsAndCaps(t *testing.T) {
	p := blocklist.DefaultPolicy
	want := []time.Duration{15 * time.Minute, time.Hour, 4 * time.Hour, 16 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	for i, w := range want {
		if got := p.Duration(i + 1); got != w {
			t.Errorf("block %d lasts %v, want %v", i+1, got, w)
		}
	}
}

func TestParseSource(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9":           "203.0.113.9",
		"::ffff:203.0.113.9":    "203.0.113.9",
		"2001:db8:1:2:3:4:5:6":  "2001:db8:1:2::/64",
		"2001:db8:1:2::99/64":   "2001:db8:1:2::/64",
		" 198.51.100.7 ":        "198.51.100.7",
		"fe80::1%eth0":          "fe80::/64",
		"2001:db8:1:2::/64    ": "2001:db8:1:2::/64",
	} {
		p, err := blocklist.ParseSource(in)
		if err != nil || blocklist.SourceString(p) != want {
			t.Errorf("ParseSource(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/8", "2001:db8::/48", "example.com", "203.0.113.9/24"} {
		if _, err := blocklist.ParseSource(bad); err == nil {
			t.Errorf("ParseSource(%q) accepted", bad)
		}
	}
}

// newBlocker returns a Blocker on store whose clock the test moves.
func newBlocker(t *testing.T, store blocklist.Store, clock *rtest.Clock, exempt ...string) (*blocklist.Blocker, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	var ex []netip.Prefix
	for _, e := range exempt {
		ex = append(ex, netip.MustParsePrefix(e))
	}
	b, err := blocklist.New(blocklist.Config{Store: store, Exempt: ex, Registry: reg, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return b, reg
}

func results(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rampart_source_blocks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no rampart_source_blocks_total{result=%q}", result)
	return 0
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// The behaviour both stores share: a block refuses its source (IPv6 by
// its /64) for the policy's time, ends, grows on repeat, is lifted by
// Remove, and never lands on an exempt source.
func testStore(t *testing.T, store blocklist.Store) {
	clock := rtest.NewClock(time.Now())
	b, reg := newBlocker(t, store, clock, "10.0.0.0/8", "2001:db8:ee::/48")
	ctx := t.Context()

	blk, placed, err := b.Place(ctx, "203.0.113.9", "credential_stuffing")
	if err != nil || !placed || blk.Repeat != 1 || blk.Rule != "credential_stuffing" {
		t.Fatalf("Place = %+v, %v, %v", blk, placed, err)
	}
	left, blocked := b.Check(addr("203.0.113.9"))
	if !blocked || left <= 14*time.Minute || left > 15*time.Minute {
		t.Fatalf("Check right after the block = %v, %v; want about 15m", left, blocked)
	}
	if _, blocked := b.Check(addr("203.0.113.10")); blocked {
		t.Fatal("a neighbouring IPv4 address is blocked too")
	}
	// Again while in force: the same block, not a repeat.
	if blk, placed, err := b.Place(ctx, "203.0.113.9", "validation_burst"); err != nil || placed || blk.Repeat != 1 {
		t.Fatalf("second Place while in force = %+v, %v, %v", blk, placed, err)
	}

	// IPv6: the whole /64 of the address is refused, the next /64 is not.
	if _, _, err := b.Place(ctx, "2001:db8:1:2::/64", "forbidden_spike"); err != nil {
		t.Fatal(err)
	}
	if _, blocked := b.Check(addr("2001:db8:1:2:ffff::1")); !blocked {
		t.Error("another address of the blocked /64 passes")
	}
	if _, blocked := b.Check(addr("2001:db8:1:3::1")); blocked {
		t.Error("the next /64 is blocked")
	}

	// Exempt: refused when placed, never refused at the edge.
	for _, s := range []string{"10.1.2.3", "2001:db8:ee:5::/64"} {
		if _, _, err := b.Place(ctx, s, "credential_stuffing"); !errors.Is(err, blocklist.ErrExempt) {
			t.Errorf("Place(%s) = %v, want ErrExempt", s, err)
		}
	}
	if _, blocked := b.Check(addr("10.1.2.3")); blocked {
		t.Error("an exempt address is refused")
	}
	if n := results(t, reg, "exempt"); n != 2 {
		t.Errorf("exempt results = %v, want 2", n)
	}

	// Listed, then lifted.
	list, err := b.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if ok, err := b.Remove(ctx, "2001:db8:1:2:3::4"); !ok || err != nil {
		t.Fatalf("Remove = %v, %v", ok, err)
	}
	if _, blocked := b.Check(addr("2001:db8:1:2::1")); blocked {
		t.Error("a removed block still refuses")
	}
	if ok, _ := b.Remove(ctx, "2001:db8:1:2::/64"); ok {
		t.Error("Remove of a source not blocked reports a block")
	}
}

func TestMemoryStore(t *testing.T) { testStore(t, blocklist.NewMemory()) }

func TestRedisStore(t *testing.T) {
	client, prefix := rtest.Redis(t)
	testStore(t, blocklist.NewRedis(client, prefix, 0))
}

// Expiry and repeats need a clock the store obeys: memory follows the
// Blocker's clock, so it is tested with a fake one; Redis's expiry is its
// own and is tested with a short real policy below.
func TestMemoryBlockEndsAndRepeatGrows(t *testing.T) {
	clock := rtest.NewClock(time.Now())
	b, _ := newBlocker(t, blocklist.NewMemory(), clock)
	ctx := t.Context()
	want := []time.Duration{15 * time.Minute, time.Hour, 4 * time.Hour}
	for i, d := range want {
		blk, placed, err := b.Place(ctx, "198.51.100.7", "unauthorized_spike")
		if err != nil || !placed || blk.Repeat != i+1 || !blk.Until.Equal(clock.Now().Add(d)) {
			t.Fatalf("block %d = %+v, %v, %v; want repeat %d for %v", i+1, blk, placed, err, i+1, d)
		}
		clock.Advance(d - time.Second)
		if _, blocked := b.Check(addr("198.51.100.7")); !blocked {
			t.Fatalf("block %d ended early", i+1)
		}
		clock.Advance(time.Second)
		if _, blocked := b.Check(addr("198.51.100.7")); blocked {
			t.Fatalf("block %d outlived its %v", i+1, d)
		}
	}
	// More than a day after the last block, the count starts over.
	clock.Advance(blocklist.DefaultPolicy.Memory + time.Second)
	if blk, _, _ := b.Place(ctx, "198.51.100.7", "unauthorized_spike"); blk.Repeat != 1 {
		t.Fatalf("after a quiet day the block is repeat %d, want 1", blk.Repeat)
	}
}

func TestRedisBlockEndsAndRepeatGrows(t *testing.T) {
	client, prefix := rtest.Redis(t)
	policy := blocklist.Policy{Base: 200 * time.Millisecond, Factor: 4, Max: 24 * time.Hour, Memory: time.Minute}
	b, err := blocklist.New(blocklist.Config{Store: blocklist.NewRedis(client, prefix, 0), Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	first, _, err := b.Place(ctx, "192.0.2.1", "credential_stuffing")
	if err != nil || first.Repeat != 1 {
		t.Fatalf("first = %+v, %v", first, err)
	}
	if _, blocked := b.Check(addr("192.0.2.1")); !blocked {
		t.Fatal("not blocked")
	}
	time.Sleep(300 * time.Millisecond)
	if _, blocked := b.Check(addr("192.0.2.1")); blocked {
		t.Fatal("the 200 ms block still refuses after 300 ms")
	}
	if list, _ := b.List(ctx); len(list) != 0 {
		t.Fatalf("an ended block is listed: %+v", list)
	}
	second, placed, err := b.Place(ctx, "192.0.2.1", "credential_stuffing")
	if err != nil || !placed || second.Repeat != 2 {
		t.Fatalf("second = %+v, %v, %v", second, placed, err)
	}
	if d := time.Until(second.Until); d < 700*time.Millisecond || d > 800*time.Millisecond {
		t.Fatalf("the second block lasts %v, want 800 ms (200 ms × 4)", d)
	}
	if list, _ := b.List(ctx); len(list) != 1 || list[0].Repeat != 2 || list[0].Rule != "credential_stuffing" {
		t.Fatalf("List = %+v", list)
	}
}

// Two replicas share one Redis prefix: a block placed by one refuses the
// source on the other within a second (through the notice; the version
// poll is set long so that only the notice can do it), and a removal lifts
// it there too.
func TestRedisBlockReachesTheOtherReplica(t *testing.T) {
	client, prefix := rtest.Redis(t)
	one, _ := blocklist.New(blocklist.Config{Store: blocklist.NewRedis(client, prefix, time.Hour)})
	two, _ := blocklist.New(blocklist.Config{Store: blocklist.NewRedis(client, prefix, time.Hour)})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go one.Run(ctx)
	go two.Run(ctx)
	time.Sleep(200 * time.Millisecond) // subscribed

	start := time.Now()
	if _, _, err := one.Place(ctx, "203.0.113.77", "credential_stuffing"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool { _, b := two.Check(addr("203.0.113.77")); return b })
	t.Logf("blocked on the other replica after %v", time.Since(start))
	if _, err := one.Remove(ctx, "203.0.113.77"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool { _, b := two.Check(addr("203.0.113.77")); return !b })
}

// A replica that starts (or resubscribes) after a block was placed loads
// the blocks in force.
func TestRedisReplicaStartingLateLoadsTheBlocks(t *testing.T) {
	client, prefix := rtest.Redis(t)
	one, _ := blocklist.New(blocklist.Config{Store: blocklist.NewRedis(client, prefix, time.Hour)})
	if _, _, err := one.Place(t.Context(), "203.0.113.78", "validation_burst"); err != nil {
		t.Fatal(err)
	}
	late, _ := blocklist.New(blocklist.Config{Store: blocklist.NewRedis(client, prefix, 200*time.Millisecond)})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go late.Run(ctx)
	waitFor(t, time.Second, func() bool { _, b := late.Check(addr("203.0.113.78")); return b })
}

// Redis down: no block is placed (the edge never fails closed), the
// failure is counted, and the address passes.
func TestRedisDownPlacesNoBlock(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer client.Close()
	clock := rtest.NewClock(time.Now())
	b, reg := newBlocker(t, blocklist.NewRedis(client, "rampart-test:down:", 0), clock)
	if _, _, err := b.Place(t.Context(), "203.0.113.9", "credential_stuffing"); err == nil {
		t.Fatal("Place succeeded with Redis down")
	}
	if _, blocked := b.Check(addr("203.0.113.9")); blocked {
		t.Fatal("refused with Redis down")
	}
	if n := results(t, reg, "error"); n != 1 {
		t.Fatalf("error results = %v, want 1", n)
	}
	if n := counter(t, reg, "rampart_source_blocked_requests_total"); n != 0 {
		t.Fatalf("refused requests = %v", n)
	}
}

// The queue runs placements off the caller's goroutine and reports each
// block placed, once.
func TestEnqueuePlacesAndReports(t *testing.T) {
	got := make(chan blocklist.Block, 4)
	b, err := blocklist.New(blocklist.Config{OnPlaced: func(blk blocklist.Block) { got <- blk }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go b.Run(ctx)
	b.Enqueue("203.0.113.5", "credential_stuffing")
	b.Enqueue("203.0.113.5", "unauthorized_spike") // in force already: not reported again
	select {
	case blk := <-got:
		if blk.Source != "203.0.113.5" || blk.Rule != "credential_stuffing" {
			t.Fatalf("reported %+v", blk)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no block reported")
	}
	select {
	case blk := <-got:
		t.Fatalf("reported twice: %+v", blk)
	case <-time.After(100 * time.Millisecond):
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
