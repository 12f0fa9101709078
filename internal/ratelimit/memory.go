package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// shardCount spreads keys over independently locked maps, so that parallel
// requests for different keys rarely wait for one another.
const shardCount = 32

// Memory is an in-process limiter. It tracks at most maxKeys keys: when a
// shard is full it first forgets keys whose budget is whole again (which is
// the same as never having seen them), then, if a flood of distinct keys
// left none, arbitrary ones. Forgetting a key can only hand its owner a
// fresh budget early; memory never grows without bound.
type Memory struct {
	now         func() time.Time
	maxPerShard int
	seed        maphash.Seed
	shards      [shardCount]shard
}

type shard struct {
	mu   sync.Mutex
	tats map[string]int64 // key → theoretical arrival time (Unix ns)
}

// NewMemory returns a limiter that tracks at most maxKeys keys; now may be
// nil (time.Now).
func NewMemory(maxKeys int, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, maxPerShard: max(1, maxKeys/shardCount), seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
	}
	return m
}

// Allow takes one request from key's budget.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Decision, error) {
	s := &m.shards[maphash.String(m.seed, key)%shardCount]
	now := m.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, seen := s.tats[key]
	d, next := gcra(tat, now, l)
	if d.Allowed {
		if !seen && len(s.tats) >= m.maxPerShard {
			s.evict(now)
		}
		s.tats[key] = next
	}
	return d, nil
}

// evict makes room in a full shard. Called with mu held.
func (s *shard) evict(now int64) {
	for k, tat := range s.tats {
		if tat <= now {
			delete(s.tats, k)
		}
	}
	for k := range s.tats { // still full: drop one arbitrary key
		delete(s.tats, k)
		break
	}
}

// Len reports how many keys are tracked.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		m.shards[i].mu.Lock()
		n += len(m.shards[i].tats)
		m.shards[i].mu.Unlock()
	}
	return n
}
