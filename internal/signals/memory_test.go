package signals

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// maxDetectorHeap is the bound the README states for the detector's memory
// store under any number of distinct sources, with the default rules and
// key cap.
const maxDetectorHeap = 96 << 20

// TestDetectorMemoryIsBoundedUnderAMillionSources sends one failed sign-in
// from each of 1,000,000 distinct IPv4 sources, each for an account of its
// own (an id as long as the real ones) in one of 100 tenants, through the
// detector with its default rules and in-memory store, and measures the
// heap it keeps (HeapInuse after a GC, before and after). Each event opens
// windows for its source (credential_stuffing, unauthorized_spike) and its
// account (password_spraying), so three million keys go through a cap of
// DefaultMaxKeys.
func TestDetectorMemoryIsBoundedUnderAMillionSources(t *testing.T) {
	if testing.Short() {
		t.Skip("a million sources: skipped in -short")
	}
	if raceEnabled {
		// Several times slower, and the heap it measures is not the
		// production one; CI runs it on its own without -race (.ci/run).
		t.Skip("a million sources: skipped under -race")
	}
	const sources = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	store := NewMemoryStore(DefaultMaxKeys)
	d, err := New(Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range sources {
		d.Observe(rampart.SecurityEvent{Type: rampart.EventAuthFailure, Status: 401,
			Source:    netip.AddrFrom4([4]byte{byte(10 + i>>24), byte(i >> 16), byte(i >> 8), byte(i)}),
			AccountID: fmt.Sprintf("0193a4f2-7c1e-7b6a-9d2e-%012d", i), TenantID: fmt.Sprintf("tenant-%d", i%100),
			Time: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d sources in %v: %d keys (cap %d), %d evicted; heap in use +%.1f MiB (%.0f B a key)",
		sources, took.Round(time.Millisecond), store.Len(), DefaultMaxKeys, store.Evicted(),
		float64(held)/(1<<20), float64(held)/float64(store.Len()))
	if store.Len() > DefaultMaxKeys {
		t.Fatalf("%d keys over the cap %d", store.Len(), DefaultMaxKeys)
	}
	if store.Evicted() < 2*sources {
		t.Fatalf("only %d evictions: the run did not push the cap", store.Evicted())
	}
	if held > maxDetectorHeap {
		t.Fatalf("heap in use grew %d MiB, over the stated bound %d MiB", held>>20, maxDetectorHeap>>20)
	}
	runtime.KeepAlive(d)
}
