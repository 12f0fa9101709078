package blocklist

import (
	"context"
	"net/netip"
	"testing"
	"time"

	rtest "example.com/rampart/internal/testutil"
)

// A notice lost on the way (here: published where nobody listens) is made
// up by the poll of the changes within syncEvery.
func TestRedisMissedNoticeIsMadeUpByThePoll(t *testing.T) {
	client, prefix := rtest.Redis(t)
	store := NewRedis(client, prefix, 200*time.Millisecond)
	b, err := New(Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go b.Run(ctx)
	time.Sleep(100 * time.Millisecond) // the first sync and the subscription are done
	p := DefaultPolicy
	source := "203.0.113.79"
	err = placeScript.Run(ctx, client, store.changeKeys(source),
		source, "validation_burst", MaxBlocks, p.Base.Milliseconds(), p.Factor, p.Max.Milliseconds(), p.Memory.Milliseconds(),
		prefix+"nowhere").Err()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		if _, blocked := b.Check(netip.MustParseAddr(source)); blocked {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("the poll did not bring the block within a second")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("learnt by polling after %v", time.Since(start))

	// A removal whose notice is lost is made up the same way.
	if err := removeScript.Run(ctx, client, store.changeKeys(source), source, prefix+"nowhere", MaxBlocks).Err(); err != nil {
		t.Fatal(err)
	}
	for start = time.Now(); ; time.Sleep(5 * time.Millisecond) {
		if _, blocked := b.Check(netip.MustParseAddr(source)); !blocked {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("the poll did not bring the removal within a second")
		}
	}
}
