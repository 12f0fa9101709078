package signals

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func TestMemoryStoreEvictsLeastRecentlyTouchedKey(t *testing.T) {
	s := NewMemoryStore(3)
	for _, k := range []string{"a", "b", "c"} {
		s.Add(k, "", t0, time.Minute, 10)
	}
	s.Add("a", "", t0, time.Minute, 10) // a is fresh again; b is now the oldest
	s.Add("d", "", t0, time.Minute, 10)
	if s.Len() != 3 || s.Evicted() != 1 {
		t.Fatalf("len %d evicted %d, want 3 and 1", s.Len(), s.Evicted())
	}
	if n := s.Add("a", "", t0, time.Minute, 10); n != 3 {
		t.Fatalf("a lost its window: %d", n)
	}
	if n := s.Add("b", "", t0, time.Minute, 10); n != 1 {
		t.Fatalf("b kept its window after eviction: %d", n)
	}
}

// Sources beyond the cap evict windows, and the operator sees it.
func TestEvictionsAreExported(t *testing.T) {
	h := newHarness(t, Config{Store: NewMemoryStore(4)})
	for i := range 10 {
		h.observe(rampart.SecurityEvent{Type: rampart.EventValidation, Source: ip(fmt.Sprintf("192.0.2.%d", i+1))})
	}
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "rampart_alert_window_evictions_total" {
			if got := mf.GetMetric()[0].GetCounter().GetValue(); got != 6 {
				t.Fatalf("evictions = %v, want 6", got)
			}
			return
		}
	}
	t.Fatal("rampart_alert_window_evictions_total not registered")
}

func TestMemoryStoreBoundsEntriesPerKeyByLimit(t *testing.T) {
	s := NewMemoryStore(10)
	for i := range 1000 {
		if n := s.Add("k", strconv.Itoa(i), t0, time.Hour, 10); n != min(i+1, 10) {
			t.Fatalf("after %d members: %d", i+1, n)
		}
	}
	el := s.keys["k"].Value.(*memoryKey)
	if len(el.entries) != 10 {
		t.Fatalf("%d entries held, want the limit 10", len(el.entries))
	}
	// A member seen again counts once; an expired one no more.
	if n := s.Add("d", "x", t0, time.Minute, 10); n != 1 {
		t.Fatal(n)
	}
	if n := s.Add("d", "x", t0.Add(time.Second), time.Minute, 10); n != 1 {
		t.Fatalf("same member twice counted %d", n)
	}
	if n := s.Add("d", "y", t0.Add(2*time.Minute), time.Minute, 10); n != 1 {
		t.Fatalf("expired member still counted: %d", n)
	}
}

func TestClaimHoldsForItsTTL(t *testing.T) {
	s := NewMemoryStore(10)
	if !s.Claim("c", t0, time.Minute) || s.Claim("c", t0.Add(59*time.Second), time.Minute) || !s.Claim("c", t0.Add(time.Minute), time.Minute) {
		t.Fatal("claim did not hold for exactly its ttl")
	}
}

// BenchmarkMemoryStoreDistinctSources feeds 1,000,000 distinct sources to
// a store capped at DefaultMaxKeys and measures the heap it keeps: B/key,
// and MiB in all, which is the bound (the cap holds whatever the number of
// sources). "one-entry" keeps one occurrence per source (a 401 window);
// "full-10-accounts" keeps 10 distinct 36-character account ids per source,
// each its own string, what a credential_stuffing window holds at its
// default threshold: the worst case of the default rules.
func BenchmarkMemoryStoreDistinctSources(b *testing.B) {
	for _, tc := range []struct {
		name    string
		members int
	}{{"one-entry", 1}, {"full-10-accounts", 10}} {
		b.Run(tc.name, func(b *testing.B) {
			const sources = 1_000_000
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s := NewMemoryStore(DefaultMaxKeys)
				for i := range sources {
					key := "a" + fmt.Sprintf("%d.%d.%d.%d", 10+i>>24, i>>16&255, i>>8&255, i&255)
					member := ""
					for j := range tc.members {
						if tc.members > 1 {
							member = fmt.Sprintf("0193a4f2-7c1e-7b6a-9d2e-%012d", j)
						}
						s.Add(key, member, t0, 5*time.Minute, 10)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				if s.Len() != min(sources, DefaultMaxKeys) {
					b.Fatalf("%d keys", s.Len())
				}
				held := float64(after.HeapAlloc - before.HeapAlloc)
				b.ReportMetric(held/float64(s.Len()), "B/key")
				b.ReportMetric(held/(1<<20), "MiB-held")
				b.ReportMetric(float64(s.Len()), "keys")
				runtime.KeepAlive(s)
			}
		})
	}
}
