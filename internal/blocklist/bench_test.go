package blocklist

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	rtest "example.com/rampart/internal/testutil"
)

// BenchmarkCheck is the edge's cost per request: with no block in force,
// and with MaxBlocks of them (a miss and a hit).
func BenchmarkCheck(b *testing.B) {
	bl, _ := New(Config{})
	miss, hit := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("10.0.0.1")
	b.Run("empty", func(b *testing.B) {
		for b.Loop() {
			bl.Check(miss)
		}
	})
	until := time.Now().Add(time.Hour)
	for i := range MaxBlocks {
		bl.remember(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), until)
	}
	b.Run("full/miss", func(b *testing.B) {
		for b.Loop() {
			bl.Check(miss)
		}
	})
	b.Run("full/hit", func(b *testing.B) {
		for b.Loop() {
			bl.Check(hit)
		}
	})
}

// BenchmarkRedisResync is what a replica reads when the shared list
// changed: the whole index, here with MaxBlocks sources in it.
func BenchmarkRedisResync(b *testing.B) {
	client, prefix := rtest.Redis(b)
	store := NewRedis(client, prefix, 0)
	ctx := context.Background()
	until := float64(time.Now().Add(time.Hour).UnixMilli())
	for start := 0; start < MaxBlocks; start += 10000 {
		members := make([]redis.Z, 0, 10000)
		for i := start; i < start+10000; i++ {
			members = append(members, redis.Z{Score: until, Member: "10." + strconv.Itoa(i>>16) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)})
		}
		client.ZAdd(ctx, store.indexKey(), members...)
	}
	for b.Loop() {
		_, blocks, err := store.inForce(ctx, time.Now(), MaxBlocks)
		if err != nil || len(blocks) != MaxBlocks {
			b.Fatalf("%d blocks, %v", len(blocks), err)
		}
	}
}
