package signals

import (
	"container/list"
	"sync"
	"time"
)

// WindowStore keeps the sliding windows and the alert cool-downs. The
// in-memory MemoryStore serves one process; a Redis implementation (a later
// session) slots in behind the same interface so that replicas share one
// view of an attack: Add maps to a sorted set per key (ZADD, ZREMRANGEBYSCORE,
// ZCARD), Claim to SET NX PX.
type WindowStore interface {
	// Add records member under key at time at, forgets what is older than
	// window, and returns how many entries the window holds. An empty member
	// is one occurrence (every Add counts); a non-empty one counts once
	// however often it is added (distinct members). A store may keep at most
	// limit entries per key (the newest), so the answer never exceeds limit:
	// callers pass their threshold, and memory per key stays bounded by it.
	Add(key, member string, at time.Time, window time.Duration, limit int) int
	// Claim takes key for ttl if nobody holds it at time at, and says whether
	// it did. The detector claims "rule|subject" before alerting, which is
	// what makes one alert per rule and subject per cool-down.
	Claim(key string, at time.Time, ttl time.Duration) bool
}

// MemoryStore is a WindowStore in this process's memory with a hard bound:
// at most maxKeys keys (windows and cool-downs together); adding one more
// evicts the key least recently touched. Entries per key are bounded by the
// caller's limit.
type MemoryStore struct {
	mu      sync.Mutex
	maxKeys int
	keys    map[string]*list.Element // of *memoryKey
	order   *list.List               // front: most recently touched
	evicted uint64
}

type memoryKey struct {
	key     string
	until   int64 // a claim: held until this unix-nanosecond time
	entries []entry
}

// entry is one occurrence (member "") or one distinct member, with the
// last time it was seen in unix nanoseconds (8 bytes, not a 24-byte
// time.Time: a million keys are the point).
type entry struct {
	member string
	at     int64
}

// NewMemoryStore returns a MemoryStore that tracks at most maxKeys keys.
func NewMemoryStore(maxKeys int) *MemoryStore {
	if maxKeys < 1 {
		maxKeys = 1
	}
	return &MemoryStore{maxKeys: maxKeys, keys: make(map[string]*list.Element), order: list.New()}
}

func (s *MemoryStore) Add(key, member string, at time.Time, window time.Duration, limit int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.touch(key)
	now, cutoff := at.UnixNano(), at.Add(-window).UnixNano()
	kept := k.entries[:0]
	found := false
	for _, e := range k.entries {
		if e.at <= cutoff {
			continue
		}
		if member != "" && e.member == member {
			e.at, found = now, true
		}
		kept = append(kept, e)
	}
	if !found {
		kept = append(kept, entry{member: member, at: now})
	}
	if limit < 1 {
		limit = 1
	}
	if over := len(kept) - limit; over > 0 {
		// Drop the first added. Every entry kept is inside the window and
		// (for distinct counting) a different member, so the answer is
		// always a true count, capped at limit.
		kept = append(kept[:0], kept[over:]...)
	}
	if len(kept) < len(k.entries) {
		clear(k.entries[len(kept):]) // let dropped members be collected
	}
	k.entries = kept
	return len(kept)
}

func (s *MemoryStore) Claim(key string, at time.Time, ttl time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.touch(key)
	if at.UnixNano() < k.until {
		return false
	}
	k.until = at.Add(ttl).UnixNano()
	return true
}

// Len is the number of keys tracked now; Evicted how many were evicted to
// stay within the bound.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

func (s *MemoryStore) Evicted() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted
}

// touch returns key's state, made most recently used, creating it (and
// evicting the least recently used key when full) if new.
func (s *MemoryStore) touch(key string) *memoryKey {
	if el, ok := s.keys[key]; ok {
		s.order.MoveToFront(el)
		return el.Value.(*memoryKey)
	}
	for len(s.keys) >= s.maxKeys {
		oldest := s.order.Back()
		s.order.Remove(oldest)
		delete(s.keys, oldest.Value.(*memoryKey).key)
		s.evicted++
	}
	k := &memoryKey{key: key}
	s.keys[key] = s.order.PushFront(k)
	return k
}
